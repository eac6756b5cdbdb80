"""Marketplace pushes applied to tickets, each message through the same ticket services an agent's click uses,
as the system user (the platform acts; its signature was checked by the door)."""

from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from aftersales import douyin_push
from aftersales.models import AfterSalesTicket, Order, Platform, ReturnReason, Shop, TicketState
from aftersales.selectors import system_user
from aftersales.services.tickets import ticket_open_or_find, ticket_return_shipped, ticket_withdraw
from desk.errors import ActionRefused


@dataclass
class PushOutcome:
    msg_id: str
    tag: str
    outcome: str  # opened, replayed, recorded, ignored, refused
    ticket_id: int | None = None
    code: str = ""
    message: str = ""


@dataclass
class PushSummary:
    outcomes: list[PushOutcome] = field(default_factory=list)

    @property
    def refused(self) -> list[PushOutcome]:
        return [outcome for outcome in self.outcomes if outcome.outcome == "refused"]


def douyin_push_apply(*, messages: list[douyin_push.PushMessage]) -> PushSummary:
    """Apply each message on its own (one bad message does not hold back the others); a refused one is reported
    and written nothing, so the platform's retry of the push applies it once it can be, and replays the rest as
    no-ops."""
    summary = PushSummary()
    for message in messages:
        outcome = PushOutcome(msg_id=message.msg_id, tag=message.tag, outcome="ignored")
        try:
            with transaction.atomic():
                _apply_one(message, outcome)
        except ActionRefused as refusal:
            outcome.outcome, outcome.code, outcome.message = "refused", refusal.code, str(refusal.message)
        summary.outcomes.append(outcome)
    return summary


def _apply_one(message: douyin_push.PushMessage, outcome: PushOutcome) -> None:
    if message.tag == douyin_push.TAG_CREATED:
        created = douyin_push.refund_created(message)
        if created is None:
            return
        order = _order(created.shop_id, created.order_id)
        ticket, opened = ticket_open_or_find(
            order=order,
            kind=created.kind,
            reason=ReturnReason.objects.get(code=created.reason_code),
            by=system_user(),
            requested_amount=created.amount or None,
            buyer_message=created.buyer_message,
            platform_ticket_id=created.aftersale_id,
            opened_at=created.applied_at,
        )
        outcome.outcome, outcome.ticket_id = ("opened" if opened else "replayed"), ticket.pk
    elif message.tag == douyin_push.TAG_RETURN_SHIPPED:
        ticket = _ticket(message)
        tracking_number = douyin_push.field_text(message.data, "tracking_no")
        courier_code = douyin_push.field_text(message.data, "logistics_code", required=False).upper()
        outcome.ticket_id = ticket.pk
        if ticket.return_tracking_number:
            outcome.outcome = "replayed"
            return
        ticket_return_shipped(
            ticket=ticket, by=system_user(), courier_code=courier_code, tracking_number=tracking_number
        )
        outcome.outcome = "recorded"
    elif message.tag == douyin_push.TAG_CLOSED:
        ticket = _ticket(message)
        outcome.ticket_id = ticket.pk
        if douyin_push.field_text(message.data, "close_reason", required=False) != douyin_push.BUYER_CANCELLED:
            return  # closed by our own decision or the platform's: already recorded by the move that caused it
        if ticket.state == TicketState.CANCELLED:
            outcome.outcome = "replayed"
            return
        ticket_withdraw(ticket=ticket, by=system_user(), note=_("Cancelled by the buyer on Douyin."))
        outcome.outcome = "recorded"


def _shop(shop_id: str) -> Shop:
    shop = Shop.objects.filter(platform__code=Platform.Code.DOUYIN, platform_shop_id=shop_id).first()
    if shop is None:
        raise ActionRefused("unknown_shop", _("No Douyin shop has the shop_id %(id)s.") % {"id": shop_id})
    return shop


def _order(shop_id: str, order_id: str) -> Order:
    order = (
        Order.objects.filter(shop=_shop(shop_id), platform_order_id=order_id).select_related("shop__platform").first()
    )
    if order is None:
        # Usually the order import has not caught up yet; the platform retries the push.
        raise ActionRefused("unknown_order", _("The order %(id)s is not in the desk yet.") % {"id": order_id})
    return order


def _ticket(message: douyin_push.PushMessage) -> AfterSalesTicket:
    shop = _shop(douyin_push.field_text(message.data, "shop_id"))
    aftersale_id = douyin_push.field_text(message.data, "aftersale_id")
    ticket = AfterSalesTicket.objects.filter(shop=shop, platform_ticket_id=aftersale_id).first()
    if ticket is None:
        raise ActionRefused(
            "unknown_ticket", _("No ticket has the Douyin after-sales id %(id)s.") % {"id": aftersale_id}
        )
    return ticket
