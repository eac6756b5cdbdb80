"""Every move of a ticket, refund, approval and cut-off through the services (DESIGN §3): who may make it, from which
state, what it writes — exactly one TicketEvent per move — and that a refused move writes nothing at all."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Max, Sum
from django.utils import timezone, translation

from aftersales.gateways import RefundGatewayUnavailable, SendOutcome, SendResult
from aftersales.models import (
    AfterSalesTicket,
    ApprovalRequest,
    CutOffRequest,
    Order,
    PlatformRuling,
    Refund,
    TicketEvent,
    TicketKind,
    TicketState,
)
from aftersales.selectors import system_user
from aftersales.services import (
    approval_decide,
    cutoff_confirm_hold,
    cutoff_mark_gone,
    refund_execute,
    ticket_agree_return,
    ticket_apply_auto_rules,
    ticket_approve_refund,
    ticket_change_reason,
    ticket_close,
    ticket_escalate_to_platform,
    ticket_flag_for_agent,
    ticket_inspection_passed,
    ticket_intercept_confirmed,
    ticket_intercept_failed,
    ticket_platform_ruling,
    ticket_reject,
    ticket_repair_shipped,
    ticket_request_approval,
    ticket_request_cutoff,
    ticket_resolve_by_replacement,
    ticket_return_received,
    ticket_return_shipped,
    ticket_start_intercept,
    ticket_withdraw,
)
from desk.errors import ActionRefused
from tests.factories import (
    OrderFactory,
    ShopFactory,
    confirm_refund,
    delivered_order,
    grant_authority,
    make_staff,
    open_ticket,
    reason,
    shipped_order,
)

pytestmark = pytest.mark.django_db

S = TicketState
MODULE = __name__


class RefusingGateway:
    """A gateway that gives a definite no, as a marketplace does for a closed buyer account."""

    name = "refusing"

    def send(self, refund):
        return SendResult(SendOutcome.FAILED, error="买家账户已注销 (buyer account closed)")


class UnreachableGateway:
    name = "unreachable"

    def send(self, refund):
        raise RefundGatewayUnavailable("timed out")


# --- people and tickets ---------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _english():
    """The services translate a refusal when they raise it; the messages here are checked in English."""
    with translation.override("en"):
        yield


@pytest.fixture
def shop():
    return ShopFactory(name="A店", approval_due_hours=6)


@pytest.fixture
def agent(shop):
    user = make_staff("agent", role="Agent", shops=[shop])
    grant_authority(user, shop, "100.00")
    return user


@pytest.fixture
def supervisor(shop):
    user = make_staff("supervisor", role="Supervisor", shops=[shop])
    grant_authority(user, shop, "1000.00")
    return user


@pytest.fixture
def warehouse(shop):
    return make_staff("warehouse", role="Warehouse", shops=[shop])


@pytest.fixture
def manager(shop):
    return make_staff("manager", role="Manager", shops=[shop])


@pytest.fixture
def people(agent, supervisor, warehouse, manager):
    return {"Agent": agent, "Supervisor": supervisor, "Warehouse": warehouse, "Manager": manager}


def requested_ticket(shop, *, paid="199.00", requested="50.00", kind=TicketKind.REFUND_ONLY, make_order=None):
    """A delivered order's ticket (path 3, or 4 for a return), waiting for the agent: no automatic rule applies."""
    order = (make_order or delivered_order)(shop=shop, paid_amount=Decimal(paid))
    ticket = open_ticket(order, kind=kind, requested_amount=requested)
    assert ticket.state == S.REQUESTED
    return ticket


def ticket_in(state, *, shop, agent, warehouse):
    """A ticket brought to `state` through the services, the way it gets there in real life."""
    if state == S.INTERCEPTING:
        ticket = requested_ticket(shop, make_order=shipped_order)
        ticket_start_intercept(ticket=ticket, by=agent)
    elif state == S.REPAIRING:
        ticket = requested_ticket(shop, kind=TicketKind.REPAIR, requested="0")
        ticket_agree_return(ticket=ticket, by=agent)
        ticket_return_shipped(ticket=ticket, by=agent, courier_code="SF", tracking_number="SF1000000001")
        ticket_return_received(ticket=ticket, by=warehouse)
        ticket_inspection_passed(ticket=ticket, by=warehouse)
    elif state in (S.AWAITING_RETURN, S.RETURN_IN_TRANSIT, S.RECEIVED):
        ticket = requested_ticket(shop, kind=TicketKind.RETURN_REFUND)
        ticket_agree_return(ticket=ticket, by=agent)
        if state != S.AWAITING_RETURN:
            ticket_return_shipped(ticket=ticket, by=agent, courier_code="SF", tracking_number="SF1000000001")
        if state == S.RECEIVED:
            ticket_return_received(ticket=ticket, by=warehouse)
    else:
        ticket = requested_ticket(shop)
        if state == S.AWAITING_APPROVAL:
            ticket_request_approval(ticket=ticket, by=agent, amount="50.00", reason="老客户")
        elif state in (S.REFUNDING, S.REFUNDED):
            decision = ticket_approve_refund(ticket=ticket, by=agent, amount="50.00")
            if state == S.REFUNDED:
                confirm_refund(decision.refund)
        elif state in (S.REJECTED, S.CLOSED):
            ticket_reject(ticket=ticket, by=agent, note="超过售后期")
            if state == S.CLOSED:
                ticket_close(ticket=ticket, by=agent)
        elif state == S.PLATFORM_REVIEW:
            ticket_escalate_to_platform(ticket=ticket, by=agent)
        elif state == S.RESOLVED:
            ticket_resolve_by_replacement(ticket=ticket, by=agent, kind=TicketKind.RESHIP)
        elif state == S.CANCELLED:
            ticket_withdraw(ticket=ticket, by=agent)
    ticket = reload(ticket)
    assert ticket.state == state
    return ticket


def reload(ticket) -> AfterSalesTicket:
    return AfterSalesTicket.objects.select_related("order", "shop").get(pk=ticket.pk)


def event_mark(ticket) -> int:
    return TicketEvent.objects.filter(ticket=ticket).aggregate(last=Max("pk"))["last"] or 0


def events_since(ticket, mark) -> list[tuple]:
    """(action, actor, from, to) of the events written after `mark`."""
    events = TicketEvent.objects.filter(ticket=ticket, pk__gt=mark).select_related("actor").order_by("pk")
    return [(event.action, event.actor.username, event.from_state, event.to_state) for event in events]


def everything(ticket) -> dict:
    """What a refused move must leave as it was: the ticket, its order's money and every row the services write."""
    ticket = reload(ticket)
    return {
        "ticket": (
            ticket.state,
            ticket.path,
            ticket.kind,
            ticket.reason_id,
            ticket.first_reason_id,
            ticket.attention_note,
            ticket.refund_attempt,
            ticket.closed_at,
            ticket.return_tracking_number,
            ticket.escalation_risk,
        ),
        "refunded_amount": Order.objects.get(pk=ticket.order_id).refunded_amount,
        "refunds": list(Refund.objects.order_by("pk").values_list("pk", "status", "amount")),
        "approvals": list(ApprovalRequest.objects.order_by("pk").values_list("pk", "status", "decided_by")),
        "cutoffs": list(CutOffRequest.objects.order_by("pk").values_list("pk", "status")),
        "events": list(TicketEvent.objects.order_by("pk").values_list("pk", flat=True)),
    }


def refused(code: str, ticket, call: Callable) -> ActionRefused:
    """Assert `call` is refused with `code` and changes nothing; return the refusal for its message."""
    before = everything(ticket)
    with pytest.raises(ActionRefused) as caught:
        call()
    assert caught.value.code == code, caught.value.message
    assert everything(ticket) == before
    return caught.value


