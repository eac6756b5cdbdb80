"""Ticket, refund, approval and cut-off writes: the only door through which a ticket changes.

Every service here runs in one transaction: it locks the ticket (lock_objects), checks who acts and the rule,
calls the ticket's transition, saves, writes the TicketEvent, and queues outside work (the refund gateway) on
commit. A refusal raises ActionRefused before anything is written or inside the transaction, so nothing stays.
`by` is the person or the system user (desk.access.system_user) on whose behalf the change is made.
"""

import logging
import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from functools import cache

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from aftersales import lock_objects
from aftersales.models import (
    ZERO,
    AfterSalesTicket,
    ApprovalRequest,
    CutOffRequest,
    GoodsState,
    MerchantLiability,
    Order,
    PlatformRuling,
    Refund,
    ReturnReason,
    TicketEvent,
    TicketEventAction,
    TicketKind,
    TicketPath,
    TicketState,
)
from aftersales.selectors import (
    authority_used,
    escalation_words,
    is_system_user,
    system_user,
    user_works_in_shop,
)
from aftersales.services.refund_gate import (
    AUTOMATIC_ACTION,
    AutoRuleOutcome,
    RefundDecision,
    RefundDoor,
    automatic_rule,
    door_move,
    open_approval,
    over_paid,
    refund_or_escalate,
    wrong_state,
)
from aftersales.services.ticket_events import ticket_event_record, ticket_move
from aftersales.signals import orders_changed_send
from desk.access import CONFIRM_CUTOFF, DECIDE, HANDLE_RETURNS, OPEN, WORK, require_in_shop
from desk.errors import ActionRefused
from desk.input_checks import normalise_tracking_number

logger = logging.getLogger(__name__)

MAX_AMOUNT = Decimal("9999999999.99")
# A comma only as a thousands separator ("1,299.00"); "12,50" is not ¥1250.
THOUSANDS_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")
RETURN_KINDS = {TicketKind.RETURN_REFUND, TicketKind.EXCHANGE}
REPLACEMENT_KINDS = {TicketKind.RESHIP, TicketKind.EXCHANGE}
# The event a ticket resolved by each kind of replacement writes.
RESOLVED_BY: dict[str, TicketEventAction] = {
    TicketKind.RESHIP: TicketEvent.Action.RESOLVED_RESHIP,
    TicketKind.EXCHANGE: TicketEvent.Action.RESOLVED_EXCHANGE,
}


# --- input checks ---------------------------------------------------------------------------------------------------


def parse_amount(value, *, allow_zero: bool = False) -> Decimal:
    """A CNY amount from a form, an API body or a service call: a number, more than zero (or zero, with
    `allow_zero`), at most two places, "1,299.00" read with its thousands separator. Anything else is refused."""
    if isinstance(value, float):
        value = repr(value)
    text = str(value).strip() if value is not None else ""
    if "," in text:
        text = text.replace(",", "") if THOUSANDS_GROUPED.fullmatch(text) else ""
    try:
        amount = Decimal(text) if text else None
    except (InvalidOperation, ValueError):
        amount = None
    if amount is None or not amount.is_finite():
        raise ActionRefused("invalid_amount", _("Enter an amount in yuan, for example 12.50."))
    if amount < 0:
        raise ActionRefused("invalid_amount", _("The amount must be more than zero."))
    if amount > MAX_AMOUNT:
        raise ActionRefused("invalid_amount", _("The amount is too large."))
    # "1.000" is one yuan as a spreadsheet writes it; "1.005" has half a fen and is refused.
    if amount != amount.quantize(Decimal("0.01")):
        raise ActionRefused("invalid_amount", _("An amount has at most two decimal places (fen)."))
    if amount == 0 and not allow_zero:
        raise ActionRefused("invalid_amount", _("The amount must be more than zero."))
    return amount.quantize(Decimal("0.01"))


def derive_path(order: Order, kind: str) -> int:
    """The marketplace's path, from where the goods are when the buyer asks (DESIGN §3)."""
    goods = order.goods_state
    if goods == GoodsState.NOT_SHIPPED:
        return TicketPath.NOT_SHIPPED
    if goods == GoodsState.SHIPPED:
        return TicketPath.NOT_RECEIVED
    return TicketPath.RETURN if kind in RETURN_KINDS else TicketPath.RECEIVED_NO_RETURN


def has_escalation_word(*texts: str) -> bool:
    words = escalation_words()
    return any(word in text for text in texts if text for word in words)


