"""The manager dashboard on the generated year: server time and queries (median ≤ 300 ms, p95 ≤ 600 ms, fixed queries).

python manage.py bench_dashboard [--shop bench-year] [--runs 20] [--rollup-days 365] [--force-rollup] [--json]
"""

from bench.commands import BenchCommand
from bench.dashboard import dashboard_benchmark


class Command(BenchCommand):
    help = "Roll up the generated shop's year (unless done) and time its metrics dashboard."
    title = "manager dashboard"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--runs", type=int, default=20)
        parser.add_argument("--rollup-days", type=int, default=365)
        parser.add_argument("--force-rollup", action="store_true")

    def measure(self, shop, manager, *, runs, rollup_days, force_rollup, **options):
        return dashboard_benchmark(
            shop=shop, manager=manager, runs=runs, rollup_days=rollup_days, force_rollup=force_rollup
        )
