"""The ticket queue and its one search box at 1,000,000 tickets (issue 23): each thing an agent types for one
buyer, its queries and time, and the trigram plan of the order lookup.

python manage.py bench_ticket_search [--shop bench-year] [--tickets 1000000] [--orders 0] [--runs 10] [--keep]
                                        [--json]

--orders pads the orders table too (copies of the shop's orders, rolled back with the tickets), for the search's
order lookup at a size the generator could not write on a small machine.
"""

from bench.commands import BenchCommand
from bench.ticket_search import ticket_search_benchmark


class Command(BenchCommand):
    help = "Time the admin ticket changelist with the table padded to --tickets (rolled back unless --keep)."
    title = "admin ticket search"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--tickets", type=int, default=1_000_000)
        parser.add_argument("--orders", type=int, default=0, help="pad the orders table to this many (0: as it is)")
        parser.add_argument("--runs", type=int, default=10)
        parser.add_argument("--keep", action="store_true", help="commit the padding tickets")

    def measure(self, shop, manager, *, tickets, orders, runs, keep, **options):
        return ticket_search_benchmark(shop=shop, manager=manager, tickets=tickets, orders=orders, runs=runs, keep=keep)
