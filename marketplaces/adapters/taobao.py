"""Taobao / Tmall through TOP (淘宝开放平台), after-sales only. Facts: /work/shared/MARKETPLACES.md §1.

Signing: every non-empty parameter but `sign` (`session` included: TOP answers code 25 otherwise), sorted by key,
concatenated as key+value; `md5` = MD5(secret + s + secret), `hmac` = HMAC-MD5(key=secret, s); upper hex.
Amounts: the records carry 元 strings ("12.50"), the agreement carries 分 integers; both converted here only
(`yuan_from_platform`, `fen_for_platform`).

Pushes: TOP's TMC is a WebSocket channel (or a poll of taobao.tmc.messages.consume). The desk takes them as an HTTP
relay: a POST of the TMC messages signed with TMC's own connect signature, MD5(secret + "app_key" + k + "group_name"
+ g + "timestamp" + ms + secret), upper hex, in headers. A TMC message carries no refund_version, so nothing in it
is acted on: the record is read again (taobao.refund.get) and that is what is applied.

Not verified (MARKETPLACES.md): the error codes for a rate limit and an invalid session (commonly 7 and 27), the
shape of the SMS-code demand, the widest pull window, cs_status values. The safe choices are made in `_raise_for`
and `_status_of` and said there.
"""

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

import httpx
from django.utils.translation import gettext as _

from marketplaces.adapters.base import (
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
    TokenGrant,
    TokenRefreshUnavailable,
    VerificationCodeRequired,
)

CHINA = ZoneInfo("Asia/Shanghai")
TOP_TIME = "%Y-%m-%d %H:%M:%S"
PAGE_SIZE = 100  # the most taobao.refunds.receive.get returns per page
# Image limits (MARKETPLACES.md §1, Actions): taobao.refund.refuse's refuse_proof, taobao.refund.message.add's image.
REFUSE_PROOF_MAX_BYTES = 130_000
MESSAGE_IMAGE_MAX_BYTES = 500 * 1024
# Per call of taobao.rp.refunds.agree (MARKETPLACES.md §1, Constraints).
TAOBAO_AGREE_LIMITS = (20, Decimal("6000.00"))
TMALL_AGREE_LIMITS = (30, Decimal("10000.00"))
# The TMC relay's signature may be this old (TOP allows 10 minutes of clock skew on its own calls).
PUSH_MAX_SKEW = timedelta(minutes=10)

RECORD_FIELDS = (
    "refund_id,tid,oid,status,dispute_type,refund_fee,total_fee,payment,reason,desc,good_status,has_good_return,"
    "company_name,sid,created,modified,good_return_time,refund_remind_timeout,refund_version,refund_phase,"
    "operation_contraint,cs_status,advance_status"
)

STATUS_MAP: dict[str, RecordStatus] = {
    "WAIT_SELLER_AGREE": RecordStatus.WAITING_SELLER,  # 待卖家同意
    "WAIT_BUYER_RETURN_GOODS": RecordStatus.WAITING_BUYER_RETURN,  # 待买家退货
    # 待卖家收货: the buyer has shipped the return (company_name + sid are filled).
    "WAIT_SELLER_CONFIRM_GOODS": RecordStatus.RETURN_SHIPPED,
    "SELLER_REFUSE_BUYER": RecordStatus.SELLER_REFUSED,  # 卖家拒绝
    # 退款关闭: TOP does not say who closed it; the sync reads it against the ticket's state (withdrawn while open,
    # the rejection accepted after a refusal, the ruling after the platform stepped in).
    "CLOSED": RecordStatus.CLOSED,
    "SUCCESS": RecordStatus.SUCCEEDED,
    "WAIT_SELLER_CONSIGN_GOODS": RecordStatus.SELLER_SHIPPING,  # exchange/reship: the seller must ship
    # The exchange became a refund request: the seller decides again.
    "EXCHANGE_TRANSFORM_TO_REFUND": RecordStatus.WAITING_SELLER,
    # The replacement is out, the buyer confirms it: nothing is the seller's to do but wait.
    "WAIT_BUYER_CONFIRM_EXCHANGE_SELLER_SEND_GOODS": RecordStatus.SELLER_SHIPPING,
    "WAIT_SELLER_CONFIRM_RETURN_ADDRESS": RecordStatus.WAITING_SELLER,  # the seller must confirm the return address
    # 运费争议待激活: a postage dispute not yet opened; the request itself still waits for the seller.
    "POST_FEE_DISPUTE_WAIT_ACTIVATE": RecordStatus.WAITING_SELLER,
}

