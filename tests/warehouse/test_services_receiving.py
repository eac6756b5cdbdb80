"""Receiving returns (DESIGN §3, path 4): a scan finds the ticket by its return tracking number in the clerk's shops
and records the receipt once; a parcel nobody expected is registered for an agent to match. A refused action and a
scan that finds nothing write nothing at all."""

from decimal import Decimal

import pytest
from django.db.models import Max
from django.utils import translation

from aftersales.models import AfterSalesTicket, TicketEvent, TicketKind, TicketState
from aftersales.selectors import system_user
from aftersales.services import (
    approval_decide,
    ticket_agree_return,
    ticket_reject,
    ticket_request_approval,
    ticket_return_received,
    ticket_return_shipped,
)
from desk.errors import ActionRefused
from tests.factories import ShopFactory, delivered_order, make_staff, open_ticket
from warehouse.models import ReturnParcel
from warehouse.services import (
    return_parcel_match,
    return_parcel_record_scan,
    return_receive_scan,
    return_register_unexpected,
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
    return ShopFactory(name="A店")


@pytest.fixture
def other_shop():
    return ShopFactory(name="B店")


@pytest.fixture
def clerk(shop):
    return make_staff("clerk", role="Warehouse", shops=[shop])


@pytest.fixture
def other_clerk(other_shop):
    return make_staff("other_clerk", role="Warehouse", shops=[other_shop])


@pytest.fixture
def agent(shop):
    return make_staff("agent", role="Agent", shops=[shop])


def return_on_its_way(shop, tracking_number="ZT75310001", *, kind=TicketKind.RETURN_REFUND) -> AfterSalesTicket:
    """A delivered order's return the buyer has sent, its tracking number entered as the buyer typed it."""
    order = delivered_order(shop=shop, paid_amount=Decimal("129.00"))
    ticket = open_ticket(order, kind=kind)
    ticket_agree_return(ticket=ticket, by=system_user())
    ticket_return_shipped(ticket=ticket, by=system_user(), courier_code="ZTO", tracking_number=tracking_number)
    ticket = reload(ticket)
    assert ticket.state == S.RETURN_IN_TRANSIT
    return ticket


def reload(ticket) -> AfterSalesTicket:
    return AfterSalesTicket.objects.select_related("order", "shop").get(pk=ticket.pk)


def event_mark() -> int:
    return TicketEvent.objects.aggregate(last=Max("pk"))["last"] or 0


def events_since(ticket, mark) -> list[tuple]:
    """(action, actor, from, to) of the ticket's events written after `mark`."""
    events = TicketEvent.objects.filter(ticket=ticket, pk__gt=mark).select_related("actor").order_by("pk")
    return [(event.action, event.actor.username, event.from_state, event.to_state) for event in events]


def everything() -> dict:
    """What a scan that finds nothing, or a refused action, must leave as it was."""
    return {
        "parcels": list(
            ReturnParcel.objects.order_by("pk").values_list(
                "pk", "shop_id", "ticket_id", "tracking_number", "status", "received_at", "received_by"
            )
        ),
        "tickets": list(
            AfterSalesTicket.objects.order_by("pk").values_list("pk", "state", "kind", "return_tracking_number")
        ),
        "events": list(TicketEvent.objects.order_by("pk").values_list("pk", flat=True)),
    }


def refused(code: str, call) -> ActionRefused:
    """Assert `call` is refused with `code` and changes nothing; return the refusal for its message."""
    before = everything()
    with pytest.raises(ActionRefused) as caught:
        call()
    assert caught.value.code == code, caught.value.message
    assert everything() == before
    return caught.value


# --- return_receive_scan --------------------------------------------------------------------------------------------


def test_a_scan_typed_with_spaces_and_lower_case_receives_the_parcel_and_its_ticket(shop, clerk):
    ticket = return_on_its_way(shop, "ZT75310001")
    mark = event_mark()

    scan = return_receive_scan(tracking_number=" zt 7531 0001 ", by=clerk)

    assert not scan.already_received
    parcel = ReturnParcel.objects.get()
    assert scan.parcel == parcel
    assert (parcel.shop, parcel.ticket, parcel.tracking_number, parcel.courier_code) == (
        shop,
        ticket,
        "ZT75310001",
        "ZTO",
    )
    assert (parcel.status, parcel.received_by) == ("received", clerk)
    assert parcel.received_at is not None
    assert reload(ticket).state == S.RECEIVED
    assert events_since(ticket, mark) == [("return_received", "clerk", "return_in_transit", "received")]


def test_a_second_scan_finds_the_first_receipt_and_writes_nothing(shop, clerk):
    return_on_its_way(shop, "ZT75310001")
    first = return_receive_scan(tracking_number="ZT75310001", by=clerk)
    before = everything()

    again = return_receive_scan(tracking_number="zt7531 0001", by=clerk)

    assert again.already_received
    assert again.parcel == first.parcel
    assert everything() == before
    assert ReturnParcel.objects.count() == 1


def test_a_scan_of_an_unknown_tracking_number_finds_nothing_and_writes_nothing(shop, clerk):
    return_on_its_way(shop, "ZT75310001")
    before = everything()

    scan = return_receive_scan(tracking_number="SF0000000000", by=clerk)

    assert scan.parcel is None
    assert not scan.already_received
    assert everything() == before


def test_a_clerk_of_another_shop_scanning_its_tracking_number_does_not_receive_the_parcel(shop, other_clerk):
    ticket = return_on_its_way(shop, "ZT75310001")
    before = everything()

    scan = return_receive_scan(tracking_number="ZT75310001", by=other_clerk)

    assert scan.parcel is None
    assert everything() == before
    assert reload(ticket).state == S.RETURN_IN_TRANSIT


def test_a_clerk_of_another_shop_does_not_see_that_a_parcel_was_received(shop, clerk, other_clerk):
    return_on_its_way(shop, "ZT75310001")
    return_receive_scan(tracking_number="ZT75310001", by=clerk)

    scan = return_receive_scan(tracking_number="ZT75310001", by=other_clerk)

    assert scan.parcel is None
    assert not scan.already_received


def test_an_agent_cannot_scan_returns(shop, agent):
    ticket = return_on_its_way(shop, "ZT75310001")

    refused("not_permitted", lambda: return_receive_scan(tracking_number="ZT75310001", by=agent))

    assert reload(ticket).state == S.RETURN_IN_TRANSIT


def test_an_empty_scan_is_refused(shop, clerk):
    return_on_its_way(shop, "ZT75310001")

    refused("tracking_required", lambda: return_receive_scan(tracking_number="  ", by=clerk))


def test_a_scan_receives_the_parcel_the_courier_already_reported_without_a_second_row(shop, clerk, agent):
    ticket = return_on_its_way(shop, "ZT75310001")
    expected = return_parcel_record_scan(ticket=ticket, by=agent)
    assert expected.status == "expected"

    scan = return_receive_scan(tracking_number="ZT75310001", by=clerk)

    assert scan.parcel == expected
    assert not scan.already_received
    assert ReturnParcel.objects.get().status == "received"
    assert reload(ticket).state == S.RECEIVED


def test_a_ticket_back_to_awaiting_return_with_its_old_number_is_received_by_a_scan(shop, clerk, agent):
    """The one way a ticket awaits its return while it has a tracking number: the return was signed for without a
    scan, the supervisor declined the refund, and the agent asked for the goods back again."""
    supervisor = make_staff("supervisor", role="Supervisor", shops=[shop])
    ticket = return_on_its_way(shop, "ZT75310001")
    ticket_return_received(ticket=ticket, by=clerk)
    approval = ticket_request_approval(ticket=ticket, by=agent, amount="129.00", reason="退货已收")
    approval_decide(approval=approval, by=supervisor, approve=False, note="请买家重新寄回完整商品")
    ticket_agree_return(ticket=ticket, by=agent)
    ticket = reload(ticket)
    assert (ticket.state, ticket.return_tracking_number) == (S.AWAITING_RETURN, "ZT75310001")
    assert not ReturnParcel.objects.exists()
    mark = event_mark()

    scan = return_receive_scan(tracking_number="ZT75310001", by=clerk)

    assert scan.parcel == ReturnParcel.objects.get(status="received", ticket=ticket)
    assert reload(ticket).state == S.RECEIVED
    # The clerk may not enter tracking numbers; the shipment the scan proves is recorded by the system.
    assert events_since(ticket, mark) == [
        ("return_shipped", "system", "awaiting_return", "return_in_transit"),
        ("return_received", "clerk", "return_in_transit", "received"),
    ]


def test_a_scan_of_a_rejected_tickets_number_finds_nothing(shop, clerk, agent):
    ticket = return_on_its_way(shop, "ZT75310001")
    ticket_return_received(ticket=ticket, by=clerk)
    ticket_reject(ticket=ticket, by=agent, note="退回商品已使用")
    before = everything()

    scan = return_receive_scan(tracking_number="ZT75310001", by=clerk)

    assert scan.parcel is None
    assert everything() == before


# --- return_register_unexpected -------------------------------------------------------------------------------------


def test_an_unexpected_parcel_is_registered_as_received_without_a_ticket(shop, clerk):
    parcel = return_register_unexpected(tracking_number="yt 9000 1", shop=shop, by=clerk, note="无单退件")

    parcel = ReturnParcel.objects.get(pk=parcel.pk)
    assert (parcel.shop, parcel.ticket, parcel.tracking_number, parcel.note) == (shop, None, "YT90001", "无单退件")
    assert (parcel.status, parcel.received_by) == ("received", clerk)
    assert parcel.received_at is not None
    assert not TicketEvent.objects.filter(action="return_received").exists()


def test_registering_the_same_unexpected_parcel_twice_is_refused(shop, clerk):
    return_register_unexpected(tracking_number="YT90001", shop=shop, by=clerk)

    refused("already_registered", lambda: return_register_unexpected(tracking_number="yt 90001", shop=shop, by=clerk))

    assert ReturnParcel.objects.count() == 1


def test_a_clerk_cannot_register_a_parcel_for_a_shop_they_do_not_work_for(other_shop, clerk):
    refused("other_shop", lambda: return_register_unexpected(tracking_number="YT90001", shop=other_shop, by=clerk))


def test_an_agent_cannot_register_a_parcel(shop, agent):
    refused("not_permitted", lambda: return_register_unexpected(tracking_number="YT90001", shop=shop, by=agent))


def test_a_scan_of_a_registered_unexpected_parcel_reports_it_already_received(shop, clerk):
    parcel = return_register_unexpected(tracking_number="YT90001", shop=shop, by=clerk)
    before = everything()

    scan = return_receive_scan(tracking_number="YT90001", by=clerk)

    assert scan.already_received
    assert scan.parcel == parcel
    assert everything() == before


# --- return_parcel_match --------------------------------------------------------------------------------------------


def test_an_agent_matches_an_unexpected_parcel_and_its_ticket_counts_the_return_received(shop, clerk, agent):
    # The buyer's parcel came with another label than the number they entered.
    ticket = return_on_its_way(shop, "ZT75310001")
    parcel = return_register_unexpected(tracking_number="YT90001", shop=shop, by=clerk)
    mark = event_mark()

    matched = return_parcel_match(parcel=parcel, ticket=ticket, by=agent)

    assert matched == parcel
    parcel.refresh_from_db()
    assert (parcel.ticket, parcel.status, parcel.received_by) == (ticket, "received", clerk)
    assert reload(ticket).state == S.RECEIVED
    # The agent may not receive returns; the warehouse signed for it, so the system records the receipt.
    assert events_since(ticket, mark) == [("return_received", "system", "return_in_transit", "received")]


def test_an_agent_matches_an_unexpected_parcel_to_a_ticket_still_awaiting_its_return(shop, clerk, agent):
    # The buyer never entered a tracking number; the parcel is here anyway.
    ticket = open_ticket(delivered_order(shop=shop), kind=TicketKind.RETURN_REFUND)
    ticket_agree_return(ticket=ticket, by=agent)
    parcel = return_register_unexpected(tracking_number="YT90001", shop=shop, by=clerk)
    mark = event_mark()

    return_parcel_match(parcel=parcel, ticket=reload(ticket), by=agent)

    ticket = reload(ticket)
    assert (ticket.state, ticket.return_tracking_number) == (S.RECEIVED, "YT90001")
    assert events_since(ticket, mark) == [
        ("return_shipped", "agent", "awaiting_return", "return_in_transit"),
        ("return_received", "system", "return_in_transit", "received"),
    ]
    assert ReturnParcel.objects.get().ticket == ticket


def test_a_parcel_cannot_be_matched_to_a_ticket_of_another_shop(shop, other_shop, clerk):
    agent_of_both = make_staff("agent_of_both", role="Agent", shops=[shop, other_shop])
    ticket = return_on_its_way(other_shop, "ZT75310001")
    parcel = return_register_unexpected(tracking_number="YT90001", shop=shop, by=clerk)

    refused("other_shop", lambda: return_parcel_match(parcel=parcel, ticket=ticket, by=agent_of_both))

    assert reload(ticket).state == S.RETURN_IN_TRANSIT


def test_an_agent_of_another_shop_cannot_match_its_parcels(shop, other_shop, clerk):
    other_agent = make_staff("other_agent", role="Agent", shops=[other_shop])
    ticket = return_on_its_way(shop, "ZT75310001")
    parcel = return_register_unexpected(tracking_number="YT90001", shop=shop, by=clerk)

    refused("other_shop", lambda: return_parcel_match(parcel=parcel, ticket=ticket, by=other_agent))


def test_a_matched_parcel_cannot_be_matched_again(shop, clerk, agent):
    first = return_on_its_way(shop, "ZT75310001")
    second = return_on_its_way(shop, "ZT75310002")
    parcel = return_register_unexpected(tracking_number="YT90001", shop=shop, by=clerk)
    return_parcel_match(parcel=parcel, ticket=first, by=agent)

    refused("already_matched", lambda: return_parcel_match(parcel=parcel, ticket=second, by=agent))

    assert reload(second).state == S.RETURN_IN_TRANSIT


def test_the_warehouse_cannot_match_parcels_to_tickets(shop, clerk):
    ticket = return_on_its_way(shop, "ZT75310001")
    parcel = return_register_unexpected(tracking_number="YT90001", shop=shop, by=clerk)

    refused("not_permitted", lambda: return_parcel_match(parcel=parcel, ticket=ticket, by=clerk))


def test_matching_a_parcel_to_a_ticket_that_already_expects_another_is_refused_not_a_crash(shop, clerk, agent):
    ticket = return_on_its_way(shop, "ZT75310001")
    return_parcel_record_scan(ticket=ticket, by=agent)  # the courier scanned the number the buyer entered
    stray = return_register_unexpected(tracking_number="YT90001", shop=shop, by=clerk)

    refusal = refused("ticket_has_parcel", lambda: return_parcel_match(parcel=stray, ticket=ticket, by=agent))

    assert "ZT75310001" in str(refusal.message)
    stray.refresh_from_db()
    assert stray.ticket is None


def test_the_system_user_records_a_courier_scan_for_logistics(shop):
    ticket = return_on_its_way(shop, "ZT75310001")

    parcel = return_parcel_record_scan(ticket=ticket, by=system_user())

    assert parcel.first_scan_at is not None