# --- ticket_approve_refund ------------------------------------------------------------------------------------------


def test_agent_refunds_within_authority_and_the_ticket_is_refunding_with_a_pending_refund(shop, agent):
    ticket = requested_ticket(shop, paid="199.00")
    mark = event_mark(ticket)

    decision = ticket_approve_refund(ticket=ticket, by=agent, amount="80.00", note="线头问题补偿")

    ticket = reload(ticket)
    assert ticket.state == S.REFUNDING
    assert decision.approval is None
    assert not decision.replayed
    refund = Refund.objects.get(ticket=ticket)
    assert refund == decision.refund
    assert (refund.status, refund.amount, refund.kind, refund.requested_by) == (
        "pending",
        Decimal("80.00"),
        "partial",
        agent,
    )
    assert (refund.order_id, refund.shop_id) == (ticket.order_id, ticket.shop_id)
    assert ticket.order.refunded_amount == Decimal("80.00")
    assert events_since(ticket, mark) == [("refund_approved", "agent", "requested", "refunding")]
    event = ticket.events.get(pk__gt=mark)
    assert (event.amount, event.note) == (Decimal("80.00"), "线头问题补偿")
    assert not ApprovalRequest.objects.exists()


def test_agent_refunds_exactly_their_authority_without_a_supervisor(shop, agent):
    ticket = requested_ticket(shop)

    decision = ticket_approve_refund(ticket=ticket, by=agent, amount="100.00")

    assert decision.refund.amount == Decimal("100.00")
    assert reload(ticket).state == S.REFUNDING


def test_a_refund_of_everything_left_on_the_order_is_a_full_refund(shop, agent):
    ticket = requested_ticket(shop, paid="99.00", requested="99.00")

    decision = ticket_approve_refund(ticket=ticket, by=agent)

    assert (decision.refund.amount, decision.refund.kind) == (Decimal("99.00"), "full")


def test_a_compensation_ticket_refunds_as_compensation(shop, agent):
    ticket = requested_ticket(shop, kind=TicketKind.COMPENSATION, requested="20.00")

    decision = ticket_approve_refund(ticket=ticket, by=agent)

    assert (decision.refund.amount, decision.refund.kind) == (Decimal("20.00"), "compensation")


def test_an_agents_authority_is_the_highest_of_their_own_and_their_groups(shop, agent):
    from django.contrib.auth.models import Group

    grant_authority(Group.objects.get(name="Agent"), shop, "150.00")
    ticket = requested_ticket(shop)

    decision = ticket_approve_refund(ticket=ticket, by=agent, amount="150.00")

    assert decision.refund is not None
    assert decision.approval is None


def test_agent_above_authority_sends_the_refund_to_the_supervisors_due_after_the_shops_hours(shop, agent):
    ticket = requested_ticket(shop, paid="199.00", requested="199.00")
    mark = event_mark(ticket)
    before = timezone.now()

    decision = ticket_approve_refund(ticket=ticket, by=agent, amount="100.01", note="买家是老客户")

    ticket = reload(ticket)
    assert ticket.state == S.AWAITING_APPROVAL
    assert decision.refund is None
    approval = decision.approval
    assert approval == ApprovalRequest.objects.get(ticket=ticket)
    assert (approval.status, approval.amount, approval.requested_by, approval.shop) == (
        "pending",
        Decimal("100.01"),
        agent,
        shop,
    )
    assert (approval.refund_kind, approval.reason) == ("partial", "买家是老客户")
    assert before <= approval.requested_at
    assert approval.due_at == approval.requested_at + timedelta(hours=6)
    assert not Refund.objects.exists()
    assert ticket.order.refunded_amount == 0
    assert events_since(ticket, mark) == [("approval_requested", "agent", "requested", "awaiting_approval")]


def test_an_agent_without_any_authority_sends_every_refund_for_approval(shop):
    newcomer = make_staff("newcomer", role="Agent", shops=[shop])
    ticket = requested_ticket(shop)

    decision = ticket_approve_refund(ticket=ticket, by=newcomer, amount="0.01")

    assert decision.approval is not None
    assert not Refund.objects.exists()


def test_a_superuser_has_no_authority_limit(shop):
    from django.contrib.auth import get_user_model

    owner = get_user_model().objects.create_superuser("owner", password="pw")
    ticket = requested_ticket(shop, paid="5000.00", requested="5000.00")

    decision = ticket_approve_refund(ticket=ticket, by=owner)

    assert decision.refund.amount == Decimal("5000.00")


def test_a_failed_refund_does_not_use_up_the_agents_authority(shop, agent, settings):
    ticket = requested_ticket(shop)
    first = ticket_approve_refund(ticket=ticket, by=agent, amount="100.00").refund
    settings.REFUND_GATEWAY = f"{MODULE}.RefusingGateway"
    refund_execute(refund_id=first.pk)

    retry = ticket_approve_refund(ticket=ticket, by=agent, amount="100.00")

    assert retry.refund is not None
    assert retry.approval is None


def test_a_replayed_idempotency_key_returns_the_first_refund_and_writes_nothing(shop, agent):
    ticket = requested_ticket(shop)
    first = ticket_approve_refund(ticket=ticket, by=agent, amount="30.00", idempotency_key="client-req-1")
    before = everything(ticket)

    again = ticket_approve_refund(ticket=ticket, by=agent, amount="30.00", idempotency_key="client-req-1")

    assert again.replayed
    assert again.refund == first.refund
    assert again.refund.idempotency_key == "client-req-1"
    assert everything(ticket) == before


def test_an_idempotency_key_of_another_ticket_is_refused(shop, agent):
    first = requested_ticket(shop)
    ticket_approve_refund(ticket=first, by=agent, amount="30.00", idempotency_key="client-req-1")
    other = requested_ticket(shop)

    refusal = refused(
        "idempotency_conflict",
        other,
        lambda: ticket_approve_refund(ticket=other, by=agent, amount="30.00", idempotency_key="client-req-1"),
    )

    assert reload(other).state == S.REQUESTED
    assert "another ticket" in str(refusal.message)


@pytest.mark.parametrize(("role", "code"), [("Warehouse", "not_permitted"), ("Agent of another shop", "other_shop")])
def test_a_replayed_key_answers_nobody_who_may_not_refund_the_ticket(shop, agent, role, code):
    ticket = requested_ticket(shop)
    ticket_approve_refund(ticket=ticket, by=agent, amount="30.00", idempotency_key="client-req-1")
    if role == "Warehouse":
        someone = make_staff("warehouse2", role="Warehouse", shops=[shop])
    else:
        someone = make_staff("outsider", role="Agent", shops=[ShopFactory(name="B店")])

    refused(code, ticket, lambda: ticket_approve_refund(ticket=ticket, by=someone, idempotency_key="client-req-1"))


def test_an_unknown_refund_kind_is_refused(shop, agent):
    ticket = requested_ticket(shop)

    refused("invalid_kind", ticket, lambda: ticket_approve_refund(ticket=ticket, by=agent, amount="5", kind="gift"))


def test_agent_can_refund_a_received_return_within_authority(shop, agent, warehouse):
    ticket = ticket_in(S.RECEIVED, shop=shop, agent=agent, warehouse=warehouse)
    mark = event_mark(ticket)

    ticket_approve_refund(ticket=ticket, by=agent, amount="50.00")

    assert events_since(ticket, mark) == [("refund_approved", "agent", "received", "refunding")]


# --- ticket_request_approval ----------------------------------------------------------------------------------------


