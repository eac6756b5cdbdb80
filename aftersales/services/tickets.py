"""Ticket, refund, approval and cut-off writes: the only door through which a ticket changes.

Every service here runs in one transaction: it locks the ticket (lock_objects), checks who acts and the rule,
calls the ticket's transition, saves, writes the TicketEvent, and queues outside work (the refund gateway) on
commit. A refusal raises ActionRefused before anything is written or inside the transaction, so nothing stays.
`by` is the person or the system user (desk.access.system_user) on whose behalf the change is made.
"""

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_fsm import can_proceed

from aftersales import lock_objects, team_alerts
from aftersales.models import (
    KNOWN_TICKET_KINDS,
    ZERO,
    AfterSalesTicket,
    ApprovalRequest,
    CutOffRequest,
    DeadlineSource,
    EscalationAlert,
    GoodsState,
    MerchantLiability,
    Order,
    PlatformRuling,
    Refund,
    ReturnProposal,
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
from aftersales.services.deadlines import RETURN_KINDS, response_deadline, ticket_apply_stage_deadline
from aftersales.services.refund_gate import (
    AUTOMATIC_ACTION,
    AutoRuleOutcome,
    RefundDecision,
    RefundDoor,
    automatic_rule,
    automatic_rule_may_apply,
    door_move,
    open_approval,
    over_paid,
    platform_refund_record,
    refund_or_escalate,
    wrong_state,
)
from aftersales.services.ticket_events import ticket_event_record, ticket_events_record, ticket_move
from aftersales.signals import orders_changed_send
from desk.access import CONFIRM_CUTOFF, DECIDE, HANDLE_RETURNS, OPEN, WORK, require_in_shop
from desk.errors import ActionRefused
from desk.input_checks import normalise_tracking_number

logger = logging.getLogger(__name__)

# 已收到货仅退款 (seed 004): how long the buyer has to change a refund-only request on delivered goods to a return and
# refund, at most; the proposal ends before the platform's answer deadline's warning, so a rejection is still in time.
RETURN_PROPOSAL_HOURS = 24

MAX_AMOUNT = Decimal("9999999999.99")
# A comma only as a thousands separator ("1,299.00"); "12,50" is not ¥1250.
THOUSANDS_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")
REPLACEMENT_KINDS = {TicketKind.RESHIP, TicketKind.EXCHANGE}
# Kinds that ask for no money: their requested amount may be 0 and is 0 when left out.
NO_MONEY_KINDS = {*REPLACEMENT_KINDS, TicketKind.REPAIR}
# Kinds whose amount is what the buyer names, never "what is left of the order": it must be given and above 0.
NAMED_AMOUNT_KINDS = {TicketKind.COMPENSATION, TicketKind.PRICE_PROTECTION}
PLATFORM_KIND_LENGTH = AfterSalesTicket._meta.get_field("platform_kind").max_length
# Read once: TicketKind.values builds the choices (with their lazy labels) on every read, and a batch asks per ticket.
TICKET_KINDS = frozenset(TicketKind.values)
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
    return escalation_word_in(*texts) is not None


def escalation_word_in(*texts: str, words: list[str] | None = None) -> str | None:
    """The first escalation word (投诉, 12315, 曝光, 差评 and the shop's own) found in the texts, if any; `words`
    read once by a caller that checks many texts."""
    words = escalation_words() if words is None else words
    return next((word for text in texts if text for word in words if word in text), None)


def _alert_team_lead(ticket: AfterSalesTicket, by, word: str) -> EscalationAlert | None:
    """Seed 004: a buyer who says 投诉, 12315, 曝光 or 差评 is a case for the team lead (联系小组长). Once per ticket:
    the alert row, its event, and the robot's hand-over after commit (team_alerts)."""
    if EscalationAlert.objects.filter(ticket=ticket).exists():
        return None
    message = _team_lead_message(ticket, word)
    alert = EscalationAlert.objects.create(ticket=ticket, shop_id=ticket.shop_id, word=word, text=message)
    ticket_event_record(ticket, by, TicketEvent.Action.TEAM_LEAD_ALERTED, ticket.state, note=message)
    team_alerts.notify_on_commit(alert.pk)
    return alert


def _team_lead_message(ticket: AfterSalesTicket, word: str) -> str:
    return _("Complaint risk on ticket #%(ticket)s (%(shop)s, order %(order)s): the buyer wrote “%(word)s”.") % {
        "ticket": ticket.pk,
        "shop": ticket.shop.name,
        "order": ticket.order.platform_order_id,
        "word": word,
    }


def escalation_alert_take(*, alert_id: int, at) -> EscalationAlert | None:
    """The robot's app takes a pending alert to send it (inside its own transaction, with the message it writes):
    the alert, or None if another worker took it first. A conditional update, so it is taken once."""
    if not EscalationAlert.objects.filter(pk=alert_id, taken_at__isnull=True).update(taken_at=at):
        return None
    return EscalationAlert.objects.select_related("shop", "ticket").get(pk=alert_id)


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


def _check_refund_kind(ticket: AfterSalesTicket, kind: str | None) -> None:
    """A refund's kind, when the caller names one: one of Refund.Kind, and for a price-protection ticket (价保) the
    price difference it exists for (left out, the gate derives it)."""
    if kind is None:
        return
    if kind not in Refund.Kind.values:
        raise ActionRefused("invalid_kind", _("Unknown kind of refund."))
    if ticket.kind == TicketKind.PRICE_PROTECTION and kind != Refund.Kind.PRICE_DIFFERENCE:
        raise ActionRefused("invalid_kind", _("A price-protection request is refunded as a price difference."))


def _require_note(note: str) -> str:
    note = (note or "").strip()
    if not note:
        raise ActionRefused("note_required", _("Write a note that says why."))
    return note


# --- opening --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenRequest:
    """A buyer's request to open a ticket: ticket_open_or_find's arguments but `by` (see it for each one)."""

    order: Order
    kind: str
    reason: ReturnReason
    requested_amount: Decimal | str | None = None
    buyer_message: str = ""
    platform_ticket_id: str = ""
    opened_at: datetime | None = None
    platform_kind: str = ""
    kind_unknown: bool = False
    platform_deadline: datetime | None = None
    # False for a request the marketplace already finished (the desk records it): no automatic rule acts on it and
    # no return is proposed to its buyer.
    apply_rules: bool = True

    def normalised(self) -> "OpenRequest":
        return replace(
            self,
            platform_ticket_id=(self.platform_ticket_id or "").strip(),
            # Kept as the platform sent it; a code longer than the column is cut rather than the request dropped.
            platform_kind=(self.platform_kind or "").strip()[:PLATFORM_KIND_LENGTH],
            kind=TicketKind.UNKNOWN if self.kind_unknown else self.kind,
        )


@dataclass
class OpenOutcome:
    """What tickets_open_bulk did with one request: the ticket (new, or the one the platform id already had) and
    whether this call opened it, or the refusal that left nothing written for it."""

    ticket: AfterSalesTicket | None
    opened: bool = False
    refusal: ActionRefused | None = None


@dataclass
class _Opening:
    ticket: AfterSalesTicket  # built, not saved yet
    word: str | None  # the escalation word the buyer wrote, if any


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
    platform_kind: str = "",
    kind_unknown: bool = False,
    platform_deadline: datetime | None = None,
    apply_rules: bool = True,
) -> tuple[AfterSalesTicket, bool]:
    """Open a ticket for a buyer's request, derive its path and clocks, and apply the path-1 rule at once.

    A request the marketplace already sent (same shop and platform refund id) returns the existing ticket; the
    second value says whether this call opened it (the doors answer a replay differently from a new ticket).

    `kind` is a TicketKind value; a marketplace connector maps the platform's type onto it by value
    (marketplaces' RecordKind has the same values): refund only, return and refund, exchange (换货), reship (补寄),
    repair (维修: the goods come back, are repaired and shipped back, nothing is refunded), price protection
    (价保 / 退差价: `requested_amount` is the difference, required and above 0; it is refunded as a price difference
    through the refund gate, on the agent's authority) and unknown.

    `platform_kind` is the platform's own type code (e.g. 抖店 aftersale_type "7"), kept on the ticket whatever it
    mapped to. A type that maps to no kind is never dropped: pass `kind="unknown"` (or any kind with
    `kind_unknown=True`) and the platform's code in `platform_kind` (required then). The ticket opens as UNKNOWN,
    which no automatic rule refunds, with a note in front of the agent naming the platform's type; the agent decides
    what it is (ticket_decide_kind) or answers it with any move. `requested_amount` left out is 0 for it (nothing is
    assumed about money the desk cannot read).
    `platform_deadline` is the marketplace's own deadline (a connected shop); without it the platform's default
    for answering the request applies. `apply_rules=False` opens a request the marketplace already finished, which
    the connector then moves to its end: the path-1 rule does not act on it.

    tickets_open_bulk opens many at once by the same rules (_plan_opening, _write_openings, _after_opening).
    """
    request = OpenRequest(
        order=order,
        kind=kind,
        reason=reason,
        requested_amount=requested_amount,
        buyer_message=buyer_message,
        platform_ticket_id=platform_ticket_id,
        opened_at=opened_at,
        platform_kind=platform_kind,
        kind_unknown=kind_unknown,
        platform_deadline=platform_deadline,
        apply_rules=apply_rules,
    ).normalised()
    require_in_shop(by, order.shop, OPEN)
    if request.platform_ticket_id:
        # A replayed push answers with what the first one created, even if a rule has changed since.
        existing = AfterSalesTicket.objects.filter(
            shop=order.shop, platform_ticket_id=request.platform_ticket_id
        ).first()
        if existing:
            return existing, False
    opening = _plan_opening(request, words=escalation_words())
    try:
        with transaction.atomic():
            _write_openings([opening], by)
    except IntegrityError:
        # The same platform push arrived twice at once; the other one created it.
        if request.platform_ticket_id:
            return AfterSalesTicket.objects.get(shop=order.shop, platform_ticket_id=request.platform_ticket_id), False
        raise
    ticket = opening.ticket
    if ticket.kind == TicketKind.UNKNOWN or not request.apply_rules:
        return ticket, True
    _after_opening(ticket)
    ticket.refresh_from_db()
    return ticket, True


