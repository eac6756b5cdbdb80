"""A year of one big shop into PostgreSQL (DESIGN §7's reference load), for the other bench_* commands.

    python manage.py bench_generate_year [--orders 1000000] [--tickets 100000] [--seed 1] [--shop bench-year]
                                         [--end 2026-11-24T00:00Z] [--json]

Replaces the shop's rows (the shop, its people and couriers are kept and reused). The same seed and end write the
same data; without --end the year ends at the top of the current hour.
"""

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from bench.generate import generate_year
from bench.report import dumps, print_table


class Command(BaseCommand):
    help = "Generate a year of one big shop (orders, tickets on the four paths, logistics, warehouse) with COPY."

    def add_arguments(self, parser):
        parser.add_argument("--orders", type=int, default=1_000_000)
        parser.add_argument("--tickets", type=int, default=100_000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--shop", default="bench-year", help="the shop's code")
        parser.add_argument("--end", help="the year's last moment, ISO 8601 with offset (default: this hour)")
        parser.add_argument("--json", action="store_true", help="print only the JSON")

    def handle(self, *args, orders, tickets, seed, shop, end, json: bool, **options):
        if connection.vendor != "postgresql":
            raise CommandError("the generator writes with PostgreSQL's COPY; set DATABASE_URL to a PostgreSQL database")
        end_at = None
        if end:
            end_at = datetime.fromisoformat(end.replace("Z", "+00:00"))
            if end_at.tzinfo is None:
                raise CommandError("--end needs its UTC offset")
        log = (lambda message: None) if json else (lambda message: self.stdout.write(message))
        result = generate_year(shop_code=shop, orders=orders, tickets=tickets, seed=seed, end=end_at, log=log)
        report = {
            "benchmark": "generate_year",
            "shop": shop,
            "seed": seed,
            "end": result.end.isoformat(),
            "seconds": round(result.seconds, 1),
            "rows": result.counts,
            "rows_total": sum(result.counts.values()),
        }
        if not json:
            print_table(self.stdout, "rows written", [(table, count) for table, count in result.counts.items()])
            self.stdout.write(f"{report['rows_total']} rows in {report['seconds']} s")
        self.stdout.write(dumps(report))