KIND_MAP: dict[str, RecordKind] = {
    "REFUND": RecordKind.REFUND_ONLY,  # 仅退款
    "REFUND_AND_RETURN": RecordKind.RETURN_REFUND,  # 退货退款
    "TMALL_EXCHANGE": RecordKind.EXCHANGE,
    "TAOBAO_EXCHANGE": RecordKind.EXCHANGE,
    "REPAIR": RecordKind.REPAIR,  # 维修
    "RESHIPPING": RecordKind.RESHIP,  # 补寄
    "OTHERS": RecordKind.UNKNOWN,  # kept with its code, shown to an agent
}

# taobao.special.refunds.receive.get: special_refund_type 价保 (priceProtect) and 退差返现 (cashBack) are both the
# refund of a price difference, nothing comes back (MARKETPLACES.md §1). Its `fields` are a subset of the normal pull's.
SPECIAL_REFUND_TYPES = {"priceProtect", "cashBack"}
SPECIAL_RECORD_FIELDS = (
    "refund_id,tid,oid,status,refund_fee,total_fee,payment,reason,desc,good_status,has_good_return,company_name,sid,"
    "created,modified,refund_phase"
)

# cs_status (客服介入 1–11): only "1 = no intervention" is safe to read; TOP's meanings of the rest are not verified.
# Any other value on a record not yet final is read as "the platform stepped in" (the agent then sees it in review
# rather than missing it), and a final record after an intervention as the platform's ruling.
CS_NONE = {"", "0", "1"}


# --- amounts: the one place 元 and 分 are converted ----------------------------------------------------------------


def yuan_from_platform(value) -> Decimal:
    """A TOP amount field (元 string, "12.50") as Decimal 元."""
    try:
        amount = Decimal(str(value or "0").strip())
    except InvalidOperation:
        raise PlatformError(f"unreadable amount {value!r}") from None
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def fen_for_platform(amount: Decimal) -> int:
    """元 Decimal as the 分 integer that taobao.rp.refunds.agree and the cut-off report carry."""
    fen = (amount * 100).quantize(Decimal("1"))
    if fen != amount * 100:
        raise ValueError(f"{amount} has more than two decimal places")
    return int(fen)


# --- time -------------------------------------------------------------------------------------------------------------


def top_time(moment: datetime) -> str:
    return moment.astimezone(CHINA).strftime(TOP_TIME)


def parse_top_time(text) -> datetime | None:
    if not text:
        return None
    return datetime.strptime(str(text), TOP_TIME).replace(tzinfo=CHINA).astimezone(UTC)


# --- signing ----------------------------------------------------------------------------------------------------------


def sign_string(params: dict[str, str]) -> str:
    return "".join(f"{key}{value}" for key, value in sorted(params.items()) if key != "sign" and value != "")


def top_sign(params: dict[str, str], secret: str, sign_method: str = "md5") -> str:
    text = sign_string(params)
    if sign_method == "md5":
        digest = hashlib.md5((secret + text + secret).encode()).hexdigest()  # noqa: S324 - TOP's signature
    elif sign_method == "hmac":
        digest = hmac.new(secret.encode(), text.encode(), hashlib.md5).hexdigest()
    else:
        raise ValueError(f"sign_method {sign_method!r} is not implemented (TOP's SDK implements md5 and hmac)")
    return digest.upper()


def tmc_sign(*, app_key: str, group_name: str, timestamp_ms: str, secret: str) -> str:
    text = f"{secret}app_key{app_key}group_name{group_name}timestamp{timestamp_ms}{secret}"
    return hashlib.md5(text.encode()).hexdigest().upper()  # noqa: S324 - TMC's signature