@transaction.atomic
def tickets_open_bulk(*, requests: Sequence[OpenRequest], by) -> list[OpenOutcome]:
    """Open many buyers' requests at once (a marketplace's pulled page on 双11), each by ticket_open_or_find's rules
    and with the same rows and events, written set-wise: one read of the platform ids already there, one insert of
    the tickets, one of their events, one dirty-day marking (metrics) for all their orders. A request whose ticket
    exists (or comes twice in the batch) answers with that ticket, not opened; a refused one writes nothing and
    carries its refusal. The path-1 rule then acts on each ticket it can apply to, one by one through the refund
    gate, as it does after a single opening. One outcome per request, in their order."""
    if not requests:
        return []
    requests = [request.normalised() for request in requests]
    outcomes: list[OpenOutcome | None] = [None] * len(requests)
    refused_shops: dict[int, ActionRefused] = {}
    for shop in {request.order.shop_id: request.order.shop for request in requests}.values():
        try:
            require_in_shop(by, shop, OPEN)
        except ActionRefused as refusal:
            refused_shops[shop.pk] = refusal
    keys = [(request.order.shop_id, request.platform_ticket_id) for request in requests]
    existing = {
        (ticket.shop_id, ticket.platform_ticket_id): ticket
        for ticket in AfterSalesTicket.objects.filter(
            shop_id__in={shop_id for shop_id, platform_id in keys if platform_id},
            platform_ticket_id__in={platform_id for _shop_id, platform_id in keys if platform_id},
        )
    }
    words = escalation_words()
    openings: dict[int, _Opening] = {}
    first_of: dict[tuple[int, str], int] = {}
    repeats: dict[int, int] = {}
    for index, (request, key) in enumerate(zip(requests, keys, strict=True)):
        if key[0] in refused_shops:
            outcomes[index] = OpenOutcome(None, refusal=refused_shops[key[0]])
        elif key[1] and key in existing:
            outcomes[index] = OpenOutcome(existing[key])
        elif key[1] and key in first_of:
            repeats[index] = first_of[key]
        else:
            try:
                openings[index] = _plan_opening(request, words=words)
            except ActionRefused as refusal:
                outcomes[index] = OpenOutcome(None, refusal=refusal)
                continue
            if key[1]:
                first_of[key] = index
    try:
        with transaction.atomic():
            _write_openings(list(openings.values()), by)
    except IntegrityError:
        # A push opened one of them meanwhile: each is opened (or found) on its own, by the single door.
        for index in openings:
            request = requests[index]
            ticket, opened = ticket_open_or_find(by=by, **vars(request))
            outcomes[index] = OpenOutcome(ticket, opened=opened)
    else:
        for index, opening in openings.items():
            outcomes[index] = OpenOutcome(opening.ticket, opened=True)
        for index, opening in openings.items():
            if requests[index].apply_rules and _after_opening(opening.ticket):
                opening.ticket.refresh_from_db()
    for index, first in repeats.items():
        earlier = outcomes[first]
        outcomes[index] = OpenOutcome(earlier.ticket) if earlier and earlier.ticket else earlier
    return [outcome for outcome in outcomes if outcome is not None]


