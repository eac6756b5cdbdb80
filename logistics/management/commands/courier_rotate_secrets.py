"""Re-encrypt the courier agreements' Kuaidi100 secrets with the newest MARKETPLACE_SECRET_KEYS key; run it beside
`marketplace_rotate_secrets` before dropping an old key. Safe to run again."""

from django.core.management.base import BaseCommand

from logistics.services import courier_agreements_rotate_secrets


class Command(BaseCommand):
    help = "Re-encrypt the courier agreements' Kuaidi100 secrets with the newest MARKETPLACE_SECRET_KEYS key."

    def handle(self, *args, **options):
        count = courier_agreements_rotate_secrets()
        self.stdout.write(f"{count} courier agreements re-encrypted with the newest key")
