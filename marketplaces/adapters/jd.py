"""JD (京东 JOS) through its REST gateway `/routerjson`, after-sales only. Facts: /work/shared/MARKETPLACES.md §4.

Signing: the parameters method, app_key, access_token, timestamp (yyyy-MM-dd HH:mm:ss, Beijing time), v=2.0,
format=json and 360buy_param_json (the business parameters as one JSON string), every non-empty one but `sign`,
sorted by key and concatenated as key+value; sign = MD5(secret + s + secret), upper hex. The answer's body sits under
`<method with dots as underscores>_responce` (sic) with `code` "0".

JD has two kinds of after-sales record, kept apart in `platform_id` so that read() and every write know which API to
call: refund applications (退款审核单, the buyer's cancellation before shipping: "refundapply:<id>", the
`jingdong.pop.afs.soa.refundapply.*` API) and service orders (服务单, returns, exchanges, repairs: "asc:<serviceId>",
the `jingdong.asc.*` API, whose writes carry the order's `sysVersion`).

NOT VERIFIED in MARKETPLACES.md, and what is done here about it (docs/marketplaces.md, JD):
- the error JSON and the rate-limit/token codes: `_raise_for` reads the words of the answer, not codes;
- the unit of applyRefundSum: read as 元 (`yuan_from_platform`, the one place);
- the enum values of serviceStatus/customerExpect: SERVICE_STATUS / CUSTOMER_EXPECT map a few, the rest is UNKNOWN
  with JD's code kept;
- pushes: none; verify_push refuses everything (pull only);
- the names and values of the receive register's packing/quality/appearance states (RECEIVE_STATES);
- which operator (operatePin/operateNick) the asc API wants: the shop's id and OPERATOR;
- the widest pull window: 30 minutes.
"""

import hashlib
import json
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
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
    SessionInvalid,
    SignatureInvalid,
)

PLATFORM_CODE = "jd"
CHINA = ZoneInfo("Asia/Shanghai")
JD_TIME = "%Y-%m-%d %H:%M:%S"
PAGE_SIZE = 50  # pageSize 1–50 for both list APIs
# Who the desk says it is at JD (checkUserName, operateNick). Not verified which operator JD wants.
OPERATOR = "after-sales-desk"

REFUND_APPLY = "refundapply"
SERVICE_ORDER = "asc"

M_REFUND_LIST = "jingdong.pop.afs.soa.refundapply.queryPageList"
M_REFUND_REPLY = "jingdong.pop.afs.soa.refundapply.replyRefund"
M_ASC_SYNC = "jingdong.asc.sync.list"
M_ASC_VIEW = "jingdong.asc.query.view"
M_ASC_REFUSE = "jingdong.asc.audit.refuse"
# Agreeing a return: 客户送货, the buyer sends the goods back with a courier of their choosing. That is the desk's
# agreed return (the ticket then waits for the buyer's courier and waybill); 上门取件 (homepick) books JD's courier, a
# service and a cost the desk does not decide.
M_ASC_AGREE_RETURN = "jingdong.asc.audit.delivery"
M_ASC_RECEIVE = "jingdong.asc.receive.register"

# replyRefund's status values (MARKETPLACES.md §4) and rejectType 5 其他 (the desk's refusal is in `remark`).
REPLY_AGREE, REPLY_REFUSE, REPLY_AGREE_AND_INTERCEPT = 1, 2, 6
REJECT_TYPE_OTHER = 5

# Refund application status (0–11, verified) onto the desk's. The money moves after JD's finance approves (3).
REFUND_STATUS: dict[str, RecordStatus] = {
    "0": RecordStatus.WAITING_SELLER,  # 未审核
    "1": RecordStatus.REFUNDING,  # 审核通过: agreed, JD's finance still to pay
    "2": RecordStatus.SELLER_REFUSED,  # 审核不通过
    "3": RecordStatus.SUCCEEDED,  # 京东财务审核通过 (退款成功)
    "4": RecordStatus.CLOSED,  # 财务不通过 (退款失败): the desk's refund fails with it
    "5": RecordStatus.REFUNDING,  # 人工审核通过
    "6": RecordStatus.REFUNDING,  # 拦截并退款
    "7": RecordStatus.REFUNDING,  # 青龙拦截成功: intercepted, the refund follows
    # 青龙拦截失败: the parcel goes on to the buyer and the seller must choose again (强制关单 / 物流待跟进). Not a
    # state to agree again from: the agent decides, with JD's code in front of them.
    "8": RecordStatus.UNKNOWN,
    "9": RecordStatus.REFUNDING,  # 强制关单并退款
    # 物流待跟进: the seller chose to follow the parcel; neither agreed nor refused, so the agent looks.
    "10": RecordStatus.UNKNOWN,
    "11": RecordStatus.CLOSED_BY_BUYER,  # 用户撤销
}
# A refund application's status never goes back: its stage orders two readings in the same second (JD gives no
# version for these records; applyTime/checkTime are their only times). The version is stage × 100 + status, so that
# a write knows from the version alone what JD last said (refund_version_of / status_of_version).
REFUND_STAGE = {"0": 0, "11": 1, "1": 2, "2": 2, "5": 2, "6": 2, "9": 2, "10": 2, "7": 3, "8": 3, "3": 4, "4": 4}