def _require_assigned(by, shop) -> None:
    """For facts whose recorder the calling app has already checked (a courier's answer): only that `by` works in
    the shop."""
    if is_system_user(by):
        return
    if not by.is_active:
        raise ActionRefused("not_permitted", _("Your role does not allow this."))
    if not user_works_in_shop(by, shop.pk):
        raise ActionRefused("other_shop", _("You are not assigned to the shop “%(shop)s”.") % {"shop": shop.name})


def _require_transition(ticket: AfterSalesTicket, transition) -> None:
    if not can_proceed(transition):
        raise wrong_state(ticket)


def _require_state(ticket: AfterSalesTicket, *states: str) -> None:
    """For facts recorded without a move (an early replacement); a move checks its transition (_require_transition),
    whose source is the one list of the states it starts from."""
    if ticket.state not in states:
        raise wrong_state(ticket)


def _require_note(note: str) -> str:
    note = (note or "").strip()
    if not note:
        raise ActionRefused("note_required", _("Write a note that says why."))
    return note


# --- opening --------------------------------------------------------------------------------------------------------


def ticket_open(**request) -> AfterSalesTicket:
    """Open a ticket for a buyer's request (see ticket_open_or_find); the ticket, new or already there."""
    ticket, _opened = ticket_open_or_find(**request)
    return ticket


def ticket_open_or_find(
    *,
    order: Order,
    kind: str,
    reason: ReturnReason,
    by,
    requested_amount=None,
    buyer_message: str = "",
    platform_ticket_id: str = "",
    opened_at=None,
    platform_deadline=None,
) -> tuple[AfterSalesTicket, bool]:
    """Open a ticket for a buyer's request, derive its path and clocks, and apply the path-1 rule at once.

    A request the marketplace already sent (same shop and platform refund id) returns the existing ticket; the
    second value says whether this call opened it (the doors answer a replay differently from a new ticket).
    `platform_deadline`: the platform's own deadline when it sends one (a connector), instead of the default.
    """
    require_in_shop(by, order.shop, OPEN)
    platform_ticket_id = (platform_ticket_id or "").strip()
    if platform_ticket_id:
        # A replayed push answers with what the first one created, even if a rule has changed since.
        existing = AfterSalesTicket.objects.filter(shop=order.shop, platform_ticket_id=platform_ticket_id).first()
        if existing:
            return existing, False
    if kind not in TicketKind.values:
        raise ActionRefused("invalid_kind", _("Unknown kind of request."))
    if not reason.is_active:
        raise ActionRefused("reason_inactive", _("This reason is no longer in use; choose another."))
    if requested_amount in (None, ""):
        amount = ZERO if kind in REPLACEMENT_KINDS or kind == TicketKind.COMPENSATION else order.refundable_amount
    else:
        amount = parse_amount(requested_amount, allow_zero=kind in REPLACEMENT_KINDS)
    if kind == TicketKind.COMPENSATION and amount == 0:
        raise ActionRefused("invalid_amount", _("Enter the compensation the buyer asks for."))
    if amount > order.refundable_amount:
        raise over_paid(order)
    now = opened_at or timezone.now()
    platform = order.shop.platform
    response_hours = platform.return_response_hours if kind in RETURN_KINDS else platform.refund_response_hours
    path = derive_path(order, kind)
    sla = timedelta(minutes=order.shop.path1_sla_minutes) if path == 1 else timedelta(hours=order.shop.sla_hours)
    try:
        with transaction.atomic():
            ticket = AfterSalesTicket.objects.create(
                shop=order.shop,
                order=order,
                platform_ticket_id=platform_ticket_id,
                kind=kind,
                path=path,
                first_reason=reason,
                reason=reason,
                liability=reason.default_liability,
                requested_amount=amount,
                buyer_message=buyer_message,
                escalation_risk=has_escalation_word(buyer_message),
                opened_at=now,
                deadline=platform_deadline or now + timedelta(hours=response_hours),
                sla_due=min(now + sla, now + timedelta(hours=response_hours)),
            )
            ticket_event_record(ticket, by, TicketEvent.Action.OPENED, "", note=buyer_message, amount=amount)
    except IntegrityError:
        # The same platform push arrived twice at once; the other one created it.
        if platform_ticket_id:
            return AfterSalesTicket.objects.get(shop=order.shop, platform_ticket_id=platform_ticket_id), False
        raise
    try:
        ticket_apply_auto_rules(ticket=ticket)
    except ActionRefused as refusal:
        # The ticket stands as requested; an agent (or the next sweep) sees why the rule did not act.
        logger.info("path-1 rule did not act on ticket %s: %s", ticket.pk, refusal.code)
    ticket.refresh_from_db()
    return ticket, True