def _plan_opening(request: OpenRequest, *, words: list[str]) -> _Opening:
    """Check a normalised request and build its ticket, unsaved: derive its path and clocks. ActionRefused for a
    request that may not open; nothing is written either way."""
    order, kind, platform_kind = request.order, request.kind, request.platform_kind
    if kind not in TICKET_KINDS:
        raise ActionRefused("invalid_kind", _("Unknown kind of request."))
    unknown = kind == TicketKind.UNKNOWN
    if unknown and not platform_kind:
        raise ActionRefused(
            "platform_kind_required", _("A request of an unknown kind needs the platform's own type code.")
        )
    reason = request.reason
    if not reason.is_active:
        raise ActionRefused("reason_inactive", _("This reason is no longer in use; choose another."))
    requested_amount = request.requested_amount
    if requested_amount in (None, ""):
        no_amount = kind in NO_MONEY_KINDS or kind in NAMED_AMOUNT_KINDS or unknown
        amount = ZERO if no_amount else order.refundable_amount
    else:
        amount = parse_amount(requested_amount, allow_zero=kind in NO_MONEY_KINDS or unknown)
    if kind == TicketKind.COMPENSATION and amount == 0:
        raise ActionRefused("invalid_amount", _("Enter the compensation the buyer asks for."))
    if kind == TicketKind.PRICE_PROTECTION and amount == 0:
        raise ActionRefused("invalid_amount", _("Enter the price difference the buyer asks for."))
    if amount > order.refundable_amount:
        raise over_paid(order)
    now = request.opened_at or timezone.now()
    word = escalation_word_in(request.buyer_message, words=words)
    answer_by = response_deadline(order.shop.platform, kind, now)
    if request.platform_deadline is not None:
        answer_by = _aware(request.platform_deadline)
    path = derive_path(order, kind)
    sla = timedelta(minutes=order.shop.path1_sla_minutes) if path == 1 else timedelta(hours=order.shop.sla_hours)
    # A request the marketplace already finished proposes nothing to its buyer.
    proposal_due = (
        _return_proposal_due(order.shop, kind, path, now=now, answer_by=answer_by) if request.apply_rules else None
    )
    ticket = AfterSalesTicket(
        shop=order.shop,
        order=order,
        platform_ticket_id=request.platform_ticket_id,
        kind=kind,
        platform_kind=platform_kind,
        path=path,
        first_reason=reason,
        reason=reason,
        liability=reason.default_liability,
        requested_amount=amount,
        buyer_message=request.buyer_message,
        escalation_risk=word is not None,
        opened_at=now,
        deadline=answer_by,
        deadline_source=DeadlineSource.DEFAULT if request.platform_deadline is None else DeadlineSource.PLATFORM,
        sla_due=min(now + sla, answer_by),
        return_proposal=ReturnProposal.PROPOSED if proposal_due else ReturnProposal.NONE,
        return_proposal_due=proposal_due,
        attention_note=unknown_kind_note(platform_kind) if unknown else "",
    )
    return _Opening(ticket, word)


