"""The one authority gate: every way a refund can start comes through here, and here alone a Refund row is made.

Who may pay how much depends on the door (RefundDoor), never on who happened to press the button:

- a person's decision (an agent's refund, a supervisor's approval, a platform ruling recorded by hand, a refund
  before the courier answers) is paid on that person's authority (逐级授权). Authority counts everything the person
  refunded on the order, across all its tickets, plus what this ticket already got (selectors.authority_used);
- a refund owed because the goods are safe (cut-off held, intercept confirmed, clean inspection) or the parcel is
  lost is paid at once by the system user up to the shop's automatic cap; above it, it waits in the approval queue
  for someone with enough authority. The clerk or courier contact who recorded the fact pays nothing;
- the path-1 automatic rule (on arrival and in the sweep) pays within the shop's cap, or leaves the ticket alone.

`tests/aftersales/test_refund_gate.py` reads every caller of this module from the source, so a new door that makes
a refund any other way fails the suite.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_fsm import can_proceed

from aftersales import lock_objects
from aftersales.errors import ActionRefused
from aftersales.models import (
    ZERO,
    AfterSalesTicket,
    ApprovalRequest,
    Order,
    Refund,
    TicketEvent,
    TicketKind,
    TicketState,
)
from aftersales.money import to_yuan
from aftersales.selectors import authority_used, authority_used_by_orders, refund_authority_for, system_user
from aftersales.services.ticket_events import ticket_move
from aftersales.signals import orders_changed_send


class RefundDoor(models.TextChoices):
    """Every way a refund can start. A new door is a new member here and a row in the gate's tests."""

    AGENT = "agent", gettext_lazy("an agent's refund (ticket page, batch refund, API)")
    APPROVAL = "approval", gettext_lazy("a supervisor's approval")
    PLATFORM_RULING = "platform_ruling", gettext_lazy("a platform ruling recorded by a supervisor")
    REFUND_BEFORE_INTERCEPT = "refund_before_intercept", gettext_lazy("a refund before the courier answers")
    CUTOFF_HELD = "cutoff_held", gettext_lazy("a cut-off held in the warehouse")
    INTERCEPT_CONFIRMED = "intercept_confirmed", gettext_lazy("an intercept the courier confirmed")
    INSPECTION_PASSED = "inspection_passed", gettext_lazy("a clean return inspection")
    PARCEL_LOST = "parcel_lost", gettext_lazy("a parcel declared lost")
    AUTOMATIC = "automatic", gettext_lazy("the path-1 automatic rule")


# Paid on the authority of the person who decided.
PERSONAL_DOORS = frozenset(
    {RefundDoor.AGENT, RefundDoor.APPROVAL, RefundDoor.PLATFORM_RULING, RefundDoor.REFUND_BEFORE_INTERCEPT}
)
# Facts, not decisions: paid by the system within the shop's automatic cap, else they wait for a supervisor.
FACT_DOORS = frozenset(
    {RefundDoor.CUTOFF_HELD, RefundDoor.INTERCEPT_CONFIRMED, RefundDoor.INSPECTION_PASSED, RefundDoor.PARCEL_LOST}
)
# Above the payer's authority these doors ask a supervisor; the others refuse (an approval cannot approve more
# than its decider holds, and an early refund cannot wait while the intercept runs), or do nothing (the rule).
ESCALATING_DOORS = frozenset({RefundDoor.AGENT, RefundDoor.PLATFORM_RULING, *FACT_DOORS})


@dataclass(frozen=True)
class RefundDecision:
    """What a door's refund became: a refund under way, an approval request, or (the automatic rule) nothing."""

    refund: Refund | None = None
    approval: ApprovalRequest | None = None
    replayed: bool = False


def automatic_cap(shop, door: RefundDoor = RefundDoor.AUTOMATIC) -> Decimal:
    """What the system user may pay on one order of the shop: the automatic cap. The switch (“refund unshipped
    orders automatically”) is the path-1 rule's alone; a refund owed for safe goods keeps the cap either way."""
    if door == RefundDoor.AUTOMATIC and not shop.auto_refund_enabled:
        return ZERO
    return shop.auto_refund_max_amount


def within_authority(*, limit: Decimal | None, used: Decimal, amount: Decimal) -> bool:
    """The gate's one rule: a payer with no limit (a superuser) may; otherwise what they used plus this fits."""
    return limit is None or used + amount <= limit


