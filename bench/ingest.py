"""Tracking ingestion through the bulk webhook (issue 24: ≥ 2,000 events/s over HTTP on 2 cores, 25 % repeats).

Scans for the shop's parcels are pushed to `/logistics/webhooks/tracking/<shop>/` in the documented bulk JSON shape,
signed with the shop's key (`X-Signature: sha256=…`, docs/tracking-webhooks.md), `batch` events a push, a quarter
of them repeats of events pushed before (an aggregator retrying). Transport:

- `http` (default): a real gunicorn (config/gunicorn.conf.py, its default 2×cores+1 workers) on a free local port,
  driven by `clients` threads with keep-alive connections: the server, the network stack and PostgreSQL as in
  production, on the same machine as the clients;
- `client`: Django's test client in this process, one push after another (no server, no concurrency).

The scans are new, later in-transit scans of delivered and in-transit parcels (the common path: stored, the parcel's
clock moves). Afterwards the stored scans are deleted and the parcels' last-scan fields put back, so the year stays
as generated.
"""

import hashlib
import hmac
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from aftersales.models import Shop
from bench.processes import ROOT, child_env
from logistics.models import Shipment, TrackingAccount, TrackingEvent, TrackingProvider


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pushes(shop: Shop, *, events: int, batch: int, duplicate_share: float, seed: int):
    """The bodies to push and the parcels they touch (to put back afterwards)."""
    rng = random.Random(seed)
    parcels_needed = max(1, events // 4)
    parcels = list(
        Shipment.objects.filter(shop=shop, status__in=["delivered", "in_transit"], direction="outbound")
        .select_related("courier")
        .order_by("-last_scan_at")[:parcels_needed]
        .values_list("pk", "courier__code", "tracking_number", "last_scan_at", "last_scan_text", "status")
    )
    now = timezone.now()
    rng.shuffle(parcels)
    fresh = []
    # Round by round, as an aggregator pushes: each round one new scan of every parcel, so a push holds many parcels.
    for step in range(4):
        for _pk, courier, number, last_scan, _text, _status in parcels:
            start = min(last_scan, now - timedelta(hours=6))
            at = start + timedelta(minutes=17 * (step + 1), seconds=rng.randrange(600))
            fresh.append(
                {
                    "courier": courier,
                    "tracking_number": number,
                    "time": at.isoformat(),
                    "status": "in_transit" if step < 3 else "delivering",
                    "text": "到达转运中心" if step < 3 else "派件中",
                    "location": "杭州",
                }
            )
    # Exactly `duplicate_share` of the stream repeats an event pushed earlier (an aggregator retrying): the fresh
    # events in order, each repeat placed at a random point after its original.
    repeats = round(events * duplicate_share)
    fresh = fresh[: events - repeats]
    keyed = [(float(index), event) for index, event in enumerate(fresh)]
    for _repeat in range(min(repeats, len(fresh) * 4)):
        original = rng.randrange(len(fresh))
        keyed.append((rng.uniform(original, len(fresh)) + 0.5, fresh[original]))
    keyed.sort(key=lambda pair: pair[0])
    stream = [event for _key, event in keyed]
    bodies = [json.dumps({"events": stream[i : i + batch]}).encode() for i in range(0, len(stream), batch)]
    return bodies, parcels


def _sign(body: bytes, key: str) -> str:
    return "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


def _restore(parcels, started_at) -> int:
    """Delete the scans the run stored and put the parcels' clocks back."""
    ids = [pk for pk, *_rest in parcels]
    stored = TrackingEvent.objects.filter(shipment_id__in=ids, source="bulk", received_at__gte=started_at)
    deleted, _detail = stored.delete()
    with connection.cursor() as cursor:
        for pk, _courier, _number, last_scan, text, status in parcels:
            cursor.execute(
                "UPDATE logistics_shipment SET last_scan_at = %s, last_scan_text = %s, status = %s WHERE id = %s",
                [last_scan, text, status, pk],
            )
    return deleted


class Gunicorn:
    """A real gunicorn on a free port with this process's database and Redis."""

    def __init__(self, workers: int | None):
        self.port = free_port()
        self.workers = workers or (os.cpu_count() or 1) * 2 + 1
        self.process = None

    def __enter__(self):
        env = child_env(
            GUNICORN_BIND=f"127.0.0.1:{self.port}", GUNICORN_WORKERS=str(self.workers), DJANGO_DEBUG="false"
        )
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "config/gunicorn.conf.py",
                "--access-logfile",
                "/dev/null",
                "config.wsgi",
            ],  # fmt: skip
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                response = httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2)
                if response.status_code in (200, 503):
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        self.__exit__(None, None, None)
        raise RuntimeError("gunicorn did not start")

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