# The seller already agreed at JD (审核通过, 人工审核通过, 拦截并退款, 青龙拦截成功, 强制关单并退款): agreeing again
# would be refused, and the money is JD's to move; the desk's refund is sent and waits for 3 (退款成功).
ALREADY_AGREED = {1, 5, 6, 7, 9}


def refund_version_of(status: str) -> str:
    return str(REFUND_STAGE.get(status, 0) * 100 + (int(status) if status.isdigit() and int(status) < 100 else 0))


def status_of_version(version: str) -> int | None:
    return int(version) % 100 if version.isdigit() else None


# Service order enums: NOT VERIFIED for jingdong.asc. These are the codes JD's 京东售后 (VOP afs) service steps and
# customerExpect use; the simulator speaks them. Any other code is UNKNOWN, its code kept and shown to the agent.
SERVICE_STATUS: dict[str, RecordStatus] = {
    "10": RecordStatus.WAITING_SELLER,  # 申请阶段 / 待审核
    "20": RecordStatus.SELLER_REFUSED,  # 审核不通过
    "31": RecordStatus.WAITING_BUYER_RETURN,  # 审核通过, 待收货 (RETURN_SHIPPED once the buyer's waybill is known)
    "32": RecordStatus.WAITING_SELLER_CONFIRM,  # 商家收货: the goods are back, the seller handles them
    "50": RecordStatus.SUCCEEDED,  # 完成
    "60": RecordStatus.CLOSED_BY_BUYER,  # 取消
}
CUSTOMER_EXPECT: dict[str, RecordKind] = {
    "10": RecordKind.RETURN_REFUND,  # 退货
    "20": RecordKind.EXCHANGE,  # 换货
    "30": RecordKind.REPAIR,  # 维修
}
# The receive register's states (拆包登记): NOT VERIFIED names and values; 1 = as expected, 2 = not.
RECEIVE_STATES = {True: 1, False: 2}

# Words of a failing answer, read in place of codes nobody verified. A session-like answer is read as "broken" (the
# safe side: writes stop, a manager looks) rather than written on with a token JD refuses.
RATE_WORDS = ("频繁", "流量", "限流", "超限", "limit", "frequen", "too many")
TOKEN_WORDS = ("token", "授权", "session", "令牌")
# JD's own fault: the write may or may not have happened.
UNKNOWN_WORDS = ("系统异常", "服务异常", "系统繁忙", "超时", "timeout", "internal error", "service unavailable")


# --- amounts: the one place JD's amounts become 元 -------------------------------------------------------------------


