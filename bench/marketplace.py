"""The marketplace connectors against the simulator (DESIGN §7, issue 19 point 8).

- 双11 morning: `changes` after-sales requests wait at the simulated platforms (all five at once: Taobao, Douyin,
  Pinduoduo, JD, WeChat shop), spread over `shops` connected shops dealt round the platforms; the desk syncs them
  into tickets with `processes` worker processes (one connection per process at a time, as the beat's one task per
  connection does). Reported: time, rate overall (target ≥ 500/s on 2 cores) and per platform.
- Path-1 round trip: a buyer asks for a refund of an unshipped order at the platform; the time until the platform
  holds our agreement (SUCCESS at the simulator). With push (the simulator pushes to the desk's push door, served
  here by a threaded WSGI server; the refund task runs on commit, eagerly) and with pull alone (a pull every
  `pull_interval` seconds). Targets: p95 ≤ 5 s with push, ≤ interval + 5 s with pull.

The simulator runs in a separate process for the sync (its own CPU share, as a platform would), in this process for
the round trip (its clock is the one the latency is read from).
"""

import multiprocessing
import os
import random
import resource
import subprocess
import sys
import threading
import time
from datetime import timedelta
from decimal import Decimal
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx
from django.conf import settings
from django.db import connections
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from aftersales.models import AfterSalesTicket, Order, Platform, Shop
from bench.processes import backend_cpu_seconds, process_cpu_seconds
from bench.report import percentile
from marketplaces.models import ShopConnection
from marketplaces.services import connection_connect, connection_sync

APP_KEY = "bench-app"
APP_SECRET = "bench-secret-0123456789"  # noqa: S105 - the simulator's throwaway app


def _shop(code: str, name: str, platform_code: str = "taobao") -> Shop:
    shop, _created = Shop.objects.update_or_create(
        code=code,
        defaults={"name": name, "platform": Platform.objects.get(code=platform_code), "platform_shop_id": code},
    )
    return shop


def simulated_platforms() -> list[str]:
    """The platform codes the simulator serves and the desk has an adapter for, in the simulator's order."""
    from marketplaces.adapters import has_adapter
    from marketplaces.simulator.server import PLATFORMS

    return [code for code in PLATFORMS if has_adapter(code)]


def _gateway_path(platform_code: str) -> str:
    from django.utils.module_loading import import_string

    from marketplaces.simulator.server import PLATFORMS

    return import_string(PLATFORMS[platform_code]).gateway_path


def _orders(shop: Shop, count: int, *, shipped: bool, prefix: str) -> list[str]:
    now = timezone.now()
    paid = now - timedelta(days=5)
    orders = [
        Order(
            shop=shop,
            platform_order_id=f"{prefix}{n:08d}",
            paid_amount=Decimal("199.00"),
            paid_at=paid,
            shipped_at=paid + timedelta(days=1) if shipped else None,
            delivered_at=paid + timedelta(days=2) if shipped else None,
            courier_code="ZTO" if shipped else "",
            tracking_number=f"ZT{prefix}{n:08d}" if shipped else "",
        )
        for n in range(count)
    ]
    Order.objects.bulk_create(orders, batch_size=2000)
    return [order.platform_order_id for order in orders]


def _sync_worker(connection_ids: list[int], queue) -> None:
    connections.close_all()
    for connection_id in connection_ids:
        summary = connection_sync(connection_id=connection_id, now=timezone.now() + timedelta(seconds=10))
        # CLOCK_MONOTONIC is the machine's, so the parent compares it with its own start.
        queue.put((connection_id, summary.records, summary.error, time.perf_counter()))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    queue.put(("cpu", usage.ru_utime + usage.ru_stime, backend_cpu_seconds()))