@transaction.atomic
def ticket_apply_auto_rules(*, ticket: AfterSalesTicket) -> str:
    """Path 1 (未发货仅退款): within the shop's automatic cap, refund at once, or ask the warehouse to cut off a
    packed order first (refund_gate.automatic_rule, the rule the sweep applies too). Above the cap the rule does
    nothing: the ticket is the agent's. Acts as the system user; safe to call again (the sweeps do)."""
    ticket = lock_objects.ticket_for_update(ticket.pk)
    order = ticket.order
    system = cache(system_user)
    rule = automatic_rule(
        ticket,
        refundable=order.refundable_amount,
        used=lambda: authority_used(user=system(), order_id=order.pk),
    )
    if rule.outcome == AutoRuleOutcome.CUT_OFF:
        _open_cutoff(ticket, system())
        return AutoRuleOutcome.CUT_OFF
    if rule.outcome != AutoRuleOutcome.REFUNDED:
        return AutoRuleOutcome.NOTHING
    decision = refund_or_escalate(
        ticket,
        door=RefundDoor.AUTOMATIC,
        by=system(),
        amount=rule.amount,
        # The kind the gate derives with the rule's own formula (refund_kind_for), from the order it has just locked.
        idempotency_key=rule.idempotency_key,
        action=AUTOMATIC_ACTION,
        note=_("Not shipped: refunded by the shop's automatic rule (up to ¥%(cap)s).") % {"cap": rule.cap},
    )
    return AutoRuleOutcome.REFUNDED if decision.refund else AutoRuleOutcome.NOTHING


# --- refunds and approvals ------------------------------------------------------------------------------------------


@transaction.atomic
def ticket_approve_refund(
    *, ticket: AfterSalesTicket, by, amount=None, kind: str | None = None, note: str = "", idempotency_key=None
) -> RefundDecision:
    """An agent refunds (full, partial or compensation). Above what is left of their authority on this order (what
    they refunded on any of its tickets, and what this ticket already got) the request goes to the shop's
    supervisors instead. A repeated idempotency key returns the first refund."""
    require_in_shop(by, ticket.shop, WORK)  # before a replay too: a replay answers only someone who may refund
    # Locked before looking for a replay, so a retry racing its original waits and then finds the first refund.
    ticket = lock_objects.ticket_for_update(ticket.pk)
    if idempotency_key:
        replay = Refund.objects.filter(idempotency_key=idempotency_key).first()
        if replay:
            if replay.ticket_id != ticket.pk:
                raise ActionRefused("idempotency_conflict", _("This idempotency key belongs to another ticket."))
            return RefundDecision(refund=replay, replayed=True)
    _require_transition(ticket, door_move(ticket, RefundDoor.AGENT))
    if kind is not None and kind not in Refund.Kind.values:
        raise ActionRefused("invalid_kind", _("Unknown kind of refund."))
    if amount in (None, ""):
        amount = ticket.requested_amount or ticket.order.refundable_amount
    return refund_or_escalate(
        ticket,
        door=RefundDoor.AGENT,
        by=by,
        amount=parse_amount(amount),
        kind=kind,
        note=note,
        idempotency_key=idempotency_key,
        action=TicketEvent.Action.REFUND_APPROVED,
    )


@transaction.atomic
def ticket_request_approval(
    *, ticket: AfterSalesTicket, by, amount, kind: str | None = None, reason: str = ""
) -> ApprovalRequest:
    """An agent asks a supervisor for a refund or compensation, whatever their own authority."""
    ticket = lock_objects.ticket_for_update(ticket.pk)
    require_in_shop(by, ticket.shop, WORK)
    _require_transition(ticket, door_move(ticket, RefundDoor.AGENT))
    amount = parse_amount(amount)
    if kind is not None and kind not in Refund.Kind.values:
        raise ActionRefused("invalid_kind", _("Unknown kind of refund."))
    if amount > ticket.order.refundable_amount:
        raise over_paid(ticket.order)
    return open_approval(ticket, door=RefundDoor.AGENT, by=by, requested_by=by, amount=amount, kind=kind, reason=reason)


