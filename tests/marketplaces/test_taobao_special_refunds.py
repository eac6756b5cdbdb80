"""Taobao's special refunds (issue 19 point 5): 价保 (priceProtect) and 退差返现 (cashBack) come from their own list,
taobao.special.refunds.receive.get, pulled beside the normal refunds; each opens a price-protection ticket for the
difference."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from aftersales.models import AfterSalesTicket, TicketKind, TicketState
from marketplaces.adapters.base import RecordKind
from marketplaces.adapters.taobao import parse_record
from marketplaces.services import PULL_LAG, connection_sync
from tests.factories import delivered_order

pytestmark = pytest.mark.django_db


def sync(connection):
    return connection_sync(connection_id=connection.pk, now=timezone.now() + PULL_LAG + timedelta(seconds=1))


@pytest.mark.parametrize(
    ("special", "kind"),
    [("priceProtect", RecordKind.PRICE_PROTECTION), ("cashBack", RecordKind.PRICE_PROTECTION), ("other", "unknown")],
)
def test_the_special_refund_type_maps_to_price_protection(special, kind):
    raw = {
        "refund_id": "1",
        "tid": "2",
        "status": "WAIT_SELLER_AGREE",
        "refund_fee": "12.30",
        "created": "2026-11-11 00:00:01",
        "modified": "2026-11-11 00:00:02",
        "special_refund_type": special,
    }
    record = parse_record(raw)
    assert record.kind == kind
    assert record.platform_kind == special
    assert record.amount == Decimal("12.30")


def test_a_price_protection_request_is_pulled_beside_the_refunds_and_opens_its_ticket(connection, taobao):
    protected = delivered_order(shop=connection.shop, paid_amount=Decimal("299.00"))
    refunded = delivered_order(shop=connection.shop, paid_amount=Decimal("99.00"))
    special = taobao.create_refund(
        shop_token="shop-token-1",
        tid=protected.platform_order_id,
        amount="20.00",
        reason="价格保护",
        special_refund_type="priceProtect",
        push=False,
    )
    normal = taobao.create_refund(shop_token="shop-token-1", tid=refunded.platform_order_id, amount="9.90", push=False)

    summary = sync(connection)

    assert summary.outcomes == {"opened": 2}
    ticket = AfterSalesTicket.objects.get(platform_ticket_id=special["refund_id"])
    assert ticket.kind == TicketKind.PRICE_PROTECTION
    assert ticket.platform_kind == "priceProtect"
    assert ticket.requested_amount == Decimal("20.00")
    assert ticket.state == TicketState.REQUESTED
    assert AfterSalesTicket.objects.get(platform_ticket_id=normal["refund_id"]).kind == TicketKind.REFUND_ONLY
    # Both lists were asked for each window (a first sync walks a day, an hour at a time), page by page together.
    special_calls = taobao.calls_of("taobao.special.refunds.receive.get")
    assert len(special_calls) == len(taobao.calls_of("taobao.refunds.receive.get")) >= 1
    assert {call["page_no"] for call in special_calls} == {"1"}
