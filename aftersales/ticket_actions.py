"""The moves a person can make on a ticket, by name: what each needs, when it is offered, which service it calls.

The admin's buttons and the API's `actions/{name}/` route both go through `perform`, so a move has one definition
and the same rules at every door. Each entry parses its input and calls exactly one service.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales import services
from aftersales.models import (
    AfterSalesTicket,
    GoodsState,
    MerchantLiability,
    PlatformRuling,
    Refund,
    ReturnProposal,
    ReturnReason,
    TicketKind,
    TicketState,
    ticket_move_sources,
)
from desk.errors import ActionRefused
from desk.input_checks import InputRejected, clean_text, max_length_of


@dataclass(frozen=True)
class TicketAction:
    name: str
    label: object
    # The ticket's transition the move makes (AfterSalesTicket); its source is where the move is offered. None for
    # what changes no state (a note, a corrected reason): offered in every state.
    transition: str | None
    permission: str
    # run(ticket, by, data, idempotency_key): the key is the door's, made by the server, never read from `data`.
    run: Callable[..., str]
    fields: tuple[str, ...] = ()
    # Offered only when this also holds (e.g. a return needs delivered goods); the service checks it again.
    offered_when: Callable[[AfterSalesTicket], bool] = lambda ticket: True

    @property
    def states(self) -> tuple[str, ...]:
        """The states the move starts from: its transition's source, written once on the model."""
        if self.transition is None:
            return tuple(TicketState.values)
        return ticket_move_sources(self.transition)


# The refund gate's doors an agent's and a supervisor's moves go through: their transitions say where they start.
AGENT_DECIDES = services.DOOR_MOVES[services.RefundDoor.AGENT]
RULING_FOR_BUYER = services.DOOR_MOVES[services.RefundDoor.PLATFORM_RULING]

# Every text a move reads, with its limit: the column it is stored in (or looked up by). Free texts (notes, evidence)
# go into unbounded columns and keep a limit of their own; the API's serializer declares the same ones.
NOTE_MAX_LENGTH = 2000
TEXT_LIMITS = {
    "note": NOTE_MAX_LENGTH,
    "evidence": NOTE_MAX_LENGTH,
    "case_number": max_length_of(PlatformRuling, "case_number"),
    "courier_code": max_length_of(AfterSalesTicket, "return_courier_code"),
    "tracking_number": max_length_of(AfterSalesTicket, "return_tracking_number"),
    "kind": max_length_of(Refund, "kind"),
    "ticket_kind": max_length_of(AfterSalesTicket, "kind"),
    "amount": 40,
    "reason": 20,
    "liability": max_length_of(PlatformRuling, "liability"),
}
MULTILINE = {"note", "evidence"}
LABELS = {
    "note": gettext_lazy("note"),
    "evidence": gettext_lazy("evidence"),
    "case_number": gettext_lazy("platform case number"),
    "courier_code": gettext_lazy("courier code"),
    "tracking_number": gettext_lazy("tracking number"),
    "kind": gettext_lazy("kind"),
    "ticket_kind": gettext_lazy("kind of request"),
    "amount": gettext_lazy("amount"),
    "reason": gettext_lazy("reason"),
    "liability": gettext_lazy("liability"),
}


def clean_action_data(data, fields=()) -> dict:
    """The fields any move reads, checked for every door (input_checks.clean_text: text only, no control
    characters, at most the column's length); ActionRefused("invalid") names the first bad field. Numbers the API
    has already parsed (an amount, a reason's id) pass as they are."""
    cleaned = {}
    limits = {**{name: NOTE_MAX_LENGTH for name in fields}, **TEXT_LIMITS}
    for key, max_length in limits.items():
        value = data.get(key)
        if value is None:
            continue
        if key in ("amount", "reason") and isinstance(value, int | Decimal) and not isinstance(value, bool):
            cleaned[key] = value
            continue
        try:
            cleaned[key] = clean_text(
                value, max_length=max_length, multiline=key in MULTILINE or key not in TEXT_LIMITS
            )
        except InputRejected as rejected:
            raise ActionRefused(
                "invalid",
                _("%(field)s: %(problem)s") % {"field": LABELS.get(key, key), "problem": rejected.message},
            ) from None
    return cleaned