def _quiet_http_log():
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)


def ingest_benchmark(
    *,
    shop: Shop,
    events: int = 20_000,
    batch: int = 100,
    clients: int = 8,
    transport: str = "http",
    workers: int | None = None,
    duplicate_share: float = 0.25,
    seed: int = 1,
) -> dict:
    _quiet_http_log()
    account = TrackingAccount.objects.get(shop=shop, provider=TrackingProvider.BULK, is_active=True)
    bodies, parcels = _pushes(shop, events=events, batch=batch, duplicate_share=duplicate_share, seed=seed)
    path = reverse("logistics:tracking_push", args=[shop.code])
    started_at = timezone.now()
    totals = {"stored": 0, "duplicates": 0, "unknown": 0}
    statuses = {}
    latencies = []

    def record(status: int, answer: dict, seconds: float):
        statuses[status] = statuses.get(status, 0) + 1
        latencies.append(seconds * 1000)
        for key in totals:
            totals[key] += answer.get(key, 0)

    try:
        if transport == "client":
            client = Client(HTTP_HOST="localhost")
            began = time.perf_counter()
            for body in bodies:
                sent = time.perf_counter()
                response = client.post(
                    path, body, content_type="application/json", HTTP_X_SIGNATURE=_sign(body, account.signing_key)
                )
                record(response.status_code, response.json(), time.perf_counter() - sent)
            elapsed = time.perf_counter() - began
            server = {"transport": "Django test client, in process, sequential"}
        else:
            with Gunicorn(workers) as gunicorn:
                base = f"http://127.0.0.1:{gunicorn.port}"

                def push(chunk):
                    answers = []
                    with httpx.Client(base_url=base, timeout=120) as http:
                        for body in chunk:
                            sent = time.perf_counter()
                            response = http.post(
                                path,
                                content=body,
                                headers={
                                    "Content-Type": "application/json",
                                    "X-Signature": _sign(body, account.signing_key),
                                    "Host": "localhost",
                                },
                            )
                            answers.append((response.status_code, response.json(), time.perf_counter() - sent))
                    return answers

                chunks = [bodies[i::clients] for i in range(clients)]
                began = time.perf_counter()
                with ThreadPoolExecutor(clients) as pool:
                    results = list(pool.map(push, chunks))
                elapsed = time.perf_counter() - began
                for answers in results:
                    for status, answer, seconds in answers:
                        record(status, answer, seconds)
                server = {
                    "transport": "HTTP to gunicorn on 127.0.0.1",
                    "gunicorn_workers": gunicorn.workers,
                    "clients": clients,
                }
    finally:
        restored = _restore(parcels, started_at)
    sent_events = sum(len(json.loads(body)["events"]) for body in bodies)
    latencies.sort()
    return {
        "benchmark": "tracking_ingest",
        **server,
        "events_sent": sent_events,
        "pushes": len(bodies),
        "events_per_push": batch,
        "duplicate_share": duplicate_share,
        "duplicates_in_stream": sum(len(json.loads(body)["events"]) for body in bodies)
        - len({json.dumps(event, sort_keys=True) for body in bodies for event in json.loads(body)["events"]}),
        "answers": {str(status): count for status, count in sorted(statuses.items())},
        **totals,
        "seconds": round(elapsed, 2),
        "events_per_second": round(sent_events / elapsed, 1),
        "push_p50_ms": round(latencies[len(latencies) // 2], 1),
        "push_p95_ms": round(latencies[max(0, int(len(latencies) * 0.95) - 1)], 1),
        "scans_removed_afterwards": restored,
        "target_events_per_second": 2000,
        "meets_target": sent_events / elapsed >= 2000 and statuses.get(200, 0) == len(bodies),
    }