def double_eleven(*, changes: int, shops: int, processes: int, port: int, platforms: list[str] | None = None) -> dict:
    """`changes` requests spread over `shops` shops, dealt round the platforms in turn (all five at once by default),
    synced by `processes` workers; the rate is reported overall and per platform (its records over the time until
    its last shop was synced)."""
    platforms = platforms or simulated_platforms()
    run = f"{int(time.time())}"
    simulator = subprocess.Popen(  # noqa: S603 - our own module
        [sys.executable, "-m", "marketplaces.simulator", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings")},
    )
    try:
        simulator.stdout.readline()  # "marketplace simulator on …": it is listening
        control = httpx.Client(base_url=f"http://127.0.0.1:{port}/_control", timeout=120)
        for platform_code in platforms:
            control.post(f"/{platform_code}/app", json={"app_key": APP_KEY, "secret": APP_SECRET}).raise_for_status()
        per_shop = changes // shops
        platform_of: dict[int, str] = {}
        prepare_started = time.perf_counter()
        for index in range(shops):
            platform_code = platforms[index % len(platforms)]
            shop = _shop(f"bench-mkt-{run}-{index}", f"双11压测店{index}", platform_code)
            token = f"bench-token-{run}-{index}"
            control.post(
                f"/{platform_code}/shop", json={"shop_id": shop.code, "token": token, "app_key": APP_KEY}
            ).raise_for_status()
            order_ids = _orders(shop, per_shop, shipped=True, prefix=f"{run}{index:02d}")
            control.post(
                f"/{platform_code}/bulk_apply",
                json={
                    "shop_id": shop.code,
                    "shop_token": token,
                    "order_ids": order_ids,
                    "amount": "59.00",
                    "spread_seconds": 1800,
                    # Taobao's own word for a return request; the others' bulk_apply makes their 仅退款/退货退款.
                    "dispute_type": "REFUND_AND_RETURN",
                },
            ).raise_for_status()
            connection = connection_connect(
                shop=shop,
                gateway_url=f"http://127.0.0.1:{port}/{platform_code}{_gateway_path(platform_code)}",
                app_key=APP_KEY,
                app_secret=APP_SECRET,
                access_token=token,
            )
            ShopConnection.objects.filter(pk=connection.pk).update(cursor=timezone.now() - timedelta(minutes=31))
            platform_of[connection.pk] = platform_code
        prepared = time.perf_counter() - prepare_started
        connection_ids = list(platform_of)
        connections.close_all()
        context = multiprocessing.get_context("fork")
        queue = context.Queue()
        groups = [connection_ids[n::processes] for n in range(processes)]
        started = time.perf_counter()
        simulator_cpu = process_cpu_seconds(simulator.pid)
        workers = [context.Process(target=_sync_worker, args=(group, queue)) for group in groups if group]
        for worker in workers:
            worker.start()
        messages = [queue.get() for _ in range(len(connection_ids) + len(workers))]
        results = [message for message in messages if message[0] != "cpu"]
        cpu = [message[1:] for message in messages if message[0] == "cpu"]
        for worker in workers:
            worker.join()
        elapsed = time.perf_counter() - started
        simulator_after = process_cpu_seconds(simulator.pid)
    finally:
        simulator.terminate()
        simulator.wait(timeout=10)
    records = sum(count for _pk, count, _error, _done in results)
    tickets = AfterSalesTicket.objects.filter(shop__code__startswith=f"bench-mkt-{run}-").count()
    report = {
        "changes": changes,
        "shops": shops,
        "platforms": platforms,
        "processes": processes,
        "prepare_seconds": round(prepared, 1),
        "records_synced": records,
        "tickets_opened": tickets,
        "errors": [error for _pk, _count, error, _done in results if error],
        "seconds": round(elapsed, 2),
        "rate_per_second": round(records / elapsed, 1) if elapsed else None,
        "target_rate_per_second": 500,
        "per_platform": _per_platform(results, platform_of, started, run),
        # What the sync cost in CPU, whatever the neighbours took meanwhile (the platform's, the simulator's, apart).
        "worker_cpu_seconds": round(sum(own for own, _database in cpu), 2),
        "database_cpu_seconds": round(sum(database or 0 for _own, database in cpu), 2)
        if all(database is not None for _own, database in cpu)
        else None,
        "simulator_cpu_seconds": round(simulator_after - simulator_cpu, 2)
        if simulator_cpu is not None and simulator_after is not None
        else None,
    }
    cpu_seconds = report["worker_cpu_seconds"] + (report["database_cpu_seconds"] or 0)
    report["cpu_ms_per_record"] = round(cpu_seconds * 1000 / records, 2) if records else None
    return report


def _per_platform(results, platform_of: dict[int, str], started: float, run: str) -> dict:
    """Each platform's records, tickets, errors and rate. Its shops share the workers with the other platforms' at
    the same time, so a platform's rate is what it got beside them, not what it would reach alone."""
    tickets = dict(
        AfterSalesTicket.objects.filter(shop__code__startswith=f"bench-mkt-{run}-")
        .values_list("shop__platform__code")
        .annotate(count=Count("pk"))
    )
    report: dict[str, dict] = {}
    for connection_id, count, error, done in results:
        entry = report.setdefault(
            platform_of[connection_id], {"records_synced": 0, "tickets_opened": 0, "errors": 0, "seconds": 0.0}
        )
        entry["records_synced"] += count
        entry["errors"] += bool(error)
        entry["seconds"] = max(entry["seconds"], round(done - started, 2))
    for platform_code, entry in report.items():
        entry["tickets_opened"] = tickets.get(platform_code, 0)
        entry["rate_per_second"] = round(entry["records_synced"] / entry["seconds"], 1) if entry["seconds"] else None
    return report


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002
        pass


class _ThreadingWSGIServer(WSGIServer):
    daemon_threads = True

    def process_request(self, request, client_address):
        thread = threading.Thread(target=self._handle, args=(request, client_address), daemon=True)
        thread.start()

    def _handle(self, request, client_address):
        try:
            self.finish_request(request, client_address)
        finally:
            self.shutdown_request(request)
            connections.close_all()


def round_trip(*, requests: int, pull_interval: float, pull_rounds: int) -> dict:
    """Path 1 with push, then with pull alone. The refund task runs eagerly on commit, as a free worker would."""
    from django.core.wsgi import get_wsgi_application

    from marketplaces.simulator.server import SimulatorServer

    settings.CELERY_TASK_ALWAYS_EAGER = True
    from config.celery import app as celery_app

    celery_app.conf.task_always_eager = True
    settings.REFUND_GATEWAY = "marketplaces.gateway.MarketplaceRefundGateway"
    simulator = SimulatorServer(platforms=["taobao"]).start()
    taobao = simulator.platforms["taobao"]
    desk = make_server(
        "127.0.0.1", 0, get_wsgi_application(), server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
    )
    threading.Thread(target=desk.serve_forever, daemon=True).start()
    run = f"{int(time.time())}"
    report = {}
    try:
        taobao.add_app(APP_KEY, APP_SECRET)
        for mode in ("push", "pull"):
            shop = _shop(f"bench-rt-{run}-{mode}", f"往返压测店{mode}")
            token = f"bench-rt-{run}-{mode}"
            taobao.add_shop(shop_id=shop.code, token=token, app_key=APP_KEY)
            connection = connection_connect(
                shop=shop,
                gateway_url=simulator.platform_url("taobao") + "/router/rest",
                app_key=APP_KEY,
                app_secret=APP_SECRET,
                access_token=token,
            )
            ShopConnection.objects.filter(pk=connection.pk).update(cursor=timezone.now())
            order_ids = _orders(shop, requests, shipped=False, prefix=f"{run}{mode[:2]}")
            created = []
            if mode == "push":
                taobao.push_target = f"http://127.0.0.1:{desk.server_port}" + reverse(
                    "marketplaces:push", args=[connection.pk]
                )
                for tid in order_ids:
                    created.append(
                        (time.perf_counter(), taobao.create_refund(shop_token=token, tid=tid, amount="29.90"))
                    )
                    time.sleep(random.uniform(0.02, 0.1))  # noqa: S311
                deadline = time.perf_counter() + 60
                while time.perf_counter() < deadline and not _all_agreed(taobao, created):
                    time.sleep(0.1)
            else:
                taobao.push_target = None
                per_round = max(1, requests // pull_rounds)
                pending = list(order_ids)
                for _round in range(pull_rounds):
                    round_started = time.perf_counter()
                    while time.perf_counter() - round_started < pull_interval:
                        if pending and len(created) < per_round * (_round + 1):
                            tid = pending.pop()
                            created.append(
                                (
                                    time.perf_counter(),
                                    taobao.create_refund(shop_token=token, tid=tid, amount="29.90", push=False),
                                )
                            )
                        time.sleep(pull_interval / per_round * random.uniform(0.5, 1.0))  # noqa: S311
                    connection_sync(connection_id=connection.pk, now=timezone.now() + timedelta(seconds=6))
                connection_sync(connection_id=connection.pk, now=timezone.now() + timedelta(seconds=6))
            latencies = _latencies(taobao, created)
            report[mode] = {
                "requests": len(created),
                "agreed": len(latencies),
                "p50_seconds": round(percentile(latencies, 0.5), 2) if latencies else None,
                "p95_seconds": round(percentile(latencies, 0.95), 2) if latencies else None,
                "target_p95_seconds": 5 if mode == "push" else pull_interval + 5,
            }
            if mode == "pull":
                report[mode]["pull_interval_seconds"] = pull_interval
    finally:
        desk.shutdown()
        simulator.stop()
    return report


def _all_agreed(taobao, created) -> bool:
    return all(taobao.refunds[refund["refund_id"]].get("_agreed_at") for _at, refund in created)


def _latencies(taobao, created) -> list[float]:
    return [
        taobao.refunds[refund["refund_id"]]["_agreed_at"] - at
        for at, refund in created
        if taobao.refunds[refund["refund_id"]].get("_agreed_at")
    ]