def yuan_from_platform(value: Any) -> Decimal:
    """applyRefundSum as Decimal 元. Its unit is NOT VERIFIED; it is read as 元. Why that side: replyRefund carries no
    amount, so this figure never decides what JD pays; read as 元 a 分 figure could only be too large, which the
    order's refundable amount caps and which no automatic rule passes, while a 元 figure read as 分 would be a
    hundredth of the truth and could slip under a rule's limit."""
    if isinstance(value, bool):
        raise PlatformError(f"unreadable amount {value!r}")
    try:
        amount = Decimal(str(value if value not in (None, "") else "0").strip())
    except InvalidOperation:
        raise PlatformError(f"unreadable amount {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise PlatformError(f"unreadable amount {value!r}")
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# --- time -------------------------------------------------------------------------------------------------------------


def jd_time(moment: datetime) -> str:
    return moment.astimezone(CHINA).strftime(JD_TIME)


def parse_jd_time(value: Any) -> datetime | None:
    """A JD time: "yyyy-MM-dd HH:mm:ss" in Beijing time, or epoch milliseconds (the Java SDK's Date as JSON)."""
    if value in (None, ""):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    text = str(value).strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    try:
        return datetime.strptime(text[:19], JD_TIME).replace(tzinfo=CHINA).astimezone(UTC)
    except ValueError:
        raise PlatformError(f"unreadable time {value!r}") from None


# --- signing ----------------------------------------------------------------------------------------------------------


def sign_string(params: dict[str, str]) -> str:
    return "".join(f"{key}{value}" for key, value in sorted(params.items()) if key != "sign" and value != "")


def jd_sign(params: dict[str, str], secret: str) -> str:
    return hashlib.md5((secret + sign_string(params) + secret).encode()).hexdigest().upper()  # noqa: S324 - JD's


def business_json(params: dict) -> str:
    """360buy_param_json: compact, its keys in a fixed order (the signature covers the exact string)."""
    return json.dumps(params, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def response_key(method: str) -> str:
    return method.replace(".", "_") + "_responce"


# --- platform ids: which of the two kinds ----------------------------------------------------------------------------


def platform_id_of(kind: str, number: Any) -> str:
    return f"{kind}:{number}"


def split_platform_id(platform_id: str) -> tuple[str, str]:
    kind, _sep, number = platform_id.partition(":")
    if kind not in (REFUND_APPLY, SERVICE_ORDER) or not number:
        raise BusinessRefusal(_("%(id)s is not a JD after-sales record.") % {"id": platform_id}, code="not_jd")
    return kind, number


# --- errors -----------------------------------------------------------------------------------------------------------


def _raise_for(answer: dict) -> None:
    """A failing answer (error_response, or a body whose code is not "0") as base.py's typed error."""
    code = str(answer.get("code", "") or "")
    message = " ".join(
        dict.fromkeys(
            str(answer.get(key) or "").strip()
            for key in ("zhDesc", "zh_desc", "msg", "enDesc", "en_desc")
            if str(answer.get(key) or "").strip()
        )
    )
    lowered = message.lower()
    if any(word in lowered for word in RATE_WORDS):
        raise RateLimited(message or code, code=code)
    if any(word in lowered for word in TOKEN_WORDS):
        raise SessionInvalid(message or code, code=code)
    if any(word in lowered for word in UNKNOWN_WORDS):
        raise OutcomeUnknown(message or code, code=code)
    raise BusinessRefusal(message or code, code=code)


def _result(body: dict) -> dict:
    """The business result inside a `_responce`: the one object beside `code` (queryResult, result, …; names not
    verified). A result that says success false is JD's refusal."""
    found = next((value for key, value in body.items() if key != "code" and isinstance(value, dict)), {})
    if found.get("success") is False:
        message = str(found.get("errorMessage") or found.get("msg") or found.get("message") or "")
        raise BusinessRefusal(message or _("JD refused."), code=str(found.get("errorCode") or found.get("code") or ""))
    return found


# --- records ----------------------------------------------------------------------------------------------------------


def _count(value: Any) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        raise PlatformError(f"unreadable totalCount {value!r}") from None


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def refund_application(raw: dict) -> AfterSaleRecord:
    """A refund application (退款审核单): the buyer's refund before shipping, so always REFUND_ONLY."""
    number = _text(raw.get("id"))
    if not number:
        raise PlatformError("a refund application without its id")
    status = _text(raw.get("status"))
    applied = parse_jd_time(raw.get("applyTime"))
    checked = parse_jd_time(raw.get("checkTime"))
    if applied is None:
        raise PlatformError(f"refund application {number} without its applyTime")
    mapped = REFUND_STATUS.get(status, RecordStatus.UNKNOWN)
    amount = yuan_from_platform(raw.get("applyRefundSum"))
    return AfterSaleRecord(
        platform_id=platform_id_of(REFUND_APPLY, number),
        order_id=_text(raw.get("orderId")),
        kind=RecordKind.REFUND_ONLY,
        status=mapped,
        version=refund_version_of(status),
        modified_at=max(applied, checked) if checked else applied,
        applied_at=applied,
        amount=amount,
        reason=_text(raw.get("reason")),
        platform_kind=REFUND_APPLY,
        platform_status=status,
        refunded_amount=amount if mapped == RecordStatus.SUCCEEDED else None,
        raw=raw,
    )


def service_order(raw: dict) -> AfterSaleRecord:
    """A service order (服务单). Its kind and status codes are NOT VERIFIED: what the maps lack is UNKNOWN, the code
    kept in platform_kind / platform_status."""
    number = _text(raw.get("serviceId"))
    if not number:
        raise PlatformError("a service order without its serviceId")
    expect = _text(raw.get("customerExpect"))
    status = _text(raw.get("serviceStatus"))
    applied = parse_jd_time(raw.get("applyTime"))
    updated = parse_jd_time(raw.get("updateTime")) or applied
    if applied is None or updated is None:
        raise PlatformError(f"service order {number} without its times")
    mapped = SERVICE_STATUS.get(status, RecordStatus.UNKNOWN)
    tracking = _text(raw.get("expressNo"))
    if mapped == RecordStatus.WAITING_BUYER_RETURN and tracking:
        mapped = RecordStatus.RETURN_SHIPPED
    amount = yuan_from_platform(raw.get("applyRefundSum")) if raw.get("applyRefundSum") not in (None, "") else None
    return AfterSaleRecord(
        platform_id=platform_id_of(SERVICE_ORDER, number),
        order_id=_text(raw.get("orderId")),
        kind=CUSTOMER_EXPECT.get(expect, RecordKind.UNKNOWN),
        status=mapped,
        version=_text(raw.get("sysVersion")),
        modified_at=updated,
        applied_at=applied,
        amount=amount or Decimal("0.00"),
        reason=_text(raw.get("questionDesc") or raw.get("reason")),
        buyer_message=_text(raw.get("questionDesc")),
        platform_kind=expect,
        platform_status=status,
        return_courier=_text(raw.get("expressCode")),
        return_tracking_number=tracking,
        raw=raw,
    )


# --- the adapter ------------------------------------------------------------------------------------------------------

_client = httpx.Client(limits=httpx.Limits(max_connections=20, max_keepalive_connections=20))

# The pull walks three lists per window, one after the other: refund applications applied in it, refund applications
# checked in it, service orders updated in it. A page number carries which list and its page: list * SOURCE_SPAN + n.
SOURCES = ("applied", "checked", "service")
SOURCE_SPAN = 1000


class JdAdapter:
    platform_code = PLATFORM_CODE
    # Not verified: JD's widest time range for these lists. Thirty minutes keeps a busy window within what one
    # query pages through (pageIndex up to 100 × 50 refund applications).
    pull_window_max_seconds = 30 * 60
    # Times have second resolution and may be indexed late: each window reaches back two minutes; replays are no-ops.
    pull_overlap_seconds = 120
    registers_returns_received = True

    # -- the wire --

    def call(self, credentials: Credentials, method: str, params: dict) -> dict:
        """One JOS call; the body under `<method>_responce`. Raises the typed errors of base.py."""
        form = {
            "method": method,
            "app_key": credentials.app_key,
            "access_token": credentials.access_token,
            "timestamp": jd_time(datetime.now(UTC)),
            "v": "2.0",
            "format": "json",
            "360buy_param_json": business_json(params),
        }
        form = {key: value for key, value in form.items() if value != ""}
        form["sign"] = jd_sign(form, credentials.app_secret)
        try:
            response = _client.post(credentials.gateway_url, data=form, timeout=credentials.timeout_seconds)
        except httpx.ConnectError as error:
            raise PlatformError(f"cannot reach JD: {error}") from error  # nothing was sent: a definite failure
        except httpx.HTTPError as error:
            raise OutcomeUnknown(f"no answer from JD: {type(error).__name__}") from error
        if response.status_code >= 500:
            raise OutcomeUnknown(f"JD answered HTTP {response.status_code}")
        if response.status_code == 429:
            raise RateLimited("HTTP 429")
        try:
            answer = response.json()
        except ValueError:
            raise OutcomeUnknown("JD's answer is not JSON") from None
        if not isinstance(answer, dict):
            raise OutcomeUnknown("JD's answer is not a JSON object")
        failure = answer.get("error_response")
        if isinstance(failure, dict):
            _raise_for(failure)
        body = answer.get(response_key(method))
        if not isinstance(body, dict):
            # Neither the answer nor an error: a write may have happened; the caller reads before anything else.
            raise OutcomeUnknown(f"JD's answer has no {response_key(method)}")
        if str(body.get("code", "0")) != "0":
            _raise_for(body)
        _result(body)  # a result that says success false is JD's refusal
        return body

    def _asc_params(self, credentials: Credentials, **params) -> dict:
        # Every jingdong.asc call names the business unit and the operator (MARKETPLACES.md §4).
        return {"buId": credentials.shop_id, "operatePin": credentials.shop_id, "operateNick": OPERATOR, **params}

    # -- reading --

    def pull(self, credentials: Credentials, *, start: datetime, end: datetime, page: int) -> PullPage:
        source, number = divmod(page, SOURCE_SPAN)
        if source >= len(SOURCES) or number < 1:
            return PullPage(records=[], has_more=False)
        if SOURCES[source] == "service":
            records, more = self._pull_service_orders(credentials, start, end, number)
        else:
            prefix = "applyTime" if SOURCES[source] == "applied" else "checkTime"
            records, more = self._pull_refund_applications(credentials, prefix, start, end, number)
        if more:
            return PullPage(records=records, has_more=True, next_page=page + 1)
        if source + 1 < len(SOURCES):
            return PullPage(records=records, has_more=True, next_page=(source + 1) * SOURCE_SPAN + 1)
        return PullPage(records=records, has_more=False)

    def _pull_refund_applications(
        self, credentials: Credentials, prefix: str, start: datetime, end: datetime, number: int
    ) -> tuple[list[AfterSaleRecord], bool]:
        body = self.call(
            credentials,
            M_REFUND_LIST,
            {
                f"{prefix}Start": jd_time(start),
                f"{prefix}End": jd_time(end),
                "pageIndex": number,
                "pageSize": PAGE_SIZE,
            },
        )
        result = _result(body)
        raws = [raw for raw in result.get("result") or [] if isinstance(raw, dict)]
        total = _count(result.get("totalCount"))
        return [refund_application(raw) for raw in raws], number * PAGE_SIZE < total

    def _pull_service_orders(
        self, credentials: Credentials, start: datetime, end: datetime, number: int
    ) -> tuple[list[AfterSaleRecord], bool]:
        body = self.call(
            credentials,
            M_ASC_SYNC,
            self._asc_params(
                credentials,
                updateTimeBegin=jd_time(start),
                updateTimeEnd=jd_time(end),
                pageNumber=number,
                pageSize=PAGE_SIZE,
            ),
        )
        result = _result(body)
        raws = [raw for raw in result.get("data") or [] if isinstance(raw, dict)]
        # An increment that lists a service order without its status (the list's fields are not verified) is read
        # whole from the detail.
        records = [
            service_order(raw) if raw.get("serviceStatus") not in (None, "") else self._view(credentials, raw)
            for raw in raws
        ]
        total = _count(result.get("totalCount"))
        return records, number * PAGE_SIZE < total

    def _view(self, credentials: Credentials, raw: dict) -> AfterSaleRecord:
        return self.read(credentials, platform_id_of(SERVICE_ORDER, _text(raw.get("serviceId"))))

    def read(self, credentials: Credentials, platform_id: str) -> AfterSaleRecord:
        kind, number = split_platform_id(platform_id)
        if kind == REFUND_APPLY:
            body = self.call(credentials, M_REFUND_LIST, {"ids": number, "pageIndex": 1, "pageSize": 1})
            raws = [raw for raw in _result(body).get("result") or [] if isinstance(raw, dict)]
            found = [raw for raw in raws if _text(raw.get("id")) == number]
            if not found:
                raise BusinessRefusal(_("JD has no refund application %(id)s.") % {"id": number}, code="not_found")
            return refund_application(found[0])
        body = self.call(credentials, M_ASC_VIEW, self._asc_params(credentials, serviceId=number))
        data = _result(body).get("data")
        if not isinstance(data, dict) or _text(data.get("serviceId")) != number:
            raise BusinessRefusal(_("JD has no service order %(id)s.") % {"id": number}, code="not_found")
        return service_order(data)

    def verify_push(self, credentials: Credentials, *, headers: dict[str, str], body: bytes) -> list[PushMessage]:
        # JD's push is NOT VERIFIED (MARKETPLACES.md §4): nothing is taken from the push door, the pull brings it all.
        raise SignatureInvalid("JD pushes are not taken: JD is pulled only")

    # -- writing --

    def batch_limits(self, credentials: Credentials) -> tuple[int, Decimal]:
        # replyRefund answers one refund application per call; JD sets no amount limit on it.
        return 1, Decimal("1000000000")

    def _reply(self, credentials: Credentials, number: str, status: int, remark: str, **extra) -> None:
        params = {"id": number, "status": status, "checkUserName": OPERATOR, "remark": remark[:200], **extra}
        _result(self.call(credentials, M_REFUND_REPLY, params))

    def agree_refunds(self, credentials: Credentials, agreements: list[RefundAgreement]) -> list[AgreementResult]:
        if len(agreements) > 1:
            raise ValueError("replyRefund carries one refund application: split with split_agreements")
        results = []
        for agreement in agreements:
            kind, number = split_platform_id(agreement.platform_id)
            if kind != REFUND_APPLY:
                # A service order's money moves at JD once the return is handled; there is no agree-refund call for
                # it among the verified ones.
                raise BusinessRefusal(
                    _("JD refunds a service order itself after the return; agree it in JD's console."),
                    code="not_supported",
                )
            if status_of_version(agreement.version) in ALREADY_AGREED:
                # Agreed already (an intercept's 通过并京东拦截, the seller in JD's console): nothing is sent again.
                results.append(AgreementResult(agreement.platform_id, True, "already agreed at JD"))
                continue
            self._reply(credentials, number, REPLY_AGREE, "同意退款")
            results.append(AgreementResult(agreement.platform_id, True))
        return results

    def agree_return(self, credentials: Credentials, record: AfterSaleRecord, address: ReturnAddress) -> None:
        kind, number = split_platform_id(record.platform_id)
        if kind != SERVICE_ORDER:
            raise BusinessRefusal(_("A JD refund application has no return to agree."), code="not_supported")
        self.call(
            credentials,
            M_ASC_AGREE_RETURN,
            self._asc_params(
                credentials,
                serviceId=number,
                orderId=record.order_id,
                approveNotes="同意退货",
                sysVersion=self._sys_version(credentials, record),
            ),
        )

    def refuse(self, credentials: Credentials, record: AfterSaleRecord, *, reason: str, evidence: list[bytes]) -> None:
        kind, number = split_platform_id(record.platform_id)
        remark = (reason or "").strip() or "商家拒绝"
        if kind == REFUND_APPLY:
            self._reply(credentials, number, REPLY_REFUSE, remark, rejectType=REJECT_TYPE_OTHER)
            return
        self.call(
            credentials,
            M_ASC_REFUSE,
            self._asc_params(
                credentials,
                serviceId=number,
                orderId=record.order_id,
                approveNotes=remark[:200],
                sysVersion=self._sys_version(credentials, record),
            ),
        )

    def request_intercept(
        self, credentials: Credentials, record: AfterSaleRecord, *, courier: str, tracking_number: str
    ) -> None:
        kind, number = split_platform_id(record.platform_id)
        if kind != REFUND_APPLY:
            raise BusinessRefusal(_("JD takes an intercept only with a refund application."), code="not_supported")
        # 通过并京东拦截: agrees the refund application and has JD's courier stop the parcel.
        self._reply(credentials, number, REPLY_AGREE_AND_INTERCEPT, "同意退款并拦截")

    def report_cutoff(
        self, credentials: Credentials, record: AfterSaleRecord, *, succeeded: bool, at: datetime, message: str = ""
    ) -> None:
        raise BusinessRefusal(_("JD has no cut-off report; the refund application's answer tells JD."), code="n/a")

    def send_message(
        self, credentials: Credentials, record: AfterSaleRecord, *, text: str, images: list[bytes]
    ) -> None:
        raise BusinessRefusal(_("JD has no after-sales message call the desk can use."), code="not_supported")

    def register_return_received(
        self, credentials: Credentials, record: AfterSaleRecord, receipt: ReturnReceipt
    ) -> None:
        kind, number = split_platform_id(record.platform_id)
        if kind != SERVICE_ORDER:
            raise BusinessRefusal(_("A JD refund application has no return to register."), code="not_supported")
        self.call(
            credentials,
            M_ASC_RECEIVE,
            self._asc_params(
                credentials,
                serviceId=number,
                orderId=record.order_id,
                sysVersion=self._sys_version(credentials, record),
                packingState=RECEIVE_STATES[receipt.packing_intact],
                qualityState=RECEIVE_STATES[receipt.quality_ok],
                appearanceState=RECEIVE_STATES[receipt.quality_ok],
                receiveRemark=(receipt.note or "")[:200],
            ),
        )

    def _sys_version(self, credentials: Credentials, record: AfterSaleRecord) -> str:
        """The service order's sysVersion, which every asc write carries: the record's, else read now."""
        if record.version:
            return record.version
        return self.read(credentials, record.platform_id).version
