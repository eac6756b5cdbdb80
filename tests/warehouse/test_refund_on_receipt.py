"""无法验货则直接退款 (seed 000): a shop that cannot inspect refunds a return as soon as the clerk scans it in, through
the refund gate's clean-return door; limited to single-item orders up to an amount unless the shop lifts the limit."""

from decimal import Decimal

import pytest

from aftersales.models import Refund, Shop, TicketEvent, TicketKind, TicketState
from aftersales.selectors import system_user
from aftersales.services import ticket_agree_return, ticket_return_shipped
from tests.factories import OrderLineFactory, ShopFactory, delivered_order, make_staff, open_ticket
from warehouse.services import inspection_record, return_receive_scan

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return ShopFactory(name="A店", refund_on_receipt_enabled=True)


@pytest.fixture
def clerk(shop):
    return make_staff("clerk", role="Warehouse", shops=[shop])


def return_on_its_way(shop, number, *, lines=((1, "99.00"),), kind=TicketKind.RETURN_REFUND):
    order = delivered_order(shop=shop, paid_amount=sum((Decimal(amount) for _q, amount in lines), Decimal(0)))
    for index, (quantity, amount) in enumerate(lines):
        OrderLineFactory(order=order, sku=f"SKU-{number}-{index}", quantity=quantity, paid_amount=Decimal(amount))
    ticket = open_ticket(order, kind=kind)
    ticket_agree_return(ticket=ticket, by=system_user())
    ticket_return_shipped(ticket=ticket, by=system_user(), courier_code="ZTO", tracking_number=number)
    return ticket


def test_a_single_item_return_within_the_amount_is_refunded_when_scanned_in(shop, clerk):
    ticket = return_on_its_way(shop, "ZT1", lines=((1, "100.00"),))  # exactly the ¥100.00 default: allowed

    return_receive_scan(tracking_number="ZT1", by=clerk)

    ticket.refresh_from_db()
    assert ticket.state == TicketState.REFUNDING
    (refund,) = Refund.objects.filter(ticket=ticket)
    assert refund.amount == Decimal("100.00")
    actions = list(ticket.events.values_list("action", flat=True))
    assert actions[-2:] == [TicketEvent.Action.RETURN_RECEIVED, TicketEvent.Action.REFUND_ON_RECEIPT]


@pytest.mark.parametrize(
    "lines",
    [((1, "100.01"),), ((2, "60.00"),), ((1, "30.00"), (1, "30.00"))],
    ids=["a cent above the amount", "two of one item", "two items"],
)
def test_above_the_amount_or_more_than_one_item_waits_for_the_inspection(shop, clerk, lines):
    ticket = return_on_its_way(shop, "ZT1", lines=lines)

    return_receive_scan(tracking_number="ZT1", by=clerk)

    ticket.refresh_from_db()
    assert ticket.state == TicketState.RECEIVED
    assert not Refund.objects.exists()


def test_without_the_limit_any_return_is_refunded_on_receipt(shop, clerk):
    Shop.objects.filter(pk=shop.pk).update(refund_on_receipt_limited=False)
    ticket = return_on_its_way(shop, "ZT1", lines=((2, "150.00"), (1, "50.00")))

    return_receive_scan(tracking_number="ZT1", by=clerk)

    ticket.refresh_from_db()
    assert ticket.state == TicketState.REFUNDING
    assert Refund.objects.get().amount == Decimal("200.00")


def test_a_shop_that_inspects_does_not_refund_on_receipt(clerk, shop):
    Shop.objects.filter(pk=shop.pk).update(refund_on_receipt_enabled=False)
    ticket = return_on_its_way(shop, "ZT1")

    return_receive_scan(tracking_number="ZT1", by=clerk)

    ticket.refresh_from_db()
    assert ticket.state == TicketState.RECEIVED
    assert not Refund.objects.exists()


def test_an_exchange_is_never_refunded_on_receipt(shop, clerk):
    ticket = return_on_its_way(shop, "ZT1", kind=TicketKind.EXCHANGE)

    return_receive_scan(tracking_number="ZT1", by=clerk)

    ticket.refresh_from_db()
    assert ticket.state == TicketState.RECEIVED


def test_a_later_clean_inspection_pays_nothing_twice_and_an_abnormal_one_is_flagged(shop, clerk):
    clean = return_on_its_way(shop, "ZT1")
    return_receive_scan(tracking_number="ZT1", by=clerk)
    inspection_record(parcel=clean.return_parcel, by=clerk, result="ok")

    assert Refund.objects.filter(ticket=clean).count() == 1
    clean.refresh_from_db()
    assert clean.state == TicketState.REFUNDING
