"""抖店 (Douyin shop) open platform adapter: signing, the after-sales gateway calls, the push, and the mapping of
Douyin's codes onto the platform-neutral shapes of base.py. Protocol only: no database.

Facts from /work/shared/MARKETPLACES.md §2 and the public SDKs it names (zsmhub/doudian-sdk utils/sign_util.go and
api/afterSale_*; fudiwei's .NET SDK). Where a fact is marked "not verified" there, the safe choice is named here
with the words NOT VERIFIED next to it.
"""

import base64
import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from django.utils.translation import gettext as _

from desk.errors import ActionRefused
from desk.input_checks import InputRejected, clean_text, loads_json

from .base import (
    AfterSaleRecord,
    AgreementResult,
    BusinessRefusal,
    Credentials,
    OutcomeUnknown,
    PlatformError,
    PullPage,
    PushInvalid,
    PushMessage,
    RateLimited,
    RecordKind,
    RecordStatus,
    RefundAgreement,
    ReturnAddress,
    ReturnReceipt,
    Ruling,
    SessionInvalid,
    SignatureInvalid,
    TokenGrant,
    TokenRefreshUnavailable,
    fen_to_yuan,
    post_for_json_object,
)

logger = logging.getLogger(__name__)

PLATFORM_CODE = "douyin"

# --- amounts: 抖店 sends every amount as whole 分 (refund_amount, refund_post_amount, real_refund_amount,
# intercept_cost): base.fen_to_yuan, called only where a record is read.


def epoch_to_utc(seconds: int | None) -> datetime | None:
    """Unix seconds (apply_time, update_time, status_deadline) to an aware UTC time; 0 or absent is "none"."""
    if not seconds:
        return None
    return datetime.fromtimestamp(int(seconds), tz=UTC)


# --- signing