# --- errors -----------------------------------------------------------------------------------------------------------


def _raise_for(error: dict) -> None:
    code = str(error.get("code", ""))
    sub_code = str(error.get("sub_code", "") or "")
    message = " ".join(part for part in (str(error.get("msg", "")), str(error.get("sub_msg", "") or "")) if part)
    lowered = f"{sub_code} {message}".lower()
    # Not verified: codes 7 (call limited) and 27 (invalid session) are what integrators quote; the sub_codes are
    # matched by their words too. Unsure which is which, the safe reading of a session-like answer is "broken":
    # writes stop and a manager looks, instead of writing on with a token the platform rejects.
    if code == "7" or "limited" in lowered or "accesscontrol" in lowered:
        raise RateLimited(message, code=code, sub_code=sub_code)
    if code in {"26", "27"} or "session" in lowered:
        raise SessionInvalid(message, code=code, sub_code=sub_code)
    if code == "25":
        raise PlatformError(message or "Invalid signature", code=code, sub_code=sub_code)
    # Not verified: how TOP asks for the SMS code of a large agreement. Any refusal that speaks of the code
    # (验证码 / "code") is read as that demand; the refund then goes to the batch file instead.
    if "验证码" in message or "sms" in lowered or "verify-code" in lowered or "need-code" in lowered:
        raise VerificationCodeRequired(message, code=code, sub_code=sub_code)
    if sub_code.startswith("isp."):  # the platform's own fault (isp.*): the write may or may not have happened
        raise OutcomeUnknown(message, code=code, sub_code=sub_code)
    raise BusinessRefusal(message or code, code=code, sub_code=sub_code)


# --- the adapter ------------------------------------------------------------------------------------------------------

_client = httpx.Client(limits=httpx.Limits(max_connections=20, max_keepalive_connections=20))


