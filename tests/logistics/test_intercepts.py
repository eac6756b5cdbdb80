"""Intercepts (拦截): requested for a parcel on its way, answered by the courier within its time, chased when late."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from aftersales.models import ApprovalRequest, Order, Refund, TicketKind, TicketState
from aftersales.services import cutoff_mark_gone
from aftersales.ticket_actions import offered_actions, perform
from desk.errors import ActionRefused
from logistics.models import CourierClaim, InterceptRequest, LogisticsEvent, RobotMessage, Shipment
from logistics.services import (
    Scan,
    intercept_confirm,
    intercept_fail,
    intercept_mark_returned,
    intercept_refund_early,
    intercept_request,
    intercepts_flag_overdue,
    intercepts_open_for_waiting_tickets,
    tracking_ingest,
)
from tests.factories import ShopFactory, grant_authority, make_staff, open_ticket, system_user
from tests.logistics.parcels import courier, parcel

pytestmark = pytest.mark.django_db


@pytest.fixture
def shipment():
    return parcel(quiet_for=timedelta(hours=5))


@pytest.fixture
def agent(shipment):
    return make_staff("agent", role="Agent", shops=[shipment.shop])


@pytest.fixture
def clerk(shipment):
    """Records the courier's answers (the group robot's reply); the agent who asked never does."""
    return make_staff("clerk", role="Warehouse", shops=[shipment.shop])


@pytest.fixture
def ticket(shipment):
    return open_ticket(shipment.order, requested_amount="199.00")


def test_an_agent_requests_an_intercept_and_the_courier_group_is_told(shipment, agent, ticket):
    courier("SF", intercept_answer_minutes=120)
    before = timezone.now()

    intercept = intercept_request(ticket=ticket, by=agent, note="买家不要了")

    ticket.refresh_from_db()
    assert ticket.state == TicketState.INTERCEPTING
    assert ticket.events.filter(action="intercept_requested", actor=agent).count() == 1
    assert (intercept.status, intercept.shipment, intercept.courier.code) == ("requested", shipment, "SF")
    assert before + timedelta(minutes=120) <= intercept.due_at <= timezone.now() + timedelta(minutes=120)
    assert LogisticsEvent.objects.filter(intercept=intercept, action="requested", actor=agent).count() == 1
    message = RobotMessage.objects.get(intercept=intercept)
    assert shipment.tracking_number in message.text
    assert ticket.order.platform_order_id in message.text


def test_the_move_is_offered_on_the_ticket_page_and_runs_through_perform(agent, ticket):
    assert "request_intercept" in [action.name for action in offered_actions(ticket, agent)]

    message = perform(ticket=ticket, by=agent, name="request_intercept", data={"note": ""})

    assert "SF" in message or "顺丰" in message
    assert InterceptRequest.objects.filter(ticket=ticket).count() == 1


def test_a_second_request_for_the_same_parcel_is_refused(agent, ticket):
    intercept_request(ticket=ticket, by=agent)
    other = open_ticket(ticket.order, requested_amount="1.00")

    with pytest.raises(ActionRefused) as refusal:
        intercept_request(ticket=other, by=agent)

    assert refusal.value.code in {"already_requested", "wrong_state"}
    assert InterceptRequest.objects.count() == 1


def test_an_intercept_is_refused_for_a_delivered_parcel_another_shop_or_a_warehouse_clerk(shipment, ticket):
    stranger = make_staff("stranger", role="Agent", shops=[ShopFactory()])
    clerk = make_staff("clerk", role="Warehouse", shops=[shipment.shop])
    for user, code in [(stranger, "other_shop"), (clerk, "not_permitted")]:
        with pytest.raises(ActionRefused) as refusal:
            intercept_request(ticket=ticket, by=user)
        assert refusal.value.code == code
    Shipment.objects.filter(pk=shipment.pk).update(status="delivered")
    with pytest.raises(ActionRefused) as refusal:
        intercept_request(ticket=ticket, by=system_user())
    assert refusal.value.code == "not_in_transit"
    ticket.refresh_from_db()
    assert ticket.state == TicketState.REQUESTED
    assert not InterceptRequest.objects.exists()


def test_a_confirmed_intercept_refunds_the_buyer(shipment, agent, clerk, ticket):
    intercept = intercept_request(ticket=ticket, by=agent)

    intercept_confirm(intercept=intercept, by=clerk, note="快递已拦截")

    ticket.refresh_from_db()
    intercept.refresh_from_db()
    shipment.refresh_from_db()
    assert ticket.state == TicketState.REFUNDING
    assert Refund.objects.get(ticket=ticket).amount == Decimal("199.00")
    assert (intercept.status, shipment.status) == ("confirmed", "intercepted")
    assert intercept.answered_at is not None
    with pytest.raises(ActionRefused):
        intercept_confirm(intercept=intercept, by=clerk)
    assert Refund.objects.count() == 1


@pytest.mark.parametrize("answer", [intercept_confirm, intercept_fail, intercept_mark_returned])
def test_an_agent_cannot_record_the_couriers_answer(agent, ticket, answer):
    intercept = intercept_request(ticket=ticket, by=agent)

    with pytest.raises(ActionRefused) as caught:
        answer(intercept=intercept, by=agent)

    assert caught.value.code == "not_permitted"
    intercept.refresh_from_db()
    assert (intercept.status, reload_state(ticket)) == ("requested", TicketState.INTERCEPTING)
    assert not Refund.objects.exists()


def test_whoever_asked_for_the_intercept_cannot_answer_it_even_with_the_permission(shipment, ticket):
    supervisor = make_staff("boss", role="Supervisor", shops=[shipment.shop])  # may record answers
    intercept = intercept_request(ticket=ticket, by=supervisor)

    with pytest.raises(ActionRefused) as caught:
        intercept_confirm(intercept=intercept, by=supervisor)

    assert caught.value.code == "own_intercept"
    assert not Refund.objects.exists()


def test_a_confirmed_intercept_above_the_shops_automatic_cap_waits_for_a_supervisor(shipment, agent, clerk, ticket):
    shop = shipment.shop
    shop.auto_refund_max_amount = Decimal("100.00")  # the parcel's refund is 199
    shop.save()
    intercept = intercept_request(ticket=ticket, by=agent)

    intercept_confirm(intercept=intercept, by=clerk)

    ticket.refresh_from_db()
    assert ticket.state == TicketState.AWAITING_APPROVAL
    assert not Refund.objects.exists()
    approval = ApprovalRequest.objects.get(ticket=ticket)
    assert (approval.amount, approval.requested_by) == (Decimal("199.00"), system_user())


def reload_state(ticket):
    ticket.refresh_from_db()
    return ticket.state


def test_a_failed_intercept_of_a_delivered_parcel_returns_the_ticket_as_path_3(shipment, agent, ticket):
    intercept = intercept_request(ticket=ticket, by=agent)

    # The courier's scan says it was signed for: the push fails the intercept by itself.
    tracking_ingest(
        shop=shipment.shop,
        scans=[Scan("SF", shipment.tracking_number, timezone.now().replace(microsecond=0), "delivered", "已签收")],
        source="bulk",
    )

    ticket.refresh_from_db()
    intercept.refresh_from_db()
    assert intercept.status == "failed"
    assert (ticket.state, ticket.path) == (TicketState.REQUESTED, 3)
    assert ticket.attention_note
    assert ticket.order.delivered_at is not None
    assert not Refund.objects.exists()


def test_a_failed_intercept_of_a_parcel_still_moving_keeps_path_2(agent, clerk, ticket):
    intercept = intercept_request(ticket=ticket, by=agent)

    intercept_fail(intercept=intercept, by=clerk, note="已到驿站, 快递不接受拦截")

    ticket.refresh_from_db()
    assert (ticket.state, ticket.path, ticket.attention_note) == (TicketState.REQUESTED, 2, "已到驿站, 快递不接受拦截")


def test_refunding_early_registers_a_claim_that_a_returned_parcel_withdraws(shipment, agent, clerk, ticket):
    grant_authority(agent, shipment.shop, "500")
    intercept = intercept_request(ticket=ticket, by=agent)

    claim = intercept_refund_early(ticket=ticket, by=agent)

    ticket.refresh_from_db()
    assert ticket.state == TicketState.REFUNDING
    assert (claim.cause, claim.remedy, claim.loss_amount, claim.status) == (
        "intercept",
        "refund",
        Decimal("199.00"),
        "open",
    )
    intercept_mark_returned(intercept=intercept, by=clerk)
    claim.refresh_from_db()
    intercept.refresh_from_db()
    assert (claim.status, intercept.status) == (CourierClaim.Status.WITHDRAWN, "returned_to_warehouse")
    assert Shipment.objects.get(pk=shipment.pk).status == "returned"


def test_refunding_early_above_authority_is_refused_and_nothing_is_written(shipment, agent, ticket):
    grant_authority(agent, shipment.shop, "50")
    intercept_request(ticket=ticket, by=agent)

    with pytest.raises(ActionRefused) as refusal:
        intercept_refund_early(ticket=ticket, by=agent)

    assert refusal.value.code == "over_authority"
    assert not Refund.objects.exists()
    assert not CourierClaim.objects.exists()


# --- the follow-up check --------------------------------------------------------------------------------------------


def test_an_unanswered_intercept_is_flagged_once_at_its_due_time_and_the_agent_told(agent, ticket):
    intercept = intercept_request(ticket=ticket, by=agent)

    early = intercepts_flag_overdue(now=intercept.due_at - timedelta(seconds=1))
    on_time = intercepts_flag_overdue(now=intercept.due_at)
    again = intercepts_flag_overdue(now=intercept.due_at + timedelta(hours=1))

    assert (early, on_time, again) == (0, 1, 0)
    intercept.refresh_from_db()
    ticket.refresh_from_db()
    assert intercept.overdue_flagged_at == intercept.due_at
    assert ticket.attention_note
    assert ticket.events.filter(action="flagged").count() == 1
    chase = RobotMessage.objects.get(purpose="intercept_overdue")
    assert intercept.shipment.tracking_number in chase.text


def test_the_follow_up_check_runs_a_fixed_number_of_queries_per_batch():
    def queries_for(count):
        due = []
        for _ in range(count):
            shipment = parcel(quiet_for=timedelta(hours=2))
            due.append(intercept_request(ticket=open_ticket(shipment.order), by=system_user()).due_at)
        with CaptureQueriesContext(connection) as queries:
            flagged = intercepts_flag_overdue(now=max(due) + timedelta(minutes=1), batch_size=1000)
        assert flagged == count
        return len(queries)

    assert queries_for(2) == queries_for(25)


def test_the_daily_rule_intercepts_every_waiting_refund_only_parcel_once():
    waiting = [open_ticket(parcel(quiet_for=timedelta(hours=3)).order) for _ in range(3)]
    exchange = open_ticket(parcel(quiet_for=timedelta(hours=3)).order, kind=TicketKind.EXCHANGE)

    assert intercepts_open_for_waiting_tickets() == 3
    assert intercepts_open_for_waiting_tickets() == 0

    assert set(InterceptRequest.objects.values_list("ticket", flat=True)) == {t.pk for t in waiting}
    exchange.refresh_from_db()
    assert exchange.state == TicketState.REQUESTED


def test_a_path_1_ticket_whose_parcel_left_before_the_cut_off_gets_an_intercept():
    shipment = parcel(quiet_for=timedelta(hours=1))
    order = shipment.order
    Order.objects.filter(pk=order.pk).update(shipped_at=None, packed_at=order.paid_at + timedelta(hours=1))
    order.refresh_from_db()
    ticket = open_ticket(order, requested_amount="199.00")
    assert (ticket.path, ticket.state) == (1, TicketState.INTERCEPTING)  # the warehouse is asked to hold it
    Order.objects.filter(pk=order.pk).update(shipped_at=shipment.shipped_at)
    cutoff_mark_gone(cutoff=ticket.cutoffs.get(), by=system_user())

    assert intercepts_open_for_waiting_tickets() == 1

    ticket.refresh_from_db()
    assert ticket.state == TicketState.INTERCEPTING
    assert InterceptRequest.objects.get(ticket=ticket).shipment == shipment
