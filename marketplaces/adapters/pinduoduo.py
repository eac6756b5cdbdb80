"""拼多多 (Pinduoduo) open platform adapter: signing, the after-sales gateway calls, the PMC message shape, and the
mapping of PDD's codes onto the platform-neutral shapes of base.py. Protocol only: no database.

Facts from /work/shared/MARKETPLACES.md §3. Where a fact is marked "not verified" there, the safe choice is named
here with the words NOT VERIFIED next to it (docs/marketplaces.md lists them all).

The desk's platform id of a PDD record is `<order_sn>:<after_sales_id>`: the detail call wants both, and an adapter
keeps no database to look the order up by the after-sales id alone.
"""

import base64
import hashlib
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from django.utils.translation import gettext as _

from .base import (
    CENT,
    AfterSaleRecord,
    AgreementResult,
    BusinessRefusal,
    Credentials,
    OutcomeUnknown,
    PlatformError,
    PullPage,
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
    post_for_json_object,
    yuan_to_fen,
)

logger = logging.getLogger(__name__)

PLATFORM_CODE = "pinduoduo"
CHINA = ZoneInfo("Asia/Shanghai")
PDD_TIME = "%Y-%m-%d %H:%M:%S"
EPOCH = datetime.fromtimestamp(0, tz=UTC)

METHOD_LIST = "pdd.refund.list.increment.get"
METHOD_DETAIL = "pdd.refund.information.get"
METHOD_AGREE = "pdd.refund.agree"
METHOD_AGREE_RETURN = "pdd.refund.returngoods.agree"
METHOD_CUTOFF = "pdd.rdc.pddgenius.sendgoods.cancel"
METHOD_WAREHOUSE = "pdd.nextone.logistics.warehouse.update"


# --- platform ids


def platform_id_of(order_sn: str, after_sales_id: str) -> str:
    return f"{order_sn}:{after_sales_id}"


def split_platform_id(platform_id: str) -> tuple[str, str]:
    """(order_sn, after_sales_id); a bare id (no order) cannot be read on PDD."""
    order_sn, sep, after_sales_id = str(platform_id).rpartition(":")
    if not sep or not order_sn or not after_sales_id:
        raise PlatformError(f"{platform_id!r} is not <order_sn>:<after_sales_id>", code="bad_id")
    return order_sn, after_sales_id


# --- amounts: the list's 元 strings read here; sendgoods.cancel's refund_fee made with base.yuan_to_fen


def yuan(value: Any) -> Decimal | None:
    """The list's amounts are 元 strings ("59.00"); None for anything that is not a plain amount."""
    if value is None or isinstance(value, bool | float):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0:
        return None
    return amount.quantize(CENT)


# --- times


def platform_time(value: Any) -> datetime | None:
    """created_time / updated_time / expire_time: "YYYY-MM-DD HH:MM:SS" in China time, or Unix seconds (the SDKs show
    both shapes; NOT VERIFIED which the gateway sends, so both are read). 0, "" or absent is "none"."""
    if value is None or isinstance(value, bool) or value in ("", 0, "0"):
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        seconds = int(value)
        return datetime.fromtimestamp(seconds / 1000 if seconds > 10**11 else seconds, tz=UTC)
    try:
        return datetime.strptime(str(value).strip(), PDD_TIME).replace(tzinfo=CHINA).astimezone(UTC)
    except ValueError:
        return None


def epoch_ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


# --- signing


def param_value(value: Any) -> str:
    """How one parameter travels and is signed: objects and lists as compact JSON strings, booleans as the JSON words,
    everything else as its text."""
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def sign(params: dict[str, Any], secret: str) -> str:
    """Upper hex MD5(secret + k1v1k2v2… + secret), keys sorted, `sign` itself and null values left out."""
    text = "".join(
        f"{key}{param_value(value)}" for key, value in sorted(params.items()) if key != "sign" and value is not None
    )
    return hashlib.md5(f"{secret}{text}{secret}".encode()).hexdigest().upper()  # noqa: S324 - the platform's scheme