def test_agent_asks_for_approval_even_within_their_authority(shop, agent):
    ticket = requested_ticket(shop)
    mark = event_mark(ticket)

    approval = ticket_request_approval(
        ticket=ticket, by=agent, amount="10.00", kind="compensation", reason="想听主管意见"
    )

    assert (approval.amount, approval.refund_kind, approval.status) == (Decimal("10.00"), "compensation", "pending")
    assert reload(ticket).state == S.AWAITING_APPROVAL
    assert not Refund.objects.exists()
    assert events_since(ticket, mark) == [("approval_requested", "agent", "requested", "awaiting_approval")]


def test_a_second_approval_request_while_one_is_pending_is_refused(shop, agent):
    ticket = requested_ticket(shop)
    ticket_request_approval(ticket=ticket, by=agent, amount="10.00")

    refused("wrong_state", ticket, lambda: ticket_request_approval(ticket=ticket, by=agent, amount="20.00"))

    assert ApprovalRequest.objects.filter(ticket=ticket).count() == 1


# --- approval_decide ------------------------------------------------------------------------------------------------


@pytest.fixture
def approval(shop, agent):
    ticket = requested_ticket(shop, paid="299.00", requested="250.00")
    return ticket_approve_refund(ticket=ticket, by=agent, amount="250.00", note="大客户").approval


def test_supervisor_approves_and_the_refund_starts_under_the_approvals_own_key(approval, supervisor):
    mark = event_mark(approval.ticket)

    decided = approval_decide(approval=approval, by=supervisor, approve=True, note="同意")

    decided.refresh_from_db()
    assert (decided.status, decided.decided_by, decided.decision_note) == ("approved", supervisor, "同意")
    assert decided.decided_at is not None
    ticket = reload(approval.ticket)
    assert ticket.state == S.REFUNDING
    refund = Refund.objects.get(ticket=ticket)
    assert (refund.amount, refund.status, refund.requested_by) == (Decimal("250.00"), "pending", supervisor)
    assert refund.idempotency_key == f"approval-{approval.pk}"
    assert ticket.order.refunded_amount == Decimal("250.00")
    assert events_since(ticket, mark) == [("approval_approved", "supervisor", "awaiting_approval", "refunding")]


def test_supervisor_declines_with_a_note_and_the_ticket_goes_back_to_the_agent(approval, supervisor):
    mark = event_mark(approval.ticket)

    decided = approval_decide(approval=approval, by=supervisor, approve=False, note="  先补偿20元试试  ")

    decided.refresh_from_db()
    assert (decided.status, decided.decided_by, decided.decision_note) == ("declined", supervisor, "先补偿20元试试")
    ticket = reload(approval.ticket)
    assert (ticket.state, ticket.attention_note) == (S.REQUESTED, "先补偿20元试试")
    assert not Refund.objects.exists()
    assert ticket.order.refunded_amount == 0
    assert events_since(ticket, mark) == [("approval_declined", "supervisor", "awaiting_approval", "requested")]


@pytest.mark.parametrize("note", ["", "   ", None])
def test_a_decline_without_a_note_is_refused(approval, supervisor, note):
    refusal = refused(
        "note_required",
        approval.ticket,
        lambda: approval_decide(approval=approval, by=supervisor, approve=False, note=note),
    )

    assert str(refusal.message) == "Write a note that says why."


def test_nobody_decides_their_own_approval_request(shop, supervisor):
    ticket = requested_ticket(shop)
    own = ticket_request_approval(ticket=ticket, by=supervisor, amount="40.00")

    for approve in (True, False):
        refused(
            "own_request", ticket, lambda a=approve: approval_decide(approval=own, by=supervisor, approve=a, note="ok")
        )


@pytest.mark.parametrize("first_decision", [True, False])
def test_an_approval_is_decided_only_once(approval, supervisor, shop, first_decision):
    other = make_staff("supervisor2", role="Supervisor", shops=[shop])
    grant_authority(other, shop, "1000.00")
    approval_decide(approval=approval, by=supervisor, approve=first_decision, note="已处理")

    for approve in (True, False):
        refused(
            "already_decided",
            approval.ticket,
            lambda a=approve: approval_decide(approval=approval, by=other, approve=a, note="再来一次"),
        )


def test_supervisor_cannot_approve_above_their_own_authority(approval, shop):
    junior = make_staff("junior", role="Supervisor", shops=[shop])
    grant_authority(junior, shop, "249.99")

    refusal = refused(
        "over_authority", approval.ticket, lambda: approval_decide(approval=approval, by=junior, approve=True)
    )

    assert ApprovalRequest.objects.get(pk=approval.pk).status == "pending"
    assert str(refusal.message) == "¥250.00 is above your own authority of ¥249.99; ask a manager."


def test_a_supervisor_above_their_authority_may_still_decline(approval, shop):
    junior = make_staff("junior", role="Supervisor", shops=[shop])

    approval_decide(approval=approval, by=junior, approve=False, note="金额太高")

    assert reload(approval.ticket).state == S.REQUESTED


@pytest.mark.parametrize("role", ["Agent", "Warehouse", "Manager"])
def test_only_supervisors_decide_approvals(approval, shop, role):
    user = make_staff(f"{role.lower()}2", role=role, shops=[shop])
    grant_authority(user, shop, "10000.00")

    for approve in (True, False):
        refused(
            "not_permitted",
            approval.ticket,
            lambda a=approve: approval_decide(approval=approval, by=user, approve=a, note="x"),
        )


def test_a_supervisor_of_another_shop_cannot_decide(approval):
    elsewhere = ShopFactory(name="B店")
    outsider = make_staff("outsider", role="Supervisor", shops=[elsewhere])
    grant_authority(outsider, approval.ticket.shop, "10000.00")

    refused("other_shop", approval.ticket, lambda: approval_decide(approval=approval, by=outsider, approve=True))


def test_approving_more_than_is_left_of_the_order_is_refused(approval, supervisor, agent):
    sibling = open_ticket(approval.ticket.order, requested_amount="100.00")
    ticket_approve_refund(ticket=sibling, by=agent, amount="100.00")

    refusal = refused(
        "over_paid", approval.ticket, lambda: approval_decide(approval=approval, by=supervisor, approve=True)
    )

    assert str(refusal.message) == "At most ¥199.00 of this order can still be refunded."


# --- refund_execute -------------------------------------------------------------------------------------------------


def test_a_refund_sent_through_the_batch_file_waits_and_only_the_confirmation_closes_the_ticket(shop, agent):
    ticket = requested_ticket(shop)
    refund = ticket_approve_refund(ticket=ticket, by=agent, amount="50.00").refund
    mark = event_mark(ticket)

    queued = refund_execute(refund_id=refund.pk)

    # The batch-file gateway sends nothing by itself: the refund waits for the shop's next batch file.
    assert (queued.status, queued.gateway) == ("pending", "batch_file")
    assert (queued.sent_at, queued.send_started_at) == (None, None)
    assert reload(ticket).state == S.REFUNDING
    assert events_since(ticket, mark) == [("refund_queued", "system", "refunding", "refunding")]
    before = everything(ticket)
    assert refund_execute(refund_id=refund.pk).status == "pending"
    assert everything(ticket) == before

    done = confirm_refund(refund)

    assert (done.status, done.gateway) == ("succeeded", "batch_file")
    assert done.gateway_reference.endswith(f"-{refund.pk}")
    assert done.sent_at is not None
    assert done.confirmed_at >= done.sent_at
    ticket = reload(ticket)
    assert ticket.state == S.REFUNDED
    assert ticket.closed_at == done.confirmed_at
    assert ticket.order.refunded_amount == Decimal("50.00")
    assert events_since(ticket, mark)[1:] == [
        ("refund_sent", "system", "refunding", "refunding"),
        ("refund_succeeded", "system", "refunding", "refunded"),
    ]
    before = everything(ticket)

    again = refund_execute(refund_id=refund.pk)

    assert again.status == "succeeded"
    assert again.confirmed_at == done.confirmed_at
    assert everything(ticket) == before