@transaction.atomic
def approval_decide(*, approval: ApprovalRequest, by, approve: bool, note: str = "") -> ApprovalRequest:
    """A supervisor approves (the refund starts) or declines (the ticket goes back to the agent with the note).

    Nobody decides their own request, and nobody approves more than their own authority.
    """
    ticket = lock_objects.ticket_for_update(approval.ticket_id)
    approval = lock_objects.approval_for_update(approval.pk)
    require_in_shop(by, ticket.shop, DECIDE)
    if approval.status != ApprovalRequest.Status.PENDING:
        raise ActionRefused(
            "already_decided",
            _("This request was already decided: %(status)s.") % {"status": approval.get_status_display()},
        )
    if approval.requested_by_id == by.pk:
        raise ActionRefused("own_request", _("You cannot decide your own request; another supervisor must."))
    now = timezone.now()
    if not approve:
        note = _require_note(note)
        approval.decline(by=by, at=now, note=note)
        approval.save()
        ticket_move(
            ticket,
            by,
            TicketEvent.Action.APPROVAL_DECLINED,
            ticket.decline_approval,
            note=note,
            amount=approval.amount,
            message=note,
        )
        return approval
    refund_or_escalate(
        ticket,
        door=RefundDoor.APPROVAL,
        by=by,
        amount=approval.amount,
        kind=approval.refund_kind,
        idempotency_key=f"approval-{approval.pk}",
        action=TicketEvent.Action.APPROVAL_APPROVED,
        note=note,
    )
    approval.approve(by=by, at=now, note=note)
    approval.save()
    return approval


def _owed_refund(ticket, *, door: RefundDoor, by, action: TicketEventAction, note: str) -> RefundDecision:
    """The refund the rules owe once goods are safe, the parcel is lost or the platform ruled (or that an agent pays
    before the courier answers): the requested amount, capped by what is left of the order, through the gate (which
    says on whose authority it is paid)."""
    amount = min(ticket.requested_amount or ticket.order.refundable_amount, ticket.order.refundable_amount)
    if amount <= 0:
        raise ActionRefused("over_paid", _("Nothing of this order is left to refund."))
    return refund_or_escalate(ticket, door=door, by=by, amount=amount, action=action, note=note)


# --- the other moves ------------------------------------------------------------------------------------------------


@transaction.atomic
def ticket_reject(*, ticket: AfterSalesTicket, by, note: str) -> AfterSalesTicket:
    """Refuse the request with a reason (and for a bad return, the inspection's evidence)."""
    ticket = lock_objects.ticket_for_update(ticket.pk)
    require_in_shop(by, ticket.shop, WORK)
    _require_transition(ticket, ticket.reject)
    ticket_move(ticket, by, TicketEvent.Action.REJECTED, ticket.reject, note=_require_note(note))
    return ticket


@transaction.atomic
def ticket_agree_return(*, ticket: AfterSalesTicket, by, note: str = "") -> AfterSalesTicket:
    """Agree that the buyer sends the goods back (path 4); a path-3 buyer who asked for a refund only by mistake
    is moved to return-and-refund this way."""
    ticket = lock_objects.ticket_for_update(ticket.pk)
    require_in_shop(by, ticket.shop, WORK)
    _require_transition(ticket, ticket.agree_return)
    if ticket.order.goods_state != GoodsState.DELIVERED:
        raise ActionRefused("not_delivered", _("The buyer has not received the goods; nothing can be returned yet."))
    ticket_move(ticket, by, TicketEvent.Action.RETURN_AGREED, ticket.agree_return, note=note)
    return ticket


@transaction.atomic
def ticket_resolve_by_replacement(*, ticket: AfterSalesTicket, by, kind: str, note: str = "") -> AfterSalesTicket:
    """Reship the goods or send an exchange instead of refunding (能换不退)."""
    ticket = lock_objects.ticket_for_update(ticket.pk)
    require_in_shop(by, ticket.shop, WORK)
    if kind not in REPLACEMENT_KINDS:
        raise ActionRefused("invalid_kind", _("Choose reship or exchange."))
    _require_transition(ticket, ticket.resolve_by_replacement)
    ticket_move(ticket, by, RESOLVED_BY[kind], ticket.resolve_by_replacement, note=note, kind=kind, at=timezone.now())
    return ticket


@transaction.atomic
def ticket_withdraw(*, ticket: AfterSalesTicket, by, note: str = "") -> AfterSalesTicket:
    """The buyer withdrew the request (recorded by an agent or the platform's push)."""
    ticket = lock_objects.ticket_for_update(ticket.pk)
    require_in_shop(by, ticket.shop, WORK)
    _require_transition(ticket, ticket.withdraw)
    ticket_move(ticket, by, TicketEvent.Action.WITHDRAWN, ticket.withdraw, note=note, at=timezone.now())
    return ticket