def pmc_sign(*, client_id: str, timestamp_ms: int | str, secret: str) -> str:
    """PMC's connect path sign: Base64 of the lower-hex MD5 text of client_id + ts_ms + secret."""
    digest = hashlib.md5(f"{client_id}{timestamp_ms}{secret}".encode()).hexdigest()  # noqa: S324
    return base64.b64encode(digest.encode()).decode()


def pmc_path(*, client_id: str, timestamp_ms: int, secret: str) -> str:
    return (
        f"/message/{client_id}/{timestamp_ms}/{pmc_sign(client_id=client_id, timestamp_ms=timestamp_ms, secret=secret)}"
    )


# --- mapping

# after_sales_type of a record (list item, detail). NOT the list filter's numbering (FILTER_* below).
KINDS: dict[int, RecordKind] = {
    1: RecordKind.REFUND_ONLY,  # 仅退款
    2: RecordKind.RETURN_REFUND,  # 退货退款
    3: RecordKind.EXCHANGE,  # 换货
    4: RecordKind.RESHIP,  # 补寄
    5: RecordKind.REPAIR,  # 维修
}
# The list's after_sales_type filter: 1 全部, 2 仅退款, 3 退货退款, 4 换货, 5 缺货补寄, 6 维修. The pull asks for all.
FILTER_TYPE_ALL = 1
# The list's after_sales_status filter: its numbering is NOT VERIFIED (MARKETPLACES.md names it required, without
# values); 1 is 全部 in the integrators' code. A wrong value narrows the pull, which the simulator cannot show: check
# it in the console before go-live.
FILTER_STATUS_ALL = 1

# after_sales_status, every code MARKETPLACES.md lists (2024 SDK).
STATUSES: dict[int, RecordStatus] = {
    0: RecordStatus.CLOSED,  # 无售后: nothing left to act on
    2: RecordStatus.WAITING_SELLER,  # 买家申请退款待商家处理
    3: RecordStatus.WAITING_SELLER,  # 退货退款待商家处理 (RETURN_SHIPPED once the buyer's waybill is on it)
    4: RecordStatus.REFUNDING,  # 商家同意退款中
    5: RecordStatus.REFUNDING,  # 平台同意退款中
    6: RecordStatus.SELLER_REFUSED,  # 驳回待买家处理
    7: RecordStatus.WAITING_BUYER_RETURN,  # 已同意退货待用户发货
    8: RecordStatus.PLATFORM_REVIEW,  # 平台处理中
    9: RecordStatus.CLOSED,  # 平台拒绝关闭 (ruled for the merchant)
    10: RecordStatus.SUCCEEDED,  # 退款成功
    11: RecordStatus.CLOSED_BY_BUYER,  # 买家撤销
    12: RecordStatus.CLOSED,  # 买家逾期退款失败
    13: RecordStatus.CLOSED,  # 逾期超过有效期
    14: RecordStatus.WAITING_SELLER,  # 换货补寄待商家处理
    # 待用户处理: which step the buyer owes is not said (a refused exchange? a proposal?); UNKNOWN puts the code in
    # front of the agent rather than guess a ticket move.
    15: RecordStatus.UNKNOWN,
    16: RecordStatus.SUCCEEDED,  # 换货补寄成功
    17: RecordStatus.CLOSED,  # 换货补寄失败
    18: RecordStatus.WAITING_BUYER_RECEIPT,  # 待用户确认完成
    21: RecordStatus.WAITING_SELLER,  # 待商家同意维修
    22: RecordStatus.WAITING_BUYER_RETURN,  # 待用户确认发货 (the buyer sends the goods in for repair)
    24: RecordStatus.CLOSED,  # 维修关闭
    25: RecordStatus.SUCCEEDED,  # 维修成功
    27: RecordStatus.WAITING_BUYER_RECEIPT,  # 待用户确认收货
    31: RecordStatus.WAITING_BUYER_RETURN,  # 已同意拒收退款待用户拒收: the parcel comes back by the buyer's refusal
    32: RecordStatus.SELLER_SHIPPING,  # 补寄待商家发货
    33: RecordStatus.WAITING_SELLER,  # 待商家召回 (the seller recalls the parcel)
}
STATUS_REFUND_WAITING = 2
STATUS_RETURN_WAITING = 3
STATUS_SUCCEEDED = 10
RULINGS: dict[int, Ruling] = {5: Ruling.FOR_BUYER, 9: Ruling.FOR_MERCHANT}


