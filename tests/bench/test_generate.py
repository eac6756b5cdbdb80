"""The year generator at a tiny size: deterministic for a seed, every table filled, the services' invariants kept."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.models import Count, F, Q, Sum

from aftersales.models import (
    AfterSalesTicket,
    ApprovalRequest,
    CutOffRequest,
    Order,
    Refund,
    TicketEvent,
    TicketKind,
)
from bench.generate import REMOTE, TABLES, fingerprint, generate_year
from logistics.models import CourierClaim, InterceptRequest, Shipment, TrackingEvent
from warehouse.models import Inspection, ReturnParcel

pytestmark = pytest.mark.django_db

END = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
TERMINAL = {"refunded", "resolved", "cancelled", "closed"}


@pytest.fixture
def year():
    return generate_year(shop_code="tiny-year", orders=2_000, tickets=200, seed=7, end=END)


def test_the_same_seed_writes_the_same_year_and_another_seed_another(year):
    first = fingerprint(year.shop.pk)

    again = generate_year(shop_code="tiny-year", orders=2_000, tickets=200, seed=7, end=END)
    assert fingerprint(again.shop.pk) == first

    other = generate_year(shop_code="tiny-year", orders=2_000, tickets=200, seed=8, end=END)
    assert fingerprint(other.shop.pk)["aftersales_order"] != first["aftersales_order"]


def test_every_table_is_filled_and_the_counts_are_asked_for(year):
    assert all(year.counts[table] > 0 for table in [*TABLES, "logistics_trackingevent"]), year.counts
    assert Order.objects.filter(shop=year.shop).count() == 2_000
    assert AfterSalesTicket.objects.filter(shop=year.shop).count() == 200
    assert TrackingEvent.objects.filter(shipment__shop=year.shop).count() == year.counts["logistics_trackingevent"]


def test_refunded_is_the_sum_of_non_failed_refunds_and_never_above_paid(year):
    orders = Order.objects.filter(shop=year.shop).annotate(
        refunds_total=Sum("refunds__amount", filter=~Q(refunds__status="failed"), default=0)
    )

    assert not orders.exclude(refunded_amount=F("refunds_total")).exists()
    assert not orders.filter(refunded_amount__gt=F("paid_amount")).exists()
    assert orders.filter(refunded_amount__gt=0).exists()


def test_each_ticket_history_starts_when_it_opened_and_ends_in_its_state(year):
    tickets = AfterSalesTicket.objects.filter(shop=year.shop).prefetch_related("events", "refunds")
    for ticket in tickets:
        events = sorted(ticket.events.all(), key=lambda event: (event.at, event.id))
        assert events[0].action == "opened"
        assert events[0].at == ticket.opened_at
        assert events[-1].to_state == ticket.state, ticket.pk
        assert all(event.at <= END for event in events)
        assert (ticket.closed_at is not None) == (ticket.state in TERMINAL)
        statuses = [refund.status for refund in ticket.refunds.all()]
        if ticket.state == "refunded":
            assert "succeeded" in statuses
        if ticket.state == "refunding":
            assert "pending" in statuses
        assert ticket.opened_at >= ticket.order.paid_at


def test_the_mix_has_every_path_kind_remote_province_and_corrected_reason(year):
    tickets = AfterSalesTicket.objects.filter(shop=year.shop)

    assert set(tickets.values_list("path", flat=True)) == {1, 2, 3, 4}
    # The year models the four paths' kinds; repair, price protection and unknown types (issue 19) arrive only from
    # the connectors and are not generated yet.
    not_generated = {TicketKind.REPAIR, TicketKind.PRICE_PROTECTION, TicketKind.UNKNOWN}
    assert set(tickets.values_list("kind", flat=True)) == set(TicketKind.values) - not_generated
    assert tickets.exclude(first_reason=F("reason")).exists()
    assert tickets.exclude(state__in=TERMINAL).exists()  # the last days hold open work
    provinces = set(Order.objects.filter(shop=year.shop).values_list("province", flat=True))
    assert REMOTE <= provinces
    assert Order.objects.filter(shop=year.shop).aggregate(couriers=Count("courier_code", distinct=True))["couriers"] > 5


def test_path_one_orders_never_ship_and_path_three_and_four_were_delivered_first(year):
    tickets = AfterSalesTicket.objects.filter(shop=year.shop).select_related("order")
    refunded_path_one = tickets.filter(path=1, state="refunded")

    assert refunded_path_one.exists()
    assert not refunded_path_one.filter(order__shipped_at__isnull=False).exists()
    received = tickets.filter(path__in=[3, 4]).exclude(events__action="intercept_requested")
    assert received.exists()
    assert not received.filter(Q(order__delivered_at__isnull=True) | Q(opened_at__lt=F("order__delivered_at"))).exists()


def test_lost_parcels_have_claims_and_returns_have_parcels_and_inspections(year):
    lost = Shipment.objects.filter(shop=year.shop, status="lost", lost_remedy_done_at__isnull=False)
    claims = CourierClaim.objects.filter(shop=year.shop)

    assert not lost.exclude(claims__cause="lost").exists()
    assert not claims.filter(claim_amount__gt=F("loss_amount")).exists()
    received = AfterSalesTicket.objects.filter(shop=year.shop, events__action="return_received").distinct()
    assert not received.filter(return_parcel__isnull=True).exists()
    assert not ReturnParcel.objects.filter(shop=year.shop, status="inspected", inspection__isnull=True).exists()
    assert Inspection.objects.filter(parcel__shop=year.shop).exclude(result="ok").exists()


def test_approvals_cutoffs_and_intercepts_follow_their_tickets(year):
    approvals = ApprovalRequest.objects.filter(shop=year.shop)
    assert not approvals.filter(decided_by=F("requested_by")).exists()
    assert not approvals.filter(status="pending").exclude(ticket__state="awaiting_approval").exists()
    assert (
        not CutOffRequest.objects.filter(shop=year.shop, status="held")
        .exclude(ticket__events__action="cutoff_held")
        .exists()
    )
    intercepts = InterceptRequest.objects.filter(shop=year.shop)
    assert not intercepts.filter(status="requested").exclude(ticket__state="intercepting").exists()
    assert Refund.objects.filter(shop=year.shop, status="failed").count() <= 10


def test_scans_are_unique_and_end_where_the_shipment_says(year):
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM logistics_shipment s
            WHERE s.shop_id = %s AND s.shipped_at IS NOT NULL AND s.last_scan_at <>
                  (SELECT max(e.scanned_at) FROM logistics_trackingevent e WHERE e.shipment_id = s.id)
            """,
            [year.shop.pk],
        )
        assert cursor.fetchone() == (0,)
    assert TicketEvent.objects.filter(ticket__shop=year.shop).count() == year.counts["aftersales_ticketevent"]