def _write_openings(openings: list[_Opening], by) -> None:
    """Insert the planned tickets with their events (opened; flagged for an unknown kind; the team lead's alert for
    an escalation word; the return proposal for a refund only on delivered goods), in the caller's transaction."""
    if not openings:
        return
    AfterSalesTicket.objects.bulk_create([opening.ticket for opening in openings])
    alerts = EscalationAlert.objects.bulk_create(
        [
            EscalationAlert(
                ticket=opening.ticket,
                shop_id=opening.ticket.shop_id,
                word=opening.word,
                text=_team_lead_message(opening.ticket, opening.word),
            )
            for opening in openings
            if opening.word
        ]
    )
    alert_of = {alert.ticket_id: alert for alert in alerts}
    events = []
    for opening in openings:
        ticket = opening.ticket
        events.append(
            TicketEvent(
                ticket=ticket,
                actor=by,
                action=TicketEvent.Action.OPENED,
                from_state="",
                to_state=ticket.state,
                note=ticket.buyer_message,
                amount=ticket.requested_amount,
            )
        )
        if ticket.kind == TicketKind.UNKNOWN:
            events.append(_event(ticket, by, TicketEvent.Action.FLAGGED, note=ticket.attention_note))
        if ticket.pk in alert_of:
            events.append(_event(ticket, by, TicketEvent.Action.TEAM_LEAD_ALERTED, note=alert_of[ticket.pk].text))
        if ticket.return_proposal_due:
            note = _(
                "Goods received, refund only: ask the buyer to change the request to a return and refund by %(due)s."
            ) % {"due": timezone.localtime(ticket.return_proposal_due).strftime("%Y-%m-%d %H:%M")}
            events.append(_event(ticket, by, TicketEvent.Action.RETURN_PROPOSED, note=note))
    ticket_events_record(events)
    for alert in alerts:
        team_alerts.notify_on_commit(alert.pk)


def _event(ticket: AfterSalesTicket, by, action: TicketEventAction, *, note: str) -> TicketEvent:
    return TicketEvent(
        ticket=ticket, actor=by, action=action, from_state=ticket.state, to_state=ticket.state, note=note
    )


