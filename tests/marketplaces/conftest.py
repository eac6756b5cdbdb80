"""The simulator runs in a thread of the test process; the desk talks to it through real HTTP."""

import importlib
from datetime import timedelta

import pytest
from django.utils import timezone

from aftersales.models import Platform
from marketplaces.services import connection_connect
from marketplaces.simulator.server import SimulatorServer
from tests.factories import ShopFactory

APP_KEY = "12345678"
APP_SECRET = "sim-secret-0123456789"


@pytest.fixture
def simulator():
    server = SimulatorServer(platforms=["taobao"]).start()
    server.platforms["taobao"].timeout_sleep = 1.5
    yield server
    server.stop()


@pytest.fixture
def taobao(simulator):
    return simulator.platforms["taobao"]


@pytest.fixture(autouse=True)
def _marketplace_settings(settings):
    settings.MARKETPLACE_HTTP_TIMEOUT_SECONDS = 0.5
    settings.REFUND_GATEWAY = "marketplaces.gateway.MarketplaceRefundGateway"


def connect_shop(simulator, *, platform_code="taobao", token="shop-token-1", shop_id="seller-1", shop=None):
    sim = simulator.platforms["taobao"]
    sim.add_app(APP_KEY, APP_SECRET)
    sim.add_shop(shop_id=shop_id, token=token, app_key=APP_KEY, is_tmall=platform_code == "tmall")
    shop = shop or ShopFactory(platform=Platform.objects.get(code=platform_code), platform_shop_id=shop_id)
    connection = connection_connect(
        shop=shop,
        gateway_url=simulator.platform_url("taobao") + "/router/rest",
        app_key=APP_KEY,
        app_secret=APP_SECRET,
        access_token=token,
        token_expires_at=timezone.now() + timedelta(days=30),
    )
    return connection


def seed_reference_rows():
    """Platforms and reasons, as their data migrations make them: a transactional test before this one flushed them."""
    from django.apps import apps

    for module_name, function_name in (
        ("aftersales.migrations.0002_seed_platforms", "seed_platforms"),
        ("aftersales.migrations.0006_seed_reasons_words_system_user", "seed"),
    ):
        getattr(importlib.import_module(module_name), function_name)(apps, None)


@pytest.fixture
def connection(simulator, db):
    seed_reference_rows()
    return connect_shop(simulator)
