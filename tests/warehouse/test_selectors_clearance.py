"""日清, the warehouse's daily clearance: what is left from before today (local midnight, Asia/Shanghai) — parcels
received and not inspected, clean inspections whose ticket is not yet refunded — and the early exchanges whose return
has not arrived. The dashboard's counts are the lengths of those lists, in a fixed number of queries."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from aftersales.models import AfterSalesTicket, Refund, TicketKind, TicketState
from aftersales.selectors import system_user
from aftersales.services import ticket_agree_return, ticket_return_shipped
from tests.factories import OrderLineFactory, ShopFactory, confirm_refund, delivered_order, make_staff, open_ticket
from warehouse.selectors import (
    clearance_counts,
    clearance_inspected_not_refunded,
    clearance_received_not_inspected,
    early_exchanges_without_return,
)
from warehouse.services import (
    early_exchange_rule_set,
    early_exchange_send,
    inspection_record,
    return_parcel_record_scan,
    return_receive_scan,
    return_register_unexpected,
)

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
# In UTC both are on 10 March (15:30 and 16:10); only the local midnight between them separates yesterday from today.
YESTERDAY_LATE = datetime(2026, 3, 10, 23, 30, tzinfo=SHANGHAI)
TODAY_EARLY = datetime(2026, 3, 11, 0, 10, tzinfo=SHANGHAI)
TODAY_NOON = datetime(2026, 3, 11, 12, 0, tzinfo=SHANGHAI)
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def shop():
    return ShopFactory(name="A店")


@pytest.fixture
def clerk(shop):
    return make_staff("clerk", role="Warehouse", shops=[shop])


@pytest.fixture
def agent(shop):
    return make_staff("agent", role="Agent", shops=[shop])


def at(moment):
    return time_machine.travel(moment, tick=False)


def return_on_its_way(shop, tracking_number, *, kind=TicketKind.RETURN_REFUND):
    order = delivered_order(shop=shop, paid_amount=Decimal("99.00"))
    OrderLineFactory(order=order, quantity=1, paid_amount=Decimal("99.00"))
    ticket = open_ticket(order, kind=kind)
    ticket_agree_return(ticket=ticket, by=system_user())
    ticket_return_shipped(ticket=ticket, by=system_user(), courier_code="ZTO", tracking_number=tracking_number)
    return ticket


def received(shop, clerk, tracking_number, *, kind=TicketKind.RETURN_REFUND):
    return_on_its_way(shop, tracking_number, kind=kind)
    return return_receive_scan(tracking_number=tracking_number, by=clerk).parcel


def inspected(shop, clerk, tracking_number, result="ok", *, kind=TicketKind.RETURN_REFUND):
    parcel = received(shop, clerk, tracking_number, kind=kind)
    files = [] if result == "ok" else [SimpleUploadedFile("box.mp4", MP4)]
    inspection_record(parcel=parcel, by=clerk, result=result, files=files)
    parcel.refresh_from_db()
    return parcel


def sent_early(shop, agent, tracking_number):
    early_exchange_rule_set(shop=shop, is_enabled=True, max_price=Decimal("200.00"))
    ticket = return_on_its_way(shop, tracking_number, kind=TicketKind.EXCHANGE)
    return_parcel_record_scan(ticket=ticket, by=agent)
    return early_exchange_send(ticket=ticket, by=agent)


def state_of(parcel) -> str:
    return AfterSalesTicket.objects.values_list("state", flat=True).get(pk=parcel.ticket_id)


def counts_of_the_lists(user) -> dict[str, int]:
    return {
        "received_not_inspected": len(clearance_received_not_inspected(user)),
        "inspected_not_refunded": len(clearance_inspected_not_refunded(user)),
        "early_exchanges_without_return": len(early_exchanges_without_return(user)),
    }


# --- received, not inspected ----------------------------------------------------------------------------------------


def test_a_parcel_received_before_local_midnight_is_left_over_but_one_received_after_it_is_not(shop, clerk):
    with at(YESTERDAY_LATE):
        late_yesterday = received(shop, clerk, "ZT0001")
    with at(TODAY_EARLY):
        early_today = received(shop, clerk, "ZT0002")

    with at(TODAY_NOON):
        left_over = list(clearance_received_not_inspected(clerk))

    assert left_over == [late_yesterday]
    assert early_today not in left_over


def test_an_unexpected_parcel_received_yesterday_is_left_over_too(shop, clerk):
    with at(YESTERDAY_LATE):
        parcel = return_register_unexpected(tracking_number="YT90001", shop=shop, by=clerk)

    with at(TODAY_NOON):
        assert list(clearance_received_not_inspected(clerk)) == [parcel]


def test_a_parcel_inspected_today_is_no_longer_left_over_as_not_inspected(shop, clerk):
    with at(YESTERDAY_LATE):
        parcel = received(shop, clerk, "ZT0001")

    with at(TODAY_NOON):
        inspection_record(parcel=parcel, by=clerk, result="ok")
        assert list(clearance_received_not_inspected(clerk)) == []


# --- inspected clean, not refunded ----------------------------------------------------------------------------------


def test_only_a_clean_inspection_from_before_today_whose_ticket_is_not_refunded_is_left_over(shop, clerk):
    with at(YESTERDAY_LATE):
        refunding = inspected(shop, clerk, "ZT0001")
        refunded = inspected(shop, clerk, "ZT0002")
        confirm_refund(Refund.objects.get(ticket=refunded.ticket))
        abnormal = inspected(shop, clerk, "ZT0003", result="damaged")
        exchanged = inspected(shop, clerk, "ZT0004", kind=TicketKind.EXCHANGE)
    with at(TODAY_EARLY):
        inspected_today = inspected(shop, clerk, "ZT0005")

    with at(TODAY_NOON):
        left_over = list(clearance_inspected_not_refunded(clerk))

    assert left_over == [refunding]
    assert [state_of(parcel) for parcel in (refunding, refunded, abnormal, exchanged, inspected_today)] == [
        TicketState.REFUNDING,
        TicketState.REFUNDED,
        TicketState.RECEIVED,
        TicketState.RESOLVED,
        TicketState.REFUNDING,
    ]


# --- early exchanges ------------------------------------------------------------------------------------------------


def test_an_early_exchange_is_listed_until_its_return_arrives(shop, clerk, agent):
    exchange = sent_early(shop, agent, "ZT0001")
    assert list(early_exchanges_without_return(agent)) == [exchange]

    return_receive_scan(tracking_number="ZT0001", by=clerk)

    assert list(early_exchanges_without_return(agent)) == []


# --- the counts -----------------------------------------------------------------------------------------------------


def test_the_clearance_counts_are_the_lengths_of_the_three_lists(shop, clerk, agent):
    with at(YESTERDAY_LATE):
        received(shop, clerk, "ZT0001")
        received(shop, clerk, "ZT0002")
        inspected(shop, clerk, "ZT0003")
        inspected(shop, clerk, "ZT0004", result="swapped")
        sent_early(shop, agent, "ZT0005")
    with at(TODAY_EARLY):
        received(shop, clerk, "ZT0006")
        inspected(shop, clerk, "ZT0007")

    with at(TODAY_NOON):
        counts = clearance_counts(clerk)
        lists = counts_of_the_lists(clerk)

    assert counts == lists
    assert counts == {"received_not_inspected": 2, "inspected_not_refunded": 1, "early_exchanges_without_return": 1}


def test_a_user_of_another_shop_has_nothing_to_clear(shop, clerk, agent):
    other_clerk = make_staff("other_clerk", role="Warehouse", shops=[ShopFactory(name="B店")])
    with at(YESTERDAY_LATE):
        received(shop, clerk, "ZT0001")
        inspected(shop, clerk, "ZT0002")
        sent_early(shop, agent, "ZT0003")

    with at(TODAY_NOON):
        assert clearance_counts(clerk) == {
            "received_not_inspected": 1,
            "inspected_not_refunded": 1,
            "early_exchanges_without_return": 1,
        }
        assert clearance_counts(other_clerk) == {
            "received_not_inspected": 0,
            "inspected_not_refunded": 0,
            "early_exchanges_without_return": 0,
        }
        assert counts_of_the_lists(other_clerk) == clearance_counts(other_clerk)


@pytest.mark.parametrize("parcels", [2, 20])
def test_the_clearance_counts_take_two_queries_however_many_parcels(shop, clerk, django_assert_num_queries, parcels):
    with at(YESTERDAY_LATE):
        for number in range(parcels):
            return_register_unexpected(tracking_number=f"YT{number:05d}", shop=shop, by=clerk)

    with at(TODAY_NOON), django_assert_num_queries(2):
        counts = clearance_counts(clerk)

    assert counts["received_not_inspected"] == parcels
