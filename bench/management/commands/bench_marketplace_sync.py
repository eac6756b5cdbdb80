"""The marketplace connectors against the local simulator (issue 19): a 双11 morning synced into tickets, and the
path-1 round trip from the buyer's request at the platform to our agreement there, with push and with pull alone.

python manage.py bench_marketplace_sync [--changes 20000] [--shops 10] [--platform taobao ...] [--processes 2]
                                        [--requests 40]
                                        [--pull-interval 10] [--skip-sync] [--skip-round-trip] [--json]
"""

import os

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from bench.commands import flatten
from bench.marketplace import double_eleven, round_trip
from bench.report import dumps, machine, print_table


class Command(BaseCommand):
    help = "Sync a 双11 morning of after-sales changes from the simulator and time the path-1 round trip."

    def add_arguments(self, parser):
        parser.add_argument("--changes", type=int, default=20_000)
        parser.add_argument(
            "--shops",
            type=int,
            default=10,
            help="connected shops the changes are spread over, dealt round the platforms",
        )
        parser.add_argument(
            "--platform",
            action="append",
            dest="platforms",
            help="a simulated platform to sync from (repeatable; default: every one the simulator and the desk know)",
        )
        parser.add_argument("--processes", type=int, default=os.cpu_count() or 2)
        parser.add_argument("--port", type=int, default=18765, help="the simulator's port for the sync")
        parser.add_argument("--requests", type=int, default=40, help="path-1 requests per round-trip mode")
        parser.add_argument("--pull-interval", type=float, default=10.0, help="seconds between pulls (pull alone)")
        parser.add_argument("--pull-rounds", type=int, default=3)
        parser.add_argument("--skip-sync", action="store_true")
        parser.add_argument("--skip-round-trip", action="store_true")
        parser.add_argument("--json", action="store_true", help="print only the JSON line")

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("the benchmarks run against PostgreSQL; set DATABASE_URL")
        report: dict = {"benchmark": "marketplace_sync", "load_average": list(os.getloadavg())}
        if not options["skip_sync"]:
            report["double_eleven"] = double_eleven(
                changes=options["changes"],
                shops=options["shops"],
                processes=options["processes"],
                port=options["port"],
                platforms=options["platforms"],
            )
        if not options["skip_round_trip"]:
            report["round_trip"] = round_trip(
                requests=options["requests"],
                pull_interval=options["pull_interval"],
                pull_rounds=options["pull_rounds"],
            )
        report["load_average_after"] = list(os.getloadavg())
        report["machine"] = machine()
        if not options["json"]:
            print_table(self.stdout, "marketplace sync", flatten(report))
        self.stdout.write(dumps(report))
