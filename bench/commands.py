"""What every bench_* command shares: the shop to measure, a table for people and one line of JSON."""

import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from aftersales.models import Order, Shop
from bench.report import dumps, machine, print_table


def bench_shop(code: str) -> tuple[Shop, object]:
    """The generated shop and its manager (bench_generate_year makes both)."""
    shop = Shop.objects.filter(code=code).first()
    if shop is None or not Order.objects.filter(shop=shop).exists():
        raise CommandError(f"no generated shop {code!r}: run `manage.py bench_generate_year --shop {code}` first")
    manager = get_user_model().objects.get(username=f"{code}-manager")
    return shop, manager


def flatten(report: dict, prefix: str = "") -> list[tuple[str, object]]:
    rows = []
    for key, value in report.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows.extend(flatten(value, f"{name} / "))
        else:
            rows.append((name, value))
    return rows


class BenchCommand(BaseCommand):
    """Subclasses implement `measure(shop, manager, **options) -> dict`."""

    title = ""

    def add_arguments(self, parser):
        parser.add_argument("--shop", default="bench-year", help="the generated shop's code")
        parser.add_argument("--json", action="store_true", help="print only the JSON line")

    def handle(self, *args, shop, json, **options):
        if connection.vendor != "postgresql":
            raise CommandError("the benchmarks run against PostgreSQL; set DATABASE_URL")
        shop_row, manager = bench_shop(shop)
        before = os.getloadavg()
        report = self.measure(shop_row, manager, **options)
        # The machine's 1/5/15-minute load around the run: figures from a shared machine are read with it.
        report["load"] = {"before": [round(x, 2) for x in before], "after": [round(x, 2) for x in os.getloadavg()]}
        report.setdefault("shop", shop)
        report["machine"] = machine()
        if not json:
            print_table(self.stdout, self.title or report.get("benchmark", ""), flatten(report))
        self.stdout.write(dumps(report))
        return None

    def measure(self, shop, manager, **options) -> dict:
        raise NotImplementedError
