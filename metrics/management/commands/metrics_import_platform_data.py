"""Import a platform's export of chat sessions, product reviews or the daily product overall score (商品综合评分):
`manage.py metrics_import_platform_data --shop CODE --kind chats|reviews|product_scores FILE` (CSV or XLSX).

Prints the counts, or every bad row with its number and reason (exit code 1, nothing written)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from aftersales.models import Shop
from aftersales.order_import import ImportFileError
from metrics.platform_data import KINDS, plan_platform_import, platform_import_apply, read_platform_rows


class Command(BaseCommand):
    help = (
        "Import a platform's export (CSV or XLSX) of chat sessions, product reviews or daily product overall scores "
        "for one shop."
    )

    def add_arguments(self, parser):
        parser.add_argument("--shop", required=True, help="the shop's code")
        parser.add_argument("--kind", required=True, choices=KINDS, help="what the file holds")
        parser.add_argument("file", type=Path, help="the exported .csv or .xlsx file")

    def handle(self, *args, shop, kind, file, **options):
        found = Shop.objects.filter(code=shop).first()
        if found is None:
            raise CommandError(_("Unknown shop code: %(code)s") % {"code": shop})
        try:
            content = file.read_bytes()
        except OSError as error:
            raise CommandError(str(error)) from None
        try:
            rows = read_platform_rows(content, kind)
        except ImportFileError as error:
            raise CommandError(str(error)) from None
        plan = plan_platform_import(shop=found, kind=kind, rows=rows)
        if plan.errors:
            for error in plan.errors:
                self.stderr.write(_("Row %(row)d: %(message)s") % {"row": error.row_number, "message": error.message})
            raise CommandError(
                _("%(count)d of %(total)d rows have errors; nothing was imported.")
                % {"count": len({error.row_number for error in plan.errors}), "total": plan.row_count}
            )
        counts = platform_import_apply(plan)
        self.stdout.write(_("%(created)d created, %(updated)d updated, %(unchanged)d unchanged.") % counts)
