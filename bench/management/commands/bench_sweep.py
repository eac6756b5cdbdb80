"""The refund sweep over 100,000 open path-1 tickets beside one set-based SQL statement (DESIGN §7: ≤ 3×).

python manage.py bench_sweep [--shop bench-year] [--tickets 100000] [--batch-size N] [--json]
"""

from bench.commands import BenchCommand
from bench.sweep import sweep_benchmark


class Command(BenchCommand):
    help = "Time refund_sweep_run on --tickets open path-1 tickets against one set-based SQL statement."
    title = "refund sweep"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--tickets", type=int, default=100_000)
        parser.add_argument("--batch-size", type=int, help="rows per sweep batch (default SWEEP_BATCH_SIZE)")

    def measure(self, shop, manager, *, tickets, batch_size, **options):
        return sweep_benchmark(shop=shop, tickets=tickets, batch_size=batch_size)
