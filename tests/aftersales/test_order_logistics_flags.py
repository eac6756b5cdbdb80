"""The order fields the platforms' logistics metrics need (seed 004: in-stock orders only, the promised shipping
time), read from the order import's columns and the orders API. Empty or left out: in stock, ships, no promise."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from rest_framework.test import APIClient

from aftersales.models import Order
from aftersales.order_import import plan_order_import, read_rows
from aftersales.selectors import system_user
from aftersales.services import order_import_apply
from tests.factories import ShopFactory, make_staff

pytestmark = pytest.mark.django_db
CHINA = ZoneInfo("Asia/Shanghai")

CSV = """订单号,实付金额,付款时间,商品编码,商品名称,数量,是否预售,是否定制,是否需要发货,承诺发货时间
P-1,10.00,2026-11-01 10:00:00,A,预售款,1,是,,,2026-11-20 18:00:00
P-2,10.00,2026-11-01 10:00:00,A,定制款,1,否,1,,
P-3,10.00,2026-11-01 10:00:00,A,虚拟券,1,,,否,
P-4,10.00,2026-11-01 10:00:00,A,现货,1,,,,
"""


def test_the_import_reads_presale_custom_made_no_shipping_and_the_promised_time():
    shop = ShopFactory()
    plan = plan_order_import(shop=shop, rows=read_rows(CSV.encode()))
    assert plan.errors == []
    order_import_apply(plan=plan, by=system_user(), reason="test")

    flags = {
        order.platform_order_id: (order.is_presale, order.is_custom_made, order.needs_shipping, order.promised_ship_by)
        for order in Order.objects.filter(shop=shop)
    }

    assert flags == {
        "P-1": (True, False, True, datetime(2026, 11, 20, 18, tzinfo=CHINA)),
        "P-2": (False, True, True, None),
        "P-3": (False, False, False, None),
        "P-4": (False, False, True, None),
    }


def test_a_cell_that_is_not_yes_or_no_is_a_row_error():
    shop = ShopFactory()
    rows = read_rows(CSV.replace(",是,,,2026", ",也许,,,2026").encode())

    plan = plan_order_import(shop=shop, rows=rows)

    assert [error.row_number for error in plan.errors] == [2]
    assert "是" in plan.errors[0].message


def test_the_orders_api_writes_and_reads_the_flags():
    shop = ShopFactory()
    api = APIClient()
    api.force_authenticate(make_staff("manager", role="Manager", shops=[shop]))
    body = {
        "shop": shop.code,
        "platform_order_id": "O-1",
        "paid_amount": "10.00",
        "paid_at": "2026-11-01T10:00:00+08:00",
        "is_presale": True,
        "promised_ship_by": "2026-11-20T18:00:00+08:00",
        "lines": [{"sku": "A", "item_name": "i", "quantity": 1, "paid_amount": "10.00"}],
    }

    answer = api.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="flags-1")

    assert answer.status_code == 201, answer.content
    data = answer.json()
    assert (data["is_presale"], data["is_custom_made"], data["needs_shipping"]) == (True, False, True)
    order = Order.objects.get(shop=shop, platform_order_id="O-1")
    assert order.promised_ship_by == datetime(2026, 11, 20, 18, tzinfo=CHINA)