def _after_opening(ticket: AfterSalesTicket) -> bool:
    """The path-1 rule on a ticket just opened, where it can apply (never on an unknown kind: nothing automatic for a
    request nobody has read yet); whether it ran."""
    if ticket.kind == TicketKind.UNKNOWN or not automatic_rule_may_apply(ticket):
        return False
    try:
        ticket_apply_auto_rules(ticket=ticket)
    except ActionRefused as refusal:
        # The ticket stands as requested; an agent (or the next sweep) sees why the rule did not act.
        logger.info("path-1 rule did not act on ticket %s: %s", ticket.pk, refusal.code)
    return True


def unknown_kind_note(platform_kind: str) -> str:
    return _(
        "The platform sent an after-sales type the desk does not know: “%(type)s”. Read the request on the platform "
        "and decide what the buyer asks for; nothing is refunded automatically."
    ) % {"type": platform_kind}


def _return_proposal_due(shop, kind: str, path: int, *, now, answer_by):
    """已收到货仅退款的协商退货退款 (seed 004): a refund only on delivered goods gets a proposal of return and refund,
    due in RETURN_PROPOSAL_HOURS or, if the platform's answer deadline is closer, when its warning starts; None for
    every other request."""
    if kind != TicketKind.REFUND_ONLY or path != TicketPath.RECEIVED_NO_RETURN:
        return None
    before_warning = answer_by - timedelta(hours=shop.deadline_warning_hours)
    return max(now, min(now + timedelta(hours=RETURN_PROPOSAL_HOURS), before_warning))


def unchanged_request_rejection_note() -> str:
    """The rejection's reason when the buyer kept a refund only on delivered goods, in the seed's words."""
    return _(
        "The buyer has the goods and kept the refund-only request after being asked to change it to a return and "
        "refund (已收到货仅退款的协商退货退款，未修改则拒绝)."
    )


@transaction.atomic
def ticket_reject_unchanged_request(*, ticket: AfterSalesTicket, by, note: str = "") -> AfterSalesTicket:
    """The agent confirms the rejection the desk proposed once the buyer let the return proposal run out (seed 004:
    未修改则拒绝); never automatic. The rejection carries the seed's reason, and the agent's note after it."""
    ticket = lock_objects.ticket_for_update(ticket.pk)
    require_in_shop(by, ticket.shop, WORK)
    _require_transition(ticket, ticket.reject)
    if ticket.return_proposal != ReturnProposal.EXPIRED:
        raise ActionRefused(
            "no_expired_proposal",
            _("Only a refund-only request the buyer did not change in time is rejected this way."),
        )
    reason = " ".join(part for part in (unchanged_request_rejection_note(), (note or "").strip()) if part)
    ticket_move(ticket, by, TicketEvent.Action.REJECTED, ticket.reject, note=reason)
    return ticket


@transaction.atomic
def ticket_apply_auto_rules(*, ticket: AfterSalesTicket) -> str:
    """Path 1 (未发货仅退款): within the shop's automatic cap, refund at once, or ask the warehouse to cut off a
    packed order first (refund_gate.automatic_rule, the rule the sweep applies too). Above the cap the rule does
    nothing: the ticket is the agent's. A reason that may involve compensation (未按约定时间发货) goes to the agent
    with the reason shown. Acts as the system user; safe to call again (the sweeps do)."""
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
    if rule.outcome == AutoRuleOutcome.TO_AGENT:
        _flag_compensation_check(ticket, system())
        return AutoRuleOutcome.TO_AGENT
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


def _flag_compensation_check(ticket: AfterSalesTicket, by) -> None:
    """Put the reason in front of the agent, once: the rule did not refund because compensation may be owed."""
    note = _(
        "Not refunded automatically: the reason “%(reason)s” may involve compensation (涉及赔付). Check whether the "
        "buyer is owed compensation, then refund."
    ) % {"reason": ticket.reason.label}
    if ticket.attention_note == note:
        return
    ticket.attention_note = note
    ticket.save(update_fields=["attention_note", "updated_at"])
    ticket_event_record(ticket, by, TicketEvent.Action.FLAGGED, ticket.state, note=note)


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
    _check_refund_kind(ticket, kind)
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
    _check_refund_kind(ticket, kind)
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
    """A note on the ticket; an escalation word in it marks the ticket as a complaint risk and tells the shop's team
    lead (once per ticket)."""
    ticket = lock_objects.ticket_for_update(ticket.pk)
    require_in_shop(by, ticket.shop, WORK)
    note = _require_note(note)
    word = escalation_word_in(note)
    if word and not ticket.escalation_risk:
        ticket.escalation_risk = True
        ticket.save(update_fields=["escalation_risk", "updated_at"])
    ticket_event_record(ticket, by, TicketEvent.Action.NOTE, ticket.state, note=note)
    if word:
        _alert_team_lead(ticket, by, word)
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


# --- the platform deadline (services/deadlines.py) -------------------------------------------------------------------


