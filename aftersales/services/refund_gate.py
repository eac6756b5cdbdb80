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

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_fsm import can_proceed

from aftersales import lock_objects
from aftersales.models import (
    ZERO,
    AfterSalesTicket,
    ApprovalRequest,
    Order,
    Refund,
    TicketEvent,
    TicketEventAction,
    TicketKind,
    TicketPath,
    ticket_move_sources,
)
from aftersales.money import to_yuan
from aftersales.selectors import authority_used, authority_used_by_orders, refund_authority_for, system_user
from aftersales.services.ticket_events import ticket_move, tickets_move_in_bulk
from desk.errors import ActionRefused


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
# The ticket's transition each door moves it by (models.AfterSalesTicket): its source is where the door opens, and
# whether it may end awaiting approval matches ESCALATING_DOORS (tests/aftersales/test_ticket_moves.py).
DOOR_MOVES = {
    RefundDoor.AGENT: "refund_by_agent",
    RefundDoor.APPROVAL: "refund_on_approval",
    RefundDoor.PLATFORM_RULING: "refund_on_ruling",
    RefundDoor.REFUND_BEFORE_INTERCEPT: "refund_before_intercept_answer",
    RefundDoor.CUTOFF_HELD: "refund_goods_held",
    RefundDoor.INTERCEPT_CONFIRMED: "refund_goods_held",
    RefundDoor.INSPECTION_PASSED: "refund_after_inspection",
    RefundDoor.PARCEL_LOST: "refund_lost_parcel",
    RefundDoor.AUTOMATIC: "refund_automatically",
}


def door_move(ticket: AfterSalesTicket, door: RefundDoor):
    """The ticket's bound transition for `door` (call it with paid=True to refund, paid=False to ask a supervisor)."""
    return getattr(ticket, DOOR_MOVES[door])


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


def refund_kind_for(ticket: AfterSalesTicket, amount: Decimal, refundable: Decimal) -> str:
    """Compensation for a compensation ticket, a price difference for a price-protection one (价保); otherwise full
    when it refunds all that is left of the order (`refundable`), else partial."""
    if ticket.kind == TicketKind.COMPENSATION:
        return Refund.Kind.COMPENSATION
    if ticket.kind == TicketKind.PRICE_PROTECTION:
        return Refund.Kind.PRICE_DIFFERENCE
    return Refund.Kind.FULL if amount == refundable else Refund.Kind.PARTIAL