@transaction.atomic
def ticket_escalate_to_platform(*, ticket: AfterSalesTicket, by, note: str = "") -> AfterSalesTicket:
    """The platform stepped in (平台介入) at the buyer's request."""
    ticket = lock_objects.ticket_for_update(ticket.pk)
    require_in_shop(by, ticket.shop, WORK)
    _require_transition(ticket, ticket.escalate_to_platform)
    ticket_move(ticket, by, TicketEvent.Action.PLATFORM_REVIEW, ticket.escalate_to_platform, note=note)
    return ticket


@transaction.atomic
def ticket_platform_ruling(
    *,
    ticket: AfterSalesTicket,
    by,
    for_buyer: bool,
    case_number: str,
    evidence: str,
    note: str = "",
    liability: str = MerchantLiability.UNKNOWN,
) -> AfterSalesTicket:
    """Record the platform's ruling (平台判定) by hand: for the buyer the refund follows, for the merchant the ticket
    closes. `liability` says whether the platform held the merchant liable (商责), which the dispute rate counts.
    Only a supervisor records it, with the platform's case number and the evidence of the ruling; the refund is paid
    on that supervisor's authority, and above it a second supervisor approves it."""
    ticket = lock_objects.ticket_for_update(ticket.pk)
    require_in_shop(by, ticket.shop, DECIDE)
    _require_transition(ticket, door_move(ticket, RefundDoor.PLATFORM_RULING) if for_buyer else ticket.close_on_ruling)
    case_number = (case_number or "").strip()
    evidence = (evidence or "").strip()
    if not case_number or len(case_number) > PlatformRuling.CASE_NUMBER_LENGTH:
        raise ActionRefused("case_number_required", _("Enter the platform's case number (at most 64 characters)."))
    if not evidence:
        raise ActionRefused(
            "evidence_required", _("Describe the platform's ruling or paste the link to it, as evidence.")
        )
    if liability not in MerchantLiability.values:
        raise ActionRefused("invalid_liability", _("Choose whether the platform held the merchant liable."))
    PlatformRuling.objects.create(
        ticket=ticket,
        for_buyer=for_buyer,
        liability=liability,
        case_number=case_number,
        evidence=evidence,
        recorded_by=by,
    )
    note = " ".join(part for part in (_("Platform case %(case)s.") % {"case": case_number}, note.strip()) if part)
    if for_buyer:
        _owed_refund(
            ticket, door=RefundDoor.PLATFORM_RULING, by=by, action=TicketEvent.Action.RULED_FOR_BUYER, note=note
        )
    else:
        ticket_move(
            ticket, by, TicketEvent.Action.RULED_FOR_MERCHANT, ticket.close_on_ruling, note=note, at=timezone.now()
        )
    return ticket


@transaction.atomic
def ticket_close(*, ticket: AfterSalesTicket, by, note: str = "") -> AfterSalesTicket:
    """The buyer accepted the rejection."""
    ticket = lock_objects.ticket_for_update(ticket.pk)
    require_in_shop(by, ticket.shop, WORK)
    _require_transition(ticket, ticket.close)
    ticket_move(ticket, by, TicketEvent.Action.CLOSED, ticket.close, note=note, at=timezone.now())
    return ticket


@transaction.atomic
def ticket_add_note(*, ticket: AfterSalesTicket, by, note: str) -> AfterSalesTicket:
    """A note on the ticket; an escalation word in it marks the ticket as a complaint risk."""
    ticket = lock_objects.ticket_for_update(ticket.pk)
    require_in_shop(by, ticket.shop, WORK)
    note = _require_note(note)
    if has_escalation_word(note) and not ticket.escalation_risk:
        ticket.escalation_risk = True
        ticket.save(update_fields=["escalation_risk", "updated_at"])
    ticket_event_record(ticket, by, TicketEvent.Action.NOTE, ticket.state, note=note)
    return ticket


@transaction.atomic
def ticket_change_reason(*, ticket: AfterSalesTicket, by, reason: ReturnReason, note: str = "") -> AfterSalesTicket:
    """Correct the current reason; the first reason never changes (the database refuses it too)."""
    ticket = lock_objects.ticket_for_update(ticket.pk)
    require_in_shop(by, ticket.shop, WORK)
    if not reason.is_active:
        raise ActionRefused("reason_inactive", _("This reason is no longer in use; choose another."))
    if reason.pk == ticket.reason_id:
        return ticket
    previous = ticket.reason
    ticket.reason = reason
    ticket.save(update_fields=["reason", "updated_at"])
    ticket_event_record(
        ticket,
        by,
        TicketEvent.Action.REASON_CHANGED,
        ticket.state,
        note=f"{previous.code} → {reason.code}. {note}".strip(),
    )
    return ticket


