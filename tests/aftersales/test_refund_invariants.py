"""The money rules hold whatever people, rules and the gateway do, in whatever order (DESIGN §3 Refund).

A Hypothesis state machine drives one shop against real PostgreSQL: agents refund (good and bad amounts, with and
without idempotency keys, replays), ask for approval, supervisors decide, the path-1 rule and the sweeps run, buyers
withdraw and the gateway starts and stops refusing. After every step: no order has refunded more than it was paid,
Order.refunded_amount is the sum of its non-failed refunds, keys are unique, a ticket has at most one pending approval,
and the tickets, refunds, approvals and history agree with each other. A refused step raises ActionRefused and writes
nothing; any other exception fails the test.
"""

from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Count, Max, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from aftersales.gateways import SendOutcome, SendResult, StatusOutcome, StatusResult
from aftersales.models import (
    OPEN_TICKET_STATES,
    ZERO,
    AfterSalesTicket,
    ApprovalRequest,
    Order,
    Refund,
    TicketEvent,
    TicketKind,
    TicketState,
)
from aftersales.selectors import system_user
from aftersales.services import (
    approval_decide,
    refund_execute,
    refund_settle,
    ticket_apply_auto_rules,
    ticket_approve_refund,
    ticket_open,
    ticket_request_approval,
    ticket_withdraw,
)
from desk.errors import ActionRefused
from tests.factories import OrderFactory, ShopFactory, delivered_order, grant_authority, make_staff, reason

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

S = TicketState
AGENT_AUTHORITY = Decimal("100.00")
KNOWN_REFUSALS = {
    "invalid_amount",
    "invalid_kind",
    "over_paid",
    "wrong_state",
    "not_permitted",
    "own_request",
    "already_decided",
    "over_authority",
    "note_required",
    "idempotency_conflict",
    "duplicate_refund",
}
# The moves that create a refund, each writing one event: the history counts the refunds.
REFUND_ACTIONS = ["refund_approved", "approval_approved", "auto_refund"]


class SwitchableGateway:
    """The marketplace, which sometimes refuses (a closed account, a frozen shop balance)."""

    name = "switchable"
    failing = False

    def send(self, refund):
        if SwitchableGateway.failing:
            return SendResult(SendOutcome.FAILED, error="网关拒绝 (gateway refused)")
        return SendResult(SendOutcome.SENT, reference=f"SW-{refund.pk}")

    def status(self, refund):
        """What it did with a sent refund: paid it, or (when refusing now) closed it."""
        if SwitchableGateway.failing:
            return StatusResult(StatusOutcome.FAILED, error="网关拒绝 (gateway refused)")
        return StatusResult(StatusOutcome.CONFIRMED, reference=f"SW-{refund.pk}")


AMOUNTS = st.one_of(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("320.00"), places=2),
    st.sampled_from(["100.00", "100.01", "99.99", "300.00", "299.99", "50.00", "0.01"]),
    st.sampled_from([None, "", "abc", "-1", "0", "1.001", "NaN", "Infinity", "-Infinity", "1e3", "12,50", " 7.5 "]),
)
# Mostly amounts a supervisor gets to decide on, so the decisions are exercised, with the bad ones mixed in.
APPROVAL_AMOUNTS = st.one_of(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("250.00"), places=2), AMOUNTS)
OPEN_AMOUNTS = st.sampled_from([None, "10.00", "60.00", "80.00", "80.01", "120.00", "200.00", "299.99"])


class RefundMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        # Each example runs in its own savepoint inside the test's transaction and leaves nothing behind.
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        SwitchableGateway.failing = False
        self.shop = ShopFactory(auto_refund_max_amount=Decimal("80.00"), approval_due_hours=4)
        self.agent = make_staff("agent", role="Agent", shops=[self.shop])
        grant_authority(self.agent, self.shop, AGENT_AUTHORITY)
        self.senior = make_staff("senior", role="Supervisor", shops=[self.shop])
        grant_authority(self.senior, self.shop, "10000.00")
        self.junior = make_staff("junior", role="Supervisor", shops=[self.shop])
        grant_authority(self.junior, self.shop, "150.00")
        self.system = system_user()
        self.orders = [
            OrderFactory(shop=self.shop, paid_amount=Decimal("120.00")).pk,  # not shipped: path 1
            delivered_order(shop=self.shop, paid_amount=Decimal("299.99")).pk,
            delivered_order(shop=self.shop, paid_amount=Decimal("50.00")).pk,
        ]
        self.tickets = []
        self.keys = {}  # idempotency key -> (ticket id, refund id) of the refund it made
        self.counter = 0
        for order_id, amount in zip(self.orders, ["60.00", "200.00", None], strict=True):
            self.tickets.append(self.open(order_id, TicketKind.REFUND_ONLY, amount).pk)

    def teardown(self):
        SwitchableGateway.failing = False
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    # --- helpers ---

    def open(self, order_id, kind, amount):
        order = Order.objects.get(pk=order_id)
        return ticket_open(order=order, kind=kind, reason=reason(), by=self.system, requested_amount=amount)

    def written(self) -> tuple:
        """Everything a step could write, to show a refused step wrote nothing."""
        return (
            list(AfterSalesTicket.objects.filter(shop=self.shop).order_by("pk").values_list("pk", "state")),
            list(Order.objects.filter(shop=self.shop).order_by("pk").values_list("pk", "refunded_amount")),
            list(Refund.objects.filter(shop=self.shop).order_by("pk").values_list("pk", "status")),
            list(ApprovalRequest.objects.filter(shop=self.shop).order_by("pk").values_list("pk", "status")),
            TicketEvent.objects.filter(ticket__shop=self.shop).count(),
        )

    def attempt(self, call, *, compare=True):
        """Run a step; a refusal must be an ActionRefused we know and must leave everything as it was."""
        before = self.written() if compare else None
        try:
            return call()
        except ActionRefused as error:
            refusal = error
        assert refusal.code in KNOWN_REFUSALS, refusal.code
        assert str(refusal.message)
        if compare:
            assert self.written() == before, f"refused ({refusal.code}) but something was written"
        return None

    def pick_ticket(self, data) -> AfterSalesTicket:
        """Mostly a ticket still open (where a move can do something), sometimes any ticket (where it must not)."""
        open_tickets = AfterSalesTicket.objects.filter(pk__in=self.tickets, state__in=OPEN_TICKET_STATES)
        still_open = list(open_tickets.values_list("pk", flat=True))
        choices = st.sampled_from(self.tickets)
        if still_open:
            choices = st.one_of(st.sampled_from(still_open), st.sampled_from(still_open), choices)
        return AfterSalesTicket.objects.get(pk=data.draw(choices))

    def pending_approvals(self):
        return list(ApprovalRequest.objects.filter(shop=self.shop, status="pending").order_by("pk"))

    # --- the buyer and the platform ---

    @rule(
        order=st.integers(0, 2),
        kind=st.sampled_from([TicketKind.REFUND_ONLY, TicketKind.COMPENSATION]),
        amount=OPEN_AMOUNTS,
    )
    def buyer_opens_a_ticket(self, order, kind, amount):
        order_id = self.orders[order % len(self.orders)]
        ticket = self.attempt(lambda: self.open(order_id, kind, amount))
        if ticket is not None:
            self.tickets.append(ticket.pk)

    @rule(
        paid=st.sampled_from(["50.00", "120.00", "299.99", "1000.00"]),
        delivered=st.sampled_from([True, True, True, False]),  # mostly tickets the agents work, some for the rule
        amount=OPEN_AMOUNTS,
    )
    def a_new_order_gets_a_request(self, paid, delivered, amount):
        make_order = delivered_order if delivered else OrderFactory
        self.orders.append(make_order(shop=self.shop, paid_amount=Decimal(paid)).pk)
        self.buyer_opens_a_ticket(len(self.orders) - 1, TicketKind.REFUND_ONLY, amount)

    @rule(data=st.data())
    def buyer_withdraws(self, data):
        ticket = self.pick_ticket(data)
        self.attempt(lambda: ticket_withdraw(ticket=ticket, by=self.system))

    # --- agents and supervisors ---

    @rule(data=st.data(), amount=AMOUNTS, with_key=st.booleans())
    def agent_refunds(self, data, amount, with_key):
        ticket = self.pick_ticket(data)
        key = None
        if with_key:
            self.counter += 1
            key = f"client-{self.counter}"
        # 逐级授权 counts what the agent already refunded on the order (any of its tickets) and whatever this ticket
        # got from anyone: an approval for a small amount is right once those fill the authority.
        used = sum(
            (
                refund.amount
                for refund in Refund.objects.filter(order_id=ticket.order_id).exclude(status="failed")
                if refund.requested_by_id == self.agent.pk or refund.ticket_id == ticket.pk
            ),
            Decimal(0),
        )
        decision = self.attempt(
            lambda: ticket_approve_refund(ticket=ticket, by=self.agent, amount=amount, idempotency_key=key)
        )
        if decision is None:
            return
        assert not decision.replayed  # every key here is new
        assert (decision.refund is None) != (decision.approval is None)
        if decision.refund:
            assert decision.refund.requested_by == self.agent
            assert used + decision.refund.amount <= AGENT_AUTHORITY
            if key:
                assert decision.refund.idempotency_key == key
                self.keys[key] = (ticket.pk, decision.refund.pk)
        else:
            assert used + decision.approval.amount > AGENT_AUTHORITY

    @precondition(lambda self: self.keys)
    @rule(data=st.data(), amount=AMOUNTS)
    def a_client_replays_a_key(self, data, amount):
        key = data.draw(st.sampled_from(sorted(self.keys)))
        ticket_id, refund_id = self.keys[key]
        before = self.written()

        decision = ticket_approve_refund(
            ticket=AfterSalesTicket.objects.get(pk=ticket_id), by=self.agent, amount=amount, idempotency_key=key
        )

        assert decision.replayed
        assert decision.refund.pk == refund_id
        assert self.written() == before
        other = data.draw(st.sampled_from(self.tickets))
        if other != ticket_id:
            with pytest.raises(ActionRefused) as refused:
                ticket_approve_refund(
                    ticket=AfterSalesTicket.objects.get(pk=other), by=self.agent, amount=amount, idempotency_key=key
                )
            assert refused.value.code == "idempotency_conflict"
            assert self.written() == before

    @rule(data=st.data(), amount=APPROVAL_AMOUNTS, by_senior=st.sampled_from([False, False, False, True]))
    def someone_asks_for_approval(self, data, amount, by_senior):
        ticket = self.pick_ticket(data)
        by = self.senior if by_senior else self.agent
        self.attempt(lambda: ticket_request_approval(ticket=ticket, by=by, amount=amount, reason="请主管看看"))

    @precondition(lambda self: self.pending_approvals())
    @rule(
        data=st.data(),
        who=st.sampled_from(["senior", "senior", "junior", "agent"]),
        approve=st.booleans(),
        note=st.sampled_from(["不行", "金额太高, 先补偿", ""]),
    )
    def a_supervisor_decides(self, data, who, approve, note):
        approval = data.draw(st.sampled_from(self.pending_approvals()))
        by = getattr(self, who)
        decided = self.attempt(lambda: approval_decide(approval=approval, by=by, approve=approve, note=note))
        if decided is None:
            return
        assert who != "agent"
        assert decided.requested_by_id != by.pk
        decided.refresh_from_db()
        assert decided.status == ("approved" if approve else "declined")

    # --- the rules, the sweeps and the gateway ---

    @rule(data=st.data())
    def the_path_one_rule_runs(self, data):
        ticket = self.pick_ticket(data)
        self.attempt(lambda: ticket_apply_auto_rules(ticket=ticket))

    @rule(data=st.data())
    def the_gateway_pays_one_refund(self, data):
        pending = list(Refund.objects.filter(shop=self.shop, status="pending").values_list("pk", flat=True))
        if pending:
            refund = refund_execute(refund_id=data.draw(st.sampled_from(pending)))
            assert refund.status == ("failed" if SwitchableGateway.failing else "sent")

    @rule(data=st.data())
    def the_marketplace_answers_for_one_refund(self, data):
        sent = list(Refund.objects.filter(shop=self.shop, status="sent").values_list("pk", flat=True))
        if sent:
            refund = refund_settle(refund_id=data.draw(st.sampled_from(sent)))
            assert refund.status == ("failed" if SwitchableGateway.failing else "succeeded")

    @rule()
    def the_sweep_runs(self):
        for refund_id in Refund.objects.filter(shop=self.shop, status="pending").values_list("pk", flat=True):
            refund_execute(refund_id=refund_id)
        for refund_id in Refund.objects.filter(shop=self.shop, status="sent").values_list("pk", flat=True):
            refund_settle(refund_id=refund_id)
        assert not Refund.objects.filter(shop=self.shop, status__in=["pending", "sent"]).exists()
        for ticket in AfterSalesTicket.objects.filter(shop=self.shop, state=S.REQUESTED):
            self.attempt(lambda t=ticket: ticket_apply_auto_rules(ticket=t), compare=False)  # many: keep it quick

    @rule(failing=st.booleans())
    def the_gateway_changes_its_mind(self, failing):
        SwitchableGateway.failing = failing

    # --- what must always hold ---

    def ticket_rows(self):
        """Each ticket with its pending approvals, pending and succeeded refunds and the state its history ends in."""
        last_event = TicketEvent.objects.filter(ticket=OuterRef("pk")).order_by("-pk")
        return AfterSalesTicket.objects.filter(shop=self.shop).annotate(
            pending_approvals=Count("approvals", filter=Q(approvals__status="pending"), distinct=True),
            pending_refunds=Count("refunds", filter=Q(refunds__status__in=["pending", "sent"]), distinct=True),
            succeeded_refunds=Count("refunds", filter=Q(refunds__status="succeeded"), distinct=True),
            history_ends_in=Subquery(last_event.values("to_state")[:1]),
        )

    @invariant()
    def no_order_refunds_more_than_was_paid_and_the_running_total_is_right(self):
        orders = Order.objects.filter(shop=self.shop).annotate(
            live=Coalesce(Sum("refunds__amount", filter=Q(refunds__status__in=["pending", "sent", "succeeded"])), ZERO)
        )
        for paid, refunded, live in orders.values_list("paid_amount", "refunded_amount", "live"):
            assert live <= paid
            assert refunded == live

    @invariant()
    def no_two_refunds_share_an_idempotency_key(self):
        keys = Refund.objects.filter(shop=self.shop).values_list("idempotency_key", flat=True)
        assert len(keys) == len(set(keys))

    @invariant()
    def tickets_refunds_approvals_and_history_agree(self):
        for ticket in self.ticket_rows():
            # At most one pending approval, and a ticket awaits approval exactly when it has one.
            assert ticket.pending_approvals <= 1
            assert (ticket.pending_approvals == 1) == (ticket.state == S.AWAITING_APPROVAL)
            # A ticket is refunding exactly when one refund is pending or sent (not yet confirmed), refunded exactly
            # when the marketplace confirmed one.
            assert ticket.pending_refunds <= 1
            assert (ticket.pending_refunds == 1) == (ticket.state == S.REFUNDING)
            assert (ticket.succeeded_refunds == 1) == (ticket.state == S.REFUNDED)
            assert ticket.succeeded_refunds <= 1
            # The history ends where the ticket is.
            assert ticket.history_ends_in == ticket.state

    @invariant()
    def an_agent_never_refunds_more_than_their_authority_on_a_ticket(self):
        per_ticket = (
            Refund.objects.filter(shop=self.shop, requested_by=self.agent)
            .exclude(status="failed")
            .values("ticket")
            .annotate(total=Sum("amount"))
        )
        for row in per_ticket:
            assert row["total"] <= AGENT_AUTHORITY

    @invariant()
    def the_automatic_rule_never_refunds_above_the_shops_cap(self):
        largest = Refund.objects.filter(shop=self.shop, requested_by=self.system).aggregate(m=Max("amount"))["m"]
        assert largest is None or largest <= self.shop.auto_refund_max_amount

    @invariant()
    def every_refund_is_in_the_history(self):
        refunds = Refund.objects.filter(shop=self.shop).count()
        assert TicketEvent.objects.filter(ticket__shop=self.shop, action__in=REFUND_ACTIONS).count() == refunds


def test_the_money_rules_hold_whatever_happens_in_whatever_order(settings):
    settings.REFUND_GATEWAY = f"{__name__}.SwitchableGateway"

    run_state_machine_as_test(
        RefundMachine,
        settings=hypothesis_settings(
            max_examples=40,
            stateful_step_count=40,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