def _aware(moment) -> datetime:
    if not isinstance(moment, datetime) or timezone.is_naive(moment):
        raise ActionRefused("invalid_deadline", _("Give the deadline as a date and time with its time zone."))
    return moment


@transaction.atomic
def ticket_set_platform_deadline(*, ticket: AfterSalesTicket, deadline: datetime, by, note: str = "") -> bool:
    """The marketplace's own deadline for the ticket's current stage (a connector's push: 抖店 status_deadline,
    超时时长变更): written with its event, and from then on the stage computation leaves the ticket's deadline to the
    marketplace. A replay of the same deadline writes nothing; returns whether it changed."""
    ticket = lock_objects.ticket_for_update(ticket.pk)
    _require_assigned(by, ticket.shop)
    deadline = _aware(deadline)
    if ticket.deadline == deadline and ticket.deadline_source == DeadlineSource.PLATFORM:
        return False
    ticket.deadline = deadline
    ticket.deadline_source = DeadlineSource.PLATFORM
    ticket.save(update_fields=["deadline", "deadline_source", "updated_at"])
    ticket_event_record(
        ticket,
        by,
        TicketEvent.Action.DEADLINE_SET,
        ticket.state,
        note=note or _("Deadline given by the marketplace."),
        deadline=deadline,
    )
    return True


@transaction.atomic
def ticket_restart_stage_deadline(*, ticket: AfterSalesTicket, since: datetime, by, note: str = "") -> bool:
    """Count the current stage's default deadline again from `since`: the moment the stage really began, learnt
    later (the courier's signature for the return at our address starts the receipt clock). A connected shop's
    marketplace deadline stays. Returns whether the deadline moved; when it does, its event says so."""
    ticket = lock_objects.ticket_for_update(ticket.pk)
    _require_assigned(by, ticket.shop)
    deadline = ticket_apply_stage_deadline(ticket, since=_aware(since))
    if deadline is None:
        return False
    ticket.save(update_fields=["deadline", "updated_at"])
    ticket_event_record(ticket, by, TicketEvent.Action.DEADLINE_SET, ticket.state, note=note, deadline=deadline)
    return True


# --- the cut-off (截单) and the doors the warehouse and logistics call ---------------------------------------------


def _open_cutoff(ticket, by) -> CutOffRequest:
    now = timezone.now()
    cutoff = CutOffRequest.objects.create(
        ticket=ticket,
        shop_id=ticket.shop_id,
        requested_at=now,
        due_at=now + timedelta(hours=ticket.shop.cutoff_answer_hours),
    )
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


def cutoffs_flag_overdue(*, now=None, batch_size: int = 500) -> int:
    """Cut-offs the warehouse has not answered within the shop's time (2 h by default, exactly 2 h counts as late):
    flag each once, write its ticket's event and put a note in front of the ticket's agent, as an overdue intercept
    is chased (logistics' 15-minute follow-up runs this). A ticket busy elsewhere is left for the next run."""
    now = now or timezone.now()
    system = system_user()
    flagged = 0
    last_id = 0
    overdue = CutOffRequest.objects.filter(
        status=CutOffRequest.Status.REQUESTED, due_at__lte=now, overdue_flagged_at__isnull=True
    )
    note = _("The warehouse has not answered the cut-off (截单) in time; chase the warehouse.")
    while True:
        with transaction.atomic():
            candidates = list(overdue.filter(pk__gt=last_id).order_by("pk").values_list("pk", "ticket_id")[:batch_size])
            if not candidates:
                return flagged
            last_id = candidates[-1][0]
            # Tickets before cut-offs (the services' lock order).
            free_tickets = lock_objects.free_ticket_ids_for_update([ticket_id for _pk, ticket_id in candidates])
            batch = lock_objects.free_cutoffs_for_update(
                overdue.filter(pk__in=[pk for pk, ticket_id in candidates if ticket_id in free_tickets])
            )
            if not batch:
                continue
            CutOffRequest.objects.filter(pk__in=[cutoff.pk for cutoff in batch]).update(overdue_flagged_at=now)
            AfterSalesTicket.objects.filter(pk__in=[cutoff.ticket_id for cutoff in batch]).update(
                attention_note=note, updated_at=now
            )
            TicketEvent.objects.bulk_create(
                TicketEvent(
                    ticket_id=cutoff.ticket_id,
                    actor=system,
                    at=now,
                    action=TicketEvent.Action.CUTOFF_OVERDUE,
                    from_state=cutoff.ticket.state,
                    to_state=cutoff.ticket.state,
                    note=note,
                )
                for cutoff in batch
            )
            orders_changed_send([cutoff.ticket.order_id for cutoff in batch])
            flagged += len(batch)


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
    ticket_events_record([_event(ticket, by, TicketEvent.Action.FLAGGED, note=note) for ticket in tickets])
    return len(tickets)