def action_text(data: dict, key: str) -> str:
    """A field of `clean_action_data`'s result, as text."""
    value = data.get(key, "")
    return value if isinstance(value, str) else str(value)


def _refund(ticket, by, data, idempotency_key=None) -> str:
    kind = action_text(data, "kind") or None
    decision = services.ticket_approve_refund(
        ticket=ticket,
        by=by,
        amount=data.get("amount") if action_text(data, "amount") else None,
        kind=kind,
        note=action_text(data, "note"),
        idempotency_key=idempotency_key,
    )
    if decision.approval:
        return _("¥%(amount)s is above your authority: sent to the supervisors, due %(due)s.") % {
            "amount": decision.approval.amount,
            "due": _local(decision.approval.due_at),
        }
    return _("Refund of ¥%(amount)s started.") % {"amount": decision.refund.amount}


def _full_refund(ticket, by, data, idempotency_key=None) -> str:
    full = {**data, "amount": ticket.order.refundable_amount, "kind": Refund.Kind.FULL}
    return _refund(ticket, by, full, idempotency_key)


def _request_approval(ticket, by, data, idempotency_key=None) -> str:
    approval = services.ticket_request_approval(
        ticket=ticket,
        by=by,
        amount=data.get("amount"),
        kind=action_text(data, "kind") or None,
        reason=action_text(data, "note"),
    )
    return _("Sent to the supervisors, due %(due)s.") % {"due": _local(approval.due_at)}


def _ruling(for_buyer: bool, message):
    def run(ticket, by, data, idempotency_key=None):
        services.ticket_platform_ruling(
            ticket=ticket,
            by=by,
            for_buyer=for_buyer,
            case_number=action_text(data, "case_number"),
            evidence=action_text(data, "evidence"),
            note=action_text(data, "note"),
            # 商责 as the platform said; left out, it is not known and the ticket's own liability stands in for it.
            liability=action_text(data, "liability") or MerchantLiability.UNKNOWN,
        )
        return str(message)

    return run


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _reason(data) -> ReturnReason:
    try:
        return ReturnReason.objects.get(pk=int(data.get("reason")))
    except (TypeError, ValueError, ReturnReason.DoesNotExist) as error:
        raise ActionRefused("invalid_reason", _("Choose a reason from the list.")) from error


def _cutoff(ticket, by, data, idempotency_key=None) -> str:
    services.ticket_request_cutoff(ticket=ticket, by=by)
    return _("Cut-off requested.")


def _return_shipped(ticket, by, data, idempotency_key=None) -> str:
    services.ticket_return_shipped(
        ticket=ticket,
        by=by,
        courier_code=action_text(data, "courier_code"),
        tracking_number=action_text(data, "tracking_number"),
    )
    return _("Return tracking number recorded.")


def _repair_shipped(ticket, by, data, idempotency_key=None) -> str:
    services.ticket_repair_shipped(
        ticket=ticket,
        by=by,
        courier_code=action_text(data, "courier_code"),
        tracking_number=action_text(data, "tracking_number"),
        note=action_text(data, "note"),
    )
    return _("Repaired goods shipped back; the ticket is resolved.")


def _decide_kind(ticket, by, data, idempotency_key=None) -> str:
    services.ticket_decide_kind(
        ticket=ticket, by=by, kind=action_text(data, "ticket_kind"), note=action_text(data, "note")
    )
    return _("Kind of request recorded.")


def _sends_goods(ticket: AfterSalesTicket) -> bool:
    """A price difference (价保) is money only: nothing is reshipped, exchanged or returned for it."""
    return ticket.kind != TicketKind.PRICE_PROTECTION


def _return_and_reorder(ticket, by, data, idempotency_key=None) -> str:
    message = services.ticket_return_and_reorder(ticket=ticket, by=by, note=action_text(data, "note"))
    return _("Now a return and refund. Tell the buyer: %(message)s") % {"message": message}


