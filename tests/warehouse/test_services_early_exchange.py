"""提前换出: a shop's rule lets the replacement of an exchange go out before the return arrives, for a delivered
single-item order up to a price, once the buyer's return has a courier scan. The ticket keeps waiting for its return,
whose clean inspection then resolves it without a second replacement or a refund."""

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db.models import Max
from django.utils import translation

from aftersales.models import AfterSalesTicket, Refund, TicketEvent, TicketKind, TicketState
from aftersales.selectors import system_user
from aftersales.services import ticket_agree_return, ticket_return_shipped
from desk.errors import ActionRefused
from tests.factories import OrderLineFactory, ShopFactory, delivered_order, make_staff, open_ticket
from warehouse.models import EarlyExchange, ReturnParcel
from warehouse.services import (
    early_exchange_rule_set,
    early_exchange_send,
    inspection_record,
    return_parcel_record_scan,
    return_receive_scan,
)

pytestmark = pytest.mark.django_db

S = TicketState


@pytest.fixture(autouse=True)
def _english():
    """The services translate a refusal when they raise it; the messages here are checked in English."""
    with translation.override("en"):
        yield


@pytest.fixture
def shop():
    shop = ShopFactory(name="A店")
    early_exchange_rule_set(shop=shop, is_enabled=True, max_price=Decimal("200.00"))
    return shop


@pytest.fixture
def agent(shop):
    return make_staff("agent", role="Agent", shops=[shop])


@pytest.fixture
def clerk(shop):
    return make_staff("clerk", role="Warehouse", shops=[shop])


def exchange_on_its_way(
    shop, *, kind=TicketKind.EXCHANGE, paid="129.00", quantities=(1,), scanned_by=None, tracking="ZT75310001"
) -> AfterSalesTicket:
    """A delivered order's exchange whose buyer has sent the goods back; `scanned_by` records the courier's scan."""
    order = delivered_order(shop=shop, paid_amount=Decimal(paid))
    for quantity in quantities:
        OrderLineFactory(order=order, quantity=quantity, paid_amount=Decimal(paid) / len(quantities))
    ticket = open_ticket(order, kind=kind)
    ticket_agree_return(ticket=ticket, by=system_user())
    ticket_return_shipped(ticket=ticket, by=system_user(), courier_code="ZTO", tracking_number=tracking)
    if scanned_by:
        return_parcel_record_scan(ticket=ticket, by=scanned_by)
    ticket = reload(ticket)
    assert ticket.state == S.RETURN_IN_TRANSIT
    return ticket


def reload(ticket) -> AfterSalesTicket:
    return AfterSalesTicket.objects.select_related("order", "shop").get(pk=ticket.pk)


def event_mark() -> int:
    return TicketEvent.objects.aggregate(last=Max("pk"))["last"] or 0


def events_since(ticket, mark) -> list[tuple]:
    events = TicketEvent.objects.filter(ticket=ticket, pk__gt=mark).select_related("actor").order_by("pk")
    return [(event.action, event.actor.username, event.from_state, event.to_state) for event in events]


def everything() -> dict:
    """What a refused early exchange must leave as it was."""
    return {
        "exchanges": list(EarlyExchange.objects.order_by("pk").values_list("pk", flat=True)),
        "parcels": list(ReturnParcel.objects.order_by("pk").values_list("pk", "status", "first_scan_at")),
        "tickets": list(AfterSalesTicket.objects.order_by("pk").values_list("pk", "state", "kind", "attention_note")),
        "events": list(TicketEvent.objects.order_by("pk").values_list("pk", flat=True)),
    }


def refused(code: str, call) -> ActionRefused:
    before = everything()
    with pytest.raises(ActionRefused) as caught:
        call()
    assert caught.value.code == code, caught.value.message
    assert everything() == before
    return caught.value


# --- early_exchange_send --------------------------------------------------------------------------------------------


def test_an_exchange_is_sent_early_once_its_return_has_a_courier_scan(shop, agent):
    ticket = exchange_on_its_way(shop, scanned_by=agent)
    mark = event_mark()

    exchange = early_exchange_send(ticket=ticket, by=agent, note="买家急用")

    assert exchange == EarlyExchange.objects.get()
    parcel = ReturnParcel.objects.get()
    assert (exchange.ticket, exchange.parcel, exchange.shop, exchange.sent_by) == (ticket, parcel, shop, agent)
    assert events_since(ticket, mark) == [("early_replacement", "agent", "return_in_transit", "return_in_transit")]
    assert ticket.events.get(pk__gt=mark).note == "买家急用"
    assert reload(ticket).state == S.RETURN_IN_TRANSIT
    assert parcel.status == "expected"
    assert not Refund.objects.exists()


def test_an_order_priced_exactly_at_the_shops_limit_is_sent_early(shop, agent):
    ticket = exchange_on_its_way(shop, paid="200.00", scanned_by=agent)

    early_exchange_send(ticket=ticket, by=agent)

    assert EarlyExchange.objects.filter(ticket=ticket).exists()


@dataclass(frozen=True)
class Case:
    message: str
    rule_enabled: bool | None = True  # None: the shop has no rule at all
    kind: str = TicketKind.EXCHANGE
    paid: str = "129.00"
    quantities: tuple = (1,)
    scanned: bool = True


