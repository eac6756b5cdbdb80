"""When Redis cannot be reached the API keeps answering: the per-user throttle, which keeps its counts in the cache,
lets calls through and logs it, so a ticket posted during the outage is saved. The slow test runs a real gunicorn
pointed at a Redis port where nothing listens, on the test database."""

import json
import logging
import subprocess
import sys
import time
import urllib.error
import urllib.request
from types import SimpleNamespace

import pytest
import redis
from django.db import connection

from aftersales.models import AfterSalesTicket
from config import throttling
from config.throttling import CACHE_RETRY_AFTER_SECONDS, FailOpenUserRateThrottle
from tests.conftest import ROOT, embedded_env, free_port
from tests.factories import ShopFactory, delivered_order, make_staff

SERVER_READY_SECONDS = 60


class UnreachableCache:
    """A cache whose Redis refuses connections, counting how often it was asked."""

    def __init__(self):
        self.calls = 0

    def get(self, *args, **kwargs):
        self.calls += 1
        raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    set = get


@pytest.mark.django_db
def test_the_throttle_allows_and_logs_while_the_cache_is_unreachable_and_throttles_again_once_it_is_back(
    monkeypatch, caplog
):
    user = make_staff("agent", role="Agent")
    request = SimpleNamespace(user=user, method="POST", path="/api/v1/tickets/", META={})
    unreachable = UnreachableCache()
    clock = [1000.0]
    monkeypatch.setattr(throttling, "monotonic", lambda: clock[0])
    throttle = FailOpenUserRateThrottle()
    throttle.num_requests = 1

    with monkeypatch.context() as outage, caplog.at_level(logging.WARNING, logger="config.throttling"):
        outage.setattr(FailOpenUserRateThrottle, "cache", unreachable)
        during = [throttle.allow_request(request, None) for _ in range(3)]

    assert during == [True, True, True]
    # Asked once; the next calls within the back-off do not wait on a dead Redis again.
    assert unreachable.calls == 1
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 3
    assert "let through without throttling" in warnings[0].getMessage()
    assert warnings[0].exc_info[0] is redis.exceptions.ConnectionError

    clock[0] += CACHE_RETRY_AFTER_SECONDS + 1
    assert [throttle.allow_request(request, None) for _ in range(2)] == [True, False]


def database_url() -> str:
    database = connection.settings_dict
    credentials = database["USER"] + (f":{database['PASSWORD']}" if database["PASSWORD"] else "")
    return f"postgres://{credentials}@{database['HOST']}:{database['PORT']}/{database['NAME']}"


def call(port: int, method: str, path: str, body: dict | None = None, token: str | None = None):
    """One HTTP call to the server: (status, decoded JSON body or the raw text)."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - a local test server
        f"http://127.0.0.1:{port}{path}", data=data, headers=headers, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")[:2000]


@pytest.fixture
def server_without_redis(reference_data, tmp_path):
    """gunicorn on this test's database, its cache and broker at a Redis port where nothing listens."""
    port, dead_redis = free_port(), free_port()
    log_path = tmp_path / "gunicorn.log"
    log = log_path.open("w")
    env = embedded_env(
        DJANGO_SETTINGS_MODULE="config.settings_test",
        DATABASE_URL=database_url(),
        REDIS_URL=f"redis://127.0.0.1:{dead_redis}/0",
        VAR_DIR=str(tmp_path / "var"),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + SERVER_READY_SECONDS
        while True:
            assert process.poll() is None, log_path.read_text()
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).close()  # noqa: S310
                break
            except urllib.error.HTTPError:
                break  # 503: the broker is down, which is the point; the server answers
            except OSError:
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.2)
        yield SimpleNamespace(port=port, log=log_path)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.mark.slow
def test_a_running_server_with_redis_unreachable_saves_a_posted_ticket_and_lists_tickets(server_without_redis):
    shop = ShopFactory(code="shanye")
    order = delivered_order(shop=shop)
    make_staff("agent", role="Agent", shops=[shop])
    port = server_without_redis.port

    token_status, token = call(port, "POST", "/api/v1/auth/token/", {"username": "agent", "password": "pw"})
    assert token_status == 200, token
    posted_status, posted = call(
        port,
        "POST",
        "/api/v1/tickets/",
        {
            "shop": "shanye",
            "platform_order_id": order.platform_order_id,
            "kind": "return_refund",
            "reason": "quality_defect",
            "platform_ticket_id": "DY-REDIS-DOWN",
        },
        token=token["token"],
    )
    listed_status, listed = call(port, "GET", "/api/v1/tickets/", token=token["token"])

    assert posted_status == 201, posted
    saved = AfterSalesTicket.objects.get(pk=posted["id"])
    assert (saved.order_id, saved.platform_ticket_id) == (order.pk, "DY-REDIS-DOWN")
    assert listed_status == 200, listed
    assert "let through without throttling" in server_without_redis.log.read_text()
