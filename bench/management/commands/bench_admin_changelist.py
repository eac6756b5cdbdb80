"""The admin's ticket queue at 1,000,000 tickets: queries, full counts and time per page (DESIGN §7).

python manage.py bench_admin_changelist [--shop bench-year] [--tickets 1000000] [--runs 10] [--keep] [--json]
"""

from bench.admin_list import admin_changelist_benchmark
from bench.commands import BenchCommand


class Command(BenchCommand):
    help = "Time the admin ticket changelist with the table padded to --tickets (rolled back unless --keep)."
    title = "admin ticket changelist"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--tickets", type=int, default=1_000_000)
        parser.add_argument("--runs", type=int, default=10)
        parser.add_argument("--keep", action="store_true", help="commit the padding tickets")

    def measure(self, shop, manager, *, tickets, runs, keep, **options):
        return admin_changelist_benchmark(shop=shop, manager=manager, tickets=tickets, runs=runs, keep=keep)
