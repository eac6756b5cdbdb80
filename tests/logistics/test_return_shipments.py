"""Return shipments are tracked: the buyer's waybill on a ticket becomes a return parcel (direction return) that the
tracking pushes move; its first scan is what 提前换出 waits for, and the courier's signature at our address is recorded
on the warehouse's return parcel and sets the platform's receipt deadline (receipt_confirm_days after it)."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from aftersales.models import Platform, TicketEvent, TicketKind
from aftersales.selectors import system_user
from aftersales.services import ticket_agree_return, ticket_return_shipped
from logistics.models import Shipment
from logistics.services.tracking import Scan, tracking_ingest
from logistics.sweeps import no_scan_check_run
from tests.factories import OrderLineFactory, ShopFactory, delivered_order, open_ticket
from tests.logistics.parcels import courier
from warehouse.models import ReturnParcel
from warehouse.services import early_exchange_allowed, early_exchange_rule_set

pytestmark = pytest.mark.django_db
CHINA = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def shop():
    return ShopFactory(name="A店")


def return_sent(shop, number="ZT75310001", kind=TicketKind.RETURN_REFUND):
    courier("ZTO")
    order = delivered_order(shop=shop, paid_amount=Decimal("99.00"))
    OrderLineFactory(order=order, quantity=1, paid_amount=Decimal("99.00"))
    ticket = open_ticket(order, kind=kind)
    ticket_agree_return(ticket=ticket, by=system_user())
    ticket_return_shipped(ticket=ticket, by=system_user(), courier_code="ZTO", tracking_number=number)
    ticket.refresh_from_db()
    return ticket


def push(shop, number, *scans):
    return tracking_ingest(
        shop=shop, scans=[Scan("ZTO", number, at, status, text) for at, status, text in scans], source="kuaidi100"
    )


def test_the_hourly_check_registers_each_recorded_return_waybill_as_a_return_parcel_once(shop):
    ticket = return_sent(shop)

    first = no_scan_check_run()
    second = no_scan_check_run()

    (parcel,) = Shipment.objects.filter(direction=Shipment.Direction.RETURN)
    assert (parcel.ticket, parcel.order, parcel.tracking_number, parcel.courier.code, parcel.status) == (
        ticket,
        ticket.order,
        "ZT75310001",
        "ZTO",
        Shipment.Status.IN_TRANSIT,
    )
    assert first.counts.get("return_shipments_registered") == 1
    assert second.counts.get("return_shipments_registered", 0) == 0


def test_a_push_about_an_unregistered_return_registers_it_records_the_first_scan_and_the_signature(shop):
    ticket = return_sent(shop)
    picked_up = datetime(2026, 11, 3, 15, 0, tzinfo=CHINA)
    signed = datetime(2026, 11, 5, 9, 30, tzinfo=CHINA)

    push(shop, "ZT75310001", (picked_up, "in_transit", "已揽收"))
    parcel = ReturnParcel.objects.get(ticket=ticket)
    assert (parcel.first_scan_at, parcel.signed_at) == (picked_up, None)

    push(shop, "ZT75310001", (signed, "delivered", "已签收"))

    shipment = Shipment.objects.get(direction=Shipment.Direction.RETURN)
    assert (shipment.status, shipment.delivered_at) == (Shipment.Status.DELIVERED, signed)
    parcel.refresh_from_db()
    assert (parcel.first_scan_at, parcel.signed_at, parcel.status) == (picked_up, signed, ReturnParcel.Status.EXPECTED)
    ticket.refresh_from_db()
    # Received but not confirmed: the platform confirms by itself 10 days (receipt_confirm_days) after the signature.
    assert ticket.deadline == signed + timedelta(days=10)
    (event,) = ticket.events.filter(action=TicketEvent.Action.RETURN_SIGNED)
    assert event.actor == system_user()
    # The outbound order is not touched by the return's delivery.
    assert ticket.order.delivered_at != signed


def test_the_deadline_follows_the_platforms_own_receipt_days_and_the_first_signature_stands(shop):
    Platform.objects.filter(pk=shop.platform_id).update(receipt_confirm_days=7)
    ticket = return_sent(shop)
    signed = datetime(2026, 11, 5, 23, 59, tzinfo=CHINA)

    push(shop, "ZT75310001", (signed, "delivered", "已签收"))
    push(shop, "ZT75310001", (signed + timedelta(hours=2), "delivered", "再次签收"))

    ticket.refresh_from_db()
    assert ticket.deadline == datetime(2026, 11, 12, 23, 59, tzinfo=CHINA)
    assert ReturnParcel.objects.get(ticket=ticket).signed_at == signed
    assert ticket.events.filter(action=TicketEvent.Action.RETURN_SIGNED).count() == 1


def test_the_first_scan_from_tracking_lets_an_early_exchange_go_out(shop):
    early_exchange_rule_set(shop=shop, is_enabled=True, max_price=Decimal("100.00"))
    ticket = return_sent(shop, kind=TicketKind.EXCHANGE)
    assert early_exchange_allowed(ticket)[0] is False

    push(shop, "ZT75310001", (datetime(2026, 11, 3, 15, 0, tzinfo=CHINA), "in_transit", "已揽收"))

    assert early_exchange_allowed(ticket) == (True, "")