def test_a_refused_refund_frees_the_amount_and_returns_the_ticket_to_the_agent(shop, agent, settings):
    ticket = requested_ticket(shop)
    refund = ticket_approve_refund(ticket=ticket, by=agent, amount="50.00").refund
    assert reload(ticket).order.refunded_amount == Decimal("50.00")
    settings.REFUND_GATEWAY = f"{MODULE}.RefusingGateway"
    mark = event_mark(ticket)

    failed = refund_execute(refund_id=refund.pk)

    assert (failed.status, failed.gateway) == ("failed", "refusing")
    assert failed.failure_reason == "买家账户已注销 (buyer account closed)"
    ticket = reload(ticket)
    assert ticket.state == S.REQUESTED
    assert ticket.attention_note == "买家账户已注销 (buyer account closed)"
    assert ticket.refund_attempt == 1
    assert ticket.order.refunded_amount == 0
    assert events_since(ticket, mark) == [("refund_failed", "system", "refunding", "requested")]
    before = everything(ticket)
    assert refund_execute(refund_id=refund.pk).status == "failed"
    assert everything(ticket) == before

    settings.REFUND_GATEWAY = "aftersales.gateways.BatchFileGateway"
    retry = ticket_approve_refund(ticket=ticket, by=agent, amount="50.00").refund

    assert retry.pk != refund.pk
    assert retry.idempotency_key != refund.idempotency_key
    assert reload(ticket).attention_note == ""
    assert reload(ticket).order.refunded_amount == Decimal("50.00")
    confirm_refund(retry)
    assert reload(ticket).state == S.REFUNDED


def test_an_unreachable_gateway_leaves_the_refund_pending_for_a_retry(shop, agent, settings):
    ticket = requested_ticket(shop)
    refund = ticket_approve_refund(ticket=ticket, by=agent, amount="50.00").refund
    settings.REFUND_GATEWAY = f"{MODULE}.UnreachableGateway"
    before = everything(ticket)

    with pytest.raises(RefundGatewayUnavailable):
        refund_execute(refund_id=refund.pk)

    assert everything(ticket) == before
    assert reload(ticket).state == S.REFUNDING


# --- reject, close, withdraw, replacement, platform -----------------------------------------------------------------


def test_agent_rejects_with_a_reason(shop, agent):
    ticket = requested_ticket(shop)
    mark = event_mark(ticket)

    ticket_reject(ticket=ticket, by=agent, note="  超过七天无理由期限  ")

    assert reload(ticket).state == S.REJECTED
    assert events_since(ticket, mark) == [("rejected", "agent", "requested", "rejected")]
    assert ticket.events.get(pk__gt=mark).note == "超过七天无理由期限"


@pytest.mark.parametrize("note", ["", "  ", None])
def test_a_rejection_without_a_reason_is_refused(shop, agent, note):
    ticket = requested_ticket(shop)

    refused("note_required", ticket, lambda: ticket_reject(ticket=ticket, by=agent, note=note))


def test_a_swapped_return_is_flagged_by_the_warehouse_and_rejected_by_the_agent(shop, agent, warehouse):
    ticket = ticket_in(S.RECEIVED, shop=shop, agent=agent, warehouse=warehouse)
    mark = event_mark(ticket)

    # The warehouse flags the evidence; the agent, who works the ticket, rejects.
    ticket_flag_for_agent(ticket=ticket, by=warehouse, note="退回的是旧款, 照片见附件")
    ticket_reject(ticket=ticket, by=agent, note="退货调包")

    assert events_since(ticket, mark) == [
        ("flagged", "warehouse", "received", "received"),
        ("rejected", "agent", "received", "rejected"),
    ]
    assert reload(ticket).attention_note == ""


def test_the_buyer_accepts_the_rejection_and_the_ticket_closes(shop, agent, warehouse):
    ticket = ticket_in(S.REJECTED, shop=shop, agent=agent, warehouse=warehouse)
    mark = event_mark(ticket)

    ticket_close(ticket=ticket, by=agent)

    ticket = reload(ticket)
    assert (ticket.state, ticket.closed_at is not None) == (S.CLOSED, True)
    assert events_since(ticket, mark) == [("closed", "agent", "rejected", "closed")]


@pytest.mark.parametrize("state", [S.REQUESTED, S.AWAITING_RETURN])
def test_the_buyer_withdraws(shop, agent, warehouse, state):
    ticket = ticket_in(state, shop=shop, agent=agent, warehouse=warehouse)
    mark = event_mark(ticket)

    ticket_withdraw(ticket=ticket, by=system_user(), note="买家撤销")

    ticket = reload(ticket)
    assert (ticket.state, ticket.closed_at is not None) == (S.CANCELLED, True)
    assert events_since(ticket, mark) == [("withdrawn", "system", state, "cancelled")]


@pytest.mark.parametrize("kind", [TicketKind.RESHIP, TicketKind.EXCHANGE])
def test_agent_resolves_by_sending_a_replacement_instead_of_refunding(shop, agent, kind):
    ticket = requested_ticket(shop)
    ticket_flag_for_agent(ticket=ticket, by=agent, note="买家同意换货")
    mark = event_mark(ticket)

    ticket_resolve_by_replacement(ticket=ticket, by=agent, kind=kind)

    ticket = reload(ticket)
    assert (ticket.state, ticket.kind, ticket.attention_note) == (S.RESOLVED, kind, "")
    assert ticket.closed_at is not None
    assert not Refund.objects.exists()
    assert events_since(ticket, mark) == [(f"resolved_{kind}", "agent", "requested", "resolved")]


@pytest.mark.parametrize("kind", [TicketKind.REFUND_ONLY, TicketKind.RETURN_REFUND, TicketKind.COMPENSATION, "gift"])
def test_a_replacement_must_be_a_reship_or_an_exchange(shop, agent, kind):
    ticket = requested_ticket(shop)

    refused("invalid_kind", ticket, lambda: ticket_resolve_by_replacement(ticket=ticket, by=agent, kind=kind))


@pytest.mark.parametrize("state", [S.REQUESTED, S.REJECTED])
def test_the_platform_steps_in(shop, agent, warehouse, state):
    ticket = ticket_in(state, shop=shop, agent=agent, warehouse=warehouse)
    mark = event_mark(ticket)

    ticket_escalate_to_platform(ticket=ticket, by=agent, note="平台介入")

    assert events_since(ticket, mark) == [("platform_review", "agent", state, "platform_review")]


RULING = {"case_number": "TB-2026-00042", "evidence": "平台判定截图 https://example.invalid/case/42"}


def test_a_ruling_for_the_buyer_is_paid_on_the_recording_supervisors_authority(shop, supervisor, warehouse):
    ticket = ticket_in(S.PLATFORM_REVIEW, shop=shop, agent=supervisor, warehouse=warehouse)  # asks 50
    mark = event_mark(ticket)

    ticket_platform_ruling(ticket=ticket, by=supervisor, for_buyer=True, note="平台判买家胜", **RULING)

    ticket = reload(ticket)
    assert ticket.state == S.REFUNDING
    refund = Refund.objects.get(ticket=ticket)
    assert (refund.amount, refund.requested_by) == (Decimal("50.00"), supervisor)
    ruling = ticket.rulings.get()
    assert (ruling.case_number, ruling.for_buyer, ruling.recorded_by) == ("TB-2026-00042", True, supervisor)
    assert events_since(ticket, mark) == [("ruled_for_buyer", "supervisor", "platform_review", "refunding")]