@transaction.atomic
def ticket_set_platform_deadline(*, ticket: AfterSalesTicket, by, deadline, note: str = "") -> AfterSalesTicket:
    """The platform's own current deadline (逾期时间: status_deadline, refund_remind_timeout) replaces the one the desk
    derived from the platform's defaults; the same deadline again writes nothing."""
    ticket = lock_objects.ticket_for_update(ticket.pk)
    require_in_shop(by, ticket.shop, WORK)
    if deadline is None or timezone.is_naive(deadline):
        raise ActionRefused("invalid_deadline", _("The platform's deadline must be a time with its time zone."))
    if ticket.deadline == deadline:
        return ticket
    previous = ticket.deadline
    ticket.deadline = deadline
    ticket.save(update_fields=["deadline", "updated_at"])
    shown = timezone.localtime(deadline).strftime("%Y-%m-%d %H:%M")
    was = timezone.localtime(previous).strftime("%Y-%m-%d %H:%M") if previous else "-"
    ticket_event_record(
        ticket, by, TicketEvent.Action.DEADLINE_CHANGED, ticket.state, note=f"{was} → {shown}. {note}".strip()
    )
    return ticket


# --- the cut-off (截单) and the doors the warehouse and logistics call ---------------------------------------------


def _open_cutoff(ticket, by) -> CutOffRequest:
    cutoff = CutOffRequest.objects.create(ticket=ticket, shop_id=ticket.shop_id)
    ticket_move(
        ticket,
        by,
        TicketEvent.Action.CUTOFF_REQUESTED,
        ticket.start_intercept,
        note=_("Packed: the warehouse is asked to hold it."),
    )
    return cutoff


@transaction.atomic
def ticket_request_cutoff(*, ticket: AfterSalesTicket, by) -> CutOffRequest:
    """Ask the warehouse to hold a packed, unshipped order (path 1)."""
    ticket = lock_objects.ticket_for_update(ticket.pk)
    require_in_shop(by, ticket.shop, WORK)
    _require_transition(ticket, ticket.start_intercept)
    if ticket.order.shipped_at or not ticket.order.packed_at:
        raise ActionRefused("not_packed", _("A cut-off is for orders that are packed and not yet shipped."))
    return _open_cutoff(ticket, by)


@transaction.atomic
def cutoff_confirm_hold(*, cutoff: CutOffRequest, by) -> CutOffRequest:
    """The warehouse held the parcel: if the ticket still waits on it, the refund the held goods owe follows through
    the gate (at once within the shop's automatic cap, above it a supervisor approves)."""
    ticket = lock_objects.ticket_for_update(cutoff.ticket_id)
    cutoff = lock_objects.cutoff_for_update(cutoff.pk)
    require_in_shop(by, ticket.shop, CONFIRM_CUTOFF)
    if cutoff.status != CutOffRequest.Status.REQUESTED:
        raise ActionRefused("already_decided", _("This cut-off was already answered."))
    cutoff.hold(by=by, at=timezone.now())
    cutoff.save()
    if can_proceed(door_move(ticket, RefundDoor.CUTOFF_HELD)):
        _owed_refund(
            ticket,
            door=RefundDoor.CUTOFF_HELD,
            by=by,
            action=TicketEvent.Action.CUTOFF_HELD,
            note=_("Held in the warehouse."),
        )
    return cutoff


@transaction.atomic
def cutoff_mark_gone(*, cutoff: CutOffRequest, by, note: str = "") -> CutOffRequest:
    """The parcel had already left: the ticket goes back to the agent as path 2 (an intercept is next)."""
    ticket = lock_objects.ticket_for_update(cutoff.ticket_id)
    cutoff = lock_objects.cutoff_for_update(cutoff.pk)
    require_in_shop(by, ticket.shop, CONFIRM_CUTOFF)
    if cutoff.status != CutOffRequest.Status.REQUESTED:
        raise ActionRefused("already_decided", _("This cut-off was already answered."))
    cutoff.mark_gone(by=by, at=timezone.now())
    cutoff.save()
    if can_proceed(ticket.fail_intercept):
        message = note or _("Already shipped: the warehouse could not hold it.")
        ticket_move(
            ticket,
            by,
            TicketEvent.Action.CUTOFF_FAILED,
            ticket.fail_intercept,
            note=message,
            message=message,
            path=TicketPath.NOT_RECEIVED,
        )
    return cutoff


