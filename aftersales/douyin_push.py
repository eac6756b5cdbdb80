"""抖店 (Douyin shop) after-sales pushes mapped onto tickets: reading and checking a push, nothing written here.

A push is an HTTP POST whose body is a JSON array of messages `{"tag": "...", "msg_id": "...", "data": "<JSON>"}`,
signed in the `event-sign` header as described in docs/douyin-push.md. The messages this desk acts on:

- 200 售后单创建 (refund created): open a ticket for the order (`services.ticket_open`, by the platform's own
  after-sales id, so a replayed push returns the ticket it opened);
- 203 买家退货 (the buyer sent the return): record the return's courier and tracking number;
- 207 售后关闭 (closed): when the buyer cancelled, record the withdrawal.

Other tags are acknowledged and ignored. Tag numbers, field names and reason labels are kept in the tables below,
so that a difference from the live platform is corrected in one place.
"""

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.utils.translation import gettext as _

from aftersales.models import AfterSalesTicket, Order, Shop, TicketKind
from desk.errors import ActionRefused
from desk.input_checks import InputRejected, clean_text, echo, loads_json, max_length_of

TAG_CREATED = "200"
TAG_RETURN_SHIPPED = "203"
TAG_CLOSED = "207"

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
MAX_MESSAGES = 200
# A tag or message id is echoed in the answer, not stored: any printable text up to this length.
MAX_ID_LENGTH = 200


@dataclass(frozen=True)
class PushMessage:
    tag: str
    msg_id: str
    data: dict


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


def signature_valid(*, body: bytes, app_key: str, app_secret: str, method: str, signature: str) -> bool:
    """event-sign: md5(app_key + body + app_secret) in hex, or HMAC-SHA256 of the same text keyed by the secret
    when the header sign-method says hmac-sha256."""
    text = app_key.encode() + body + app_secret.encode()
    if method.lower() in ("hmac-sha256", "hmac_sha256"):
        expected = hmac.new(app_secret.encode(), text, hashlib.sha256).hexdigest()
    else:
        expected = hashlib.md5(text).hexdigest()  # noqa: S324 - the platform's scheme, not ours to choose
    return bool(app_secret) and hmac.compare_digest(expected, (signature or "").strip().lower())


def read_messages(body: bytes) -> list[PushMessage]:
    """The push's messages; ActionRefused("invalid_push") for a body that is not the documented shape. The body and
    each message's data are read by input_checks.loads_json (UTF-8, bounded nesting, no NUL or lone surrogate)."""
    payload = _loads(body, _("The body is not JSON."))
    if not isinstance(payload, list) or not payload:
        raise _invalid(_("The body must be a non-empty JSON array of messages."))
    if len(payload) > MAX_MESSAGES:
        raise _invalid(_("At most %(max)d messages per push.") % {"max": MAX_MESSAGES})
    messages = []
    for index, item in enumerate(payload):
        if not isinstance(item, dict) or not _is_code(item.get("tag")):
            raise _invalid(_("Message %(index)d has no tag.") % {"index": index})
        msg_id = item.get("msg_id", "")
        if not _is_code(msg_id) and msg_id != "":
            raise _invalid(_("Message %(index)d: msg_id is not valid.") % {"index": index})
        data = item.get("data")
        if isinstance(data, str):
            data = _loads(data, _("Message %(index)d: data is not JSON.") % {"index": index})
        if not isinstance(data, dict):
            raise _invalid(_("Message %(index)d: data must be a JSON object.") % {"index": index})
        messages.append(PushMessage(tag=str(item["tag"]), msg_id=str(msg_id), data=data))
    return messages


def _loads(raw, message):
    try:
        return loads_json(raw)
    except InputRejected as rejected:
        raise _invalid(f"{message} {rejected.message}") from None


def _is_code(value) -> bool:
    """A tag or message id: a whole number or a short printable text."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return abs(value) < 10**20
    return isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH and value.isprintable()


def refund_created(message: PushMessage) -> RefundCreated | None:
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
        raise _invalid(_("refund_amount must not be negative."))
    return RefundCreated(
        shop_id=field_text(data, "shop_id"),
        aftersale_id=field_text(data, "aftersale_id"),
        order_id=field_text(data, "p_id"),
        kind=kind,
        reason_code=REASONS[label],
        amount=(Decimal(amount) / 100).quantize(Decimal("0.01")),  # 抖店 amounts are in fen (分)
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
            raise _invalid(_("%(field)s is missing or not text.") % {"field": key})
        return ""
    try:
        text = clean_text(
            str(value), max_length=FIELD_MAX_LENGTHS.get(key, DEFAULT_MAX_LENGTH), multiline=key in MULTILINE_FIELDS
        )
    except InputRejected as rejected:
        raise _invalid(f"{key}: {rejected.message}") from None
    if required and not text:
        raise _invalid(_("%(field)s is not valid.") % {"field": key})
    return text


def _integer(data: dict, key: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > 10**12:
        raise _invalid(_("%(field)s must be a whole number.") % {"field": key})
    return value


def _epoch(data: dict, key: str) -> datetime:
    seconds = _integer(data, key)
    if not 0 < seconds < 4_102_444_800:  # before 2100
        raise _invalid(_("%(field)s is not a time.") % {"field": key})
    return datetime.fromtimestamp(seconds, tz=UTC)


def _invalid(message) -> ActionRefused:
    return ActionRefused("invalid_push", message)