def test_a_ruling_above_the_supervisors_authority_needs_a_second_supervisor(shop, supervisor, warehouse):
    small = make_staff("small_supervisor", role="Supervisor", shops=[shop])
    grant_authority(small, shop, "20.00")
    ticket = ticket_in(S.PLATFORM_REVIEW, shop=shop, agent=supervisor, warehouse=warehouse)  # asks 50

    ticket_platform_ruling(ticket=ticket, by=small, for_buyer=True, **RULING)

    ticket = reload(ticket)
    assert ticket.state == S.AWAITING_APPROVAL
    assert not Refund.objects.exists()
    approval = ApprovalRequest.objects.get(ticket=ticket)
    assert (approval.amount, approval.requested_by) == (Decimal("50.00"), small)
    refused("own_request", ticket, lambda: approval_decide(approval=approval, by=small, approve=True))
    approval_decide(approval=approval, by=supervisor, approve=True)
    assert Refund.objects.get(ticket=ticket).requested_by == supervisor


def test_an_agent_cannot_record_a_platform_ruling(shop, agent, warehouse):
    ticket = ticket_in(S.PLATFORM_REVIEW, shop=shop, agent=agent, warehouse=warehouse)

    refused("not_permitted", ticket, lambda: ticket_platform_ruling(ticket=ticket, by=agent, for_buyer=True, **RULING))


@pytest.mark.parametrize(
    ("given", "code"),
    [
        ({"case_number": "", "evidence": "截图"}, "case_number_required"),
        ({"case_number": "  ", "evidence": "截图"}, "case_number_required"),
        ({"case_number": "X" * 65, "evidence": "截图"}, "case_number_required"),
        ({"case_number": "TB-1", "evidence": " "}, "evidence_required"),
    ],
)
def test_a_ruling_needs_the_platforms_case_number_and_evidence(shop, supervisor, warehouse, given, code):
    ticket = ticket_in(S.PLATFORM_REVIEW, shop=shop, agent=supervisor, warehouse=warehouse)

    refused(code, ticket, lambda: ticket_platform_ruling(ticket=ticket, by=supervisor, for_buyer=True, **given))

    assert not PlatformRuling.objects.exists()


def test_a_ruling_for_the_merchant_closes_the_ticket(shop, supervisor, warehouse):
    ticket = ticket_in(S.PLATFORM_REVIEW, shop=shop, agent=supervisor, warehouse=warehouse)
    mark = event_mark(ticket)

    ticket_platform_ruling(ticket=ticket, by=supervisor, for_buyer=False, note="平台判商家胜", **RULING)

    ticket = reload(ticket)
    assert (ticket.state, ticket.closed_at is not None) == (S.CLOSED, True)
    assert not Refund.objects.exists()
    assert events_since(ticket, mark) == [("ruled_for_merchant", "supervisor", "platform_review", "closed")]


def test_a_ruling_for_the_buyer_is_capped_by_what_is_left_of_the_order(shop, agent, supervisor, warehouse):
    ticket = ticket_in(S.PLATFORM_REVIEW, shop=shop, agent=agent, warehouse=warehouse)  # asks 50 of 199
    sibling = open_ticket(ticket.order, requested_amount="169.00")
    ticket_approve_refund(ticket=sibling, by=supervisor, amount="169.00")

    ticket_platform_ruling(ticket=ticket, by=supervisor, for_buyer=True, **RULING)

    assert Refund.objects.get(ticket=ticket).amount == Decimal("30.00")
    assert Order.objects.get(pk=ticket.order_id).refunded_amount == Decimal("199.00")


def test_a_ruling_for_the_buyer_when_nothing_is_left_is_refused(shop, agent, supervisor, warehouse):
    ticket = ticket_in(S.PLATFORM_REVIEW, shop=shop, agent=agent, warehouse=warehouse)
    sibling = open_ticket(ticket.order, requested_amount="199.00")
    ticket_approve_refund(ticket=sibling, by=supervisor, amount="199.00")

    refusal = refused(
        "over_paid", ticket, lambda: ticket_platform_ruling(ticket=ticket, by=supervisor, for_buyer=True, **RULING)
    )

    assert str(refusal.message) == "Nothing of this order is left to refund."


# --- returns (path 4) -----------------------------------------------------------------------------------------------


def test_agent_agrees_a_return_of_delivered_goods(shop, agent):
    ticket = requested_ticket(shop, kind=TicketKind.RETURN_REFUND)
    mark = event_mark(ticket)

    ticket_agree_return(ticket=ticket, by=agent, note="请寄回")

    ticket = reload(ticket)
    assert (ticket.state, ticket.path, ticket.kind) == (S.AWAITING_RETURN, 4, TicketKind.RETURN_REFUND)
    assert events_since(ticket, mark) == [("return_agreed", "agent", "requested", "awaiting_return")]


def test_a_refund_only_buyer_is_moved_to_return_and_refund_by_agreeing_a_return(shop, agent):
    ticket = requested_ticket(shop, kind=TicketKind.REFUND_ONLY)
    assert ticket.path == 3

    ticket_agree_return(ticket=ticket, by=agent)

    ticket = reload(ticket)
    assert (ticket.path, ticket.kind) == (4, TicketKind.RETURN_REFUND)


@pytest.mark.parametrize("make_order", [OrderFactory, shipped_order])
def test_a_return_of_goods_the_buyer_does_not_have_is_refused(shop, agent, make_order):
    order = make_order(shop=shop)
    shop.auto_refund_enabled = False
    shop.save()
    ticket = open_ticket(order, requested_amount="10.00")

    refusal = refused("not_delivered", ticket, lambda: ticket_agree_return(ticket=ticket, by=agent))

    assert str(refusal.message) == "The buyer has not received the goods; nothing can be returned yet."


def test_the_return_tracking_number_moves_the_ticket_in_transit(shop, agent, warehouse):
    ticket = ticket_in(S.AWAITING_RETURN, shop=shop, agent=agent, warehouse=warehouse)
    mark = event_mark(ticket)

    ticket_return_shipped(ticket=ticket, by=agent, courier_code=" YTO ", tracking_number=" YT9876543210 ")

    ticket = reload(ticket)
    assert (ticket.state, ticket.return_courier_code, ticket.return_tracking_number) == (
        S.RETURN_IN_TRANSIT,
        "YTO",
        "YT9876543210",
    )
    assert events_since(ticket, mark) == [("return_shipped", "agent", "awaiting_return", "return_in_transit")]


@pytest.mark.parametrize("tracking_number", ["", "   ", None])
def test_a_return_without_a_tracking_number_is_refused(shop, agent, warehouse, tracking_number):
    ticket = ticket_in(S.AWAITING_RETURN, shop=shop, agent=agent, warehouse=warehouse)

    refused(
        "tracking_required",
        ticket,
        lambda: ticket_return_shipped(ticket=ticket, by=agent, courier_code="SF", tracking_number=tracking_number),
    )


def test_the_warehouse_signs_for_the_return(shop, agent, warehouse):
    ticket = ticket_in(S.RETURN_IN_TRANSIT, shop=shop, agent=agent, warehouse=warehouse)
    mark = event_mark(ticket)

    ticket_return_received(ticket=ticket, by=warehouse)

    assert reload(ticket).state == S.RECEIVED
    assert events_since(ticket, mark) == [("return_received", "warehouse", "return_in_transit", "received")]


def test_a_clean_inspection_refunds_at_once(shop, agent, warehouse):
    ticket = ticket_in(S.RECEIVED, shop=shop, agent=agent, warehouse=warehouse)
    mark = event_mark(ticket)

    ticket_inspection_passed(ticket=ticket, by=warehouse, note="完好")

    ticket = reload(ticket)
    assert ticket.state == S.REFUNDING
    refund = Refund.objects.get(ticket=ticket)
    # Paid on the shop's automatic cap (the system's authority), never on the clerk's who recorded the fact.
    assert (refund.amount, refund.requested_by, refund.status) == (Decimal("50.00"), system_user(), "pending")
    assert events_since(ticket, mark) == [("inspection_passed", "warehouse", "received", "refunding")]