def refund_kind_for(ticket: AfterSalesTicket, amount: Decimal, order: Order) -> str:
    if ticket.kind == TicketKind.COMPENSATION:
        return Refund.Kind.COMPENSATION
    return Refund.Kind.FULL if amount == order.refundable_amount else Refund.Kind.PARTIAL


def refund_or_escalate(
    ticket: AfterSalesTicket,
    *,
    door: RefundDoor,
    by,
    amount: Decimal,
    action: str,
    kind: str | None = None,
    note: str = "",
    idempotency_key: str | None = None,
) -> RefundDecision:
    """Start a refund of `amount` on the locked `ticket` through `door`, recorded as `action` by `by`, if the payer
    the door names may pay it; otherwise ask a supervisor, refuse, or (the automatic rule) do nothing.

    Call inside the caller's transaction with the ticket locked; the order is locked here, before its refunds are
    counted, so two tickets of one order cannot both fit under the same authority.
    """
    order = lock_objects.order_for_update(ticket.order_id)
    if amount > order.refundable_amount:
        raise over_paid(order)
    if door in PERSONAL_DOORS:
        payer, limit = by, refund_authority_for(user=by, shop_id=ticket.shop_id)
    else:
        payer, limit = system_user(), automatic_cap(ticket.shop, door)
    used = ZERO if limit is None else authority_used(user=payer, order_id=order.pk, ticket_id=ticket.pk)
    if within_authority(limit=limit, used=used, amount=amount):
        if door in FACT_DOORS:
            note = _("%(fact)s. Paid under the shop's automatic cap of ¥%(cap)s.") % {
                "fact": _fact(door, note),
                "cap": limit,
            }
        refund = _start_refund(
            ticket,
            order,
            by=by,
            payer=payer,
            amount=amount,
            kind=kind,
            idempotency_key=idempotency_key,
            action=action,
            note=note,
        )
        return RefundDecision(refund=refund)
    if door == RefundDoor.AUTOMATIC:
        return RefundDecision()
    if door not in ESCALATING_DOORS:
        raise _over_authority(door, amount=amount, limit=limit, used=used)
    if door in FACT_DOORS:
        reason = _("%(fact)s: ¥%(amount)s is above the shop's automatic cap of ¥%(cap)s; approve the refund.") % {
            "fact": _fact(door, note),
            "amount": amount,
            "cap": limit,
        }
        approval = open_approval(ticket, by=by, requested_by=payer, amount=amount, kind=kind, reason=reason)
    else:
        approval = open_approval(ticket, by=by, requested_by=by, amount=amount, kind=kind, reason=note)
    return RefundDecision(approval=approval)


def refunds_start_automatic(tickets: list[AfterSalesTicket], *, now, note_for) -> list[Refund]:
    """The path-1 rule for a locked batch of requested, unshipped refund-only tickets (the sweep): the same rule as
    refund_or_escalate(door=AUTOMATIC), in a fixed number of queries per batch.

    Each ticket must come with its order and shop; `note_for(cap)` words the event. The moved tickets take one
    UPDATE whose WHERE on the state is the FSM's concurrency guard, and the database's running total still refuses
    any refund above what was paid.
    """
    system = system_user()
    used = authority_used_by_orders(user=system, order_ids={ticket.order_id for ticket in tickets})
    left: dict[int, Decimal] = {}
    refunds, events, moved = [], [], []
    for ticket in tickets:
        order = ticket.order
        amount = ticket.requested_amount
        remaining = left.get(order.pk, order.refundable_amount)
        cap = automatic_cap(ticket.shop)
        if not 0 < amount <= remaining or not can_proceed(ticket.start_refund):
            continue
        if not within_authority(limit=cap, used=used.get(order.pk, ZERO), amount=amount):
            continue
        left[order.pk] = remaining - amount
        used[order.pk] = used.get(order.pk, ZERO) + amount
        from_state = ticket.state
        ticket.start_refund()
        moved.append(ticket)
        refunds.append(
            Refund(
                ticket=ticket,
                order_id=order.pk,
                shop_id=ticket.shop_id,
                kind=Refund.Kind.FULL if amount == remaining else Refund.Kind.PARTIAL,
                amount=amount,
                idempotency_key=_attempt_key(ticket),
                requested_by=system,
            )
        )
        events.append(
            TicketEvent(
                ticket=ticket,
                actor=system,
                at=now,
                action="auto_refund",
                from_state=from_state,
                to_state=ticket.state,
                amount=amount,
                note=note_for(cap),
            )
        )
    if not moved:
        return []
    Refund.objects.bulk_create(refunds)
    AfterSalesTicket.objects.filter(pk__in=[ticket.pk for ticket in moved], state=TicketState.REQUESTED).update(
        state=TicketState.REFUNDING, attention_note="", updated_at=now
    )
    TicketEvent.objects.bulk_create(events)
    orders_changed_send([ticket.order_id for ticket in moved])
    return refunds


