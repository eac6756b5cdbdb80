"""微信小店 / 视频号小店 (WeChat shop) adapter: the after-sales API calls, the encrypted push, and the mapping of
WeChat's codes onto the platform-neutral shapes of base.py. Protocol only: no database.

Facts from /work/shared/MARKETPLACES.md §5. Where a fact is marked "not verified" there, the safe choice is named
here with the words NOT VERIFIED next to it (and listed in docs/marketplaces.md).

- No request signature: POST JSON to `/channels/ec/aftersale/<api>?access_token=…`; answers carry errcode/errmsg.
- The list (`getaftersalelist`) filters by CREATE time, not by change: a record created before the window and
  changed inside it is not listed. Changes reach the desk by the push (which names the record, the desk reads it)
  and, as the safety net, by re-reading the records the desk still holds open (`pull_by_creation_time`: the sync's
  `records_refresh_open`).
- `deadline` is the seconds LEFT, not a time: it becomes an absolute deadline counted from when the read was sent
  (`record_from_order`), which can only place it earlier than the platform's, never later.
- The version is `update_time` (Unix s); a record without it is versioned by `create_time`.
"""

import base64
import hashlib
import hmac
import json
import logging
import struct
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import httpx
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.utils.translation import gettext as _

from desk.input_checks import InputRejected, clean_text, loads_json

from .base import (
    PUSH_QUERY_HEADER,
    AfterSaleRecord,
    AgreementResult,
    BusinessRefusal,
    Credentials,
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
    SessionInvalid,
    SignatureInvalid,
    fen_to_yuan,
    post_for_json_object,
    yuan_to_fen,
)

logger = logging.getLogger(__name__)

PLATFORM_CODE = "wechat"
API_PREFIX = "/channels/ec/aftersale/"

# --- amounts: WeChat sends refund_info.amount and takes refundpricediff's amount as whole 分:
# base.fen_to_yuan / yuan_to_fen, called only where a record is read or the price difference is built.


def epoch_to_utc(seconds: int) -> datetime | None:
    if not seconds:
        return None
    return datetime.fromtimestamp(int(seconds), tz=UTC)


def deadline_from_remaining(remaining_seconds: int, *, asked_at: datetime) -> datetime | None:
    """`deadline` is 剩余秒数: counted from when the question was sent, the absolute deadline is never later than the
    platform's (it counted the seconds somewhere between our question and its answer). 0 or absent: none."""
    if remaining_seconds <= 0:
        return None
    return asked_at + timedelta(seconds=remaining_seconds)


# --- the push's cryptography (安全模式)

AES_BLOCK_PADDING = 32  # WeChat pads its AES plaintext PKCS#7-style to 32 bytes, not to AES's 16


