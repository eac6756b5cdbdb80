"""The admin's ticket queue at 1,000,000 tickets: queries, full counts and time per page (DESIGN §7).

python manage.py bench_admin_changelist [--shop bench-year] [--tickets 1000000] [--orders 0] [--runs 10] [--keep]
                                        [--json]

--orders pads the orders table too (copies of the shop's orders, rolled back with the tickets), for the search's
order lookup at a size the generator could not write on a small machine.
"""

from bench.admin_list import admin_changelist_benchmark
from bench.commands import BenchCommand


class Command(BenchCommand):
    help = "Time the admin ticket changelist with the table padded to --tickets (rolled back unless --keep)."
    title = "admin ticket changelist"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--tickets", type=int, default=1_000_000)
        parser.add_argument("--orders", type=int, default=0, help="pad the orders table to this many (0: as it is)")
        parser.add_argument("--runs", type=int, default=10)
        parser.add_argument("--keep", action="store_true", help="commit the padding tickets")

    def measure(self, shop, manager, *, tickets, orders, runs, keep, **options):
        return admin_changelist_benchmark(
            shop=shop, manager=manager, tickets=tickets, orders=orders, runs=runs, keep=keep
        )