def test_a_clean_inspection_of_an_exchange_sends_the_replacement_and_resolves(shop, agent, warehouse):
    ticket = requested_ticket(shop, kind=TicketKind.EXCHANGE, requested=None)
    ticket_agree_return(ticket=ticket, by=agent)
    assert reload(ticket).kind == TicketKind.EXCHANGE  # agreeing the return keeps it an exchange
    ticket_return_shipped(ticket=ticket, by=agent, courier_code="SF", tracking_number="SF1")
    ticket_return_received(ticket=ticket, by=warehouse)
    mark = event_mark(ticket)

    ticket_inspection_passed(ticket=ticket, by=warehouse)

    ticket = reload(ticket)
    assert (ticket.state, ticket.kind) == (S.RESOLVED, TicketKind.EXCHANGE)
    assert not Refund.objects.exists()
    assert ticket.order.refunded_amount == 0
    assert events_since(ticket, mark) == [("resolved_exchange", "warehouse", "received", "resolved")]


# --- cut-offs (path 1) ----------------------------------------------------------------------------------------------


def packed_ticket(shop, *, requested="60.00"):
    """A not-shipped ticket the rule left to the agent, whose order the warehouse packed afterwards."""
    shop.auto_refund_enabled = False
    shop.save()
    order = OrderFactory(shop=shop)
    ticket = open_ticket(order, requested_amount=requested)
    assert (ticket.path, ticket.state) == (1, S.REQUESTED)
    Order.objects.filter(pk=order.pk).update(packed_at=timezone.now())
    return reload(ticket)


def test_agent_asks_the_warehouse_to_cut_off_a_packed_order(shop, agent):
    ticket = packed_ticket(shop)
    mark = event_mark(ticket)

    cutoff = ticket_request_cutoff(ticket=ticket, by=agent)

    assert (cutoff.status, cutoff.ticket, cutoff.shop) == ("requested", ticket, shop)
    assert reload(ticket).state == S.INTERCEPTING
    assert events_since(ticket, mark) == [("cutoff_requested", "agent", "requested", "intercepting")]


@pytest.mark.parametrize("make_order", [OrderFactory, shipped_order, delivered_order])
def test_a_cutoff_is_only_for_a_packed_order_still_in_the_warehouse(shop, agent, make_order):
    shop.auto_refund_enabled = False
    shop.save()
    ticket = open_ticket(make_order(shop=shop), requested_amount="10.00")
    if make_order is not OrderFactory:  # packed once, but it has left the warehouse since
        Order.objects.filter(pk=ticket.order_id).update(packed_at=ticket.order.paid_at)

    refused("not_packed", ticket, lambda: ticket_request_cutoff(ticket=ticket, by=agent))


def test_the_warehouse_holds_the_parcel_and_the_refund_follows(shop, agent, warehouse):
    cutoff = ticket_request_cutoff(ticket=packed_ticket(shop), by=agent)
    mark = event_mark(cutoff.ticket)

    cutoff_confirm_hold(cutoff=cutoff, by=warehouse)

    cutoff.refresh_from_db()
    assert (cutoff.status, cutoff.decided_by) == ("held", warehouse)
    assert cutoff.decided_at is not None
    ticket = reload(cutoff.ticket)
    assert ticket.state == S.REFUNDING
    assert Refund.objects.get(ticket=ticket).amount == Decimal("60.00")
    assert events_since(ticket, mark) == [("cutoff_held", "warehouse", "intercepting", "refunding")]


def test_a_cutoff_the_rule_opened_is_held_by_the_warehouse(shop, warehouse):
    order = OrderFactory(shop=shop, packed_at=timezone.now(), paid_amount=Decimal("88.00"))
    ticket = open_ticket(order)
    cutoff = CutOffRequest.objects.get(ticket=ticket)
    assert ticket.events.get(action="cutoff_requested").actor == system_user()

    cutoff_confirm_hold(cutoff=cutoff, by=warehouse)

    assert Refund.objects.get(ticket=ticket).amount == Decimal("88.00")


def test_the_parcel_was_gone_and_the_ticket_goes_back_to_the_agent_as_path_two(shop, agent, warehouse):
    cutoff = ticket_request_cutoff(ticket=packed_ticket(shop), by=agent)
    mark = event_mark(cutoff.ticket)

    cutoff_mark_gone(cutoff=cutoff, by=warehouse)

    cutoff.refresh_from_db()
    assert (cutoff.status, cutoff.decided_by) == ("gone", warehouse)
    ticket = reload(cutoff.ticket)
    assert (ticket.state, ticket.path) == (S.REQUESTED, 2)
    assert ticket.attention_note == "Already shipped: the warehouse could not hold it."
    assert not Refund.objects.exists()
    assert events_since(ticket, mark) == [("cutoff_failed", "warehouse", "intercepting", "requested")]


@pytest.mark.parametrize("answer", [cutoff_confirm_hold, cutoff_mark_gone])
@pytest.mark.parametrize("first", [cutoff_confirm_hold, cutoff_mark_gone])
def test_a_cutoff_is_answered_only_once(shop, agent, warehouse, first, answer):
    cutoff = ticket_request_cutoff(ticket=packed_ticket(shop), by=agent)
    first(cutoff=cutoff, by=warehouse)

    refused("already_decided", cutoff.ticket, lambda: answer(cutoff=cutoff, by=warehouse))


@pytest.mark.parametrize("role", ["Agent", "Supervisor", "Manager"])
@pytest.mark.parametrize("answer", [cutoff_confirm_hold, cutoff_mark_gone])
def test_only_the_warehouse_answers_a_cutoff(shop, agent, people, role, answer):
    cutoff = ticket_request_cutoff(ticket=packed_ticket(shop), by=agent)

    refused("not_permitted", cutoff.ticket, lambda: answer(cutoff=cutoff, by=people[role]))


@pytest.mark.parametrize("answer", [cutoff_confirm_hold, cutoff_mark_gone])
def test_another_shops_warehouse_cannot_answer_a_cutoff(shop, agent, answer):
    cutoff = ticket_request_cutoff(ticket=packed_ticket(shop), by=agent)
    outsider = make_staff("outsider", role="Warehouse", shops=[ShopFactory()])

    refused("other_shop", cutoff.ticket, lambda: answer(cutoff=cutoff, by=outsider))


# --- intercepts (path 2) --------------------------------------------------------------------------------------------


def test_agent_starts_an_intercept_of_a_parcel_on_its_way(shop, agent):
    ticket = requested_ticket(shop, make_order=shipped_order)
    assert ticket.path == 2
    mark = event_mark(ticket)

    ticket_start_intercept(ticket=ticket, by=agent, note="已联系顺丰拦截")

    assert reload(ticket).state == S.INTERCEPTING
    assert events_since(ticket, mark) == [("intercept_requested", "agent", "requested", "intercepting")]


@pytest.mark.parametrize("make_order", [OrderFactory, delivered_order])
def test_only_a_parcel_on_its_way_can_be_intercepted(shop, agent, make_order):
    shop.auto_refund_enabled = False
    shop.save()
    ticket = open_ticket(make_order(shop=shop), requested_amount="10.00")

    refused("not_in_transit", ticket, lambda: ticket_start_intercept(ticket=ticket, by=agent))


def test_a_confirmed_intercept_refunds_now(shop, agent, warehouse):
    ticket = ticket_in(S.INTERCEPTING, shop=shop, agent=agent, warehouse=warehouse)
    mark = event_mark(ticket)

    ticket_intercept_confirmed(ticket=ticket, by=agent, note="快递已拦截")

    assert reload(ticket).state == S.REFUNDING
    assert Refund.objects.get(ticket=ticket).amount == Decimal("50.00")
    assert events_since(ticket, mark) == [("intercept_confirmed", "agent", "intercepting", "refunding")]