REFUSED_CASES = {
    "rule-disabled": Case("This shop does not send exchanges early.", rule_enabled=False),
    "no-rule": Case("This shop does not send exchanges early.", rule_enabled=None),
    "two-items": Case("Only single-item orders are exchanged early.", quantities=(1, 1)),
    "two-pieces": Case("Only single-item orders are exchanged early.", quantities=(2,)),
    "above-max-price": Case("The order is above ¥200.00, the shop's limit for early exchanges.", paid="200.01"),
    "no-courier-scan": Case("The buyer's return has no courier scan yet.", scanned=False),
    "not-an-exchange": Case("Only an exchange of delivered goods can be sent early.", kind=TicketKind.RETURN_REFUND),
}


@pytest.mark.parametrize("case", REFUSED_CASES.values(), ids=REFUSED_CASES.keys())
def test_an_early_exchange_outside_the_shops_rule_is_refused_with_its_reason(shop, agent, case):
    if case.rule_enabled is None:
        shop.early_exchange_rule.delete()
    else:
        early_exchange_rule_set(shop=shop, is_enabled=case.rule_enabled, max_price=Decimal("200.00"))
    ticket = exchange_on_its_way(
        shop, kind=case.kind, paid=case.paid, quantities=case.quantities, scanned_by=agent if case.scanned else None
    )

    refusal = refused("early_exchange_refused", lambda: early_exchange_send(ticket=ticket, by=agent))

    assert refusal.message == case.message
    assert reload(ticket).state == S.RETURN_IN_TRANSIT


def test_a_second_early_exchange_is_refused(shop, agent):
    ticket = exchange_on_its_way(shop, scanned_by=agent)
    early_exchange_send(ticket=ticket, by=agent)

    refused("already_sent", lambda: early_exchange_send(ticket=ticket, by=agent))

    assert EarlyExchange.objects.count() == 1


def test_the_warehouse_cannot_send_an_early_exchange(shop, agent, clerk):
    ticket = exchange_on_its_way(shop, scanned_by=agent)

    refused("not_permitted", lambda: early_exchange_send(ticket=ticket, by=clerk))


def test_an_agent_of_another_shop_cannot_send_an_early_exchange(shop, agent):
    ticket = exchange_on_its_way(shop, scanned_by=agent)
    other_agent = make_staff("other_agent", role="Agent", shops=[ShopFactory(name="B店")])

    refused("other_shop", lambda: early_exchange_send(ticket=ticket, by=other_agent))


def test_a_return_arriving_after_an_early_exchange_resolves_the_ticket_on_a_clean_inspection(shop, agent, clerk):
    ticket = exchange_on_its_way(shop, scanned_by=agent)
    exchange = early_exchange_send(ticket=ticket, by=agent)

    scan = return_receive_scan(tracking_number="ZT75310001", by=clerk)
    assert scan.parcel == exchange.parcel
    assert reload(ticket).state == S.RECEIVED
    inspection_record(parcel=scan.parcel, by=clerk, result="ok")

    ticket = reload(ticket)
    assert (ticket.state, ticket.kind) == (S.RESOLVED, TicketKind.EXCHANGE)
    assert not Refund.objects.exists()
    assert EarlyExchange.objects.count() == 1
    assert list(ticket.events.order_by("pk").values_list("action", flat=True))[-4:] == [
        "return_shipped",
        "early_replacement",
        "return_received",
        "resolved_exchange",
    ]
    assert ticket.events.filter(action="early_replacement").count() == 1


# --- return_parcel_record_scan --------------------------------------------------------------------------------------


def test_the_first_courier_scan_is_kept_when_the_courier_scans_again(shop, agent):
    ticket = exchange_on_its_way(shop)
    first = datetime(2026, 3, 10, 6, 0, tzinfo=UTC)
    later = datetime(2026, 3, 11, 9, 30, tzinfo=UTC)

    parcel = return_parcel_record_scan(ticket=ticket, by=agent, scanned_at=first)
    again = return_parcel_record_scan(ticket=ticket, by=agent, scanned_at=later)

    assert again == parcel
    parcel = ReturnParcel.objects.get()
    assert (parcel.first_scan_at, parcel.status, parcel.ticket) == (first, "expected", ticket)
    assert (parcel.tracking_number, parcel.courier_code) == ("ZT75310001", "ZTO")


def test_a_courier_scan_without_a_time_is_recorded_now(shop, agent):
    ticket = exchange_on_its_way(shop)
    before = datetime.now(UTC)

    parcel = return_parcel_record_scan(ticket=ticket, by=agent)

    assert before <= parcel.first_scan_at <= datetime.now(UTC)


def test_a_courier_scan_needs_the_return_tracking_number(shop, agent):
    ticket = open_ticket(delivered_order(shop=shop), kind=TicketKind.EXCHANGE)
    ticket_agree_return(ticket=ticket, by=agent)

    refused("tracking_required", lambda: return_parcel_record_scan(ticket=ticket, by=agent))

    assert not ReturnParcel.objects.exists()