def record_kind(after_sales_type: int) -> RecordKind:
    return KINDS.get(after_sales_type, RecordKind.UNKNOWN)


def record_status(status: int, *, has_return_waybill: bool = False) -> RecordStatus:
    if status == STATUS_RETURN_WAITING and has_return_waybill:
        return RecordStatus.RETURN_SHIPPED  # the buyer shipped the return; the seller confirms and refunds
    return STATUSES.get(status, RecordStatus.UNKNOWN)


# --- errors

SESSION_CODES = {10019}  # access_token 已过期
RETRYABLE_CODES = {52101, 52102, 52103, 70031}  # 限流, 不可用 ×2, 调用过于频繁


def raise_for_answer(answer: dict) -> None:
    error = answer.get("error_response")
    if error is None:
        return
    if not isinstance(error, dict):
        raise OutcomeUnknown("error_response is not an object", code="bad_answer")
    code = _int(error.get("error_code"))
    sub_code = _text(error.get("sub_code"))
    message = _text(error.get("sub_msg")) or _text(error.get("error_msg")) or str(code)
    kwargs = {"code": str(code), "sub_code": sub_code}
    if code in SESSION_CODES:
        raise SessionInvalid(message, **kwargs)
    if code in RETRYABLE_CODES:
        raise RateLimited(message, **kwargs)
    raise BusinessRefusal(message, **kwargs)


class NotSupportedByPlatform(BusinessRefusal):
    """A write PDD's open API has no verified method for (refuse, intercept, message): the outbox marks it refused
    and flags the ticket with this text, so the agent does it in PDD's merchant backend. Nothing is guessed at."""


