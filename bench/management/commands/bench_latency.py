"""Path-1 tickets opened in a burst by concurrent clients, a real Celery worker paying: p50/p95/p99 (target p99 ≤ 2 s
at 100/s).

python manage.py bench_latency [--shop bench-year] [--tickets 1000] [--rate 100] [--clients 4] [--concurrency 2]
                               [--json]
"""

from bench.commands import BenchCommand
from bench.latency import CLIENTS, latency_benchmark


class Command(BenchCommand):
    help = "Open path-1 tickets through ticket_open while a real worker pays them; time open → refund succeeded."
    title = "path-1 ticket to refund (real worker)"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--tickets", type=int, default=1000)
        parser.add_argument("--rate", type=float, default=100.0, help="tickets opened per second, all clients")
        parser.add_argument("--clients", type=int, default=CLIENTS, help="concurrent client processes opening tickets")
        parser.add_argument("--concurrency", type=int, default=2, help="worker processes")

    def measure(self, shop, manager, *, tickets, rate, clients, concurrency, **options):
        return latency_benchmark(shop=shop, tickets=tickets, rate=rate, concurrency=concurrency, clients=clients)