def signature(*parts: str) -> str:
    """Lower hex SHA1 of the parts sorted as strings (ordinal) and joined: `signature` over (token, timestamp,
    nonce), `msg_signature` over (token, timestamp, nonce, Encrypt)."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324 - the platform's scheme


def aes_key(encoding_aes_key: str) -> bytes:
    """EncodingAESKey is 43 Base64 characters; with "=" they decode to the 32-byte AES-256 key."""
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (ValueError, TypeError):
        raise SignatureInvalid("the EncodingAESKey is not Base64", code="bad_key") from None
    if len(key) != 32:
        raise SignatureInvalid("the EncodingAESKey does not make a 32-byte key", code="bad_key")
    return key


def decrypt(key: bytes, encrypted: str) -> tuple[bytes, str]:
    """(message, appid) of an `Encrypt` text: AES-256-CBC, IV = the key's first 16 bytes, 32-byte PKCS#7 padding;
    the plaintext is 16 random bytes, the message's length (4 bytes, big-endian), the message, the appid.
    SignatureInvalid for anything that is not that shape."""
    try:
        data = base64.b64decode(encrypted, validate=True)
    except (ValueError, TypeError):
        raise SignatureInvalid("Encrypt is not Base64", code="bad_encrypt") from None
    if not data or len(data) % 16:
        raise SignatureInvalid("Encrypt is not whole AES blocks", code="bad_encrypt")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(data) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= AES_BLOCK_PADDING or plain[-pad:] != bytes([pad]) * pad:
        raise SignatureInvalid("bad padding", code="bad_padding")
    plain = plain[:-pad]
    if len(plain) < 20:
        raise SignatureInvalid("the plaintext is too short", code="bad_plaintext")
    (length,) = struct.unpack(">I", plain[16:20])
    if 20 + length > len(plain):
        raise SignatureInvalid("the message length is past the plaintext", code="bad_plaintext")
    message, appid = plain[20 : 20 + length], plain[20 + length :]
    try:
        return message, appid.decode("ascii")
    except UnicodeDecodeError:
        raise SignatureInvalid("the appid is not text", code="bad_plaintext") from None


def push_keys(push_secret: str) -> tuple[str, str]:
    """(Token, EncodingAESKey) from the connection's push secret, JSON {"token": …, "encoding_aes_key": …}; an empty
    EncodingAESKey means the shop pushes in plain mode."""
    try:
        value = json.loads(push_secret or "{}")
    except ValueError:
        value = None
    if not isinstance(value, dict) or not isinstance(value.get("token"), str) or not value["token"]:
        raise SignatureInvalid("the connection has no WeChat push Token", code="no_push_secret")
    encoding_aes_key = value.get("encoding_aes_key") or ""
    return value["token"], encoding_aes_key if isinstance(encoding_aes_key, str) else ""


def push_secret_json(*, token: str, encoding_aes_key: str = "") -> str:
    """What ShopConnection.push_secret holds for WeChat (connection_connect's push_secret)."""
    return json.dumps({"token": token, "encoding_aes_key": encoding_aes_key})


# --- mapping

KINDS: dict[str, RecordKind] = {
    "REFUND": RecordKind.REFUND_ONLY,  # 仅退款
    "RETURN": RecordKind.RETURN_REFUND,  # 退货退款
    # The exchange type's literal is NOT VERIFIED: any other type maps to UNKNOWN, its code kept (platform_kind),
    # and opens a ticket no automatic rule refunds.
}

STATUS_WAITING_RECEIPT = "MERCHANT_WAIT_RECEIPT"
STATUSES: dict[str, RecordStatus] = {
    "USER_CANCELD": RecordStatus.CLOSED_BY_BUYER,  # 用户取消申请 (WeChat's spelling)
    "MERCHANT_PROCESSING": RecordStatus.WAITING_SELLER,  # 商家受理中
    "MERCHANT_REJECT_REFUND": RecordStatus.SELLER_REFUSED,  # 商家拒绝退款
    "MERCHANT_REJECT_RETURN": RecordStatus.SELLER_REFUSED,  # 商家拒绝退货退款
    "USER_WAIT_RETURN": RecordStatus.WAITING_BUYER_RETURN,  # 待买家退货
    "RETURN_CLOSED": RecordStatus.CLOSED,  # 退货退款关闭
    # 待商家收货: RETURN_SHIPPED when the buyer's waybill is known (record_status), else waiting for the seller.
    STATUS_WAITING_RECEIPT: RecordStatus.WAITING_SELLER_CONFIRM,
    # 商家逾期未退款: the seller still owes the refund and may still agree it (the gateway treats it as agreeable);
    # if the platform refunds on its own, MERCHANT_REFUND_SUCCESS follows.
    "MERCHANT_OVERDUE_REFUND": RecordStatus.WAITING_SELLER,
    "MERCHANT_REFUND_SUCCESS": RecordStatus.SUCCEEDED,  # 退款完成
    "MERCHANT_RETURN_SUCCESS": RecordStatus.SUCCEEDED,  # 退货退款完成
    "PLATFORM_REFUNDING": RecordStatus.REFUNDING,  # 平台退款中: agreed, the money not back yet
    "PLATFORM_REFUND_FAIL": RecordStatus.REFUNDING,  # 平台退款失败: not a success; the platform retries
    # The three "waiting for the buyer" statuses (待用户确认, 待用户处理商家协商, 待用户处理商家代发起的售后申请):
    # the desk has nothing to send and must not agree meanwhile. base.RecordStatus has no generic "waiting for the
    # buyer"; WAITING_BUYER_RECEIPT is the one the desk treats that way (no ticket move, not agreeable).
    "USER_WAIT_CONFIRM": RecordStatus.WAITING_BUYER_RECEIPT,
    "USER_WAIT_CONFIRM_UPDATE": RecordStatus.WAITING_BUYER_RECEIPT,
    "USER_WAIT_HANDLE_MERCHANT_AFTER_SALE": RecordStatus.WAITING_BUYER_RECEIPT,
    "MERCHANT_REFUND_RETRY_FAIL": RecordStatus.CLOSED,  # 商家打款失败，客服关闭售后
    "MERCHANT_FAIL": RecordStatus.CLOSED,  # 售后关闭
}


def record_kind(code: str) -> RecordKind:
    return KINDS.get(code, RecordKind.UNKNOWN)


def record_status(code: str, *, has_return_waybill: bool = False) -> RecordStatus:
    if code == STATUS_WAITING_RECEIPT and has_return_waybill:
        return RecordStatus.RETURN_SHIPPED
    return STATUSES.get(code, RecordStatus.UNKNOWN)


def _int(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def record_from_order(order: dict, *, asked_at: datetime) -> AfterSaleRecord:
    """One `after_sale_order` of getaftersaleorder; `asked_at` is when the read was sent (the deadline counts from
    it)."""
    kind_code = _text(order.get("type"))
    status_code = _text(order.get("status"))
    returned = _dict(order.get("return_info"))
    waybill = _text(returned.get("waybill_id"))
    create_time = _int(order.get("create_time"))
    update_time = _int(order.get("update_time")) or create_time
    mapped = record_status(status_code, has_return_waybill=bool(waybill))
    amount = fen_to_yuan(_int(_dict(order.get("refund_info")).get("amount")))
    reason_text = _text(order.get("reason_text"))
    return AfterSaleRecord(
        platform_id=_text(order.get("after_sale_order_id")),
        order_id=_text(order.get("order_id")),
        kind=record_kind(kind_code),
        status=mapped,
        version=str(update_time),
        modified_at=epoch_to_utc(update_time) or datetime.fromtimestamp(0, tz=UTC),
        applied_at=epoch_to_utc(create_time) or epoch_to_utc(update_time) or datetime.fromtimestamp(0, tz=UTC),
        amount=amount,
        reason=reason_text or _text(order.get("reason")),
        buyer_message=_text(_dict(order.get("details")).get("desc")),
        platform_kind=kind_code,
        platform_status=status_code,
        deadline=deadline_from_remaining(_int(order.get("deadline")), asked_at=asked_at),
        return_courier=_text(returned.get("delivery_id")) or _text(returned.get("delivery_name")),
        return_tracking_number=waybill,
        refunded_amount=amount if mapped == RecordStatus.SUCCEEDED else None,
        sub_order_id=_text(_dict(order.get("product_info")).get("sku_id")),
        raw=order,
    )


# --- errors

ERR_OK = 0
SESSION_ERRORS = {40001, 42001}  # invalid credential, access_token expired
RATE_ERRORS = {-1, 45009, 45011}  # system busy, daily quota, per-minute limit


def raise_for_answer(answer: dict) -> None:
    code = _int(answer.get("errcode")) if answer.get("errcode") is not None else ERR_OK
    if code == ERR_OK:
        return
    message = _text(answer.get("errmsg")) or str(code)
    if code in SESSION_ERRORS:
        raise SessionInvalid(message, code=str(code))
    if code in RATE_ERRORS:
        raise RateLimited(message, code=str(code))
    raise BusinessRefusal(message, code=str(code))


# --- the push

EVENT_AFTERSALE_UPDATE = "channels_ec_aftersale_update"
EVENT_BODY = "finder_shop_aftersale_status_update"
MAX_ID_LENGTH = 64


def _push_id(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    try:
        return clean_text(str(value), max_length=MAX_ID_LENGTH)
    except InputRejected:
        return ""


def _loads(raw: bytes | str, what: str) -> Any:
    try:
        return loads_json(raw)
    except InputRejected as rejected:
        raise PushInvalid(f"{what}: {rejected.message}", code="invalid_push") from None


def query_of(headers: dict[str, str]) -> dict[str, str]:
    """The push's URL query, which the door hands over in PUSH_QUERY_HEADER (WeChat signs in the query)."""
    lowered = {key.lower(): value for key, value in headers.items()}
    return dict(parse_qsl(lowered.get(PUSH_QUERY_HEADER.lower(), ""), keep_blank_values=True))


def _signature_matches(expected: str, given: str) -> bool:
    return isinstance(given, str) and hmac.compare_digest(expected, given.strip().lower())


def open_push(credentials: Credentials, *, query: dict[str, str], body: bytes) -> dict:
    """The push's message (a JSON object), verified: SAFE mode when the connection has an EncodingAESKey (msg_signature
    over the Encrypt text, then decrypted, its appid checked), else PLAIN mode (`signature`; it covers the Token,
    timestamp and nonce but not the body, which is acceptable only because the desk reads a pushed record back from
    the platform and never takes its content from the push)."""
    token, encoding_aes_key = push_keys(credentials.push_secret)
    timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
    if not timestamp or not nonce:
        raise SignatureInvalid("timestamp or nonce missing", code="bad_signature")
    envelope = _loads(body, "the body is not JSON")
    if not isinstance(envelope, dict):
        raise PushInvalid("the body is not a JSON object", code="invalid_push")
    if not encoding_aes_key:
        if not _signature_matches(signature(token, timestamp, nonce), query.get("signature", "")):
            raise SignatureInvalid("signature does not match", code="bad_signature")
        return envelope
    encrypted = envelope.get("Encrypt")
    if not isinstance(encrypted, str) or not encrypted:
        raise SignatureInvalid("safe mode: no Encrypt", code="bad_signature")
    if not _signature_matches(signature(token, timestamp, nonce, encrypted), query.get("msg_signature", "")):
        raise SignatureInvalid("msg_signature does not match", code="bad_signature")
    message, appid = decrypt(aes_key(encoding_aes_key), encrypted)
    if not hmac.compare_digest(appid.encode(), credentials.app_key.encode()):
        raise SignatureInvalid("the push is for another appid", code="bad_appid")
    decoded = _loads(message, "the decrypted message is not JSON")
    if not isinstance(decoded, dict):
        raise PushInvalid("the decrypted message is not a JSON object", code="invalid_push")
    return decoded


def push_messages(credentials: Credentials, message: dict) -> list[PushMessage]:
    """The after-sales update a verified message names; other events are acknowledged and ignored."""
    if message.get("Event") != EVENT_AFTERSALE_UPDATE:
        return []
    update = message.get(EVENT_BODY)
    if not isinstance(update, dict):
        raise PushInvalid(f"{EVENT_BODY} is missing", code="invalid_push")
    platform_id = _push_id(update.get("after_sale_order_id"))
    if not platform_id:
        raise PushInvalid("after_sale_order_id is missing or not valid", code="invalid_push")
    status = _push_id(update.get("status"))
    created = _push_id(message.get("CreateTime"))
    return [
        PushMessage(
            message_id=f"{platform_id}-{created}-{status}",
            topic=EVENT_AFTERSALE_UPDATE,
            shop_id=credentials.shop_id,
            platform_id=platform_id,
            # The push carries only the id, the order and the status: the record is read (getaftersaleorder).
            record=None,
        )
    ]


# --- the adapter

ACCEPT_RETURN = 1  # 同意退货退款并通知退货
ACCEPT_RECEIPT_AND_REFUND = 2  # 确认收货并退款
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


def price_diff_request_id(*, shop_id: str, refund_key: str) -> str:
    """refundpricediff's idempotency id for one desk refund: derived from the shop and the desk's own key of that
    refund (nothing random, nothing stored), so every retry of the same refund sends the same id and the platform
    pays it once."""
    digest = hashlib.sha256(f"wechat-pricediff:{shop_id}:{refund_key}".encode()).hexdigest()
    return f"desk{digest[:28]}"


class WechatAdapter:
    """One adapter for every WeChat shop: the gateway's address, the timeout, the shop's appid (app_key), its
    access_token and its push Token/EncodingAESKey come with the credentials."""

    platform_code = PLATFORM_CODE
    # begin/end_create_time at most 24 h apart (MARKETPLACES.md §5).
    pull_window_max_seconds = 24 * 3600
    pull_overlap_seconds = 120
    # The list filters by creation: the sync also re-reads the records it holds open (services.records_refresh_open).
    pull_by_creation_time = True
    # A first sync lists the records created in the last 15 days (a return's 7 days to ship plus the seller's days to
    # receive, with room; the platform's longest open life is NOT VERIFIED): older open records would otherwise never
    # be seen. 15 windows of 24 h, within one sync run.
    first_sync_lookback = timedelta(days=15)
    registers_returns_received = False

    def __init__(self, *, transport: httpx.BaseTransport | None = None, clock: Callable[[], float] = time.time):
        self._client = httpx.Client(transport=transport, limits=LIMITS) if transport is not None else _client
        self.clock = clock
        # next_key of the list's pages, by (shop, window, page): the sync's contract counts pages, WeChat chains
        # keys. A page whose key was lost (another process) is reached by walking the chain again.
        self._next_keys: dict[tuple, str] = {}
        self._keys_lock = threading.Lock()

    # - the gateway -

    def call(self, credentials: Credentials, api: str, params: dict, *, write: bool = False) -> dict:
        """POST one API; the answer of an errcode-0 call, or base.py's typed error. A write that may have been carried
        out without our hearing it (timeout after sending, 5xx, an answer that is not JSON) is OutcomeUnknown."""
        path = API_PREFIX + api
        answer = post_for_json_object(
            self._client,
            credentials.gateway_url.rstrip("/") + path,
            what=api,
            write=write,
            timeout=credentials.timeout_seconds,
            params={"access_token": credentials.access_token},
            content=json.dumps(params, ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json;charset=UTF-8", "Accept": "application/json"},
        )
        raise_for_answer(answer)
        return answer

    # - inbound -

    def _list_page(self, credentials: Credentials, begin: int, end: int, page: int) -> tuple[list[str], bool]:
        """The ids of the window's `page` (from 1), walking next_key from the first page when the key is not known."""
        window = (credentials.shop_id, begin, end)
        with self._keys_lock:
            key = "" if page == 1 else self._next_keys.get((*window, page))
        if key is None:
            for earlier in range(1, page):
                _ids, has_more = self._list_page(credentials, begin, end, earlier)
                if not has_more:
                    return [], False
            with self._keys_lock:
                key = self._next_keys.get((*window, page), "")
        params: dict[str, Any] = {"begin_create_time": begin, "end_create_time": end}
        if key:
            params["next_key"] = key
        answer = self.call(credentials, "getaftersalelist", params)
        ids = [_text(value) for value in answer.get("after_sale_order_id_list") or [] if _text(value)]
        has_more = bool(answer.get("has_more")) and bool(answer.get("next_key"))
        with self._keys_lock:
            if len(self._next_keys) > 10_000:
                self._next_keys.clear()
            if has_more:
                self._next_keys[(*window, page + 1)] = _text(answer.get("next_key"))
        return ids, has_more

    def pull(self, credentials: Credentials, *, start: datetime, end: datetime, page: int) -> PullPage:
        """The records CREATED in [start, end] (WeChat's list filters by creation, see the module's docstring), each
        read whole by getaftersaleorder."""
        if page < 1:
            raise ValueError("pages count from 1")
        begin, finish = int(start.timestamp()), int(end.timestamp())
        if finish - begin > self.pull_window_max_seconds:
            raise ValueError("WeChat lists at most 24 hours of creation at a time")
        ids, has_more = self._list_page(credentials, begin, finish, page)
        records = [self.read(credentials, platform_id) for platform_id in dict.fromkeys(ids)]
        return PullPage(records=records, has_more=has_more, next_page=page + 1 if has_more else None)

    def verify_push(self, credentials: Credentials, *, headers: dict[str, str], body: bytes) -> list[PushMessage]:
        message = open_push(credentials, query=query_of(headers), body=body)
        return push_messages(credentials, message)

    def answer_url_check(self, credentials: Credentials, query: dict[str, str]) -> str:
        """The console's URL check (GET with signature, timestamp, nonce, echostr): echostr back when the signature
        is the Token's. In safe mode an echostr that comes with msg_signature is decrypted first (NOT VERIFIED which
        of the two WeChat shop sends: both are answered)."""
        token, encoding_aes_key = push_keys(credentials.push_secret)
        timestamp, nonce, echostr = query.get("timestamp", ""), query.get("nonce", ""), query.get("echostr", "")
        if not timestamp or not nonce or not echostr:
            raise SignatureInvalid("timestamp, nonce or echostr missing", code="bad_signature")
        if encoding_aes_key and query.get("msg_signature"):
            if not _signature_matches(signature(token, timestamp, nonce, echostr), query["msg_signature"]):
                raise SignatureInvalid("msg_signature does not match", code="bad_signature")
            message, appid = decrypt(aes_key(encoding_aes_key), echostr)
            if appid != credentials.app_key:
                raise SignatureInvalid("the check is for another appid", code="bad_appid")
            return message.decode("utf-8", "replace")
        if not _signature_matches(signature(token, timestamp, nonce), query.get("signature", "")):
            raise SignatureInvalid("signature does not match", code="bad_signature")
        return echostr

    def read(self, credentials: Credentials, platform_id: str) -> AfterSaleRecord:
        asked_at = datetime.fromtimestamp(self.clock(), tz=UTC)
        answer = self.call(credentials, "getaftersaleorder", {"after_sale_order_id": str(platform_id)})
        order = answer.get("after_sale_order")
        if not isinstance(order, dict) or not order.get("after_sale_order_id"):
            raise PlatformError(f"getaftersaleorder {platform_id}: no after_sale_order", code="bad_answer")
        return record_from_order(order, asked_at=asked_at)

    # - outbound -

    def batch_limits(self, credentials: Credentials) -> tuple[int, Decimal]:
        # acceptapply takes one after_sale_order_id per call.
        return 1, Decimal("99999999.99")

    def agree_refunds(self, credentials: Credentials, agreements: list[RefundAgreement]) -> list[AgreementResult]:
        """Each agreement reads the record first: acceptapply agrees the platform's amount, and what it does depends
        on the status (a return waiting for its application would be agreed as a return, not refunded)."""
        results = []
        for agreement in agreements:
            record = self.read(credentials, agreement.platform_id)
            if record.status in (RecordStatus.SUCCEEDED, RecordStatus.REFUNDING):
                results.append(AgreementResult(agreement.platform_id, True, _("Already agreed on WeChat shop.")))
                continue
            if record.amount != agreement.amount:
                results.append(
                    AgreementResult(
                        agreement.platform_id,
                        False,
                        _("WeChat shop asks ¥%(theirs)s, the desk agreed ¥%(ours)s.")
                        % {"theirs": record.amount, "ours": agreement.amount},
                    )
                )
                continue
            params: dict[str, Any] = {"after_sale_order_id": agreement.platform_id}
            if record.kind == RecordKind.REFUND_ONLY and record.status == RecordStatus.WAITING_SELLER:
                pass  # 仅退款: acceptapply refunds
            elif record.kind == RecordKind.RETURN_REFUND and record.platform_status == STATUS_WAITING_RECEIPT:
                params["accept_type"] = ACCEPT_RECEIPT_AND_REFUND
            else:
                results.append(
                    AgreementResult(
                        agreement.platform_id,
                        False,
                        _("WeChat shop's %(kind)s in status %(status)s does not take a refund agreement.")
                        % {"kind": record.platform_kind, "status": record.platform_status},
                    )
                )
                continue
            try:
                self.call(credentials, "acceptapply", params, write=True)
            except BusinessRefusal as refusal:
                results.append(AgreementResult(agreement.platform_id, False, refusal.message))
                continue
            results.append(AgreementResult(agreement.platform_id, True))
        return results

    def agree_return(self, credentials: Credentials, record: AfterSaleRecord, address: ReturnAddress) -> None:
        if record.status in RETURN_AGREED:
            return  # already agreed (a retry after an unclear answer reads the record first): not sent again
        params: dict[str, Any] = {"after_sale_order_id": record.platform_id, "accept_type": ACCEPT_RETURN}
        if address.address_id:
            params["address_id"] = address.address_id
        self.call(credentials, "acceptapply", params, write=True)

    def refuse(self, credentials: Credentials, record: AfterSaleRecord, *, reason: str, evidence: list[bytes]) -> None:
        if evidence:
            # uploadrefundcertificate takes media ids from an upload API that MARKETPLACES.md does not cover (NOT
            # VERIFIED): the refusal is not sent without the evidence the agent attached.
            raise BusinessRefusal(
                _("WeChat shop evidence cannot be uploaded by the desk: refuse it in the shop's back office.")
            )
        if record.status in ALREADY_ENDED_OR_REFUSED:
            return
        self.call(
            credentials,
            "rejectapply",
            {"after_sale_order_id": record.platform_id, "reject_reason": reason[:200]},
            write=True,
        )

    def refund_price_difference(
        self, credentials: Credentials, *, refund_key: str, order_id: str, sku_id: str, amount: Decimal
    ) -> str:
        """退差价 / 价保 (refundpricediff): the seller pays `amount` back on an order. Its request_id is this refund's
        idempotency key (price_diff_request_id), so a retry after an unclear answer pays once. Returns it."""
        request_id = price_diff_request_id(shop_id=credentials.shop_id, refund_key=refund_key)
        self.call(
            credentials,
            "refundpricediff",
            {"request_id": request_id, "order_id": order_id, "sku_id": sku_id, "amount": yuan_to_fen(amount)},
            write=True,
        )
        return request_id

    def request_intercept(
        self, credentials: Credentials, record: AfterSaleRecord, *, courier: str, tracking_number: str
    ) -> None:
        raise BusinessRefusal(
            _("WeChat shop has no documented intercept call: ask the courier to intercept %(number)s.")
            % {"number": tracking_number}
        )

    def report_cutoff(
        self, credentials: Credentials, record: AfterSaleRecord, *, succeeded: bool, at: datetime, message: str = ""
    ) -> None:
        raise BusinessRefusal(_("WeChat shop has no documented cut-off report: record it in the shop's back office."))

    def send_message(
        self, credentials: Credentials, record: AfterSaleRecord, *, text: str, images: list[bytes]
    ) -> None:
        raise BusinessRefusal(_("WeChat shop has no documented message call: write to the buyer in the back office."))

    def register_return_received(
        self, credentials: Credentials, record: AfterSaleRecord, receipt: ReturnReceipt
    ) -> None:
        raise NotImplementedError("this platform has no receive-register call; registers_returns_received is False")