def _int(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _text(value: Any) -> str:
    return "" if value is None else str(value)


# --- records


def record_from_fields(
    fields: dict, *, amount: Decimal | None, deadline: datetime | None, raw: dict
) -> AfterSaleRecord:
    """One record from a list item or a detail (the same field names). `amount` is the list's 元 value."""
    after_sales_type = _int(fields.get("after_sales_type"))
    status = _int(fields.get("after_sales_status"))
    tracking = _text(fields.get("tracking_number") or fields.get("express_no"))
    modified = platform_time(fields.get("updated_time")) or EPOCH
    applied = platform_time(fields.get("created_time")) or modified
    mapped = record_status(status, has_return_waybill=bool(tracking))
    # No 元 amount known (a detail read alone): 0, so the ticket opens without a requested amount and no agreement
    # matches it; see _read_pair.
    known = amount if amount is not None else Decimal("0.00")
    order_sn = _text(fields.get("order_sn"))
    return AfterSaleRecord(
        platform_id=platform_id_of(order_sn, _text(fields.get("id"))),
        order_id=order_sn,
        kind=record_kind(after_sales_type),
        status=mapped,
        version=str(int(modified.timestamp())),
        modified_at=modified,
        applied_at=applied,
        amount=known,
        reason=_text(fields.get("after_sale_reason")),
        buyer_message=_text(fields.get("question_desc") or fields.get("after_sale_reason")),
        platform_kind=str(after_sales_type),
        platform_status=str(status),
        # expire_time is the seller's deadline while 待商家处理; the detail alone carries it.
        deadline=deadline,
        return_courier=_text(fields.get("shipping_name")),
        return_tracking_number=tracking,
        ruling=RULINGS.get(status, Ruling.NONE),
        refunded_amount=known if mapped == RecordStatus.SUCCEEDED and status == STATUS_SUCCEEDED else None,
        sub_order_id="",  # PDD after-sales name the order only (goods_id is a product, not a sub-order)
        raw=raw,
    )


def record_from_list_item(item: dict) -> AfterSaleRecord:
    return record_from_fields(item, amount=yuan(item.get("refund_amount")), deadline=None, raw=item)


def record_from_pair(item: dict, detail: dict) -> AfterSaleRecord:
    """The list item (its 元 amount) and the detail (its expire_time) of one record at the same version. The detail's
    own refund_amount is an integer whose unit is NOT VERIFIED (分 or 元): it is never read as money here."""
    return record_from_fields(
        {**item, **{key: value for key, value in detail.items() if key != "refund_amount"}},
        amount=yuan(item.get("refund_amount")),
        deadline=platform_time(detail.get("expire_time")),
        raw={**detail, "list_item": item},
    )


def answer_body(answer: dict) -> dict:
    """The success payload: the one `…_response` object. Its name per method is NOT VERIFIED, so the one key that ends
    in `_response` is taken, whatever it is called."""
    for key, value in answer.items():
        if key.endswith("_response") and key != "error_response" and isinstance(value, dict):
            return value
    raise OutcomeUnknown("the answer has no *_response object", code="bad_answer")


# --- PMC (push) frames


def pmc_push_message(frame: dict) -> PushMessage | None:
    """A PMC frame's message, naming the record only. Topic names and the content's fields are NOT VERIFIED: the
    integrators' names (`refund_id`, `tid`) are looked for, the rest is ignored, and the caller reads the record
    (adapter.read) and applies what the platform answers, as for Taobao's TMC. None: nothing to read."""
    message = frame.get("message")
    if not isinstance(message, dict):
        return None
    content = message.get("content")
    if isinstance(content, str):
        try:
            content = json.loads(content)
        except ValueError:
            return None
    if not isinstance(content, dict):
        return None
    after_sales_id = _short_id(content.get("refund_id") or content.get("after_sales_id"))
    order_sn = _short_id(content.get("tid") or content.get("order_sn"))
    if not after_sales_id or not order_sn:
        return None
    return PushMessage(
        message_id=_text(frame.get("id"))[:64],
        topic=_text(message.get("type"))[:100],
        shop_id=_text(message.get("mallID"))[:64],
        platform_id=platform_id_of(order_sn, after_sales_id),
        record=None,
    )


def _short_id(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    text = str(value).strip()
    return text if 0 < len(text) <= 40 and text.isprintable() and ":" not in text else ""


def pmc_ack(frame: dict) -> dict:
    """The acknowledgement of one Common frame: {commandType Ack, id, sendTime, type, mallID, time}."""
    message = frame.get("message")
    if not isinstance(message, dict):
        message = {}
    return {
        "commandType": "Ack",
        "id": frame.get("id"),
        "sendTime": frame.get("sendTime"),
        "type": message.get("type"),
        "mallID": message.get("mallID"),
        "time": int(datetime.now(tz=UTC).timestamp() * 1000),
    }


# --- the adapter

# A write whose effect the record already shows is not sent again (the caller re-reads after an unclear answer).
ALREADY_AGREED = {RecordStatus.REFUNDING, RecordStatus.SUCCEEDED}
RETURN_AGREED = {
    RecordStatus.WAITING_BUYER_RETURN,
    RecordStatus.RETURN_SHIPPED,
    RecordStatus.REFUNDING,
    RecordStatus.SUCCEEDED,
}
CUTOFF_FAIL_SHIPPED = 1002  # fail_reason_code 已发货: the desk's cut-off fails when the parcel has left
WAREHOUSE_OK, WAREHOUSE_FAILED = 1, 2
DETAIL_READS_AT_ONCE = 8
LIMITS = httpx.Limits(max_connections=20, max_keepalive_connections=20)
_client = httpx.Client(limits=LIMITS)


class PinduoduoAdapter:
    """One adapter for every shop: the gateway's URL (…/api/router), the timeout and the keys come with the
    credentials (production or the simulator)."""

    platform_code = PLATFORM_CODE
    # pdd.refund.list.increment.get: start_updated_at and end_updated_at at most 30 minutes apart.
    pull_window_max_seconds = 30 * 60
    # updated_time has second resolution and may be indexed late: each window reaches back two minutes; a replay
    # changes nothing (same version).
    pull_overlap_seconds = 120
    registers_returns_received = True
    page_size = 100

    def __init__(self, *, transport: httpx.BaseTransport | None = None):
        self._client = httpx.Client(transport=transport, limits=LIMITS) if transport is not None else _client

    # - the gateway -

    def call(self, credentials: Credentials, method: str, params: dict, *, now: int | None = None) -> dict:
        """POST one API (form-encoded, signed); the `…_response` object of a success, or base.py's typed error."""
        common = {
            "type": method,
            "client_id": credentials.app_key,
            "access_token": credentials.access_token,
            "timestamp": int(now if now is not None else datetime.now(tz=UTC).timestamp()),
            "data_type": "JSON",
            "version": "V1",
        }
        signed = {**{key: value for key, value in params.items() if value is not None}, **common}
        form = {key: param_value(value) for key, value in signed.items()}
        form["sign"] = sign(signed, credentials.app_secret)
        answer = post_for_json_object(
            self._client, credentials.gateway_url, what=method, data=form, timeout=credentials.timeout_seconds
        )
        raise_for_answer(answer)
        return answer_body(answer)

    # - inbound -

    def _list(self, credentials: Credentials, *, start: datetime, end: datetime, page: int, order_sn: str = ""):
        if (end - start).total_seconds() > self.pull_window_max_seconds:
            raise ValueError("PDD lists at most 30 minutes of updates per call")
        body = self.call(
            credentials,
            METHOD_LIST,
            {
                "after_sales_status": FILTER_STATUS_ALL,
                "after_sales_type": FILTER_TYPE_ALL,
                "start_updated_at": int(start.timestamp()),
                "end_updated_at": int(end.timestamp()),
                "page": page,
                "page_size": self.page_size,
                "order_sn": order_sn or None,
            },
        )
        items = [item for item in body.get("refund_list") or [] if isinstance(item, dict)]
        return items, _int(body.get("total_count"))

    def pull(self, credentials: Credentials, *, start: datetime, end: datetime, page: int) -> PullPage:
        """One page of the records updated in [start, end] (≤30 min), pages from 1. A record waiting for the seller
        is read once more for its deadline (expire_time is in the detail only)."""
        if page < 1:
            raise ValueError("pages count from 1")
        items, total = self._list(credentials, start=start, end=end, page=page)

        def with_deadline(item: dict) -> AfterSaleRecord:
            record = record_from_list_item(item)
            if record.status != RecordStatus.WAITING_SELLER:
                return record
            detail = self._detail(credentials, record.order_id, _text(item.get("id")))
            same_version = _int(detail.get("after_sales_status")) == _int(item.get("after_sales_status")) and (
                platform_time(detail.get("updated_time")) == platform_time(item.get("updated_time"))
            )
            # Moved since the list was read: the list's record stands, the next window brings the newer version.
            return record_from_pair(item, detail) if same_version else record

        # A 双11 page is mostly new requests, each one more call: a few at a time, in the page's order. The first
        # error (a rate limit, an expired token) fails the page as a sequential loop would.
        with ThreadPoolExecutor(max_workers=DETAIL_READS_AT_ONCE) as pool:
            records = list(pool.map(with_deadline, items))
        has_more = page * self.page_size < total
        return PullPage(records=records, has_more=has_more, next_page=page + 1 if has_more else None)

    def _detail(self, credentials: Credentials, order_sn: str, after_sales_id: str) -> dict:
        return self.call(credentials, METHOD_DETAIL, {"order_sn": order_sn, "after_sales_id": after_sales_id})

    def read(self, credentials: Credentials, platform_id: str) -> AfterSaleRecord:
        """The detail, and the order's list entry for the 元 amount (the detail's integer amount has no verified
        unit). If the record moves between the two calls they are read again once; still apart, the list's record
        stands alone (no deadline), which is never wrong money."""
        order_sn, after_sales_id = split_platform_id(platform_id)
        item: dict | None = None
        for _attempt in range(2):
            detail = self._detail(credentials, order_sn, after_sales_id)
            now = datetime.now(tz=UTC)
            # order_sn overrides the list's other filters; the window is sent because the parameters are required.
            items, _total = self._list(
                credentials,
                start=now - timedelta(seconds=self.pull_window_max_seconds),
                end=now,
                page=1,
                order_sn=order_sn,
            )
            item = next((entry for entry in items if _text(entry.get("id")) == after_sales_id), None)
            if item is None:
                break
            if platform_time(item.get("updated_time")) == platform_time(detail.get("updated_time")):
                return record_from_pair(item, detail)
        if item is not None:
            return record_from_list_item(item)
        # Not in the list: the detail alone, its amount unknown (0: the agent sets it; no agreement matches it).
        return record_from_fields(
            {**detail, "order_sn": detail.get("order_sn") or order_sn, "id": detail.get("id") or after_sales_id},
            amount=None,
            deadline=platform_time(detail.get("expire_time")),
            raw=detail,
        )

    def verify_push(self, credentials: Credentials, *, headers: dict[str, str], body: bytes) -> list[PushMessage]:
        """PDD pushes by PMC, a WebSocket the desk opens (marketplaces.pmc); nothing of PDD's comes to the HTTP push
        door, so anything that does is refused."""
        raise SignatureInvalid("Pinduoduo does not push over HTTP (PMC is a WebSocket)", code="not_pmc")

    # - outbound -

    def batch_limits(self, credentials: Credentials) -> tuple[int, Decimal]:
        # pdd.refund.agree takes one after-sales record; batch agreeing is NOT VERIFIED.
        return 1, Decimal("99999999.99")

    def agree_refunds(self, credentials: Credentials, agreements: list[RefundAgreement]) -> list[AgreementResult]:
        """Each record is read first: one already agreed is not agreed again, and an amount that is not the buyer's
        request (as the list says it, in 元) is refused here, since pdd.refund.agree agrees the platform's amount."""
        results = []
        for agreement in agreements:
            record = self.read(credentials, agreement.platform_id)
            if record.status in ALREADY_AGREED:
                results.append(AgreementResult(agreement.platform_id, True, _("Already agreed on Pinduoduo.")))
                continue
            if record.amount != agreement.amount:
                results.append(
                    AgreementResult(
                        agreement.platform_id,
                        False,
                        _("Pinduoduo asks ¥%(theirs)s, the desk agreed ¥%(ours)s.")
                        % {"theirs": record.amount, "ours": agreement.amount},
                    )
                )
                continue
            if record.status not in (RecordStatus.WAITING_SELLER, RecordStatus.RETURN_SHIPPED) or record.kind not in (
                RecordKind.REFUND_ONLY,
                RecordKind.RETURN_REFUND,
            ):
                results.append(
                    AgreementResult(
                        agreement.platform_id,
                        False,
                        _("Pinduoduo's status %(status)s does not take a refund agreement.")
                        % {"status": record.platform_status},
                    )
                )
                continue
            if record.kind == RecordKind.RETURN_REFUND and record.status != RecordStatus.RETURN_SHIPPED:
                results.append(
                    AgreementResult(
                        agreement.platform_id, False, _("Pinduoduo: the return must be agreed and shipped first.")
                    )
                )
                continue
            order_sn, after_sales_id = split_platform_id(agreement.platform_id)
            try:
                body = self.call(
                    credentials,
                    METHOD_AGREE,
                    {"after_sales_id": after_sales_id, "order_sn": order_sn, "operate_desc": "同意退款"},
                )
            except BusinessRefusal as refusal:
                results.append(AgreementResult(agreement.platform_id, False, refusal.message))
                continue
            if body.get("succ") is True or str(body.get("succ")).lower() == "true":
                results.append(AgreementResult(agreement.platform_id, True))
            else:
                results.append(
                    AgreementResult(agreement.platform_id, False, _text(body.get("message")) or _("Refused."))
                )
        return results

    def agree_return(self, credentials: Credentials, record: AfterSaleRecord, address: ReturnAddress) -> None:
        if record.status in RETURN_AGREED:
            return  # already agreed (a retry after an unclear answer reads the record first): not sent again
        if not address.address_id:
            raise BusinessRefusal(
                _("Pinduoduo needs the shop's return address id (pdd.refund.address.list.get) on the connection.")
            )
        order_sn, after_sales_id = split_platform_id(record.platform_id)
        body = self.call(
            credentials,
            METHOD_AGREE_RETURN,
            {
                "after_sales_id": after_sales_id,
                "order_sn": order_sn,
                "return_address_id": address.address_id,
                "operate_desc": "同意退货",
            },
        )
        if body.get("succ") is False:
            raise BusinessRefusal(_text(body.get("message")) or _("Refused."))

    def refuse(self, credentials: Credentials, record: AfterSaleRecord, *, reason: str, evidence: list[bytes]) -> None:
        # No refuse method is verified for PDD (MARKETPLACES.md §3): the agent refuses in the merchant backend.
        raise NotSupportedByPlatform(_unsupported(_("refusing")), code="not_supported")

    def request_intercept(
        self, credentials: Credentials, record: AfterSaleRecord, *, courier: str, tracking_number: str
    ) -> None:
        raise NotSupportedByPlatform(_unsupported(_("requesting an intercept")), code="not_supported")

    def send_message(
        self, credentials: Credentials, record: AfterSaleRecord, *, text: str, images: list[bytes]
    ) -> None:
        raise NotSupportedByPlatform(_unsupported(_("sending a message")), code="not_supported")

    def report_cutoff(
        self, credentials: Credentials, record: AfterSaleRecord, *, succeeded: bool, at: datetime, message: str = ""
    ) -> None:
        order_sn, after_sales_id = split_platform_id(record.platform_id)
        params: dict[str, Any] = {
            "refund_id": after_sales_id,
            "tid": order_sn,
            "status": "SUCCESS" if succeeded else "FAIL",
            "refund_fee": yuan_to_fen(record.amount),
            "operate_time": epoch_ms(at),
        }
        if not succeeded:
            params["fail_reason_code"] = CUTOFF_FAIL_SHIPPED
        self.call(credentials, METHOD_CUTOFF, params)

    def register_return_received(
        self, credentials: Credentials, record: AfterSaleRecord, receipt: ReturnReceipt
    ) -> None:
        """入库: 1 成功 when the goods came back whole and as described, else 2 失败 (the agent then deals with the
        buyer). operate_time's unit is NOT VERIFIED: milliseconds, as sendgoods.cancel's sibling field."""
        order_sn, after_sales_id = split_platform_id(record.platform_id)
        self.call(
            credentials,
            METHOD_WAREHOUSE,
            {
                "after_sales_id": after_sales_id,
                "order_sn": order_sn,
                "operate_time": epoch_ms(receipt.received_at),
                "reverse_tracking_number": receipt.tracking_number or record.return_tracking_number,
                "warehouse_status": WAREHOUSE_OK if receipt.packing_intact and receipt.quality_ok else WAREHOUSE_FAILED,
            },
        )


def _unsupported(what: str) -> str:
    return _("Pinduoduo's open API has no call for %(what)s: do it in Pinduoduo's merchant backend.") % {"what": what}