def param_json(params: dict) -> str:
    """The body and the signed text: keys sorted at every level (Go's json.Marshal of a map, as the SDK re-marshals),
    compact separators, no HTML escaping, UTF-8 kept as is (ensure_ascii=False: Go writes 中文 raw)."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sign_text(*, app_key: str, app_secret: str, method: str, param_json_text: str, timestamp: int) -> str:
    return f"{app_secret}app_key{app_key}method{method}param_json{param_json_text}timestamp{timestamp}v2{app_secret}"


def sign(
    *,
    app_key: str,
    app_secret: str,
    method: str,
    param_json_text: str,
    timestamp: int,
    sign_method: str = "hmac-sha256",
) -> str:
    """Lower hex of HMAC-SHA256(key=secret, secret+app_key…+v2+secret), or MD5 of the same text (sign_method md5)."""
    text = sign_text(
        app_key=app_key, app_secret=app_secret, method=method, param_json_text=param_json_text, timestamp=timestamp
    ).encode()
    if sign_method == "md5":
        return hashlib.md5(text).hexdigest()  # noqa: S324 - the platform's scheme, not ours to choose
    return hmac.new(app_secret.encode(), text, hashlib.sha256).hexdigest()


def method_of(path: str) -> str:
    """`/afterSale/List` → `afterSale.List`."""
    return path.strip("/").replace("/", ".")


def push_signature(*, app_key: str, app_secret: str, body: bytes, sign_method: str = "md5") -> str:
    """event-sign: MD5(app_key + raw body + app_secret) in hex; HMAC-SHA256 keyed by the secret over the same text
    when the push says sign-method hmac-sha256 (kept from the desk's earlier door, which accepted both)."""
    text = app_key.encode() + body + app_secret.encode()
    if sign_method.lower() in ("hmac-sha256", "hmac_sha256"):
        return hmac.new(app_secret.encode(), text, hashlib.sha256).hexdigest()
    return hashlib.md5(text).hexdigest()  # noqa: S324 - the platform's scheme


# --- mapping

# aftersale_type (list and push) / after_sale_type (detail). 4 系统取消 and 5 用户取消 appear only in the detail:
# they say how the record ended, not what was asked, so the kind is UNKNOWN (kept as the code) and the status says
# closed (below).
KINDS: dict[int, RecordKind] = {
    0: RecordKind.RETURN_REFUND,  # 退货退款
    1: RecordKind.REFUND_ONLY,  # 已发货仅退款
    2: RecordKind.REFUND_ONLY,  # 未发货仅退款
    3: RecordKind.EXCHANGE,  # 换货
    4: RecordKind.UNKNOWN,  # 系统取消 (detail only)
    5: RecordKind.UNKNOWN,  # 用户取消 (detail only)
    6: RecordKind.PRICE_PROTECTION,  # 价保
    7: RecordKind.RESHIP,  # 补寄
    8: RecordKind.REPAIR,  # 维修
}
SUB_TYPE_EXCHANGE_FOR_REPAIR = 8001  # 以换代修: a repair the seller settles by exchanging the goods
SUB_KINDS: dict[int, RecordKind] = {SUB_TYPE_EXCHANGE_FOR_REPAIR: RecordKind.EXCHANGE}
TYPE_SYSTEM_CANCELLED, TYPE_BUYER_CANCELLED = 4, 5

# aftersale_status (standard_aftersale_status). 11 待商家二次同意 covers "the return is on its way" and "the return
# is back": RETURN_SHIPPED when the buyer's waybill is known, else WAITING_SELLER_CONFIRM (see record_status).
STATUSES: dict[int, RecordStatus] = {
    3: RecordStatus.WAITING_BUYER_RECEIPT,  # 换货待买家收货 (older code in the SDK's list response)
    6: RecordStatus.WAITING_SELLER,  # 待商家同意
    7: RecordStatus.WAITING_BUYER_RETURN,  # 待买家退货
    8: RecordStatus.SELLER_SHIPPING,  # 待商家发货 (exchange, reship, repair)
    11: RecordStatus.WAITING_SELLER_CONFIRM,  # 待商家二次同意 (收货)
    12: RecordStatus.SUCCEEDED,  # 售后成功
    13: RecordStatus.WAITING_BUYER_RECEIPT,  # 换货/补寄/维修 待买家收货
    14: RecordStatus.SUCCEEDED,  # 换货/补寄/维修 成功
    27: RecordStatus.SELLER_REFUSED,  # 商家一次拒绝
    28: RecordStatus.CLOSED,  # 售后失败 (closed: withdrawn, refused for good, expired)
    29: RecordStatus.SELLER_REFUSED,  # 商家二次拒绝
    51: RecordStatus.SUCCEEDED,  # 订单取消成功 (detail: refund before shipping by cancelling the order)
    53: RecordStatus.SUCCEEDED,  # 逆向交易已完成 (detail)
}
MONEY_STATUSES = {12, 51, 53}  # success statuses that move money: confirmed only by refund_status
STATUS_WAITING_SELLER, STATUS_RETURN_WAITING_CONFIRM, STATUS_FAILED = 6, 11, 28

# refund_status: where the money stands. A success status is SUCCEEDED only when the money says so.
REFUND_STATUSES: dict[int, RecordStatus] = {
    0: RecordStatus.UNKNOWN,  # absent: the record's status decides alone
    1: RecordStatus.REFUNDING,  # 待退款
    2: RecordStatus.REFUNDING,  # 退款中
    3: RecordStatus.SUCCEEDED,  # 退款成功
    4: RecordStatus.REFUNDING,  # 退款失败: not succeeded; the platform retries, the agent sees the code
    5: RecordStatus.SUCCEEDED,  # 追缴成功: refunded, then recovered from the merchant's account
}
REFUND_PAID = {3, 5}

# arbitrate_status (仲裁): the request's enum in the Go SDK. In progress → PLATFORM_REVIEW while the record is open;
# ended with a side → that ruling.
ARBITRATION_OPEN = {1, 4, 5}  # 客服处理中, 待商家举证, 待与买家协商
RULINGS: dict[int, Ruling] = {
    0: Ruling.NONE,  # 未介入
    1: Ruling.NONE,  # 客服处理中
    2: Ruling.FOR_BUYER,  # 仲裁结束-支持买家 (list response: 客服同意)
    3: Ruling.FOR_MERCHANT,  # 仲裁结束-支持卖家 (list response: 客服拒绝)
    4: Ruling.NONE,  # 待商家举证
    5: Ruling.NONE,  # 待与买家协商
    6: Ruling.NONE,  # 仲裁结束, side not given: the record's status says the outcome
    255: Ruling.NONE,  # 取消 / 仲裁结束
}
FINAL_STATUSES = {12, 14, 28, 51, 53}
# Arbitration overrides the status only while the record is still open (a refusal, 27/29, is where it usually starts).
OPEN_STATUSES = set(STATUSES) - FINAL_STATUSES


def record_kind(aftersale_type: int, sub_type: int = 0) -> RecordKind:
    if sub_type in SUB_KINDS:
        return SUB_KINDS[sub_type]
    return KINDS.get(aftersale_type, RecordKind.UNKNOWN)


def record_status(
    status: int,
    *,
    aftersale_type: int = 0,
    refund_status: int = 0,
    arbitrate_status: int = 0,
    has_return_waybill: bool = False,
) -> RecordStatus:
    if aftersale_type == TYPE_BUYER_CANCELLED:
        return RecordStatus.CLOSED_BY_BUYER
    if aftersale_type == TYPE_SYSTEM_CANCELLED:
        return RecordStatus.CLOSED
    if status in OPEN_STATUSES and arbitrate_status in ARBITRATION_OPEN:
        return RecordStatus.PLATFORM_REVIEW
    mapped = STATUSES.get(status, RecordStatus.UNKNOWN)
    if status == STATUS_RETURN_WAITING_CONFIRM and has_return_waybill:
        return RecordStatus.RETURN_SHIPPED
    if status in MONEY_STATUSES and refund_status and refund_status not in REFUND_PAID:
        # 售后成功 while the money is still 待退款/退款中/失败: not a success until the platform pays.
        return REFUND_STATUSES.get(refund_status, RecordStatus.REFUNDING)
    return mapped


def record_ruling(arbitrate_status: int) -> Ruling:
    return RULINGS.get(arbitrate_status, Ruling.NONE)


# --- errors

CODE_OK = 10000
CODE_SERVICE = 20000
CODE_PERMISSION = 30001
CODE_INVALID = 40003
CODE_TOKEN = 50001
CODE_TRAFFIC = 60000
CODE_OFFLINE = 70000
SESSION_SUB_CODES = ("access-token", "authorization-no-existed")
OUR_FAULT_SUB_CODES = ("isv.signature-invalid", "isv.timestamp-invalid", "isv.idempotent-id-existed")


def raise_for_answer(answer: dict) -> None:
    """A gateway answer whose `code` is not 10000, as base.py's typed error."""
    code = answer.get("code")
    if code == CODE_OK:
        return
    sub_code = str(answer.get("sub_code") or "")
    message = str(answer.get("sub_msg") or answer.get("msg") or "")
    kwargs = {"code": str(code), "sub_code": sub_code}
    if code == CODE_TRAFFIC or "traffic-limited" in sub_code:
        raise RateLimited(message, **kwargs)
    if code in (CODE_TOKEN, CODE_PERMISSION) or any(part in sub_code for part in SESSION_SUB_CODES):
        raise SessionInvalid(message, **kwargs)
    if code == CODE_SERVICE:
        # 服务异常: the platform may have acted before failing; the caller reads before acting again.
        raise OutcomeUnknown(message, **kwargs)
    if code == CODE_OFFLINE or sub_code in OUR_FAULT_SUB_CODES:
        raise PlatformError(message, **kwargs)
    raise BusinessRefusal(message, **kwargs)


# --- records


def _int(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def record_from_fields(fields: dict, raw: dict) -> AfterSaleRecord:
    """One record from the flat field names the list, the detail and the push share once normalised."""
    aftersale_type = _int(fields.get("aftersale_type"))
    status = _int(fields.get("aftersale_status"))
    refund_status = _int(fields.get("refund_status"))
    arbitrate_status = _int(fields.get("arbitrate_status"))
    tracking = _text(fields.get("return_tracking_no"))
    update_time = _int(fields.get("update_time"))
    apply_time = _int(fields.get("apply_time")) or update_time
    amount = fen_to_yuan(_int(fields.get("refund_amount")))
    mapped = record_status(
        status,
        aftersale_type=aftersale_type,
        refund_status=refund_status,
        arbitrate_status=arbitrate_status,
        has_return_waybill=bool(tracking),
    )
    refunded = None
    if mapped == RecordStatus.SUCCEEDED and status in MONEY_STATUSES:
        real = fields.get("real_refund_amount")
        refunded = fen_to_yuan(_int(real)) if real else amount
    return AfterSaleRecord(
        platform_id=_text(fields.get("aftersale_id")),
        order_id=_text(fields.get("order_id")),
        kind=record_kind(aftersale_type, _int(fields.get("aftersale_sub_type"))),
        status=mapped,
        version=str(update_time),
        modified_at=epoch_to_utc(update_time) or datetime.fromtimestamp(0, tz=UTC),
        applied_at=epoch_to_utc(apply_time) or datetime.fromtimestamp(0, tz=UTC),
        amount=amount,
        reason=_text(fields.get("reason")),
        buyer_message=_text(fields.get("buyer_message")),
        platform_kind=str(aftersale_type)
        + (f"/{fields['aftersale_sub_type']}" if fields.get("aftersale_sub_type") else ""),
        platform_status=str(status),
        deadline=epoch_to_utc(_int(fields.get("status_deadline"))),
        return_courier=_text(fields.get("return_courier")),
        return_tracking_number=tracking,
        ruling=record_ruling(arbitrate_status),
        refunded_amount=refunded,
        sub_order_id=_text(fields.get("sub_order_id")),
        raw=raw,
    )


def record_from_list_item(item: dict) -> AfterSaleRecord:
    """One of /afterSale/List's items: {aftersale_info, order_info{shop_order_id, related_order_info}, text_part}."""
    info = item.get("aftersale_info") or {}
    order = item.get("order_info") or {}
    text = item.get("text_part") or {}
    fields = {
        **info,
        "order_id": order.get("shop_order_id") or "",
        "sub_order_id": info.get("related_id") or "",
        "reason": text.get("reason_text") or "",
        "return_tracking_no": info.get("return_logistics_code") or "",
        "return_courier": info.get("return_logistics_company_name") or "",
    }
    return record_from_fields(fields, item)


def record_from_detail(data: dict) -> AfterSaleRecord:
    """/afterSale/Detail's data: {process_info{after_sale_info, arbitrate_info, logistics_info}, order_info}."""
    process = data.get("process_info") or {}
    info = process.get("after_sale_info") or {}
    arbitration = process.get("arbitrate_info") or {}
    returned = (process.get("logistics_info") or {}).get("return") or {}
    order = data.get("order_info") or {}
    sku_orders = order.get("sku_order_infos") or [{}]
    fields = {
        "aftersale_id": info.get("after_sale_id"),
        "aftersale_type": info.get("after_sale_type"),
        "aftersale_sub_type": info.get("after_sale_sub_type"),
        "aftersale_status": info.get("after_sale_status"),
        "refund_status": info.get("refund_status"),
        "arbitrate_status": arbitration.get("arbitrate_status"),
        "apply_time": info.get("apply_time"),
        "update_time": info.get("update_time"),
        "status_deadline": info.get("status_deadline"),
        # refund_total_amount includes the postage (refund_post_amount); the list's refund_amount does not, and the
        # two must agree or the same version would read as two amounts.
        "refund_amount": _int(info.get("refund_total_amount")) - _int(info.get("refund_post_amount")),
        "real_refund_amount": info.get("real_refund_amount"),
        "reason": info.get("reason"),
        "buyer_message": info.get("reason_remark"),
        "order_id": order.get("shop_order_id"),
        "sub_order_id": (sku_orders[0] or {}).get("sku_order_id"),
        "return_tracking_no": returned.get("tracking_no"),
        "return_courier": returned.get("company_code") or returned.get("company_name"),
    }
    return record_from_fields(fields, data)


# --- push

# Every after-sales tag of the message catalogue (MARKETPLACES.md §2; names doudian_refund_* in the .NET SDK).
PUSH_TAGS: dict[str, str] = {
    "200": "RefundCreated",  # 买家发起售后
    "201": "RefundAgreed",  # 同意退款 (also when a return's receipt is confirmed)
    "202": "ReturnApplyAgreed",  # 同意退货申请
    "203": "BuyerReturnGoods",  # 买家退货给卖家
    "204": "RefundRefused",  # 拒绝退款
    "205": "ReturnApplyRefused",  # 拒绝退货申请
    "206": "RefundSuccess",  # 退款成功
    "207": "RefundClosed",  # 售后关闭
    "208": "BuyerModifyAfterSale",  # 买家修改售后
    "209": "AfterSaleTimeoutChanged",  # 超时时长变更 (status_deadline)
    "211": "ExchangeConfirmedAndReshipped",  # 确认换货并二次发货
    "212": "ArbitrateApplied",  # 仲裁 …
    "213": "ArbitrateEvidenceRequested",
    "214": "ArbitrateEvidenceSubmitted",
    "215": "ArbitrateAudited",
    "216": "ArbitrateCancelled",
    "217": "ArbitrateServiceIntervened",
    "218": "ArbitrateClosed",
    "224": "SpecialRightsAfterSaleCreated",  # 特殊权益售后
    "225": "SpecialRightsRefundSuccess",  # 特殊权益退款成功
    "226": "ReshipSellerShipped",  # 补寄商家发货
    "227": "ReshipAgreed",  # 同意补寄
}
# The 212–218 names: the catalogue groups them as 仲裁 without one name each (NOT VERIFIED one by one); a push
# only triggers a read of the record, whose arbitrate_status is what the desk acts on.
ARBITRATION_TAGS = {"212", "213", "214", "215", "216", "217", "218"}
TAG_CREATED, TAG_RETURN_SHIPPED, TAG_CLOSED = "200", "203", "207"

MAX_MESSAGES = 200
MAX_ID_LENGTH = 200


class DouyinMessage:
    """One push message as sent: tag, msg_id, and its data object (the JSON string decoded)."""

    __slots__ = ("tag", "msg_id", "data")

    def __init__(self, tag: str, msg_id: str, data: dict):
        self.tag, self.msg_id, self.data = tag, msg_id, data

    def __repr__(self) -> str:
        return f"DouyinMessage({self.tag!r}, {self.msg_id!r})"


def push_signature_valid(*, body: bytes, app_key: str, app_secret: str, method: str, signature: str) -> bool:
    if not app_secret or not isinstance(signature, str):
        return False
    expected = push_signature(app_key=app_key, app_secret=app_secret, body=body, sign_method=method or "md5")
    return hmac.compare_digest(expected, signature.strip().lower())


def read_messages(body: bytes) -> list[DouyinMessage]:
    """The push's messages; ActionRefused("invalid_push") for a body that is not the documented shape. The body and
    each message's data are read by input_checks.loads_json (UTF-8, bounded nesting, no NUL or lone surrogate)."""
    payload = _loads(body, _("The body is not JSON."))
    if not isinstance(payload, list) or not payload:
        raise invalid_push(_("The body must be a non-empty JSON array of messages."))
    if len(payload) > MAX_MESSAGES:
        raise invalid_push(_("At most %(max)d messages per push.") % {"max": MAX_MESSAGES})
    messages = []
    for index, item in enumerate(payload):
        if not isinstance(item, dict) or not _is_code(item.get("tag")):
            raise invalid_push(_("Message %(index)d has no tag.") % {"index": index})
        msg_id = item.get("msg_id", "")
        if not _is_code(msg_id) and msg_id != "":
            raise invalid_push(_("Message %(index)d: msg_id is not valid.") % {"index": index})
        data = item.get("data")
        if isinstance(data, str):
            data = _loads(data, _("Message %(index)d: data is not JSON.") % {"index": index})
        if not isinstance(data, dict):
            raise invalid_push(_("Message %(index)d: data must be a JSON object.") % {"index": index})
        messages.append(DouyinMessage(tag=str(item["tag"]), msg_id=str(msg_id), data=data))
    return messages


def _loads(raw, message):
    try:
        return loads_json(raw)
    except InputRejected as rejected:
        raise invalid_push(f"{message} {rejected.message}") from None


def _is_code(value) -> bool:
    """A tag or message id: a whole number or a short printable text."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return abs(value) < 10**20
    return isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH and value.isprintable()


def invalid_push(message) -> ActionRefused:
    return ActionRefused("invalid_push", message)


def push_id(data: dict, key: str) -> str:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    try:
        return clean_text(str(value), max_length=64)
    except InputRejected:
        return ""


def to_push_message(message: DouyinMessage) -> PushMessage:
    return PushMessage(
        message_id=message.msg_id,
        topic=PUSH_TAGS.get(message.tag, f"tag:{message.tag}"),
        shop_id=push_id(message.data, "shop_id"),
        platform_id=push_id(message.data, "aftersale_id"),
        # Never a record from the push itself: its data lacks the reason, the apply time, refund_status and the
        # return waybill, and a record built from it would be stored under the same update_time as the full one
        # and hide it. The caller reads /afterSale/Detail, which is the platform's whole word at that version.
        record=None,
    )


# --- the adapter

# /afterSale/operate `type` (MARKETPLACES.md names 201, 202 and "101/301/311 carry an address"; the full list is NOT
# VERIFIED). 111/112 (二次审核: confirm the return's receipt and refund / refuse it) and 102 (refuse a return
# application) are the integrators' usual codes, NOT VERIFIED: a wrong code is a business refusal that reaches the
# agent, never a payment.
OPERATE_AGREE_RETURN = 101
OPERATE_REFUSE_RETURN = 102
OPERATE_CONFIRM_RETURN_AND_REFUND = 111
OPERATE_REFUSE_RETURNED_GOODS = 112
OPERATE_AGREE_REFUND = 201
OPERATE_REFUSE_REFUND = 202
OPERATE_SUCCESS = 0  # items[].status_code of an item the platform accepted (NOT VERIFIED: anything else refuses)

MAX_EVIDENCE_IMAGES = 4
# A write whose effect the record already shows is not sent again: the caller re-reads after an unclear answer,
# and with the fresh update_time the platform's version check would not stop a second one.
RETURN_AGREED = {
    RecordStatus.WAITING_BUYER_RETURN,
    RecordStatus.RETURN_SHIPPED,
    RecordStatus.WAITING_SELLER_CONFIRM,
    RecordStatus.REFUNDING,
    RecordStatus.SUCCEEDED,
}
ALREADY_ENDED_OR_REFUSED = {
    RecordStatus.SELLER_REFUSED,
    RecordStatus.CLOSED,
    RecordStatus.CLOSED_BY_BUYER,
    RecordStatus.SUCCEEDED,
}
LIMITS = httpx.Limits(max_connections=20, max_keepalive_connections=20)
_client = httpx.Client(limits=LIMITS)


class DouyinAdapter:
    """One adapter for every shop: the gateway's address, the timeout and the shop's keys come with the credentials
    (production or the simulator). The Go SDK's default read timeout is 12 s; the connection's setting rules."""

    platform_code = PLATFORM_CODE
    # The widest update_time window one pull asks for. The platform's limit is NOT VERIFIED: 30 minutes is the
    # narrowest limit any of these platforms documents (Pinduoduo's increment), so it is safe here; a busy window
    # simply pages (size 100, page from 0).
    pull_window_max_seconds = 30 * 60
    # update_time has second resolution and a record written in the window's last second may be indexed late: each
    # window reaches back two minutes, replays are no-ops by (update_time, aftersale_id).
    pull_overlap_seconds = 120
    registers_returns_received = False
    page_size = 100

    def __init__(self, *, sign_method: str = "hmac-sha256", transport: httpx.BaseTransport | None = None):
        self.sign_method = sign_method
        self._client = httpx.Client(transport=transport, limits=LIMITS) if transport is not None else _client

    # - the gateway -

    def call(self, credentials: Credentials, path: str, params: dict, *, now: int | None = None) -> dict:
        """POST one API; the `data` of a 10000 answer, or base.py's typed error."""
        body = param_json(params)
        timestamp = int(now if now is not None else datetime.now(tz=UTC).timestamp())
        method = method_of(path)
        query = {
            "app_key": credentials.app_key,
            "method": method,
            "timestamp": str(timestamp),
            "v": "2",
            "sign_method": self.sign_method,
            "access_token": credentials.access_token,
            "sign": sign(
                app_key=credentials.app_key,
                app_secret=credentials.app_secret,
                method=method,
                param_json_text=body,
                timestamp=timestamp,
                sign_method=self.sign_method,
            ),
        }
        answer = post_for_json_object(
            self._client,
            credentials.gateway_url.rstrip("/") + path,
            what=path,
            timeout=credentials.timeout_seconds,
            params=query,
            content=body.encode(),
            headers={"Content-Type": "application/json;charset=UTF-8", "Accept": "application/json"},
        )
        raise_for_answer(answer)
        data = answer.get("data")
        return data if isinstance(data, dict) else {}

    # - inbound -

    def pull(self, credentials: Credentials, *, start: datetime, end: datetime, page: int) -> PullPage:
        """`page` counts from 1 as the contract does (the sync's first page is 1); 抖店 counts from 0, converted
        here only."""
        if page < 1:
            raise ValueError("pages count from 1")
        data = self.call(
            credentials,
            "/afterSale/List",
            {
                "update_start_time": int(start.timestamp()),
                "update_end_time": int(end.timestamp()),
                "order_by": ["update_time asc"],
                "page": page - 1,  # 抖店 pages from 0
                "size": self.page_size,
            },
        )
        records = [record_from_list_item(item) for item in data.get("items") or [] if isinstance(item, dict)]
        # The list cannot tell the buyer's withdrawal from any other 售后失败 (28); the detail can (after_sale_type
        # 5 用户取消), so a closed record is read once more.
        records = [
            self.read(credentials, record.platform_id) if record.platform_status == str(STATUS_FAILED) else record
            for record in records
        ]
        has_more = bool(data.get("has_more"))
        return PullPage(records=records, has_more=has_more, next_page=page + 1 if has_more else None)

    def verify_push(self, credentials: Credentials, *, headers: dict[str, str], body: bytes) -> list[PushMessage]:
        lowered = {key.lower(): value for key, value in headers.items()}
        if not push_signature_valid(
            body=body,
            app_key=credentials.app_key,
            app_secret=credentials.app_secret,
            method=lowered.get("sign-method", "md5"),
            signature=lowered.get("event-sign", ""),
        ):
            raise SignatureInvalid("event-sign does not match", code="bad_signature")
        try:
            messages = read_messages(body)
        except ActionRefused as refusal:
            raise PushInvalid(str(refusal.message), code="invalid_push") from None
        return [to_push_message(message) for message in messages if push_id(message.data, "aftersale_id")]

    def read(self, credentials: Credentials, platform_id: str) -> AfterSaleRecord:
        data = self.call(credentials, "/afterSale/Detail", {"after_sale_id": str(platform_id)})
        return record_from_detail(data)

    # - outbound -

    def batch_limits(self, credentials: Credentials) -> tuple[int, Decimal]:
        # operate's items per call is NOT VERIFIED: one agreement per call, so one refusal never holds back another.
        return 1, Decimal("99999999.99")

    def _operate(self, credentials: Credentials, operate_type: int, item: dict) -> None:
        data = self.call(credentials, "/afterSale/operate", {"type": operate_type, "items": [item]})
        for result in data.get("items") or []:
            if isinstance(result, dict) and _int(result.get("status_code")) != OPERATE_SUCCESS:
                raise BusinessRefusal(
                    _text(result.get("status_msg")) or _text(result.get("status_code")),
                    code=_text(result.get("status_code")),
                )

    def agree_refunds(self, credentials: Credentials, agreements: list[RefundAgreement]) -> list[AgreementResult]:
        """Each agreement reads the record first: Douyin's operate type follows the record's status (agree a refund
        vs confirm a return's receipt), a record that already succeeded is not agreed again, and an amount that is
        not the buyer's request is refused here (operate agrees the platform's amount, not ours)."""
        results = []
        for agreement in agreements:
            record = self.read(credentials, agreement.platform_id)
            status = _int(record.platform_status)
            if record.status in (RecordStatus.SUCCEEDED, RecordStatus.REFUNDING):
                results.append(AgreementResult(agreement.platform_id, True, _("Already agreed on Douyin.")))
                continue
            if record.amount != agreement.amount:
                results.append(
                    AgreementResult(
                        agreement.platform_id,
                        False,
                        _("Douyin asks ¥%(theirs)s, the desk agreed ¥%(ours)s.")
                        % {"theirs": record.amount, "ours": agreement.amount},
                    )
                )
                continue
            if status == STATUS_WAITING_SELLER and record.kind != RecordKind.RETURN_REFUND:
                operate_type = OPERATE_AGREE_REFUND
            elif status == STATUS_RETURN_WAITING_CONFIRM:
                operate_type = OPERATE_CONFIRM_RETURN_AND_REFUND
            else:
                results.append(
                    AgreementResult(
                        agreement.platform_id,
                        False,
                        _("Douyin's status %(status)s does not take a refund agreement.") % {"status": status},
                    )
                )
                continue
            try:
                self._operate(
                    credentials,
                    operate_type,
                    {"aftersale_id": agreement.platform_id, "update_time": _int(agreement.version)},
                )
            except BusinessRefusal as refusal:
                results.append(AgreementResult(agreement.platform_id, False, refusal.message))
                continue
            results.append(AgreementResult(agreement.platform_id, True))
        return results

    def agree_return(self, credentials: Credentials, record: AfterSaleRecord, address: ReturnAddress) -> None:
        if record.status in RETURN_AGREED:
            return  # already agreed (a retry after an unclear answer reads the record first): not sent again
        item: dict[str, Any] = {"aftersale_id": record.platform_id, "update_time": _int(record.version)}
        if address.address_id:
            item["logistics"] = {"receiver_address_id": _int(address.address_id)}
        self._operate(credentials, OPERATE_AGREE_RETURN, item)

    def refuse(self, credentials: Credentials, record: AfterSaleRecord, *, reason: str, evidence: list[bytes]) -> None:
        if record.status in ALREADY_ENDED_OR_REFUSED:
            return  # refused already (a retry after an unclear answer), or nothing left to refuse
        status = _int(record.platform_status)
        if status == STATUS_RETURN_WAITING_CONFIRM:
            operate_type = OPERATE_REFUSE_RETURNED_GOODS
        elif record.kind == RecordKind.RETURN_REFUND:
            operate_type = OPERATE_REFUSE_RETURN
        else:
            operate_type = OPERATE_REFUSE_REFUND
        item: dict[str, Any] = {
            "aftersale_id": record.platform_id,
            "reason": reason,
            "remark": reason,
            "update_time": _int(record.version),
        }
        if evidence:
            # operate's evidence[] takes URLs of uploaded files; the upload is NOT VERIFIED, so the images go as
            # data URLs (the simulator checks the shape) and at most four, as submitEvidence allows.
            item["evidence"] = [{"type": 1, "url": _data_url(image), "desc": reason} for image in evidence[:4]]
        self._operate(credentials, operate_type, item)

    def request_intercept(
        self, credentials: Credentials, record: AfterSaleRecord, *, courier: str, tracking_number: str
    ) -> None:
        data = self.call(
            credentials,
            "/afterSale/applyLogisticsIntercept",
            {
                "after_sale_id": record.platform_id,
                "op_from": 1,  # 商家
                "intercept_targets": [{"company_code": courier, "tracking_no": tracking_number}],
            },
        )
        results = data.get("intercept_results")
        outcome = results[0] if isinstance(results, list) and results and isinstance(results[0], dict) else data
        if not outcome.get("can_intercept", True) or not outcome.get("is_success"):
            raise BusinessRefusal(_text(outcome.get("unavailable_reason")) or _("Douyin refused the intercept."))

    def report_cutoff(
        self, credentials: Credentials, record: AfterSaleRecord, *, succeeded: bool, at: datetime, message: str = ""
    ) -> None:
        if not succeeded:
            # The failure report (截单失败) is NOT VERIFIED: nothing is sent. The platform sees the parcel leave
            # through the order's own logistics, and the desk's next step (an intercept, or waiting for the return)
            # does not depend on it. Sending a guessed call could mark the cut-off done.
            logger.info("douyin: cut-off failure of %s not reported (no documented call)", record.platform_id)
            return
        self.call(
            credentials,
            "/afterSale/CancelSendGoodsSuccess",
            {"aftersale_id": record.platform_id, "op_time": int(at.timestamp())},
        )

    def send_message(
        self, credentials: Credentials, record: AfterSaleRecord, *, text: str, images: list[bytes]
    ) -> None:
        if len(images) > MAX_EVIDENCE_IMAGES:
            raise BusinessRefusal(
                _("Douyin takes at most %(count)d images per message.") % {"count": MAX_EVIDENCE_IMAGES}
            )
        self.call(
            credentials,
            "/afterSale/submitEvidence",
            {
                "aftersale_id": record.platform_id,
                "comment": text,
                "evidence": [_data_url(image) for image in images],  # upload NOT VERIFIED: see refuse()
            },
        )

    def register_return_received(
        self, credentials: Credentials, record: AfterSaleRecord, receipt: ReturnReceipt
    ) -> None:
        raise NotImplementedError("this platform has no receive-register call; registers_returns_received is False")

    def refresh_access_token(self, credentials: Credentials, refresh_token: str) -> TokenGrant:
        # MARKETPLACES.md names no refresh call for this platform (integrators are said to use
        # `/token/refresh`, unverified): no guessed request is sent; a manager authorises the shop again.
        raise TokenRefreshUnavailable("Douyin: no verified token refresh call (MARKETPLACES.md)")


def _data_url(image: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(image).decode()