@transaction.atomic
def ticket_record_platform_refund(
    *, ticket: AfterSalesTicket, by, amount: Decimal, reference: str, note: str = ""
) -> AfterSalesTicket:
    """The marketplace says it refunded ¥`amount` itself (record `reference`): recorded as a succeeded refund and the
    ticket refunded, nothing paid (refund_gate.platform_refund_record)."""
    ticket = lock_objects.ticket_for_update(ticket.pk)
    require_in_shop(by, ticket.shop, WORK)
    platform_refund_record(ticket, by=by, amount=amount, reference=reference, note=note)
    return ticket


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
def ticket_return_received(*, ticket: AfterSalesTicket, by, signed_at: datetime | None = None) -> AfterSalesTicket:
    """The warehouse signed for the returned parcel. The receipt clock (Platform.receipt_confirm_days) runs from
    the courier's signature when it is known (`signed_at`), else from now."""
    ticket = lock_objects.ticket_for_update(ticket.pk)
    require_in_shop(by, ticket.shop, HANDLE_RETURNS)
    _require_transition(ticket, ticket.receive_return)
    since = _aware(signed_at) if signed_at is not None else None
    ticket_move(ticket, by, TicketEvent.Action.RETURN_RECEIVED, ticket.receive_return, stage_since=since)
    return ticket


@transaction.atomic
def ticket_return_signed(*, ticket: AfterSalesTicket, by, signed_at) -> AfterSalesTicket:
    """The courier signed for the buyer's return at our address (its tracking, or a person): from then on the
    platform confirms the receipt for us (超时自动退款, the goods gone with the money) after the platform's
    receipt_confirm_days (10 by default), so the ticket's deadline becomes that. Once per ticket; a ticket no longer
    waiting on the return keeps its deadline."""
    ticket = lock_objects.ticket_for_update(ticket.pk)
    if ticket.events.filter(action=TicketEvent.Action.RETURN_SIGNED).exists():
        return ticket
    if ticket.state not in (TicketState.RETURN_IN_TRANSIT, TicketState.RECEIVED):
        return ticket
    days = ticket.shop.platform.receipt_confirm_days
    # The receipt stage's clock, counted from the signature; a connected shop's marketplace deadline stays.
    deadline = ticket_apply_stage_deadline(ticket, since=_aware(signed_at))
    if deadline is not None:
        ticket.save(update_fields=["deadline", "updated_at"])
    ticket_event_record(
        ticket,
        by,
        TicketEvent.Action.RETURN_SIGNED,
        ticket.state,
        note=_("Signed for at %(at)s; the platform confirms the receipt by itself after %(days)d days.")
        % {"at": timezone.localtime(signed_at).strftime("%Y-%m-%d %H:%M"), "days": days},
        deadline=deadline,
    )
    return ticket


def refund_on_receipt_applies(ticket: AfterSalesTicket) -> bool:
    """Whether the shop refunds this return as soon as it is scanned in (无法验货则直接退款, seed 000): the shop's
    switch, a return-and-refund, and unless the shop lifted the limit, one item paid at most the shop's amount."""
    shop = ticket.shop
    if not shop.refund_on_receipt_enabled or ticket.kind != TicketKind.RETURN_REFUND:
        return False
    if not shop.refund_on_receipt_limited:
        return True
    lines = list(ticket.order.lines.all())
    single = len(lines) == 1 and lines[0].quantity == 1
    return single and ticket.order.paid_amount <= shop.refund_on_receipt_max_amount


@transaction.atomic
def ticket_refund_on_receipt(*, ticket: AfterSalesTicket, by, note: str = "") -> RefundDecision:
    """The clerk scanned in a return the shop refunds without inspection: the refund the returned goods owe, through
    the gate's clean-return door (within the automatic cap at once, above it a supervisor approves). The inspection,
    if one is made later, records what came back and flags an abnormal parcel to the agent."""
    ticket = lock_objects.ticket_for_update(ticket.pk)
    require_in_shop(by, ticket.shop, HANDLE_RETURNS)
    if not refund_on_receipt_applies(ticket):
        raise ActionRefused("no_refund_on_receipt", _("This shop does not refund this return before inspection."))
    _require_transition(ticket, door_move(ticket, RefundDoor.INSPECTION_PASSED))
    return _owed_refund(
        ticket,
        door=RefundDoor.INSPECTION_PASSED,
        by=by,
        action=TicketEvent.Action.REFUND_ON_RECEIPT,
        note=note or _("Refunded on receipt: the shop does not inspect this return (无法验货则直接退款)."),
    )