class TaobaoAdapter:
    platform_code = "taobao"
    # Not verified: TOP's widest window for taobao.refunds.receive.get. One hour is within what integrators use.
    pull_window_max_seconds = 3600
    pull_overlap_seconds = 120
    registers_returns_received = False

    # -- the wire --

    def call(
        self,
        credentials: Credentials,
        method: str,
        params: dict,
        *,
        sign_method: str = "md5",
        files: dict[str, bytes] | None = None,
    ) -> dict:
        """One TOP call; the response's `<method>_response` body. Raises the typed errors of base.py. `files` (an
        image parameter's bytes) go multipart and are not signed (TOP signs the non-file parameters only)."""
        common = {
            "method": method,
            "app_key": credentials.app_key,
            "sign_method": sign_method,
            "timestamp": top_time(datetime.now(UTC)),
            "format": "json",
            "v": "2.0",
            "session": credentials.access_token,
            "simplify": "false",
        }
        form = {key: str(value) for key, value in {**common, **params}.items() if value not in (None, "")}
        form["sign"] = top_sign(form, credentials.app_secret, sign_method)
        try:
            response = _client.post(
                credentials.gateway_url,
                data=form,
                files={name: (f"{name}.jpg", image, "image/jpeg") for name, image in (files or {}).items()} or None,
                timeout=credentials.timeout_seconds,
            )
        except httpx.ConnectError as error:
            # Nothing reached the platform: a definite failure, safe to try again.
            raise PlatformError(f"cannot reach the platform: {error}") from error
        except httpx.HTTPError as error:
            raise OutcomeUnknown(f"no answer from the platform: {type(error).__name__}") from error
        if response.status_code >= 500:
            raise OutcomeUnknown(f"the platform answered HTTP {response.status_code}")
        if response.status_code == 429:
            raise RateLimited("HTTP 429")
        try:
            body = response.json()
        except ValueError:
            raise OutcomeUnknown("the platform's answer is not JSON") from None
        if "error_response" in body:
            _raise_for(body["error_response"])
        key = method.removeprefix("taobao.").replace(".", "_") + "_response"
        return body.get(key) or {}

    # -- reading --

    def pull(self, credentials: Credentials, *, start: datetime, end: datetime, page: int) -> PullPage:
        body = self.call(
            credentials,
            "taobao.refunds.receive.get",
            {
                "fields": RECORD_FIELDS,
                "start_modified": top_time(start),
                "end_modified": top_time(end),
                "page_no": page,
                "page_size": PAGE_SIZE,
                "use_has_next": "true",
            },
        )
        raws = (body.get("refunds") or {}).get("refund") or []
        records = [parse_record(raw, is_tmall=credentials.is_tmall) for raw in raws]
        # The special refunds (价保, 退差返现) are not in the normal list: their own list, page by page beside it (a
        # list already walked to its end answers an empty page).
        special = self.call(
            credentials,
            "taobao.special.refunds.receive.get",
            {
                "fields": SPECIAL_RECORD_FIELDS,
                "start_modified": top_time(start),
                "end_modified": top_time(end),
                "page_no": page,
                "page_size": PAGE_SIZE,
                "use_has_next": "true",
            },
        )
        special_raws = (special.get("refunds") or {}).get("refund") or []
        records += [parse_record(raw, is_tmall=credentials.is_tmall) for raw in special_raws]
        has_next = bool(body.get("has_next")) or bool(special.get("has_next"))
        return PullPage(records=records, has_more=has_next, next_page=page + 1 if has_next else None)

    def read(self, credentials: Credentials, platform_id: str) -> AfterSaleRecord:
        body = self.call(credentials, "taobao.refund.get", {"refund_id": platform_id, "fields": RECORD_FIELDS})
        raw = body.get("refund")
        if not raw:
            raise BusinessRefusal(f"refund {platform_id} not found", code="not_found")
        return parse_record(raw, is_tmall=credentials.is_tmall)

    def verify_push(self, credentials: Credentials, *, headers: dict[str, str], body: bytes) -> list[PushMessage]:
        lower = {key.lower(): value for key, value in headers.items()}
        app_key = lower.get("x-tmc-app-key", "")
        group = lower.get("x-tmc-group", "default")
        stamp = lower.get("x-tmc-timestamp", "")
        given = lower.get("x-tmc-sign", "")
        if app_key != credentials.app_key or not stamp.isdigit() or not given:
            raise SignatureInvalid("missing or foreign TMC signature headers")
        expected = tmc_sign(app_key=app_key, group_name=group, timestamp_ms=stamp, secret=credentials.app_secret)
        if not hmac.compare_digest(expected, given.upper()):
            raise SignatureInvalid("the TMC signature does not match")
        if abs(time.time() * 1000 - int(stamp)) > PUSH_MAX_SKEW.total_seconds() * 1000:
            raise SignatureInvalid("the TMC signature is too old")
        try:
            messages = json.loads(body)
        except ValueError:
            raise SignatureInvalid("the push is not JSON") from None
        if isinstance(messages, dict):
            messages = messages.get("messages", [])
        found = []
        for message in messages if isinstance(messages, list) else []:
            if not isinstance(message, dict):
                continue
            content = message.get("content") or {}
            if isinstance(content, str):
                try:
                    content = json.loads(content)
                except ValueError:
                    continue
            refund_id = str(content.get("refund_id", "")).strip()
            if not refund_id:
                continue
            found.append(
                PushMessage(
                    message_id=str(message.get("id", "")),
                    topic=str(message.get("topic", "")),
                    shop_id=str(message.get("user_id", "") or content.get("seller_nick", "")),
                    platform_id=refund_id,
                    record=None,  # no refund_version in TMC: the caller reads the record
                )
            )
        return found

    # -- writing --

    def batch_limits(self, credentials: Credentials) -> tuple[int, Decimal]:
        return TMALL_AGREE_LIMITS if credentials.is_tmall else TAOBAO_AGREE_LIMITS

    def agree_refunds(self, credentials: Credentials, agreements: list[RefundAgreement]) -> list[AgreementResult]:
        count, total = self.batch_limits(credentials)
        if len(agreements) > count or sum((a.amount for a in agreements), Decimal(0)) > total:
            raise ValueError("more than one taobao.rp.refunds.agree call may carry: split with split_agreements")
        infos = []
        for agreement in agreements:
            parts = [agreement.platform_id, str(fen_for_platform(agreement.amount)), agreement.version]
            if credentials.is_tmall:
                parts.append(agreement.phase or "aftersale")
            infos.append("|".join(parts))
        body = self.call(credentials, "taobao.rp.refunds.agree", {"refund_infos": ",".join(infos)})
        results = (body.get("results") or {}).get("refund_mapping_result") or []
        by_id = {str(result.get("refund_id")): result for result in results}
        answered = []
        for agreement in agreements:
            result = by_id.get(agreement.platform_id)
            if result is None:
                # Absent from the answer: read as not agreed; the caller reads the record before trying again.
                answered.append(AgreementResult(agreement.platform_id, False, str(body.get("msg", ""))))
            else:
                answered.append(
                    AgreementResult(agreement.platform_id, bool(result.get("succ")), str(result.get("message", "")))
                )
        return answered

    def agree_return(self, credentials: Credentials, record: AfterSaleRecord, address: ReturnAddress) -> None:
        params = {"refund_id": record.platform_id, "seller_address_id": address.address_id}
        if credentials.is_tmall:
            params |= {"refund_phase": record.raw.get("refund_phase", "aftersale"), "refund_version": record.version}
        else:
            params |= {"name": address.name, "address": address.address, "post": address.postcode}
            params |= {"mobile": address.phone}
        self.call(credentials, "taobao.rp.returngoods.agree", params)

    def refuse(self, credentials: Credentials, record: AfterSaleRecord, *, reason: str, evidence: list[bytes]) -> None:
        # refuse_message: 2–200 characters (TOP); refuse_proof: one image of at most 130,000 bytes, the first of the
        # ticket's evidence that fits (a larger photo is not sent: TOP would refuse the whole call).
        message = (reason or "").strip()[:200]
        if len(message) < 2:
            message = (message + "。").ljust(2, "。")
        params = {"refund_id": record.platform_id, "refuse_message": message}
        if credentials.is_tmall:
            params |= {"refund_phase": record.raw.get("refund_phase", "aftersale"), "refund_version": record.version}
        proof = next((image for image in evidence if len(image) <= REFUSE_PROOF_MAX_BYTES), None)
        self.call(credentials, "taobao.refund.refuse", params, files={"refuse_proof": proof} if proof else None)

    def request_intercept(
        self, credentials: Credentials, record: AfterSaleRecord, *, courier: str, tracking_number: str
    ) -> None:
        self.call(
            credentials,
            "taobao.rp.refund.intercept",
            {"refund_id": record.platform_id, "refund_version": record.version},
        )

    def report_cutoff(
        self, credentials: Credentials, record: AfterSaleRecord, *, succeeded: bool, at: datetime, message: str = ""
    ) -> None:
        param = {
            "refund_id": record.platform_id,
            "tid": record.order_id,
            "oid": record.sub_order_id or record.order_id,
            "status": "SUCCESS" if succeeded else "FAIL",
            "refund_fee": fen_for_platform(record.amount),
            "operate_time": top_time(at),
            "msg": message,
        }
        self.call(
            credentials,
            "taobao.rdc.aligenius.sendgoods.cancel",
            {"param": json.dumps(param, ensure_ascii=False, separators=(",", ":"))},
        )

    def send_message(
        self, credentials: Credentials, record: AfterSaleRecord, *, text: str, images: list[bytes]
    ) -> None:
        # content ≤ 400 bytes; `image` is required (≤ 500 KB): a message without a photo that fits cannot be left,
        # and the agent is told so (BusinessRefusal reaches the ticket).
        content = text.encode()[:400].decode(errors="ignore")
        image = next((image for image in images if len(image) <= MESSAGE_IMAGE_MAX_BYTES), None)
        if image is None:
            raise BusinessRefusal(
                _(
                    "Taobao leaves a message (taobao.refund.message.add) only with an image of at most 500 KB: add an "
                    "evidence photo to the ticket and send the message again."
                )
            )
        self.call(
            credentials,
            "taobao.refund.message.add",
            {"refund_id": record.platform_id, "content": content},
            files={"image": image},
        )

    def register_return_received(
        self, credentials: Credentials, record: AfterSaleRecord, receipt: ReturnReceipt
    ) -> None:
        raise NotImplementedError("this platform has no receive-register call; registers_returns_received is False")

    def refresh_access_token(self, credentials: Credentials, refresh_token: str) -> TokenGrant:
        # MARKETPLACES.md names no refresh call for this platform (integrators are said to use
        # `taobao.top.auth.token.refresh`, unverified): no guessed request is sent; a manager authorises the shop again.
        raise TokenRefreshUnavailable("Taobao: no verified token refresh call (MARKETPLACES.md)")


