"""The demo's tickets and authorities: opened and moved on through the services, and a second load changes nothing."""

from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from aftersales.models import (
    AfterSalesTicket,
    ApprovalRequest,
    CutOffRequest,
    Refund,
    RefundAuthority,
    ReturnReason,
    TicketEvent,
    TicketPath,
    TicketState,
)
from aftersales.selectors import refund_authority_for, system_user
from config import demo

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_rollups(monkeypatch):
    """These tests read the demo's tickets. Rolling up its 61 days for the dashboard costs about 15 s of CPU a first
    load (33 metrics a shop and day), and six loads made this file one of the suite's slowest; the loaded demo's
    dashboard, rollups included, is opened by every role in tests/test_every_page.py."""
    monkeypatch.setattr(demo, "_load_metrics", lambda shops, *, today: 0)


def snapshot():
    return {
        "states": Counter(AfterSalesTicket.objects.values_list("shop__code", "state")),
        "events": TicketEvent.objects.count(),
        "refunds": Counter(Refund.objects.values_list("status", flat=True)),
        "approvals": ApprovalRequest.objects.count(),
        "cutoffs": CutOffRequest.objects.count(),
        "authorities": RefundAuthority.objects.count(),
    }


def test_loading_the_demo_twice_gives_the_same_tickets_in_every_state():
    first = demo.load()
    after_first = snapshot()
    second = demo.load()
    after_second = snapshot()

    assert after_second == after_first
    assert list(second.tickets.values()) == list(first.tickets.values())
    assert [summary.created for summary in second.imports.values()] == [0] * len(demo.SHOPS)
    states = Counter()
    for (_shop, state), count in after_first["states"].items():
        states[state] += count
    for state in [
        TicketState.REQUESTED,
        TicketState.AWAITING_APPROVAL,
        TicketState.REFUNDED,
        TicketState.INTERCEPTING,
        TicketState.AWAITING_RETURN,
        TicketState.RETURN_IN_TRANSIT,
        TicketState.REJECTED,
    ]:
        assert states[state] > 0, state
    pushed = AfterSalesTicket.objects.exclude(platform_ticket_id="")
    per_shop = Counter(pushed.values_list("shop__code", flat=True))
    assert all(20 <= count <= 30 for count in per_shop.values()), per_shop
    # The other tickets are the shop's own, opened for parcels the no-scan rule declared lost, each with its claim.
    own = AfterSalesTicket.objects.filter(platform_ticket_id="")
    assert own.exists()
    assert set(own.values_list("reason__code", flat=True)) == {"lost_parcel"}
    assert not own.filter(courier_claims__isnull=True).exists()
    # Every refund the demo started was paid by the gateway; nothing is left refunding.
    assert set(after_first["refunds"]) == {Refund.Status.SUCCEEDED}
    assert states[TicketState.REFUNDING] == 0


def test_a_reload_after_a_demo_reason_was_deactivated_still_duplicates_nothing():
    demo.load()
    before = snapshot()
    ReturnReason.objects.filter(code="changed_mind").update(is_active=False)

    demo.load()

    assert snapshot() == before


def test_demo_tickets_follow_where_the_goods_are():
    demo.load()
    tickets = AfterSalesTicket.objects.select_related("order")

    for ticket in tickets.filter(state=TicketState.INTERCEPTING):
        assert ticket.order.packed_at
        if ticket.order.shipped_at:
            # On its way: the daily intercept rule asked the courier to stop it.
            assert not ticket.order.delivered_at
            assert ticket.intercepts.filter(status="requested").exists()
        else:
            assert ticket.cutoffs.filter(status=CutOffRequest.Status.REQUESTED).exists()
    assert tickets.filter(state=TicketState.INTERCEPTING, intercepts__isnull=False).exists()
    for ticket in tickets.filter(state__in=[TicketState.AWAITING_RETURN, TicketState.RETURN_IN_TRANSIT]):
        assert ticket.order.delivered_at
        assert ticket.path == TicketPath.RETURN
    auto = tickets.filter(events__action="auto_refund")
    assert auto.exists()
    assert all(ticket.path == TicketPath.NOT_SHIPPED and not ticket.order.packed_at for ticket in auto)
    assert tickets.filter(escalation_risk=True).exists()


def test_demo_approvals_are_requests_above_their_requesters_authority_for_the_supervisor():
    demo.load()
    supervisor = demo_user("supervisor")
    agent = demo_user("agent")

    approvals = ApprovalRequest.objects.select_related("shop", "requested_by")
    assert approvals.filter(requested_by=agent).exists()
    for approval in approvals:
        if approval.requested_by == agent:
            assert approval.amount > refund_authority_for(user=agent, shop_id=approval.shop_id) == Decimal("200.00")
        else:  # a refund safe goods owe (a clean return) above the shop's automatic cap
            assert approval.requested_by == system_user()
            assert approval.amount > approval.shop.auto_refund_max_amount
        assert approval.amount <= refund_authority_for(user=supervisor, shop_id=approval.shop_id)
    assert RefundAuthority.objects.filter(group=Group.objects.get(name="Agent")).count() == len(demo.SHOPS)


def test_the_ticket_plan_is_the_same_for_a_seed_on_any_day_and_differs_for_another_seed():
    spec = demo.SHOPS[0]
    day = demo.demo_day()

    plan = demo.ticket_plan(spec, today=day)

    assert plan == demo.ticket_plan(spec, today=day)
    assert plan == demo.ticket_plan(spec, today=day - timedelta(days=3))  # a reload on another day opens nothing new
    assert plan != demo.ticket_plan(spec, today=day, seed=demo.DEMO_SEED + 1)
    assert len({ticket.platform_order_id for ticket in plan}) == len(plan)
    assert len({ticket.platform_ticket_id for ticket in plan}) == len(plan)


def demo_user(username):
    return get_user_model().objects.get(username=username)
