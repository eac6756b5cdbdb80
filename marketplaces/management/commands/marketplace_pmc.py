"""Keep 拼多多's PMC channels open: one WebSocket per app of the enabled Pinduoduo connections, found again every
`--rescan` seconds so a shop connected later is served without a restart. Idle (no connection) costs a query a
rescan. Runs until stopped (make run starts it).

python manage.py marketplace_pmc [--rescan 30] [--seconds 0 (until stopped)]
"""

import threading
import time

from django.core.management.base import BaseCommand

from marketplaces.adapters.pinduoduo import PLATFORM_CODE
from marketplaces.models import ShopConnection
from marketplaces.pmc import PmcClient, pmc_base_url
from marketplaces.selectors import connection_groups
from marketplaces.services import credentials_for


class Command(BaseCommand):
    help = "Keep Pinduoduo's PMC push channels open for the enabled Pinduoduo connections."

    def add_arguments(self, parser):
        parser.add_argument("--rescan", type=float, default=30.0, help="seconds between two looks for new apps")
        parser.add_argument("--seconds", type=float, default=0.0, help="stop after this long (0: until stopped)")

    def handle(self, *args, rescan, seconds, **options):
        stop = threading.Event()
        running: dict[tuple[str, str], threading.Thread] = {}
        until = time.monotonic() + seconds if seconds else None
        try:
            while not stop.is_set() and (until is None or time.monotonic() < until):
                for key, connection_id in connection_groups(PLATFORM_CODE).items():
                    thread = running.get(key)
                    if thread is not None and thread.is_alive():
                        continue
                    connection = ShopConnection.objects.select_related("shop__platform").get(pk=connection_id)
                    credentials = credentials_for(connection)
                    client = PmcClient(
                        base_url=pmc_base_url(connection.gateway_url),
                        app_key=credentials.app_key,
                        app_secret=credentials.app_secret,
                        stop=stop,
                    )
                    running[key] = threading.Thread(target=client.run, name=f"pmc-{key[0]}", daemon=True)
                    running[key].start()
                    self.stdout.write(f"PMC: listening for app {key[0]} at {client.base_url}")
                stop.wait(rescan if until is None else max(0.0, min(rescan, until - time.monotonic())))
        except KeyboardInterrupt:
            pass
        finally:
            stop.set()
            for thread in running.values():
                thread.join(5)