@transaction.atomic
def ticket_start_intercept(*, ticket: AfterSalesTicket, by, note: str = "") -> AfterSalesTicket:
    """The ticket waits on a courier intercept (拦截); logistics opens the intercept and calls this."""
    ticket = lock_objects.ticket_for_update(ticket.pk)
    require_in_shop(by, ticket.shop, WORK)
    _require_transition(ticket, ticket.start_intercept)
    if ticket.order.goods_state != GoodsState.SHIPPED:
        raise ActionRefused("not_in_transit", _("Only a parcel on its way can be intercepted."))
    ticket_move(ticket, by, TicketEvent.Action.INTERCEPT_REQUESTED, ticket.start_intercept, note=note)
    return ticket


@transaction.atomic
def ticket_intercept_confirmed(*, ticket: AfterSalesTicket, by, note: str = "") -> RefundDecision:
    """The courier stopped the parcel: the refund the goods' safety owes, through the gate. Logistics checks who may
    record the courier's answer (never the agent who asked); here `by` only has to work in the shop."""
    ticket = lock_objects.ticket_for_update(ticket.pk)
    _require_assigned(by, ticket.shop)
    _require_transition(ticket, door_move(ticket, RefundDoor.INTERCEPT_CONFIRMED))
    return _owed_refund(
        ticket, door=RefundDoor.INTERCEPT_CONFIRMED, by=by, action=TicketEvent.Action.INTERCEPT_CONFIRMED, note=note
    )


@transaction.atomic
def ticket_intercept_failed(*, ticket: AfterSalesTicket, by, note: str = "") -> AfterSalesTicket:
    """The intercept failed and the buyer has the parcel: back to the agent as path 3 (agree a return for 4). Like a
    confirmation, logistics checks who may record the courier's answer."""
    ticket = lock_objects.ticket_for_update(ticket.pk)
    _require_assigned(by, ticket.shop)
    _require_transition(ticket, ticket.fail_intercept)
    delivered = ticket.order.goods_state == GoodsState.DELIVERED
    if delivered:
        message = note or _("The intercept failed; the parcel was delivered.")
    else:
        message = note or _("The intercept failed; the parcel is still on its way to the buyer.")
    ticket_move(
        ticket,
        by,
        TicketEvent.Action.INTERCEPT_FAILED,
        ticket.fail_intercept,
        note=message,
        message=message,
        path=TicketPath.RECEIVED_NO_RETURN if delivered else TicketPath.NOT_RECEIVED,
    )
    return ticket


@transaction.atomic
def ticket_parcel_lost(*, ticket: AfterSalesTicket, by, note: str = "") -> RefundDecision:
    """The parcel was declared lost (丢件): the buyer is refunded now within the shop's automatic cap (above it a
    supervisor approves); logistics, which calls this, claims the loss back from the courier."""
    ticket = lock_objects.ticket_for_update(ticket.pk)
    require_in_shop(by, ticket.shop, WORK)
    _require_transition(ticket, door_move(ticket, RefundDoor.PARCEL_LOST))
    return _owed_refund(ticket, door=RefundDoor.PARCEL_LOST, by=by, action=TicketEvent.Action.PARCEL_LOST, note=note)


@transaction.atomic
def ticket_refund_while_intercepting(*, ticket: AfterSalesTicket, by, note: str = "") -> Refund:
    """An agent refunds before the courier answers (先退款后拦截), once the parcel is registered for a claim so the
    courier bears the loss if the intercept fails. Within the agent's authority only: a supervisor cannot be asked
    while the intercept runs."""
    ticket = lock_objects.ticket_for_update(ticket.pk)
    require_in_shop(by, ticket.shop, WORK)
    _require_transition(ticket, door_move(ticket, RefundDoor.REFUND_BEFORE_INTERCEPT))
    decision = _owed_refund(
        ticket,
        door=RefundDoor.REFUND_BEFORE_INTERCEPT,
        by=by,
        action=TicketEvent.Action.REFUND_BEFORE_INTERCEPT,
        note=note,
    )
    if decision.refund is None:  # the gate pays or refuses on this door; it never asks a supervisor
        raise RuntimeError("refund_or_escalate neither paid nor refused a refund before the intercept")
    return decision.refund


