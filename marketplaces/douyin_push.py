"""抖店 pushes at the desk's first door (`POST /api/v1/marketplaces/douyin/push/`, signed with the app of
settings.DOUYIN_APP_KEY / DOUYIN_APP_SECRET), applied to tickets through the same ticket services an agent's click
uses, as the system user (the platform acts; its signature was checked by the door).

Moved here from aftersales (issue 19): the envelope, the signature and the platform's codes are the adapter's
(marketplaces.adapters.douyin); what this door reads of a message for the desk (its kind, the buyer's reason label,
the columns' lengths) and how it applies it stay as they were, so the door answers exactly as before:

- 200 售后单创建 (refund created): open a ticket for the order (`ticket_open_or_find`, by the platform's own
  after-sales id, so a replayed push returns the ticket it opened);
- 203 买家退货 (the buyer sent the return): record the return's courier and tracking number;
- 207 售后关闭 (closed): when the buyer cancelled, record the withdrawal.

Other tags are acknowledged and ignored here.

A shop connected to 抖店 through the connector (marketplaces.models.ShopConnection) is not read from the push at
all: each of its messages makes the connector read the record (/afterSale/Detail) and apply it as the pull does
(marketplaces.services.record_apply), so this door and the connection's own door
(/marketplaces/push/<connection>/) agree. The fields above are read only for shops not connected yet.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from aftersales.models import AfterSalesTicket, Order, Platform, ReturnReason, Shop, TicketKind, TicketState
from aftersales.selectors import system_user
from aftersales.services import ticket_open_or_find, ticket_return_shipped, ticket_withdraw
from desk.errors import ActionRefused
from desk.input_checks import InputRejected, clean_text, echo, max_length_of
from marketplaces.adapters import get_adapter
from marketplaces.adapters.base import PlatformError
from marketplaces.adapters.douyin import (
    TAG_CLOSED,
    TAG_CREATED,
    TAG_RETURN_SHIPPED,
    DouyinMessage,
    fen_to_yuan,
    invalid_push,
    push_id,
)
from marketplaces.models import PlatformRecord, ShopConnection
from marketplaces.services import connection_may_call, credentials_for, handle_platform_error, record_apply

# aftersale_type -> our kind. 0 退货退款, 1 已发货仅退款, 2 未发货仅退款, 3 换货; the others (价保, 补寄, ...) are
# not after-sales tickets of this desk.
KINDS = {
    0: TicketKind.RETURN_REFUND,
    1: TicketKind.REFUND_ONLY,
    2: TicketKind.REFUND_ONLY,
    3: TicketKind.EXCHANGE,
}

# The reason the buyer chose, as 抖店 shows it -> our taxonomy's code. Which reasons count as quality matters for
# 品质退款率 and 商品体验退款率, so an unknown label is refused (the push is retried) rather than guessed.
REASONS = {
    "多拍/拍错/不想要": "changed_mind",
    "不想要了": "changed_mind",
    "七天无理由退换货": "changed_mind",
    "尺码拍错/不喜欢/效果不好": "changed_mind",
    "其他": "changed_mind",
    "效果不好/不喜欢": "not_as_effective",
    "未按约定时间发货": "late_shipping",
    "快递一直未送到": "delivery_delay",
    "快递无跟踪记录": "delivery_delay",
    "空包裹/少货": "missing_items",
    "少件/漏发": "missing_items",
    "发错货": "wrong_item",
    "货物破损已拒签": "damaged_in_transit",
    "商品破损/污渍": "damaged_in_transit",
    "质量问题": "quality_defect",
    "做工粗糙/有瑕疵": "quality_defect",
    "商品与描述不符": "not_as_described",
    "生产日期/保质期与商品描述不符": "not_as_described",
    "假冒品牌": "not_as_described",
    "颜色/款式/图案与描述不符": "wrong_colour_style",
}

# 售后关闭 with this close reason is the buyer's own cancellation (撤销申请); others (rejected, timed out) are ours.
BUYER_CANCELLED = "buyer_cancel"


@dataclass(frozen=True)
class RefundCreated:
    shop_id: str
    aftersale_id: str
    order_id: str
    kind: str
    reason_code: str
    amount: Decimal
    applied_at: datetime
    buyer_message: str


def refund_created(message: DouyinMessage) -> RefundCreated | None:
    """The ticket to open for a 200 message; None for an after-sales type this desk does not handle."""
    data = message.data
    kind = KINDS.get(_integer(data, "aftersale_type"))
    if kind is None:
        return None
    label = field_text(data, "reason")
    if label not in REASONS:
        raise ActionRefused(
            "unknown_reason",
            _("The Douyin reason “%(label)s” is not mapped to a reason of ours.") % {"label": echo(label)},
        )
    amount = _integer(data, "refund_amount")
    if amount < 0:
        raise invalid_push(_("refund_amount must not be negative."))
    return RefundCreated(
        shop_id=field_text(data, "shop_id"),
        aftersale_id=field_text(data, "aftersale_id"),
        order_id=field_text(data, "p_id"),
        kind=kind,
        reason_code=REASONS[label],
        amount=fen_to_yuan(amount),  # 分 → 元, the adapter's one conversion
        applied_at=_epoch(data, "apply_time"),
        buyer_message=field_text(data, "buyer_message", required=False),
    )


# The longest text each field may hold: the column it is stored in, or for a field only looked up, that column.
FIELD_MAX_LENGTHS = {
    "shop_id": max_length_of(Shop, "platform_shop_id"),
    "aftersale_id": max_length_of(AfterSalesTicket, "platform_ticket_id"),
    "p_id": max_length_of(Order, "platform_order_id"),
    "tracking_no": max_length_of(AfterSalesTicket, "return_tracking_number"),
    "logistics_code": max_length_of(AfterSalesTicket, "return_courier_code"),
}
MULTILINE_FIELDS = {"buyer_message"}
ID_FIELDS = {"shop_id", "aftersale_id", "p_id"}
DEFAULT_MAX_LENGTH = 2000


def field_text(data: dict, key: str, *, required: bool = True) -> str:
    """A text field of a message, checked by input_checks.clean_text against its column's length. An id may be a
    whole number, read as its digits (抖店 sends ids as numbers); any other field must be a JSON string."""
    value = data.get(key)
    types = (str, int) if key in ID_FIELDS else (str,)
    if isinstance(value, bool) or not isinstance(value, types):
        if required or value is not None:
            raise invalid_push(_("%(field)s is missing or not text.") % {"field": key})
        return ""
    try:
        text = clean_text(
            str(value), max_length=FIELD_MAX_LENGTHS.get(key, DEFAULT_MAX_LENGTH), multiline=key in MULTILINE_FIELDS
        )
    except InputRejected as rejected:
        raise invalid_push(f"{key}: {rejected.message}") from None
    if required and not text:
        raise invalid_push(_("%(field)s is not valid.") % {"field": key})
    return text


def _integer(data: dict, key: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > 10**12:
        raise invalid_push(_("%(field)s must be a whole number.") % {"field": key})
    return value


def _epoch(data: dict, key: str) -> datetime:
    seconds = _integer(data, key)
    if not 0 < seconds < 4_102_444_800:  # before 2100
        raise invalid_push(_("%(field)s is not a time.") % {"field": key})
    return datetime.fromtimestamp(seconds, tz=UTC)


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


def douyin_push_apply(*, messages: list[DouyinMessage]) -> PushSummary:
    """Apply each message on its own (one bad message does not hold back the others); a refused one is reported
    and written nothing, so the platform's retry of the push applies it once it can be, and replays the rest as
    no-ops."""
    summary = PushSummary()
    connections = _connections(messages)
    for message in messages:
        outcome = PushOutcome(msg_id=message.msg_id, tag=message.tag, outcome="ignored")
        connection = connections.get(push_id(message.data, "shop_id"))
        try:
            if connection is not None:
                _apply_through_connection(connection, message, outcome)  # reads the platform: no transaction here
            else:
                with transaction.atomic():
                    _apply_one(message, outcome)
        except ActionRefused as refusal:
            outcome.outcome, outcome.code, outcome.message = "refused", refusal.code, str(refusal.message)
        summary.outcomes.append(outcome)
    return summary


# What the connector's record_apply answered, as this door's outcomes. A record stored but not applied yet (its
# order not imported, say) is acknowledged: the connector retries it, the platform need not push it again.
CONNECTOR_OUTCOMES = {
    "opened": "opened",
    "moved": "recorded",
    "unchanged": "replayed",
    "stale": "replayed",
    "problem": "ignored",
}


def _connections(messages: list[DouyinMessage]) -> dict[str, ShopConnection]:
    """The connected 抖店 shops the push names, by shop_id: their messages go through the connector."""
    shop_ids = {push_id(message.data, "shop_id") for message in messages} - {""}
    connections = ShopConnection.objects.filter(
        shop__platform__code=Platform.Code.DOUYIN, shop__platform_shop_id__in=shop_ids, is_enabled=True
    ).select_related("shop__platform")
    return {connection.shop.platform_shop_id: connection for connection in connections}


def _apply_through_connection(connection: ShopConnection, message: DouyinMessage, outcome: PushOutcome) -> None:
    """A connected shop: the push is a signal. The record is read from the platform (its whole word at its
    update_time) and applied by the connector, idempotent by version like the pull."""
    platform_id = field_text(message.data, "aftersale_id")
    if not connection_may_call(connection):
        outcome.code, outcome.message = "paused", _("The shop's connection is paused or broken; the pull brings it.")
        return
    try:
        record = get_adapter(connection.platform_code).read(credentials_for(connection), platform_id)
    except PlatformError as error:
        handle_platform_error(connection, error)
        outcome.code, outcome.message = type(error).__name__, error.message
        return
    outcome.outcome = CONNECTOR_OUTCOMES[record_apply(connection=connection, record=record)]
    row = PlatformRecord.objects.filter(connection=connection, platform_id=platform_id).first()
    outcome.ticket_id = row.ticket_id if row is not None else None
    if row is not None and row.problem:
        outcome.code, outcome.message = "problem", row.problem


def _apply_one(message: DouyinMessage, outcome: PushOutcome) -> None:
    if message.tag == TAG_CREATED:
        created = refund_created(message)
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
    elif message.tag == TAG_RETURN_SHIPPED:
        ticket = _ticket(message)
        tracking_number = field_text(message.data, "tracking_no")
        courier_code = field_text(message.data, "logistics_code", required=False).upper()
        outcome.ticket_id = ticket.pk
        if ticket.return_tracking_number:
            outcome.outcome = "replayed"
            return
        ticket_return_shipped(
            ticket=ticket, by=system_user(), courier_code=courier_code, tracking_number=tracking_number
        )
        outcome.outcome = "recorded"
    elif message.tag == TAG_CLOSED:
        ticket = _ticket(message)
        outcome.ticket_id = ticket.pk
        if field_text(message.data, "close_reason", required=False) != BUYER_CANCELLED:
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


def _ticket(message: DouyinMessage) -> AfterSalesTicket:
    shop = _shop(field_text(message.data, "shop_id"))
    aftersale_id = field_text(message.data, "aftersale_id")
    ticket = AfterSalesTicket.objects.filter(shop=shop, platform_ticket_id=aftersale_id).first()
    if ticket is None:
        raise ActionRefused(
            "unknown_ticket", _("No ticket has the Douyin after-sales id %(id)s.") % {"id": aftersale_id}
        )
    return ticket
