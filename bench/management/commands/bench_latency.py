"""Path-1 ticket → refund paid with a real Celery worker running: p50/p95 (DESIGN §7: p95 ≤ 5 s).

python manage.py bench_latency [--shop bench-year] [--tickets 300] [--rate 10] [--concurrency 2] [--json]
"""

from bench.commands import BenchCommand
from bench.latency import latency_benchmark


class Command(BenchCommand):
    help = "Open path-1 tickets through ticket_open while a real worker pays them; time open → refund succeeded."
    title = "path-1 ticket to refund (real worker)"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--tickets", type=int, default=300)
        parser.add_argument("--rate", type=float, default=10.0, help="tickets opened per second")
        parser.add_argument("--concurrency", type=int, default=2, help="worker processes")

    def measure(self, shop, manager, *, tickets, rate, concurrency, **options):
        return latency_benchmark(shop=shop, tickets=tickets, rate=rate, concurrency=concurrency)
