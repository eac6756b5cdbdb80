"""The admin lists used daily at a year of data (tickets padded to 1,000,000): queries, full counts and time per page.

python manage.py bench_admin_changelist [--shop bench-year] [--tickets 1000000] [--runs 10] [--list orders …]
                                        [--keep] [--json]
"""

from bench.admin_list import admin_changelist_benchmark
from bench.commands import BenchCommand


class Command(BenchCommand):
    help = "Time the daily admin lists (tickets padded to --tickets, rolled back unless --keep)."
    title = "admin changelists"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--tickets", type=int, default=1_000_000)
        parser.add_argument("--runs", type=int, default=10)
        parser.add_argument("--keep", action="store_true", help="commit the padding tickets")
        parser.add_argument("--list", action="append", dest="only", help="only this list (repeat; default: all)")

    def measure(self, shop, manager, *, tickets, runs, keep, only, **options):
        return admin_changelist_benchmark(shop=shop, manager=manager, tickets=tickets, runs=runs, keep=keep, only=only)