def _change_reason(ticket, by, data, idempotency_key=None) -> str:
    services.ticket_change_reason(ticket=ticket, by=by, reason=_reason(data), note=action_text(data, "note"))
    return _("Reason corrected.")


def _calls(service, message, **fixed):
    """An action that calls `service(ticket=…, by=…, note=…)` and answers `message`."""

    def run(ticket, by, data, idempotency_key=None):
        service(ticket=ticket, by=by, note=action_text(data, "note"), **fixed)
        return str(message)

    return run


ACTIONS = [
    TicketAction(
        "refund",
        gettext_lazy("Refund or compensate"),
        AGENT_DECIDES,
        services.tickets.WORK,
        _refund,
        ("amount", "kind", "note"),
    ),
    TicketAction(
        "full_refund",
        gettext_lazy("Full refund"),
        AGENT_DECIDES,
        services.tickets.WORK,
        _full_refund,
        ("note",),
        # A price-protection ticket refunds its difference, never the whole order.
        offered_when=_sends_goods,
    ),
    TicketAction(
        "request_approval",
        gettext_lazy("Ask a supervisor"),
        AGENT_DECIDES,
        services.tickets.WORK,
        _request_approval,
        ("amount", "kind", "note"),
    ),
    TicketAction(
        "reship",
        gettext_lazy("Reship"),
        "resolve_by_replacement",
        services.tickets.WORK,
        _calls(services.ticket_resolve_by_replacement, gettext_lazy("Resolved by a reshipment."), kind="reship"),
        ("note",),
        offered_when=_sends_goods,
    ),
    TicketAction(
        "exchange",
        gettext_lazy("Exchange"),
        "resolve_by_replacement",
        services.tickets.WORK,
        _calls(services.ticket_resolve_by_replacement, gettext_lazy("Resolved by an exchange."), kind="exchange"),
        ("note",),
        offered_when=_sends_goods,
    ),
    TicketAction(
        "agree_return",
        gettext_lazy("Agree to a return"),
        "agree_return",
        services.tickets.WORK,
        _calls(services.ticket_agree_return, gettext_lazy("Return agreed; waiting for the buyer's parcel.")),
        ("note",),
        offered_when=lambda ticket: _sends_goods(ticket) and ticket.order.goods_state == GoodsState.DELIVERED,
    ),
    TicketAction(
        "repair_shipped",
        gettext_lazy("Repaired and shipped back"),
        "resolve_repair",
        services.tickets.WORK,
        _repair_shipped,
        ("courier_code", "tracking_number", "note"),
    ),
    TicketAction(
        "decide_kind",
        gettext_lazy("Decide the kind of request"),
        None,
        services.tickets.WORK,
        _decide_kind,
        ("ticket_kind", "note"),
        offered_when=lambda ticket: ticket.kind == TicketKind.UNKNOWN and ticket.is_open,
    ),
    TicketAction(
        "return_and_reorder",
        gettext_lazy("Return and re-order (退货重拍)"),
        "return_and_reorder",
        services.tickets.WORK,
        _return_and_reorder,
        ("note",),
        offered_when=lambda ticket: ticket.kind == TicketKind.EXCHANGE,
    ),
    TicketAction(
        "cutoff",
        gettext_lazy("Ask the warehouse to cut off (截单)"),
        "start_intercept",
        services.tickets.WORK,
        _cutoff,
        offered_when=lambda ticket: bool(ticket.order.packed_at and not ticket.order.shipped_at),
    ),
    TicketAction(
        "reject",
        gettext_lazy("Reject"),
        "reject",
        services.tickets.WORK,
        _calls(services.ticket_reject, gettext_lazy("Rejected.")),
        ("note",),
    ),
    TicketAction(
        "reject_unchanged",
        gettext_lazy("Confirm the rejection: the buyer kept the refund only"),
        "reject",
        services.tickets.WORK,
        _calls(services.ticket_reject_unchanged_request, gettext_lazy("Rejected with the seed's reason.")),
        ("note",),
        offered_when=lambda ticket: ticket.return_proposal == ReturnProposal.EXPIRED,
    ),
    TicketAction(
        "return_shipped",
        gettext_lazy("Buyer sent the return"),
        "ship_return",
        services.tickets.WORK,
        _return_shipped,
        ("courier_code", "tracking_number"),
    ),
    TicketAction(
        "withdraw",
        gettext_lazy("Buyer withdrew"),
        "withdraw",
        services.tickets.WORK,
        _calls(services.ticket_withdraw, gettext_lazy("Recorded: the buyer withdrew.")),
        ("note",),
    ),
    TicketAction(
        "platform_review",
        gettext_lazy("Platform stepped in"),
        "escalate_to_platform",
        services.tickets.WORK,
        _calls(services.ticket_escalate_to_platform, gettext_lazy("Recorded: the platform is reviewing.")),
        ("note",),
    ),
    TicketAction(
        "ruled_for_buyer",
        gettext_lazy("Platform ruled for the buyer"),
        RULING_FOR_BUYER,
        # A supervisor's, with the platform's case number: a ruling pays money, so its recorder is not the agent.
        services.tickets.DECIDE,
        _ruling(True, gettext_lazy("Ruling recorded; the refund follows within your authority.")),
        ("case_number", "evidence", "liability", "note"),
    ),
    TicketAction(
        "ruled_for_merchant",
        gettext_lazy("Platform ruled for us"),
        "close_on_ruling",
        services.tickets.DECIDE,
        _ruling(False, gettext_lazy("Ruling recorded; ticket closed.")),
        ("case_number", "evidence", "liability", "note"),
    ),
    TicketAction(
        "close",
        gettext_lazy("Buyer accepted the rejection"),
        "close",
        services.tickets.WORK,
        _calls(services.ticket_close, gettext_lazy("Closed.")),
        ("note",),
    ),
    TicketAction(
        "change_reason",
        gettext_lazy("Correct the reason"),
        None,
        services.tickets.WORK,
        _change_reason,
        ("reason", "note"),
    ),
    TicketAction(
        "note",
        gettext_lazy("Add a note"),
        None,
        services.tickets.WORK,
        _calls(services.ticket_add_note, gettext_lazy("Note added.")),
        ("note",),
    ),
]
ACTIONS_BY_NAME = {action.name: action for action in ACTIONS}


