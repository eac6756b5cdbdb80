"""The managers' connection pages: a fixed number of queries however many connections or records, and secrets never
in the page."""

from datetime import timedelta

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from aftersales import roles
from aftersales.models import Platform
from marketplaces.models import PlatformRecord
from marketplaces.services import connection_connect
from tests.factories import ShopFactory, delivered_order, make_staff, open_ticket
from tests.marketplaces.conftest import seed_reference_rows

pytestmark = pytest.mark.django_db


def connect(n: int):
    shop = ShopFactory(platform=Platform.objects.get(code="taobao"), platform_shop_id=f"s{n}")
    connection = connection_connect(
        shop=shop,
        gateway_url="http://127.0.0.1:1/taobao/router/rest",
        app_key="k",
        app_secret=f"secret-{n}-never-shown",
        access_token=f"token-{n}-never-shown",
        token_expires_at=timezone.now() + timedelta(days=n),
    )
    order = delivered_order(shop=shop)
    ticket = open_ticket(order, platform_ticket_id=f"R{n}")
    PlatformRecord.objects.create(
        connection=connection,
        platform_id=f"R{n}",
        order_id=order.platform_order_id,
        kind="refund_only",
        status="waiting_seller",
        version="1",
        modified_at=timezone.now(),
        applied_at=timezone.now(),
        amount="1.00",
        ticket=ticket if n % 2 else None,
        problem="" if n % 2 else "The order is not in the desk yet.",
    )
    return connection


@pytest.mark.parametrize("path", ["shopconnection", "platformrecord"])
def test_the_lists_take_a_fixed_number_of_queries(client, path):
    seed_reference_rows()
    manager = make_staff("manager", role=roles.MANAGER)
    client.force_login(manager)
    url = f"/admin/marketplaces/{path}/"
    counts = []
    for many in (2, 6):
        while _connections() < many:
            connect(_connections() + 1)
        with CaptureQueriesContext(db) as queries:
            response = client.get(url)
        assert response.status_code == 200
        assert b"never-shown" not in response.content
        counts.append(len(queries.captured_queries))
    assert counts[0] == counts[1]


def _connections() -> int:
    from marketplaces.models import ShopConnection

    return ShopConnection.objects.count()
