"""Re-encrypt every shop connection's secrets with the newest MARKETPLACE_SECRET_KEYS key (put it first, run this,
then drop the old key). Safe to run again; nothing stops meanwhile (every configured key still decrypts)."""

from django.core.management.base import BaseCommand

from marketplaces.services import connection_rotate_secrets


class Command(BaseCommand):
    help = "Re-encrypt the marketplace connections' secrets with the newest MARKETPLACE_SECRET_KEYS key."

    def handle(self, *args, **options):
        count = connection_rotate_secrets()
        self.stdout.write(f"{count} connections re-encrypted with the newest key")