@transaction.atomic
def tickets_flag_for_agent(*, ticket_ids, by, note: str) -> int:
    """Put the same note in front of the agents of many tickets at once (a batch check's finding), with one event
    each; a fixed number of queries whatever the number of tickets. It checks no permission: its callers are
    logistics' rules, acting as the system user or after checking their own actor."""
    note = _require_note(note)
    tickets = lock_objects.tickets_for_update(ticket_ids)
    if not tickets:
        return 0
    now = timezone.now()
    AfterSalesTicket.objects.filter(pk__in=[ticket.pk for ticket in tickets]).update(
        attention_note=note, updated_at=now
    )
    TicketEvent.objects.bulk_create(
        TicketEvent(
            ticket=ticket,
            actor=by,
            action=TicketEvent.Action.FLAGGED,
            from_state=ticket.state,
            to_state=ticket.state,
            note=note,
        )
        for ticket in tickets
    )
    orders_changed_send([ticket.order_id for ticket in tickets])
    return len(tickets)


@transaction.atomic
def ticket_return_shipped(*, ticket: AfterSalesTicket, by, courier_code: str, tracking_number: str) -> AfterSalesTicket:
    """The buyer's return tracking number arrived."""
    ticket = lock_objects.ticket_for_update(ticket.pk)
    require_in_shop(by, ticket.shop, WORK)
    _require_transition(ticket, ticket.ship_return)
    # Stored as a scanner reads it, so the receiving station finds it by an exact match.
    tracking_number = normalise_tracking_number(tracking_number)
    if not tracking_number:
        raise ActionRefused("tracking_required", _("Enter the return's tracking number."))
    ticket_move(
        ticket,
        by,
        TicketEvent.Action.RETURN_SHIPPED,
        ticket.ship_return,
        note=f"{courier_code} {tracking_number}".strip(),
        courier_code=(courier_code or "").strip(),
        tracking_number=tracking_number,
    )
    return ticket


@transaction.atomic
def ticket_return_received(*, ticket: AfterSalesTicket, by) -> AfterSalesTicket:
    """The warehouse signed for the returned parcel."""
    ticket = lock_objects.ticket_for_update(ticket.pk)
    require_in_shop(by, ticket.shop, HANDLE_RETURNS)
    _require_transition(ticket, ticket.receive_return)
    ticket_move(ticket, by, TicketEvent.Action.RETURN_RECEIVED, ticket.receive_return)
    return ticket


@transaction.atomic
def ticket_inspection_passed(*, ticket: AfterSalesTicket, by, note: str = "") -> AfterSalesTicket:
    """A clean inspection: the refund the returned goods owe, through the gate (at once within the shop's automatic
    cap, above it a supervisor approves); an exchange resolves instead, its replacement going out."""
    ticket = lock_objects.ticket_for_update(ticket.pk)
    require_in_shop(by, ticket.shop, HANDLE_RETURNS)
    exchange = ticket.kind == TicketKind.EXCHANGE
    _require_transition(
        ticket, ticket.resolve_exchange if exchange else door_move(ticket, RefundDoor.INSPECTION_PASSED)
    )
    if exchange:
        ticket_move(
            ticket, by, TicketEvent.Action.RESOLVED_EXCHANGE, ticket.resolve_exchange, note=note, at=timezone.now()
        )
    else:
        _owed_refund(
            ticket, door=RefundDoor.INSPECTION_PASSED, by=by, action=TicketEvent.Action.INSPECTION_PASSED, note=note
        )
    return ticket


@transaction.atomic
def ticket_flag_for_agent(*, ticket: AfterSalesTicket, by, note: str) -> AfterSalesTicket:
    """Put a note in front of the agent (an abnormal inspection, with its evidence) without moving the ticket."""
    ticket = lock_objects.ticket_for_update(ticket.pk)
    require_in_shop(by, ticket.shop, HANDLE_RETURNS if by.has_perm(HANDLE_RETURNS) else WORK)
    ticket.attention_note = _require_note(note)
    ticket.save(update_fields=["attention_note", "updated_at"])
    ticket_event_record(ticket, by, TicketEvent.Action.FLAGGED, ticket.state, note=ticket.attention_note)
    return ticket


@transaction.atomic
def ticket_record_early_replacement(*, ticket: AfterSalesTicket, by, note: str = "") -> AfterSalesTicket:
    """The replacement of an exchange went out before the return arrived (提前换出); the warehouse's rule decided
    it may. The ticket keeps waiting for the return; its clean inspection then resolves it without a second one."""
    ticket = lock_objects.ticket_for_update(ticket.pk)
    require_in_shop(by, ticket.shop, WORK)
    if ticket.kind != TicketKind.EXCHANGE:
        raise ActionRefused("not_exchange", _("Only an exchange sends a replacement."))
    _require_state(ticket, TicketState.RETURN_IN_TRANSIT)
    ticket_event_record(ticket, by, TicketEvent.Action.EARLY_REPLACEMENT, ticket.state, note=note)
    return ticket