def _fact(door: RefundDoor, note: str) -> str:
    # The recorder's note ("Held in the warehouse.") or the door's name, without its full stop: the sentence goes on.
    return (note or str(RefundDoor(door).label)).rstrip(".。 ")


def _over_authority(door, *, amount, limit, used) -> ActionRefused:
    values = {"amount": to_yuan(amount), "limit": to_yuan(limit), "used": to_yuan(used)}
    if door == RefundDoor.APPROVAL:
        message = _("¥%(amount)s is above your own authority of ¥%(limit)s; ask a manager.") % values
    else:
        message = _("¥%(amount)s is above your authority of ¥%(limit)s; wait for the courier's answer.") % values
    if used:
        message += " " + _("You have already refunded ¥%(used)s on this order.") % values
    return ActionRefused("over_authority", message)


def over_paid(order: Order) -> ActionRefused:
    return ActionRefused(
        "over_paid",
        _("At most ¥%(left)s of this order can still be refunded.") % {"left": to_yuan(order.refundable_amount)},
    )


def wrong_state(ticket: AfterSalesTicket) -> ActionRefused:
    return ActionRefused(
        "wrong_state", _("Not possible while the ticket is “%(state)s”.") % {"state": ticket.get_state_display()}
    )


def _attempt_key(ticket: AfterSalesTicket) -> str:
    # Made by the server from the ticket and its attempt: a retry after a failure gets a new one, a replay the same.
    return f"ticket-{ticket.pk}-attempt-{ticket.refund_attempt}"


def _start_refund(ticket, order, *, by, payer, amount, kind, idempotency_key, action, note) -> Refund:
    """Create the refund on `payer`'s authority and move the locked ticket to refunding (the event is `by`'s); the
    gateway runs after commit."""
    if not can_proceed(ticket.start_refund):
        raise wrong_state(ticket)
    try:
        with transaction.atomic():
            refund = Refund.objects.create(
                ticket=ticket,
                order_id=order.pk,
                shop_id=ticket.shop_id,
                kind=kind or refund_kind_for(ticket, amount, order),
                amount=amount,
                idempotency_key=idempotency_key or _attempt_key(ticket),
                requested_by=payer,
            )
    except IntegrityError as error:
        # The database's own guards: the running total above the paid amount, or a key used before.
        if "order_refunded_within_paid" in str(error):
            raise ActionRefused("over_paid", _("This would refund more than the buyer paid.")) from error
        raise ActionRefused("duplicate_refund", _("This refund was already made.")) from error
    ticket_move(ticket, by, action, ticket.start_refund, note=note, amount=amount)
    _execute_after_commit(refund)
    return refund


def _execute_after_commit(refund: Refund) -> None:
    from aftersales.tasks import enqueue_on_commit, refund_execute_task

    enqueue_on_commit(refund_execute_task, refund.pk)


def open_approval(ticket, *, by, requested_by, amount, kind, reason) -> ApprovalRequest:
    """Put the locked ticket in the supervisors' queue for `amount`; `requested_by` is whose request it is (nobody
    decides their own), `by` who moved the ticket."""
    if not can_proceed(ticket.request_approval):
        raise wrong_state(ticket)
    now = timezone.now()
    approval = ApprovalRequest.objects.create(
        ticket=ticket,
        shop_id=ticket.shop_id,
        requested_by=requested_by,
        amount=amount,
        refund_kind=kind or refund_kind_for(ticket, amount, ticket.order),
        reason=reason,
        requested_at=now,
        due_at=now + timedelta(hours=ticket.shop.approval_due_hours),
    )
    ticket_move(ticket, by, "approval_requested", ticket.request_approval, note=reason, amount=amount)
    return approval