@pytest.mark.parametrize(
    ("delivered", "path"),
    [(True, 3), (False, 2)],
    ids=["delivered-path-three", "still-on-its-way-path-two"],
)
def test_a_failed_intercept_returns_the_ticket_to_the_agent(shop, agent, warehouse, delivered, path):
    ticket = ticket_in(S.INTERCEPTING, shop=shop, agent=agent, warehouse=warehouse)
    shipped_at = timezone.now() - timedelta(days=2)
    delivered_at = shipped_at + timedelta(days=1) if delivered else None
    Order.objects.filter(pk=ticket.order_id).update(shipped_at=shipped_at, delivered_at=delivered_at)
    mark = event_mark(ticket)

    ticket_intercept_failed(ticket=ticket, by=agent, note="已签收")

    ticket = reload(ticket)
    assert (ticket.state, ticket.path, ticket.attention_note) == (S.REQUESTED, path, "已签收")
    assert not Refund.objects.exists()
    assert events_since(ticket, mark) == [("intercept_failed", "agent", "intercepting", "requested")]


# --- reasons and flags ----------------------------------------------------------------------------------------------


def test_agent_corrects_the_reason_and_the_first_reason_stays(shop, agent):
    ticket = requested_ticket(shop)
    mark = event_mark(ticket)

    ticket_change_reason(ticket=ticket, by=agent, reason=reason("quality_defect"), note="买家补充了照片")

    ticket = reload(ticket)
    assert (ticket.first_reason.code, ticket.reason.code) == ("changed_mind", "quality_defect")
    assert ticket.state == S.REQUESTED
    assert events_since(ticket, mark) == [("reason_changed", "agent", "requested", "requested")]
    assert ticket.events.get(pk__gt=mark).note == "changed_mind → quality_defect. 买家补充了照片"


def test_setting_the_same_reason_again_writes_nothing(shop, agent):
    ticket = requested_ticket(shop)
    before = everything(ticket)

    ticket_change_reason(ticket=ticket, by=agent, reason=reason("changed_mind"))

    assert everything(ticket) == before


def test_an_inactive_reason_is_refused(shop, agent):
    ticket = requested_ticket(shop)
    retired = reason("promotion_changed")
    retired.is_active = False
    retired.save()

    refused("reason_inactive", ticket, lambda: ticket_change_reason(ticket=ticket, by=agent, reason=retired))


def test_the_database_refuses_to_rewrite_the_first_reason(shop):
    ticket = requested_ticket(shop)

    with pytest.raises(IntegrityError, match="first reason"), transaction.atomic():
        AfterSalesTicket.objects.filter(pk=ticket.pk).update(first_reason_id=reason("quality_defect").pk)

    assert reload(ticket).first_reason.code == "changed_mind"


def test_writing_the_same_first_reason_is_allowed_by_the_database(shop):
    ticket = requested_ticket(shop)

    AfterSalesTicket.objects.filter(pk=ticket.pk).update(first_reason_id=ticket.first_reason_id)

    assert reload(ticket).first_reason.code == "changed_mind"


@pytest.mark.parametrize("role", ["Warehouse", "Agent"])
def test_a_flag_puts_a_note_in_front_of_the_agent_without_moving_the_ticket(shop, people, role):
    ticket = requested_ticket(shop)
    mark = event_mark(ticket)

    ticket_flag_for_agent(ticket=ticket, by=people[role], note=" 外包装破损, 已拍照 ")

    ticket = reload(ticket)
    assert (ticket.state, ticket.attention_note) == (S.REQUESTED, "外包装破损, 已拍照")
    assert events_since(ticket, mark) == [("flagged", people[role].username, "requested", "requested")]


def test_a_flag_without_a_note_is_refused(shop, warehouse):
    ticket = requested_ticket(shop)

    refused("note_required", ticket, lambda: ticket_flag_for_agent(ticket=ticket, by=warehouse, note=" "))


def test_a_manager_cannot_flag_a_ticket(shop, manager):
    ticket = requested_ticket(shop)

    refused("not_permitted", ticket, lambda: ticket_flag_for_agent(ticket=ticket, by=manager, note="看一下"))


# --- the table: every move, refused in every state it does not start from, by every role without it, elsewhere -----

WORKERS = ("Agent", "Supervisor")
HANDLERS = ("Warehouse",)


@dataclass(frozen=True)
class Move:
    call: Callable  # (ticket, user) -> anything
    states: tuple  # where it is allowed; the first is where the role and shop tests try it
    roles: tuple  # who may make it


MOVES = {
    "approve_refund": Move(
        lambda t, u: ticket_approve_refund(ticket=t, by=u, amount="10.00"),
        (S.REQUESTED, S.RECEIVED, S.REPAIRING),
        WORKERS,
    ),
    "request_approval": Move(
        lambda t, u: ticket_request_approval(ticket=t, by=u, amount="10.00", reason="补偿"),
        (S.REQUESTED, S.RECEIVED, S.REPAIRING),
        WORKERS,
    ),
    "reject": Move(lambda t, u: ticket_reject(ticket=t, by=u, note="不符合"), (S.REQUESTED, S.RECEIVED), WORKERS),
    "agree_return": Move(lambda t, u: ticket_agree_return(ticket=t, by=u), (S.REQUESTED,), WORKERS),
    "resolve_by_replacement": Move(
        lambda t, u: ticket_resolve_by_replacement(ticket=t, by=u, kind=TicketKind.RESHIP), (S.REQUESTED,), WORKERS
    ),
    "withdraw": Move(lambda t, u: ticket_withdraw(ticket=t, by=u), (S.REQUESTED, S.AWAITING_RETURN), WORKERS),
    "escalate_to_platform": Move(
        lambda t, u: ticket_escalate_to_platform(ticket=t, by=u), (S.REQUESTED, S.REJECTED), WORKERS
    ),
    "platform_ruling": Move(
        lambda t, u: ticket_platform_ruling(ticket=t, by=u, for_buyer=True, **RULING),
        (S.PLATFORM_REVIEW,),
        ("Supervisor",),
    ),
    "close": Move(lambda t, u: ticket_close(ticket=t, by=u), (S.REJECTED,), WORKERS),
    "request_cutoff": Move(lambda t, u: ticket_request_cutoff(ticket=t, by=u), (S.REQUESTED,), WORKERS),
    "start_intercept": Move(lambda t, u: ticket_start_intercept(ticket=t, by=u), (S.REQUESTED,), WORKERS),
    # Who may record a courier's answer is logistics' rule (tests/logistics); here anyone working in the shop.
    "intercept_confirmed": Move(
        lambda t, u: ticket_intercept_confirmed(ticket=t, by=u), (S.INTERCEPTING,), (*WORKERS, *HANDLERS, "Manager")
    ),
    "intercept_failed": Move(
        lambda t, u: ticket_intercept_failed(ticket=t, by=u), (S.INTERCEPTING,), (*WORKERS, *HANDLERS, "Manager")
    ),
    "return_shipped": Move(
        lambda t, u: ticket_return_shipped(ticket=t, by=u, courier_code="SF", tracking_number="SF2"),
        (S.AWAITING_RETURN,),
        WORKERS,
    ),
    "return_received": Move(lambda t, u: ticket_return_received(ticket=t, by=u), (S.RETURN_IN_TRANSIT,), HANDLERS),
    "inspection_passed": Move(lambda t, u: ticket_inspection_passed(ticket=t, by=u), (S.RECEIVED,), HANDLERS),
    # The warehouse or an agent records the repaired goods' waybill.
    "repair_shipped": Move(
        lambda t, u: ticket_repair_shipped(ticket=t, by=u, courier_code="SF", tracking_number="SF3"),
        (S.REPAIRING,),
        (*WORKERS, *HANDLERS),
    ),
    "change_reason": Move(
        lambda t, u: ticket_change_reason(ticket=t, by=u, reason=reason("wrong_item")), tuple(S.values), WORKERS
    ),
}

