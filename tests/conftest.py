import importlib
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.utils import translation

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"

# `make test` runs the suite on two pytest-xdist workers. The tests that use one of these fixtures run on the same
# worker, one after the other, so the fixture is built once: the SQLite crawl is module-scoped (a subprocess that
# migrates, loads the demo and crawls), and the browser tests share one Chromium (two browsers beside two live servers
# would starve each other on two cores). The pattern says which test ids use the fixture: the scheduler sees only ids.
KEEP_TOGETHER = {
    "browser": re.compile(r"tests/browser/"),
    "sqlite_crawl": re.compile(r"tests/test_every_page\.py::.*_on_sqlite"),
}


def pytest_collection_modifyitems(config, items):
    """Every test that uses a KEEP_TOGETHER fixture is in its group. The order is left as pytest-django sorts it
    (database tests, then transactional ones, whose flush empties the reference data, then the rest)."""
    for item in items:
        for fixture, pattern in KEEP_TOGETHER.items():
            if fixture in item.fixturenames and not pattern.match(item.nodeid):
                raise pytest.UsageError(f"{item.nodeid} uses {fixture}: widen KEEP_TOGETHER[{fixture!r}] to match it")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """xdist's `load` scheduling, except that each KEEP_TOGETHER group is one unit of work. (`--dist loadgroup` would
    do this with xdist_group marks, but pytest-xdist 3.8 cannot rename test ids under pytest 9.2, pytest-xdist#1386.)
    Units are handed out in collection order, one or two at a time per worker, so each worker runs its tests in
    pytest-django's order (a group sits where its first test is; `loadscope` would move the largest groups first)."""
    if config.getoption("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    config.option.loadscopereorder = False

    class KeepTogetherScheduling(LoadScopeScheduling):
        def add_node_collection(self, node, collection):
            # Scopes key their tests by id, and schemathesis gives every operation's test the same id: the repeats
            # get a `#n` suffix here (the worker is told indexes, never ids), or all but one would never run.
            seen = {}
            unique = []
            for nodeid in collection:
                seen[nodeid] = seen.get(nodeid, 0) + 1
                unique.append(nodeid if seen[nodeid] == 1 else f"{nodeid}#{seen[nodeid]}")
            super().add_node_collection(node, unique)

        def _split_scope(self, nodeid):
            for group, pattern in KEEP_TOGETHER.items():
                if pattern.match(nodeid):
                    return group
            return nodeid

    return KeepTogetherScheduling(config, log)


@pytest.fixture(autouse=True)
def _broker_assumed_up():
    """A test that stopped a broker must not leave the next test's sends skipped (desk.queue's back-off)."""
    from desk import queue

    queue._broker_down_until = 0.0
    yield
    queue._broker_down_until = 0.0


@pytest.fixture(autouse=True)
def _cache_assumed_up():
    """A test whose cache failed must not leave the next test's API calls unthrottled (config.throttling's back-off)."""
    from config import throttling

    throttling._cache_down_until = 0.0
    yield
    throttling._cache_down_until = 0.0


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the product's default language: the locale middleware activates a request's language
    for the thread and leaves it active after the response, so a test that read a page in English would otherwise
    leave English to the next test in the same worker."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _clear_cache():
    """Tests share the real Redis (database 15, or one per xdist worker: config/settings_test.py); start each one
    from an empty cache."""
    cache.clear()
    yield
    cache.clear()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def embedded_env(**extra) -> dict:
    """The environment of a fresh shell: no DATABASE_URL/REDIS_URL (pytest's settings_test put them in ours)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_ENV", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
        and not key.startswith(("PYTEST_XDIST_", "AFTERSALES_TEST_"))
    }
    env.update(extra)
    return env


class RedisServer:
    """A real redis-server on its own port, which a test may stop and start again."""

    def __init__(self, port: int):
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen | None = None

    def start(self):
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server"),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def own_redis():
    if not shutil.which("redis-server"):
        pytest.fail("redis-server is not installed (apt-get install redis-server)")
    server = RedisServer(free_port())
    server.start()
    yield server
    server.stop()


# Data migrations whose rows tests rely on. A transactional test (live server, real worker) ends with a flush that
# empties every table, so such tests re-run these idempotent functions first instead of trusting earlier state.
REFERENCE_DATA_MIGRATIONS = [
    ("aftersales.migrations.0002_seed_platforms", "seed_platforms"),
    ("aftersales.migrations.0003_role_permissions", "grant"),
    ("logistics.migrations.0002_role_permissions", "grant"),
    ("aftersales.migrations.0006_seed_reasons_words_system_user", "seed"),
    ("aftersales.migrations.0007_ticket_role_permissions", "grant"),
    ("warehouse.migrations.0002_role_permissions", "grant"),
    ("logistics.migrations.0004_role_permissions", "grant"),
    ("logistics.migrations.0006_courier_agreements_data", "grant"),
    ("logistics.migrations.0008_agents_do_not_answer_intercepts", "revoke"),
    ("aftersales.migrations.0010_sweep_run_permissions", "grant"),
    ("aftersales.migrations.0018_order_events", "grant"),
    ("aftersales.migrations.0019_authority_grant_events", "grant"),
    ("aftersales.migrations.0020_refund_lifecycle", "grant_batches"),
    ("aftersales.migrations.0021_shop_settings", "grant"),
    ("aftersales.migrations.0026_complaint_role_permissions", "grant"),
    ("aftersales.migrations.0029_reply_templates_seed", "seed"),
    ("config.migrations.0001_beat_schedule", "create_schedule"),
    ("config.migrations.0002_enable_metrics_rollup", "enable"),
    ("config.migrations.0003_idempotency_keys_purge", "create"),
    ("config.migrations.0004_api_tokens", "grant"),
    ("config.migrations.0005_metrics_rollup_changed_days", "create"),
    ("marketplaces.migrations.0002_beat_sync", "create"),
    ("marketplaces.migrations.0004_manager_permissions", "grant"),
    ("metrics.migrations.0002_role_permissions", "grant"),
    ("metrics.migrations.0004_seed_scorecards", "seed_scorecards"),
    ("metrics.migrations.0005_scorecard_role_permissions", "grant"),
    ("metrics.migrations.0008_platform_data_role_permissions", "grant"),
    ("metrics.migrations.0010_product_score_role_permissions", "grant"),
]


@pytest.fixture
def reference_data(transactional_db):
    for module_name, function_name in REFERENCE_DATA_MIGRATIONS:
        getattr(importlib.import_module(module_name), function_name)(apps, None)


@pytest.fixture
def stub_gateway(settings):
    """The refund gateway is tests.gateway_stub.StubGateway, reset: it counts sends and questions per refund."""
    from tests.gateway_stub import StubGateway

    StubGateway.reset()
    settings.REFUND_GATEWAY = "tests.gateway_stub.StubGateway"
    yield StubGateway
    StubGateway.reset()