def refund_or_escalate(
    ticket: AfterSalesTicket,
    *,
    door: RefundDoor,
    by,
    amount: Decimal,
    action: TicketEventAction,
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
            door=door,
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
        approval = open_approval(ticket, door=door, by=by, requested_by=payer, amount=amount, kind=kind, reason=reason)
    else:
        approval = open_approval(ticket, door=door, by=by, requested_by=by, amount=amount, kind=kind, reason=note)
    return RefundDecision(approval=approval)


# --- the path-1 automatic rule (未发货仅退款) ----------------------------------------------------------------------


class AutoRuleOutcome:
    NOTHING = "nothing"
    REFUNDED = "refunded"
    CUT_OFF = "cut_off"
    # The reason may involve compensation (涉及赔付): an agent judges it (seeds 000 and 001), the rule pays nothing.
    TO_AGENT = "to_agent"


# The event the rule's refund writes, and the tickets it is for: refund only (仅退款), path 1 (not shipped when the
# buyer asked), in the states its transition starts from (DOOR_MOVES[AUTOMATIC]). Only that one kind: a price
# difference, a repair and above all a platform type the desk does not know (UNKNOWN) are never refunded by a rule.
AUTOMATIC_ACTION = TicketEvent.Action.AUTO_REFUND
AUTOMATIC_KIND = TicketKind.REFUND_ONLY
AUTOMATIC_PATH = TicketPath.NOT_SHIPPED


@dataclass(frozen=True)
class AutomaticRule:
    """What the path-1 rule decides for one ticket: nothing, an agent instead (a reason that may involve
    compensation), a cut-off first (a packed order), or a refund of `amount` of `kind` under the shop's `cap`, made
    with `idempotency_key`."""

    outcome: str
    amount: Decimal = ZERO
    kind: str = ""
    cap: Decimal = ZERO
    idempotency_key: str = ""


def automatic_rule_may_apply(ticket: AfterSalesTicket) -> bool:
    """Whether the path-1 rule can act on the ticket at all, from its own fields (no query): a caller that opens many
    tickets asks the rule (and locks the ticket) only for these."""
    return ticket.kind == AUTOMATIC_KIND and ticket.path == AUTOMATIC_PATH


def automatic_rule(ticket: AfterSalesTicket, *, refundable: Decimal, used: Callable[[], Decimal]) -> AutomaticRule:
    """The path-1 rule for one ticket with its order and shop; the one rule both doors apply, the ticket service when
    a ticket arrives (tickets.ticket_apply_auto_rules, then refund_or_escalate) and the sweep's batches
    (refunds_start_automatic).

    `refundable` is what is left of the order, `used()` what the system user already paid on it: asked only when the
    rest holds, since on the single-ticket path it costs a query. A requested ticket has no refund in flight (that
    would make it refunding), so the gate's count of this ticket's own refunds adds nothing to it.
    """
    order = ticket.order
    if not automatic_rule_may_apply(ticket):
        return AutomaticRule(AutoRuleOutcome.NOTHING)
    if not can_proceed(door_move(ticket, RefundDoor.AUTOMATIC)):
        return AutomaticRule(AutoRuleOutcome.NOTHING)
    if order.shipped_at:
        # It left after all: an intercept, which is the agent's and logistics' call.
        return AutomaticRule(AutoRuleOutcome.NOTHING)
    if ticket.reason.may_owe_compensation:
        # 审核退款原因是否涉及赔付: late shipping may owe the buyer more than the refund; a person decides.
        return AutomaticRule(AutoRuleOutcome.TO_AGENT)
    amount = ticket.requested_amount
    if amount <= 0 or amount > refundable:
        return AutomaticRule(AutoRuleOutcome.NOTHING)
    cap = automatic_cap(ticket.shop)
    # The cap is checked before a cut-off too: a held parcel is refunded on the same rule, so a ¥9,999 order must
    # not reach the warehouse as if the system could pay it.
    if not within_authority(limit=cap, used=used(), amount=amount):
        return AutomaticRule(AutoRuleOutcome.NOTHING)
    if order.packed_at:
        return AutomaticRule(AutoRuleOutcome.CUT_OFF, amount=amount, cap=cap)
    return AutomaticRule(
        AutoRuleOutcome.REFUNDED,
        amount=amount,
        kind=refund_kind_for(ticket, amount, refundable),
        cap=cap,
        idempotency_key=_attempt_key(ticket),
    )


def automatic_candidates() -> Q:
    """The rule's tickets as a filter, for the sweep to find them in bulk: the conditions of automatic_rule the
    database can check, from the same constants (the rule still checks each ticket it finds)."""
    return Q(
        state__in=ticket_move_sources(DOOR_MOVES[RefundDoor.AUTOMATIC]),
        kind=AUTOMATIC_KIND,
        path=AUTOMATIC_PATH,
        order__shipped_at__isnull=True,
        shop__auto_refund_enabled=True,
        reason__may_owe_compensation=False,
    )


def _used_on(used: dict[int, Decimal], order_id: int) -> Callable[[], Decimal]:
    """What the rule already paid on the order, read only if the rule gets that far."""
    return lambda: used.get(order_id, ZERO)


def refunds_start_automatic(tickets: list[AfterSalesTicket], *, now, note_for) -> list[Refund]:
    """The path-1 rule (automatic_rule) for a locked batch of tickets (the sweep), in a fixed number of queries per
    batch: one sum of what the system user already paid on their orders, one refund insert, and the batch form of
    the rule's transition (ticket_events.tickets_move_in_bulk: one ticket update, one event insert).

    Each ticket must come with its order and shop; `note_for(cap)` words the event. Tickets the rule would cut off
    first (packed) are left to the ticket service. The database's running total still refuses any refund above
    what was paid.
    """
    system = system_user()
    used = authority_used_by_orders(user=system, order_ids={ticket.order_id for ticket in tickets})
    left: dict[int, Decimal] = {}
    refunds, moves = [], []
    for ticket in tickets:
        order_id = ticket.order_id
        refundable = left.get(order_id, ticket.order.refundable_amount)
        rule = automatic_rule(ticket, refundable=refundable, used=_used_on(used, order_id))
        if rule.outcome != AutoRuleOutcome.REFUNDED:
            continue
        # Two tickets of one order in a batch: the second sees what the first took, as it would one after the other.
        left[order_id] = refundable - rule.amount
        used[order_id] = used.get(order_id, ZERO) + rule.amount
        refunds.append(
            Refund(
                ticket=ticket,
                order_id=order_id,
                shop_id=ticket.shop_id,
                kind=rule.kind,
                amount=rule.amount,
                idempotency_key=rule.idempotency_key,
                requested_by=system,
            )
        )
        moves.append((ticket, rule.amount, note_for(rule.cap)))
    if not moves:
        return []
    Refund.objects.bulk_create(refunds)
    tickets_move_in_bulk(moves, system, AUTOMATIC_ACTION, DOOR_MOVES[RefundDoor.AUTOMATIC], at=now, paid=True)
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


def _start_refund(ticket, order, *, door, by, payer, amount, kind, idempotency_key, action, note) -> Refund:
    """Create the refund on `payer`'s authority and move the locked ticket to refunding by the door's transition (the
    event is `by`'s); the gateway runs after commit."""
    if not can_proceed(door_move(ticket, door)):
        raise wrong_state(ticket)
    try:
        with transaction.atomic():
            refund = Refund.objects.create(
                ticket=ticket,
                order_id=order.pk,
                shop_id=ticket.shop_id,
                kind=kind or refund_kind_for(ticket, amount, order.refundable_amount),
                amount=amount,
                idempotency_key=idempotency_key or _attempt_key(ticket),
                requested_by=payer,
            )
    except IntegrityError as error:
        # The database's own guards: the running total above the paid amount, or a key used before.
        if "order_refunded_within_paid" in str(error):
            raise ActionRefused("over_paid", _("This would refund more than the buyer paid.")) from error
        raise ActionRefused("duplicate_refund", _("This refund was already made.")) from error
    ticket_move(ticket, by, action, door_move(ticket, door), note=note, amount=amount, paid=True)
    _execute_after_commit(refund)
    return refund


def platform_refund_record(
    ticket: AfterSalesTicket, *, by, amount: Decimal, reference: str, note: str
) -> Refund | None:
    """The marketplace refunded the buyer itself (its timeout agreed, a refund in its back office, or a record final
    before the desk saw it): record that fact on the locked ticket, never pay it. The refund is written succeeded at
    once with the marketplace's amount (within what the order has left: the order's running total and the metrics
    count it, and nobody can pay it again) and no gateway runs; the ticket moves to refunded. No authority is used:
    nobody on the desk decided anything. None when nothing of the order was left to record."""
    if not can_proceed(ticket.record_platform_refund):
        raise wrong_state(ticket)
    # Locked before what is left is read, as the gate does: another ticket's refund of the order cannot slip between.
    order = lock_objects.order_for_update(ticket.order_id)
    amount = min(amount, order.refundable_amount)
    now = timezone.now()
    refund = None
    if amount > 0:
        refund = Refund.objects.create(
            ticket=ticket,
            order_id=order.pk,
            shop_id=ticket.shop_id,
            kind=refund_kind_for(ticket, amount, order.refundable_amount),
            amount=amount,
            status=Refund.Status.SUCCEEDED,
            idempotency_key=f"platform-{ticket.pk}-{reference}"[:120],
            requested_by=by,
            sent_at=now,
            confirmed_at=now,
            gateway=PLATFORM_GATEWAY,
            gateway_reference=reference[:120],
        )
    ticket_move(
        ticket, by, TicketEventAction.REFUND_SUCCEEDED, ticket.record_platform_refund, note=note, amount=amount, at=now
    )
    return refund


# Refund.gateway of a refund the marketplace made itself and the desk only recorded.
PLATFORM_GATEWAY = "platform"


def _execute_after_commit(refund: Refund) -> None:
    from aftersales.tasks import refund_execute_task
    from desk.queue import enqueue_on_commit

    enqueue_on_commit(refund_execute_task, refund.pk)


def open_approval(ticket, *, door, by, requested_by, amount, kind, reason) -> ApprovalRequest:
    """Put the locked ticket in the supervisors' queue for `amount` by the door's transition; `requested_by` is whose
    request it is (nobody decides their own), `by` who moved the ticket."""
    if not can_proceed(door_move(ticket, door)):
        raise wrong_state(ticket)
    now = timezone.now()
    approval = ApprovalRequest.objects.create(
        ticket=ticket,
        shop_id=ticket.shop_id,
        requested_by=requested_by,
        amount=amount,
        refund_kind=kind or refund_kind_for(ticket, amount, ticket.order.refundable_amount),
        reason=reason,
        requested_at=now,
        due_at=now + timedelta(hours=ticket.shop.approval_due_hours),
    )
    ticket_move(
        ticket,
        by,
        TicketEvent.Action.APPROVAL_REQUESTED,
        door_move(ticket, door),
        note=reason,
        amount=amount,
        paid=False,
    )
    return approval
