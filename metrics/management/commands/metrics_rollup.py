"""Fill the daily rollups on demand: `manage.py metrics_rollup --since 2025-11-25 [--until …] [--shop code …]`.

`--dirty` recomputes the days changes have marked since the last run (what the periodic task does).
`--decisions-only` records only the first merchant decisions (TicketDecision) of those days, e.g. once after
deploying them, for days whose metrics are already rolled up. A range ends with ANALYZE of the tables it filled
(PostgreSQL), so the dashboard's plans know the rows without anyone running it by hand."""

from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from aftersales.models import Shop
from metrics.definitions import CHINA
from metrics.rollups import decisions_refresh, rollup_tables_analyse, rollups_dirty, rollups_refresh


class Command(BaseCommand):
    help = "Recompute the metrics' daily rollups for a range of days (default: yesterday)."

    def add_arguments(self, parser):
        parser.add_argument("--since", type=date.fromisoformat, help="first day, YYYY-MM-DD (China time)")
        parser.add_argument("--until", type=date.fromisoformat, help="last day, YYYY-MM-DD (default: yesterday)")
        parser.add_argument("--shop", action="append", default=[], help="a shop code; repeat for more (default: all)")
        parser.add_argument(
            "--dirty", action="store_true", help="recompute the days changes have marked, and only them"
        )
        parser.add_argument(
            "--decisions-only", action="store_true", help="record only the first merchant decisions of those days"
        )

    def handle(self, *args, since=None, until=None, shop=(), decisions_only=False, dirty=False, **options):
        if dirty:
            self.stdout.write(f"{rollups_dirty()} marked shop days recomputed")
            return
        yesterday = timezone.localtime(timezone.now(), CHINA).date() - timedelta(days=1)
        until = until or yesterday
        since = since or until
        if since > until:
            raise CommandError("--since is after --until")
        shops = Shop.objects.filter(code__in=shop) if shop else Shop.objects.all()
        shop_ids = list(shops.values_list("pk", flat=True))
        if shop and len(shop_ids) != len(set(shop)):
            raise CommandError(f"unknown shop code among {', '.join(shop)}")
        if decisions_only:
            decisions = decisions_refresh(shop_ids=shop_ids, since=since, until=until)
            rollup_tables_analyse()
            self.stdout.write(f"{decisions} first decisions for {len(shop_ids)} shop(s), {since} to {until}")
            return
        written = rollups_refresh(shop_ids=shop_ids, since=since, until=until)
        # A range is a backfill (after a deploy, or a year at once): the planner must know the rows it wrote.
        rollup_tables_analyse()
        self.stdout.write(f"{written} rollup rows for {len(shop_ids)} shop(s), {since} to {until}")
