"""Every benchmark of DESIGN §7 on the generated year, one after another, into one JSON file.

    python manage.py bench_all [--shop bench-year] [--generate] [--orders 1000000] [--tickets 100000] [--seed 1]
                               [--sweep-tickets 100000] [--sweep-small 10000] [--list-tickets 1000000]
                               [--ingest-events 20000] [--latency-tickets 1000] [--latency-rate 100]
                               [--latency-clients 4] [--runs 10] [--output bench/results/bench-all.json] [--json]

--generate writes the year first (bench_generate_year); otherwise the shop must have been generated. Every step
records the machine's load average before and after it; the JSON holds every figure with its target and whether
it was met (bench/summary.py), from which `manage.py bench_readme` writes the README's table.
"""

import json
import os
import time
from pathlib import Path

from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from bench.admin_list import admin_changelist_benchmark
from bench.commands import BenchCommand, bench_shop, flatten
from bench.dashboard import dashboard_benchmark
from bench.generate import generate_year
from bench.ingest import ingest_benchmark
from bench.latency import CLIENTS, latency_benchmark
from bench.report import dumps, machine, print_table
from bench.summary import RESULTS, figures
from bench.sweep import sweep_benchmark


class Command(BenchCommand):
    help = "Run bench_sweep, bench_dashboard, bench_admin_changelist, bench_ingest and bench_latency; write JSON."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--generate", action="store_true", help="generate the year first")
        parser.add_argument("--orders", type=int, default=1_000_000)
        parser.add_argument("--tickets", type=int, default=100_000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--sweep-tickets", type=int, default=100_000)
        parser.add_argument("--list-tickets", type=int, default=1_000_000)
        parser.add_argument("--ingest-events", type=int, default=20_000)
        parser.add_argument("--ingest-transport", choices=["http", "client"], default="http")
        parser.add_argument("--sweep-small", type=int, default=10_000, help="the sweep again at this size (0: not)")
        parser.add_argument("--latency-tickets", type=int, default=1000)
        parser.add_argument("--latency-rate", type=float, default=100.0)
        parser.add_argument("--latency-clients", type=int, default=CLIENTS)
        parser.add_argument("--runs", type=int, default=10)
        parser.add_argument("--rollup-days", type=int, default=365, help="days of rollups the dashboard needs")
        parser.add_argument("--output", default=str(RESULTS), help="where the JSON goes ('-': nowhere)")

    def handle(self, *args, shop, json, **options):
        if connection.vendor != "postgresql":
            raise CommandError("the benchmarks run against PostgreSQL; set DATABASE_URL")
        started = time.perf_counter()
        results = {
            "started_at": timezone.now().isoformat(),
            "machine": machine(),
            "shop": shop,
            "load_at_start": _load(),
        }
        if options["generate"]:
            generated = generate_year(
                shop_code=shop, orders=options["orders"], tickets=options["tickets"], seed=options["seed"]
            )
            results["generate_year"] = {
                "seconds": round(generated.seconds, 1),
                "rows": generated.counts,
                "rows_total": sum(generated.counts.values()),
                "seed": options["seed"],
                "end": generated.end.isoformat(),
            }
        shop_row, manager = bench_shop(shop)
        runs = options["runs"]
        steps = [
            ("refund_sweep", lambda: sweep_benchmark(shop=shop_row, tickets=options["sweep_tickets"])),
            *(
                [("refund_sweep_small", lambda: sweep_benchmark(shop=shop_row, tickets=options["sweep_small"]))]
                if options["sweep_small"]
                else []
            ),
            (
                "dashboard",
                lambda: dashboard_benchmark(
                    shop=shop_row, manager=manager, runs=runs, rollup_days=options["rollup_days"]
                ),
            ),
            (
                "admin_changelist",
                lambda: admin_changelist_benchmark(
                    shop=shop_row, manager=manager, tickets=options["list_tickets"], runs=runs
                ),
            ),
            (
                "tracking_ingest",
                lambda: ingest_benchmark(
                    shop=shop_row, events=options["ingest_events"], transport=options["ingest_transport"]
                ),
            ),
            (
                "path1_refund_latency",
                lambda: latency_benchmark(
                    shop=shop_row,
                    tickets=options["latency_tickets"],
                    rate=options["latency_rate"],
                    clients=options["latency_clients"],
                ),
            ),
        ]
        for name, step in steps:
            if not json:
                self.stdout.write(f"running {name} …")
            before = os.getloadavg()
            try:
                results[name] = step()
            except Exception as error:  # noqa: BLE001 (one step failing must not lose the others' figures)
                results[name] = {"error": f"{type(error).__name__}: {error}", "meets_target": False}
            results[name]["load"] = {"before": [round(x, 2) for x in before], "after": _load()}
        results["seconds"] = round(time.perf_counter() - started, 1)
        results["figures"] = figures(results)
        results["all_meet_targets"] = all(figure["met"] for figure in results["figures"])
        if not json:
            details = [row for name, _step in steps for row in flatten(results[name], f"{name} / ")]
            print_table(self.stdout, "details", details)
            rows = [
                (figure["name"], f"{figure['value']} {figure['unit']} (target {figure['target']}: "
                 f"{'met' if figure['met'] else 'NOT met'}; load {figure['load']})")
                for figure in results["figures"]
            ]  # fmt: skip
            print_table(self.stdout, "figures and targets", rows)
        if options["output"] != "-":
            Path(options["output"]).parent.mkdir(parents=True, exist_ok=True)
            Path(options["output"]).write_text(dumps_pretty(results), encoding="utf-8")
            if not json:
                self.stdout.write(f"written to {options['output']}")
        self.stdout.write(dumps(results))


def _load() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def dumps_pretty(results: dict) -> str:
    return json.dumps(results, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n"