def _status_of(raw: dict) -> tuple[RecordStatus, Ruling]:
    status = STATUS_MAP.get(str(raw.get("status", "")), RecordStatus.UNKNOWN)
    cs_status = str(raw.get("cs_status", "") or "")
    if cs_status in CS_NONE:
        return status, Ruling.NONE
    if status == RecordStatus.SUCCEEDED:
        return status, Ruling.FOR_BUYER
    if status == RecordStatus.CLOSED:
        return status, Ruling.FOR_MERCHANT
    return RecordStatus.PLATFORM_REVIEW, Ruling.NONE


def _kind_of(raw: dict) -> RecordKind:
    special = str(raw.get("special_refund_type", "") or "")
    if special:
        return RecordKind.PRICE_PROTECTION if special in SPECIAL_REFUND_TYPES else RecordKind.UNKNOWN
    dispute_type = str(raw.get("dispute_type", "") or "")
    if dispute_type:
        return KIND_MAP.get(dispute_type, RecordKind.UNKNOWN)
    # Older records carry no dispute_type: a return is what has_good_return says.
    return RecordKind.RETURN_REFUND if str(raw.get("has_good_return")).lower() == "true" else RecordKind.REFUND_ONLY


def parse_record(raw: dict, *, is_tmall: bool = False) -> AfterSaleRecord:
    try:
        platform_id = str(raw["refund_id"])
        modified = parse_top_time(raw.get("modified"))
        applied = parse_top_time(raw.get("created")) or modified
    except (KeyError, ValueError) as error:
        raise PlatformError(f"unreadable refund record: {error}") from None
    if modified is None or applied is None:
        raise PlatformError("a refund record without its modified time")
    status, ruling = _status_of(raw)
    timeout = raw.get("refund_remind_timeout") or {}
    deadline = None
    if isinstance(timeout, dict) and str(timeout.get("exist_timeout", "")).lower() == "true":
        try:
            deadline = parse_top_time(timeout.get("timeout"))
        except ValueError:
            deadline = None
    refunded = yuan_from_platform(raw.get("refund_fee")) if status == RecordStatus.SUCCEEDED else None
    return AfterSaleRecord(
        platform_id=platform_id,
        order_id=str(raw.get("tid", "")),
        sub_order_id=str(raw.get("oid", "") or ""),
        kind=_kind_of(raw),
        status=status,
        version=str(raw.get("refund_version", "") or ""),
        modified_at=modified,
        applied_at=applied,
        amount=yuan_from_platform(raw.get("refund_fee")),
        reason=str(raw.get("reason", "") or ""),
        buyer_message=str(raw.get("desc", "") or ""),
        platform_kind=str(raw.get("special_refund_type", "") or raw.get("dispute_type", "") or ""),
        platform_status=str(raw.get("status", "") or ""),
        deadline=deadline,
        return_courier=str(raw.get("company_name", "") or ""),
        return_tracking_number=str(raw.get("sid", "") or ""),
        ruling=ruling,
        refunded_amount=refunded,
        raw=raw,
    )
