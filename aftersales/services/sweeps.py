"""The scheduled sweeps (日清, DESIGN §4): the refund sweep three times a day and the approval SLA check.

They run on the ground floor's sweep framework (desk.sweeps: runs, locked batches, the step registry), so they find
again from the database whatever a lost message, a crashed worker or a broker outage left undone, and queue outside
work (the refund gateway) only after commit.

The sweep's own steps cost a fixed number of queries per batch. Steps of other apps (logistics, warehouse) are
registered at start-up with `desk.sweeps.register_sweep_step`, since aftersales imports none of them; they are the
rare leftovers and may act per ticket through that app's services.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.gateways import RefundGatewayUnavailable
from aftersales.models import (
    AfterSalesTicket,
    ApprovalRequest,
    Refund,
    ReturnProposal,
    Shop,
    SweepRun,
    TicketEvent,
    TicketState,
)
from aftersales.services.refund_gate import automatic_candidates, refunds_start_automatic
from aftersales.services.refunds import refund_execute, refund_settle
from aftersales.services.tickets import AutoRuleOutcome, ticket_apply_auto_rules, unchanged_request_rejection_note
from desk.sweeps import SweepContext, batches, registered_steps, sweep_run

# The states in which the merchant owes the next move: the platform's clock runs against the shop.
WAITING_FOR_SHOP = [
    TicketState.REQUESTED,
    TicketState.INTERCEPTING,
    TicketState.AWAITING_APPROVAL,
    TicketState.RECEIVED,
    # A repair (维修中): the platform's clock runs until the repaired goods are shipped back.
    TicketState.REPAIRING,
    # 平台介入: the platform waits for our answer (举证) before it rules.
    TicketState.PLATFORM_REVIEW,
]


# --- the refund sweep ------------------------------------------------------------------------------------------------


def refund_sweep_run(*, batch_size: int | None = None, now: datetime | None = None) -> SweepRun:
    """早/中/晚 日清: apply the path-1 rules, pay refunds left pending, run the other apps' steps (intercepts for
    refund-only requests on parcels still on their way, intercepts confirmed, refund-only parcels in transit over
    48 h, returns inspected clean), propose the rejection of refund-only requests on delivered goods the buyer did
    not change in time, then put the tickets close to their platform deadline at the top of the queue.
    Writes and returns the run's SweepRun."""
    return sweep_run(
        SweepRun.Kind.REFUND,
        [
            ("auto_refund", auto_refunds_apply),
            ("pending_refunds", pending_refunds_execute),
            *registered_steps(SweepRun.Kind.REFUND),
            ("return_proposals", return_proposals_expire),
            ("deadline", tickets_escalate_near_deadline),
        ],
        batch_size=batch_size,
        now=now,
    )


def approval_sla_run(*, batch_size: int | None = None, now: datetime | None = None) -> SweepRun:
    """Every 15 minutes: approvals past their due time go to the top of the queue with a note."""
    return sweep_run(SweepRun.Kind.APPROVAL_SLA, [("approval_sla", approvals_escalate_overdue)], batch_size, now)


def auto_refunds_apply(ctx: SweepContext) -> None:
    """Path 1 (未发货仅退款): refund what the shop's automatic rule allows, in bulk; a packed order gets its cut-off.

    Per batch: the tickets with their orders and shops (locked), then the gate's batch form of the automatic rule
    (refund_gate.refunds_start_automatic): one sum of what the rule already paid on those orders, one refund insert,
    one ticket update and one event insert.
    """
    candidates = AfterSalesTicket.objects.filter(automatic_candidates()).select_related("order", "shop", "reason")
    # Only what the rule reads: a batch loads 200 tickets with their orders and shops, not every column of each.
    candidates = candidates.only(
        *["id", "state", "kind", "path", "requested_amount", "refund_attempt", "shop_id", "order_id"],
        *["order__packed_at", "order__shipped_at", "order__paid_amount", "order__refunded_amount"],
        "shop__auto_refund_enabled",
        "shop__auto_refund_max_amount",
        "reason__may_owe_compensation",
    )
    notes: dict = {}
    for batch in batches(candidates, ctx, of=("self", "order")):
        unpacked = []
        for ticket in batch:
            if ticket.order.packed_at:
                # Rare here (the rule ran when the ticket arrived): the cut-off is the ticket service's own move.
                if ticket_apply_auto_rules(ticket=ticket) == AutoRuleOutcome.CUT_OFF:
                    ctx.done("cutoff_requested")
                continue
            unpacked.append(ticket)
        refunds = refunds_start_automatic(unpacked, now=ctx.now, note_for=lambda cap: _sweep_note(notes, cap))
        if refunds:
            _execute_after_commit([refund.pk for refund in refunds])
            ctx.done("auto_refund", len(refunds))