def was_refunded_on_receipt(ticket: AfterSalesTicket) -> bool:
    return ticket.events.filter(action=TicketEvent.Action.REFUND_ON_RECEIPT).exists()


# What the buyer is told when an exchange becomes a return and re-order (退货重拍, seed 001).
RETURN_AND_REORDER_NOTE = gettext_lazy(
    "To get the item you want sooner: please send this one back for a refund and place a new order (退货重拍)."
)


@transaction.atomic
def ticket_return_and_reorder(*, ticket: AfterSalesTicket, by, note: str = "") -> str:
    """退货重拍: the exchange becomes a return-and-refund (the buyer orders again); returns the note for the buyer,
    which the event keeps with the agent's own words."""
    ticket = lock_objects.ticket_for_update(ticket.pk)
    require_in_shop(by, ticket.shop, WORK)
    if ticket.kind != TicketKind.EXCHANGE:
        raise ActionRefused("not_exchange", _("Only an exchange can become a return and re-order."))
    _require_transition(ticket, ticket.return_and_reorder)
    message = str(RETURN_AND_REORDER_NOTE)
    ticket_move(
        ticket,
        by,
        TicketEvent.Action.EXCHANGE_TO_RETURN,
        ticket.return_and_reorder,
        note=_("Note to the buyer: %(message)s %(note)s") % {"message": message, "note": note},
    )
    return message


@transaction.atomic
def ticket_inspection_passed(*, ticket: AfterSalesTicket, by, note: str = "") -> AfterSalesTicket:
    """A clean inspection: the refund the returned goods owe, through the gate (at once within the shop's automatic
    cap, above it a supervisor approves); an exchange resolves instead, its replacement going out; a repair's goods
    go to be repaired (ticket_repair_shipped resolves it when they go back)."""
    ticket = lock_objects.ticket_for_update(ticket.pk)
    require_in_shop(by, ticket.shop, HANDLE_RETURNS)
    if ticket.kind == TicketKind.REPAIR:
        _require_transition(ticket, ticket.start_repair)
        ticket_move(ticket, by, TicketEvent.Action.REPAIR_STARTED, ticket.start_repair, note=note)
        return ticket
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


@transaction.atomic
def ticket_repair_shipped(
    *, ticket: AfterSalesTicket, by, courier_code: str, tracking_number: str, note: str = ""
) -> AfterSalesTicket:
    """The repaired goods went back to the buyer (维修寄回): the repair is resolved, its outbound courier and waybill
    in the event (the return's own waybill stays on the ticket). Recorded by the warehouse or an agent."""
    ticket = lock_objects.ticket_for_update(ticket.pk)
    require_in_shop(by, ticket.shop, HANDLE_RETURNS if by.has_perm(HANDLE_RETURNS) else WORK)
    _require_transition(ticket, ticket.resolve_repair)
    tracking_number = normalise_tracking_number(tracking_number)
    if not tracking_number:
        raise ActionRefused("tracking_required", _("Enter the tracking number the repaired goods went back with."))
    waybill = f"{(courier_code or '').strip()} {tracking_number}".strip()
    ticket_move(
        ticket,
        by,
        TicketEvent.Action.RESOLVED_REPAIR,
        ticket.resolve_repair,
        note=" ".join(part for part in (waybill, (note or "").strip()) if part),
        at=timezone.now(),
    )
    return ticket


@transaction.atomic
def ticket_decide_kind(*, ticket: AfterSalesTicket, by, kind: str, note: str = "") -> AfterSalesTicket:
    """An agent decides what a request of an unknown platform type is (its platform code stays on the ticket). The
    ticket does not move: the agent's next move answers the buyer. Only an UNKNOWN ticket still open is decided.
    From then on it is a ticket of its kind like any other: a refund only on an unshipped order, for one, falls
    under the shop's path-1 rule at the next sweep (a person has read it now)."""
    ticket = lock_objects.ticket_for_update(ticket.pk)
    require_in_shop(by, ticket.shop, WORK)
    if ticket.kind != TicketKind.UNKNOWN:
        raise ActionRefused("kind_known", _("This request's kind is already known."))
    if not ticket.is_open:
        raise wrong_state(ticket)
    if kind not in KNOWN_TICKET_KINDS:
        raise ActionRefused("invalid_kind", _("Choose the kind of request."))
    ticket.kind = kind
    ticket.attention_note = ""
    ticket.save(update_fields=["kind", "attention_note", "updated_at"])
    decided = _("%(platform)s → %(kind)s.") % {"platform": ticket.platform_kind, "kind": TicketKind(kind).label}
    note = " ".join(part for part in (decided, (note or "").strip()) if part)
    ticket_event_record(ticket, by, TicketEvent.Action.KIND_DECIDED, ticket.state, note=note)
    return ticket
