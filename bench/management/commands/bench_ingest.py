"""Tracking webhook ingestion: events per second with duplicates mixed in (DESIGN §7: ≥ 500/s on 2 cores).

python manage.py bench_ingest [--shop bench-year] [--events 20000] [--batch 100] [--clients 8]
                              [--transport http|client] [--workers N] [--json]
"""

from bench.commands import BenchCommand
from bench.ingest import ingest_benchmark


class Command(BenchCommand):
    help = "Push signed bulk tracking scans to the webhook (gunicorn over HTTP, or the test client) and time them."
    title = "tracking webhook ingestion"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--events", type=int, default=20_000)
        parser.add_argument("--batch", type=int, default=100, help="events per push")
        parser.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients")
        parser.add_argument("--transport", choices=["http", "client"], default="http")
        parser.add_argument("--workers", type=int, help="gunicorn workers (default: its config, 2×cores+1)")
        parser.add_argument("--duplicates", type=float, default=0.25, help="share of repeated events")

    def measure(self, shop, manager, *, events, batch, clients, transport, workers, duplicates, **options):
        return ingest_benchmark(
            shop=shop,
            events=events,
            batch=batch,
            clients=clients,
            transport=transport,
            workers=workers,
            duplicate_share=duplicates,
        )