def _sweep_note(notes: dict, cap) -> str:
    if cap not in notes:
        notes[cap] = _(
            "Not shipped: refunded by the refund sweep under the shop's automatic rule (up to ¥%(cap)s)."
        ) % {"cap": cap}
    return notes[cap]


def _execute_after_commit(refund_ids: list[int]) -> None:
    """One payment task for the batch (a sale day's backlog is thousands of refunds; a message each would cost more
    than the sweep's own work). The task pays them one by one, each in its own transaction."""
    from aftersales.tasks import refunds_execute_task
    from desk.queue import enqueue_on_commit

    enqueue_on_commit(refunds_execute_task, refund_ids)


def pending_refunds_execute(ctx: SweepContext) -> None:
    """Refunds whose send or answer is overdue: their task was lost (broker down, worker killed) or the marketplace
    has not confirmed yet.

    - pending refunds never sent (no claim, not waiting for a batch file) are sent through refund_execute;
    - refunds claimed for sending with no recorded answer are settled by asking the gateway (refund_settle), never by
      sending again blindly: only a "not found" sends them again;
    - sent refunds outside a batch (an API gateway) are asked whether the marketplace confirmed them. A batch's
      refunds wait for its result file.
    """
    cutoff = ctx.now - timedelta(seconds=settings.SWEEP_PENDING_REFUND_GRACE_SECONDS)
    unsent = Refund.objects.filter(
        status=Refund.Status.PENDING, send_started_at__isnull=True, gateway="", created_at__lte=cutoff
    )
    in_flight = Refund.objects.filter(status=Refund.Status.PENDING, send_started_at__lte=cutoff)
    awaited = Refund.objects.filter(status=Refund.Status.SENT, batch__isnull=True, sent_at__lte=cutoff)
    for queryset, service in ((unsent, refund_execute), (in_flight, refund_settle), (awaited, refund_settle)):
        last_id = 0
        while True:
            rows = list(
                queryset.filter(pk__gt=last_id)
                .order_by("pk")
                .values_list("pk", "ticket_id", "status")[: ctx.batch_size]
            )
            if not rows:
                break
            last_id = rows[-1][0]
            for refund_id, ticket_id, status in rows:
                try:
                    refund = service(refund_id=refund_id)
                except RefundGatewayUnavailable as error:
                    ctx.failed("pending_refunds", ticket_id, error)
                    continue
                if refund.status != status or service is refund_execute:
                    queued = refund.status == Refund.Status.PENDING and refund.send_started_at is None
                    ctx.done("refund_queued" if queued else f"refund_{refund.status}")


def return_proposals_expire(ctx: SweepContext) -> None:
    """已收到货仅退款, 未修改则拒绝 (seed 004): a refund-only request on delivered goods whose buyer did not change
    it to a return and refund by the proposal's due time gets the rejection proposed to its agent, with the seed's
    reason. The agent confirms it (ticket_reject_unchanged_request); nothing is rejected here. One select, one update
    and one insert per batch."""
    expired = AfterSalesTicket.objects.filter(
        state=TicketState.REQUESTED, return_proposal=ReturnProposal.PROPOSED, return_proposal_due__lte=ctx.now
    )
    note = _("The buyer did not change the request in time: confirm the rejection. %(reason)s") % {
        "reason": unchanged_request_rejection_note()
    }
    for batch in batches(expired, ctx):
        AfterSalesTicket.objects.filter(pk__in=[ticket.pk for ticket in batch]).update(
            return_proposal=ReturnProposal.EXPIRED, attention_note=note, updated_at=ctx.now
        )
        TicketEvent.objects.bulk_create(
            TicketEvent(
                ticket=ticket,
                actor=ctx.by,
                at=ctx.now,
                action=TicketEvent.Action.PROPOSAL_EXPIRED,
                from_state=ticket.state,
                to_state=ticket.state,
                note=note,
            )
            for ticket in batch
        )
        ctx.done("return_proposal_expired", len(batch))