def register(action: TicketAction) -> None:
    """Add a move that another app owns (logistics' "request an intercept"), at its start-up (AppConfig.ready);
    aftersales imports none of them. Registering the same name again replaces it."""
    if action.name in ACTIONS_BY_NAME:
        ACTIONS.remove(ACTIONS_BY_NAME[action.name])
    ACTIONS.append(action)
    ACTIONS_BY_NAME[action.name] = action


# The remedy ladder 能补不换、能换不退、能退不赔: the cheapest remedy first.
REMEDY_LADDER = ["refund", "reship", "exchange", "agree_return", "full_refund"]


def offered_actions(ticket: AfterSalesTicket, user) -> list[TicketAction]:
    """The moves to show this user on this ticket now (the service still decides)."""
    return [
        action
        for action in ACTIONS
        if ticket.state in action.states and user.has_perm(action.permission) and action.offered_when(ticket)
    ]


def perform(*, ticket: AfterSalesTicket, by, name: str, data: dict, idempotency_key: str | None = None) -> str:
    """Run the named move with the submitted data; returns the message for the user or raises ActionRefused.

    `idempotency_key` is the door's own, made by the server and bound to the ticket (and user); a key in `data` is
    ignored, so nobody can take a key another shop's refund will need. Every field is checked first
    (`clean_action_data`), whichever door it came through."""
    action = ACTIONS_BY_NAME.get(name)
    if action is None:
        raise ActionRefused("unknown_action", _("Unknown action."))
    return action.run(ticket, by, clean_action_data(data, action.fields), idempotency_key)