WRONG_STATES = [
    pytest.param(name, state, id=f"{name}-from-{state}")
    for name, move in MOVES.items()
    for state in S.values
    if state not in move.states
]
WRONG_ROLES = [
    pytest.param(name, role, id=f"{name}-by-{role}")
    for name, move in MOVES.items()
    for role in ("Agent", "Supervisor", "Warehouse", "Manager")
    if role not in move.roles
]


@pytest.mark.parametrize(("name", "state"), WRONG_STATES)
def test_a_move_from_a_state_it_does_not_start_from_is_refused(shop, agent, warehouse, people, name, state):
    move = MOVES[name]
    ticket = ticket_in(state, shop=shop, agent=agent, warehouse=warehouse)

    refusal = refused("wrong_state", ticket, lambda: move.call(ticket, people[move.roles[0]]))

    assert str(refusal.message) == f"Not possible while the ticket is “{S(state).label}”."


@pytest.mark.parametrize(("name", "role"), WRONG_ROLES)
def test_a_move_by_a_role_without_it_is_refused(shop, agent, warehouse, people, name, role):
    move = MOVES[name]
    ticket = ticket_in(move.states[0], shop=shop, agent=agent, warehouse=warehouse)

    refusal = refused("not_permitted", ticket, lambda: move.call(ticket, people[role]))

    assert str(refusal.message) == "Your role does not allow this."


@pytest.mark.parametrize("name", list(MOVES))
def test_a_move_by_someone_not_assigned_to_the_shop_is_refused(shop, agent, warehouse, name):
    move = MOVES[name]
    ticket = ticket_in(move.states[0], shop=shop, agent=agent, warehouse=warehouse)
    outsider = make_staff("outsider", role=move.roles[0], shops=[ShopFactory(name="B店")])
    grant_authority(outsider, shop, "10000.00")  # authority in the shop is not an assignment to it

    refusal = refused("other_shop", ticket, lambda: move.call(ticket, outsider))

    assert str(refusal.message) == "You are not assigned to the shop “A店”."


@pytest.mark.parametrize("name", list(MOVES))
def test_a_move_by_a_deactivated_user_is_refused(shop, agent, warehouse, people, name):
    move = MOVES[name]
    ticket = ticket_in(move.states[0], shop=shop, agent=agent, warehouse=warehouse)
    user = people[move.roles[0]]
    user.is_active = False
    user.save()

    refused("not_permitted", ticket, lambda: move.call(ticket, user))


def test_a_supervisor_works_tickets_like_an_agent(shop, supervisor):
    ticket = requested_ticket(shop)

    decision = ticket_approve_refund(ticket=ticket, by=supervisor, amount="50.00")

    assert decision.refund.requested_by == supervisor


def test_the_automatic_rule_leaves_a_ticket_alone_outside_path_one(shop):
    ticket = requested_ticket(shop)
    before = everything(ticket)

    assert ticket_apply_auto_rules(ticket=ticket) == "nothing"
    assert everything(ticket) == before


# --- the database's own guard on the running total ------------------------------------------------------------------


def raw_refund(ticket, amount, *, status="pending", key=None) -> Refund:
    """A refund row written straight to the table, past every service check."""
    return Refund.objects.create(
        ticket=ticket,
        order_id=ticket.order_id,
        shop_id=ticket.shop_id,
        kind="partial",
        amount=Decimal(amount),
        status=status,
        idempotency_key=key or f"raw-{Refund.objects.count()}-{amount}-{status}",
        requested_by=system_user(),
    )


def refunded(order) -> Decimal:
    return Order.objects.get(pk=order.pk).refunded_amount


def live_total(order) -> Decimal:
    return Refund.objects.filter(order=order).exclude(status="failed").aggregate(s=Sum("amount"))["s"] or Decimal(0)


def test_the_database_refuses_a_refund_row_beyond_the_paid_amount(shop):
    ticket = requested_ticket(shop, paid="199.00")
    raw_refund(ticket, "150.00")
    raw_refund(ticket, "49.00")

    with pytest.raises(IntegrityError, match="order_refunded_within_paid"), transaction.atomic():
        raw_refund(ticket, "0.01")

    assert refunded(ticket.order) == Decimal("199.00")
    assert Refund.objects.count() == 2


def test_the_database_refuses_a_single_refund_row_above_the_paid_amount(shop):
    ticket = requested_ticket(shop, paid="199.00")

    with pytest.raises(IntegrityError, match="order_refunded_within_paid"), transaction.atomic():
        raw_refund(ticket, "199.01")

    assert refunded(ticket.order) == 0
    assert not Refund.objects.exists()


def test_failed_refund_rows_do_not_count_against_the_paid_amount(shop):
    ticket = requested_ticket(shop, paid="199.00")
    raw_refund(ticket, "199.00", status="failed")
    raw_refund(ticket, "199.00", status="failed")

    raw_refund(ticket, "199.00", status="succeeded")

    assert refunded(ticket.order) == Decimal("199.00")


def test_the_running_total_follows_every_insert_status_change_and_delete(shop):
    ticket = requested_ticket(shop, paid="199.00")
    order = ticket.order
    first = raw_refund(ticket, "100.00")
    second = raw_refund(ticket, "50.00")
    assert refunded(order) == live_total(order) == Decimal("150.00")

    Refund.objects.filter(pk=first.pk).update(status="failed")
    assert refunded(order) == live_total(order) == Decimal("50.00")

    Refund.objects.filter(pk=second.pk).update(status="succeeded")
    assert refunded(order) == live_total(order) == Decimal("50.00")

    third = raw_refund(ticket, "149.00")
    assert refunded(order) == live_total(order) == Decimal("199.00")

    with pytest.raises(IntegrityError, match="order_refunded_within_paid"), transaction.atomic():
        Refund.objects.filter(pk=first.pk).update(status="pending")  # a failed refund cannot come back over the top
    assert refunded(order) == live_total(order) == Decimal("199.00")

    Refund.objects.filter(pk=third.pk).update(amount=Decimal("100.00"))
    assert refunded(order) == live_total(order) == Decimal("150.00")

    with pytest.raises(IntegrityError, match="order_refunded_within_paid"), transaction.atomic():
        Refund.objects.filter(pk=third.pk).update(amount=Decimal("149.01"))

    Refund.objects.filter(pk=second.pk).delete()
    assert refunded(order) == live_total(order) == Decimal("100.00")

    Refund.objects.filter(pk=third.pk).update(status="failed")
    Refund.objects.filter(pk=first.pk).update(status="pending")
    assert refunded(order) == live_total(order) == Decimal("100.00")

    Refund.objects.filter(pk=third.pk).delete()  # a failed row: nothing to take off
    assert refunded(order) == live_total(order) == Decimal("100.00")
    Refund.objects.filter(pk=first.pk).delete()
    assert refunded(order) == live_total(order) == 0


def test_moving_a_refund_row_to_another_order_moves_its_amount(shop):
    ticket = requested_ticket(shop, paid="199.00")
    other = delivered_order(shop=shop, paid_amount=Decimal("80.00"))
    refund = raw_refund(ticket, "70.00")

    Refund.objects.filter(pk=refund.pk).update(order=other)

    assert (refunded(ticket.order), refunded(other)) == (0, Decimal("70.00"))
    with pytest.raises(IntegrityError, match="order_refunded_within_paid"), transaction.atomic():
        Refund.objects.filter(pk=raw_refund(ticket, "20.00").pk).update(order=other)