def tickets_escalate_near_deadline(ctx: SweepContext) -> None:
    """即将超时: tickets waiting for the shop whose platform deadline is within the shop's warning hours
    (Shop.deadline_warning_hours) go to the top of their queue (escalation_risk orders the queue), with an event
    saying why. The shops are taken by their warning hours, a few distinct values (one query), rather than by
    date arithmetic in SQL, which SQLite (the embedded default) cannot do; a batch costs one select, one update and
    one insert."""
    warning_hours = Shop.objects.order_by().values_list("deadline_warning_hours", flat=True).distinct()
    for hours in sorted(warning_hours):
        near = AfterSalesTicket.objects.filter(
            state__in=WAITING_FOR_SHOP,
            escalation_risk=False,
            shop__deadline_warning_hours=hours,
            deadline__lte=ctx.now + timedelta(hours=hours),
        )
        _escalate_near_deadline(ctx, near)


def _near_deadline_note(state: str) -> str:
    if state == TicketState.RECEIVED:
        # Seeds 001 and 004: past it the platform refunds by itself, and the goods may be lost with the money.
        return _(
            "The return is in the warehouse and the platform refunds automatically at its deadline (超时自动退款): "
            "inspect and confirm it now. Moved to the top of the queue by the sweep."
        )
    return _("The platform deadline is near: moved to the top of the queue by the sweep.")


def _escalate_near_deadline(ctx: SweepContext, near: QuerySet) -> None:
    for batch in batches(near, ctx):
        AfterSalesTicket.objects.filter(pk__in=[ticket.pk for ticket in batch]).update(
            escalation_risk=True, updated_at=ctx.now
        )
        TicketEvent.objects.bulk_create(
            TicketEvent(
                ticket=ticket,
                actor=ctx.by,
                at=ctx.now,
                action=TicketEvent.Action.DEADLINE_NEAR,
                from_state=ticket.state,
                to_state=ticket.state,
                note=_near_deadline_note(ticket.state),
            )
            for ticket in batch
        )
        ctx.done("deadline_escalated", len(batch))


def approvals_escalate_overdue(ctx: SweepContext) -> None:
    """Approvals no supervisor decided in time: marked escalated, their tickets put at the top of the queue with a
    note for the supervisors. One select, two updates and one insert per batch."""
    overdue = ApprovalRequest.objects.filter(
        status=ApprovalRequest.Status.PENDING, due_at__lte=ctx.now, escalated_at__isnull=True
    ).select_related("ticket")
    for batch in batches(overdue, ctx, of=("self", "ticket")):
        ApprovalRequest.objects.filter(pk__in=[approval.pk for approval in batch]).update(escalated_at=ctx.now)
        AfterSalesTicket.objects.filter(pk__in=[approval.ticket_id for approval in batch]).update(
            escalation_risk=True, updated_at=ctx.now
        )
        TicketEvent.objects.bulk_create(
            TicketEvent(
                ticket=approval.ticket,
                actor=ctx.by,
                at=ctx.now,
                action=TicketEvent.Action.APPROVAL_OVERDUE,
                from_state=approval.ticket.state,
                to_state=approval.ticket.state,
                amount=approval.amount,
                note=_("No supervisor decided this approval by %(due)s; escalated.")
                % {"due": timezone.localtime(approval.due_at).strftime("%Y-%m-%d %H:%M")},
            )
            for approval in batch
        )
        ctx.done("approval_escalated", len(batch))
