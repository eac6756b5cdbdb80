"""The tracking pushes we accept, read into `Scan`s: Kuaidi100's subscription push (订阅推送), Kdniao's track push
(轨迹推送, RequestType 101) and our own bulk JSON. docs/tracking-webhooks.md describes each shape.

Reading is pure: a push is checked (signature first, then every field) in one pass and either becomes a list of scans
or raises `PushRejected` with the HTTP status and the reason to answer. The one thing a push needs from the database,
our courier code for the aggregator's, comes from the `couriers` function the caller passes.
"""

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import gettext as _

from desk.input_checks import InputRejected, loads_json, normalise_tracking_number
from logistics.models import TrackingStatus
from logistics.services import Scan

# The aggregators write local times in China, without an offset.
CHINA = ZoneInfo("Asia/Shanghai")
LOCAL_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")
# Scans outside these bounds are a courier's clock or a typo; stored, they would pin a parcel's state (a scan from
# 2099 would stay its latest forever). The slack covers clocks that run a little fast.
EARLIEST_SCAN = datetime(2000, 1, 1, tzinfo=CHINA)
FUTURE_SLACK = timedelta(days=1)
# One request's scans are one tracking_ingest call, one transaction; bigger batches go in several requests.
MAX_SCANS = 5000
# The bulk body is read before it is parsed; 5000 events with long texts stay well below this.
BULK_MAX_BYTES = 8 * 1024 * 1024
# Lengths of the columns these end up in (or, for the aggregators' codes, in Courier's mapping fields).
TRACKING_NUMBER_MAX_LENGTH = 40
OUR_COURIER_CODE_MAX_LENGTH = 20
THEIR_COURIER_CODE_MAX_LENGTH = 30
MAX_REPORTED_ERRORS = 20
BULK_SIGNATURE_PREFIX = "sha256="

# Maps the aggregator's courier codes found in a push to ours ({"shunfeng": "SF"}); codes it does not know are left
# out, and their scans are matched by tracking number only.
CourierCodes = Callable[[set[str]], Mapping[str, str]]

_S = TrackingStatus
# Kuaidi100's `state` / `statusCode`: the ten main states and the sub-states of its `resultv2` answers.
KUAIDI100_STATES = {
    "0": _S.IN_TRANSIT,  # 在途
    "1001": _S.IN_TRANSIT,  # 到达派件城
    "1002": _S.IN_TRANSIT,  # 干线
    "1003": _S.IN_TRANSIT,  # 转递
    "1": _S.COLLECTED,  # 揽收
    "101": _S.COLLECTED,  # 已下单
    "102": _S.COLLECTED,  # 待揽收
    "103": _S.COLLECTED,  # 已揽收
    "2": _S.PROBLEM,  # 疑难
    **{str(code): _S.PROBLEM for code in range(201, 212)},  # 超时未签收, 拒收, 派件异常, 滞留, 破损…
    "3": _S.DELIVERED,  # 签收
    "301": _S.DELIVERED,  # 本人签收
    "302": _S.DELIVERED,  # 派件异常后签收
    "303": _S.DELIVERED,  # 代签
    "304": _S.DELIVERED,  # 投柜或站签收
    "4": _S.RETURNED,  # 退签
    "401": _S.PROBLEM,  # 已销单: the waybill was cancelled, the parcel did not come back
    "5": _S.DELIVERING,  # 派件
    "501": _S.DELIVERING,  # 投柜或驿站
    "6": _S.RETURNING,  # 退回
    "7": _S.IN_TRANSIT,  # 转投
    "8": _S.IN_TRANSIT,  # 清关
    "10": _S.IN_TRANSIT,  # 待清关
    "11": _S.IN_TRANSIT,  # 清关中
    "12": _S.IN_TRANSIT,  # 已清关
    "13": _S.IN_TRANSIT,  # 清关异常
    "14": _S.RETURNING,  # 拒签
}
KUAIDI100_STATUS_WORDS = {
    "在途": _S.IN_TRANSIT,
    "揽收": _S.COLLECTED,
    "疑难": _S.PROBLEM,
    "签收": _S.DELIVERED,
    "退签": _S.RETURNED,
    "派件": _S.DELIVERING,
    "退回": _S.RETURNING,
    "转投": _S.IN_TRANSIT,
    "清关": _S.IN_TRANSIT,
    "拒签": _S.RETURNING,
}
# Kdniao's `Action` / `StateEx` / `State` codes that are not read by their family (see kdniao_status).
KDNIAO_STATES = {
    "1": _S.COLLECTED,  # 已揽收
    "202": _S.DELIVERING,  # 派件中
    "404": _S.RETURNING,  # 拒收(退件)
    "406": _S.RETURNED,  # 退货签收
    "407": _S.RETURNING,  # 退货未签收
}
_CODE = re.compile(r"[0-9]{1,4}")


class PushRejected(Exception):
    """A push refused as a whole: nothing of it is stored. `errors` lists bad bulk events by index."""

    def __init__(self, status: int, reason, errors: list[dict] | None = None):
        super().__init__(str(reason))
        self.status = status
        self.reason = str(reason)
        self.errors = errors or []


# --- signatures -----------------------------------------------------------------------------------------------------


def kuaidi100_sign(param: str, salt: str) -> str:
    """MD5 of `param` followed by the salt given when subscribing, upper-case hex."""
    return hashlib.md5((param + salt).encode(), usedforsecurity=False).hexdigest().upper()


def kdniao_sign(request_data: str, app_key: str) -> str:
    """Base64 of the lower-case hex MD5 of `RequestData` followed by the AppKey (before the form's URL encoding)."""
    digest = hashlib.md5((request_data + app_key).encode(), usedforsecurity=False).hexdigest()
    return base64.b64encode(digest.encode()).decode()


def bulk_sign(body: bytes, key: str) -> str:
    """The `X-Signature` header of a bulk body: HMAC-SHA256 of the raw body with the shop's key."""
    return BULK_SIGNATURE_PREFIX + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


def signature_matches(given: str, expected: str) -> bool:
    # compare_digest refuses str with non-ASCII characters; bytes it compares in constant time whatever they hold.
    return hmac.compare_digest(given.encode(errors="replace"), expected.encode())


def _require_signature(given: str | None, expected: str) -> None:
    if not given:
        raise PushRejected(403, _("The push is not signed."))
    if not signature_matches(given, expected):
        raise PushRejected(403, _("The signature does not match the shop's key."))


# --- Kuaidi100 ------------------------------------------------------------------------------------------------------


def kuaidi100_scans(form: Mapping[str, str], *, signing_key: str, couriers: CourierCodes) -> list[Scan]:
    """The scans of a Kuaidi100 push (form fields `param` and `sign`); one parcel per push, items newest first."""
    param = _form_field(form, "param")
    _require_signature((form.get("sign") or "").strip().upper(), kuaidi100_sign(param, signing_key))
    push = _object(_json(param, "param"), "param")
    last = _object(push.get("lastResult"), "lastResult")
    number = _tracking_number(last.get("nu"), "lastResult.nu")
    their_code = _courier_code(last.get("com"), "lastResult.com", required=False)
    last_state = _code(last.get("state"), "lastResult.state")
    items = _list(last.get("data", []), "lastResult.data")
    _require_at_most(len(items))
    our_code = couriers({their_code}).get(their_code, "") if their_code else ""
    scans = []
    for index, raw in enumerate(items):
        where = f"lastResult.data[{index}]"
        item = _object(raw, where)
        code = _code(item.get("statusCode"), f"{where}.statusCode")
        word = _text(item.get("status"), f"{where}.status")
        if code is not None:
            status = KUAIDI100_STATES.get(code, _S.IN_TRANSIT)
        elif word:
            status = KUAIDI100_STATUS_WORDS.get(word, _S.IN_TRANSIT)
        elif index == 0 and last_state is not None:
            status = KUAIDI100_STATES.get(last_state, _S.IN_TRANSIT)
        else:
            status = _S.IN_TRANSIT
        formatted = item.get("ftime")
        time_key = "ftime" if formatted not in (None, "") else "time"
        scans.append(
            Scan(
                courier_code=our_code,
                tracking_number=number,
                scanned_at=_local_time(item.get(time_key), f"{where}.{time_key}"),
                status=status,
                text=_text(item.get("context"), f"{where}.context"),
                location=_text(item.get("areaName"), f"{where}.areaName")
                or _text(item.get("location"), f"{where}.location"),
            )
        )
    return scans


# --- Kdniao ---------------------------------------------------------------------------------------------------------


def kdniao_scans(form: Mapping[str, str], *, signing_key: str, account_id: str, couriers: CourierCodes) -> list[Scan]:
    """The scans of a Kdniao track push (form fields `RequestData`, `DataSign`, `RequestType` 101), newest first;
    several parcels per push, each one's traces oldest first. `account_id`, when set, must be the push's EBusinessID."""
    request_data = _form_field(form, "RequestData")
    request_type = _form_field(form, "RequestType").strip()
    _require_signature(_base64_key(form.get("DataSign") or ""), _base64_key(kdniao_sign(request_data, signing_key)))
    if request_type != "101":
        raise PushRejected(400, _("Only track pushes (RequestType 101) are accepted here."))
    push = _object(_json(request_data, "RequestData"), "RequestData")
    business_id = push.get("EBusinessID")
    business_id = _text(str(business_id) if isinstance(business_id, int) else business_id, "EBusinessID")
    if account_id and business_id != account_id:
        raise PushRejected(403, _("The push is for another Kdniao account (EBusinessID)."))
    parcels = _list(push.get("Data", []), "Data")
    read = []
    total = 0
    for index, raw in enumerate(parcels):
        where = f"Data[{index}]"
        parcel = _object(raw, where)
        number = _tracking_number(parcel.get("LogisticCode"), f"{where}.LogisticCode")
        their_code = _courier_code(parcel.get("ShipperCode"), f"{where}.ShipperCode", required=False)
        state_ex = _code(parcel.get("StateEx"), f"{where}.StateEx")
        state = _code(parcel.get("State"), f"{where}.State")
        parcel_state = state_ex if state_ex is not None else state
        traces = _list(parcel.get("Traces", []), f"{where}.Traces")
        total += len(traces)
        _require_at_most(total)
        read.append((where, number, their_code, parcel_state, traces))
    codes = {their_code for _where, _number, their_code, _state, _traces in read if their_code}
    ours = couriers(codes) if codes else {}
    scans = []
    for where, number, their_code, parcel_state, traces in read:
        our_code = ours.get(their_code, "")
        newest = len(traces) - 1
        for index, raw in enumerate(traces):
            trace_where = f"{where}.Traces[{index}]"
            trace = _object(raw, trace_where)
            action = _code(trace.get("Action"), f"{trace_where}.Action")
            if action is None and index == newest:
                action = parcel_state
            scans.append(
                Scan(
                    courier_code=our_code,
                    tracking_number=number,
                    scanned_at=_local_time(trace.get("AcceptTime"), f"{trace_where}.AcceptTime"),
                    status=kdniao_status(action),
                    text=_text(trace.get("AcceptStation"), f"{trace_where}.AcceptStation"),
                    location=_text(trace.get("Location"), f"{trace_where}.Location"),
                )
            )
    # Traces are oldest first; tracking_ingest takes the first of a parcel's same-time scans as its latest.
    return scans[::-1]


def kdniao_status(code: str | None) -> str:
    """Kdniao's codes by family: 1 collected, 2xx in transit (202 out for delivery), 3xx delivered, 4xx a problem
    (404/407 on the way back, 406 back), 5 forwarded and 6 customs in transit; anything else in transit."""
    if code is None:
        return _S.IN_TRANSIT
    if code in KDNIAO_STATES:
        return KDNIAO_STATES[code]
    family = code[0] if len(code) in (1, 3) else ""
    return {"3": _S.DELIVERED, "4": _S.PROBLEM}.get(family, _S.IN_TRANSIT)


def _base64_key(value: str) -> str:
    # Padding carries no information and a "+" not URL-encoded by the sender arrives as a space.
    return value.strip().replace(" ", "+").rstrip("=")


# --- bulk JSON ------------------------------------------------------------------------------------------------------


def bulk_scans(body: bytes, *, signature: str | None, signing_key: str) -> list[Scan]:
    """The scans of a bulk body `{"events": [...]}` signed in `X-Signature`, last listed first. Every event is checked
    before any is accepted; the first bad ones are reported by index."""
    _require_signature((signature or "").strip().lower(), bulk_sign(body, signing_key))
    if not body.strip():
        raise PushRejected(400, _("The body is empty."))
    payload = _object(_json(body, "body"), "body")
    if "events" not in payload:
        raise PushRejected(400, _("%(where)s: is missing.") % {"where": "events"})
    events = _list(payload["events"], "events")
    if not events:
        raise PushRejected(400, _("There are no events."))
    _require_at_most(len(events))
    scans, errors, invalid = [], [], 0
    for index, raw in enumerate(events):
        try:
            scans.append(_bulk_scan(raw, f"events[{index}]"))
        except PushRejected as refusal:
            invalid += 1
            if len(errors) < MAX_REPORTED_ERRORS:
                errors.append({"index": index, "reason": refusal.reason})
    if errors:
        message = _("%(count)d of %(total)d events are invalid; nothing was stored.") % {
            "count": invalid,
            "total": len(events),
        }
        raise PushRejected(400, message, errors)
    # Of a parcel's events with the same time, the one listed last is the newer (a log is written oldest first), and
    # tracking_ingest takes the first it is given as the latest.
    return scans[::-1]


def _bulk_scan(raw, where: str) -> Scan:
    event = _object(raw, where)
    status = event.get("status")
    if status not in TrackingStatus.values:
        raise _malformed(
            f"{where}.status", _("must be one of %(values)s.") % {"values": ", ".join(TrackingStatus.values)}
        )
    courier = event.get("courier")
    if courier not in (None, ""):
        courier = _printable(courier, f"{where}.courier", OUR_COURIER_CODE_MAX_LENGTH)
    return Scan(
        courier_code=courier or "",
        tracking_number=_tracking_number(event.get("tracking_number"), f"{where}.tracking_number"),
        scanned_at=_iso_time(event.get("time"), f"{where}.time"),
        status=status,
        text=_text(event.get("text"), f"{where}.text"),
        location=_text(event.get("location"), f"{where}.location"),
    )


# --- fields ---------------------------------------------------------------------------------------------------------


def _malformed(where: str, problem) -> PushRejected:
    return PushRejected(400, _("%(where)s: %(problem)s") % {"where": where, "problem": problem})


def _require_at_most(count: int) -> None:
    if count > MAX_SCANS:
        raise PushRejected(413, _("Too many scans: at most %(max)d per request.") % {"max": MAX_SCANS})


def _form_field(form: Mapping[str, str], name: str) -> str:
    value = form.get(name)
    if not value:
        raise _malformed(name, _("is missing."))
    return value


def _json(raw: str | bytes, where: str):
    """Read by input_checks.loads_json, as every JSON door: UTF-8 only, bounded nesting, and no NUL or lone
    surrogate in any string (the push is refused, so the aggregator's retry can carry a corrected one)."""
    try:
        return loads_json(raw)
    except InputRejected as rejected:
        problem = _("is not valid JSON.") if rejected.code == "parse_error" else rejected.message
        raise _malformed(where, problem) from None


def _object(value, where: str) -> dict:
    if not isinstance(value, dict):
        raise _malformed(where, _("must be an object."))
    return value


def _list(value, where: str) -> list:
    if not isinstance(value, list):
        raise _malformed(where, _("must be a list."))
    return value


def _text(value, where: str) -> str:
    """An optional free text; null is empty. Characters PostgreSQL cannot store (NUL, lone surrogates) are dropped."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _malformed(where, _("must be a string."))
    return value.encode(errors="ignore").decode().replace("\x00", "").strip()


def _printable(value, where: str, max_length: int) -> str:
    if not isinstance(value, str):
        raise _malformed(where, _("must be a string."))
    value = value.strip()
    if not value.isprintable() or len(value) > max_length:
        raise _malformed(where, _("must be at most %(max)d printable characters.") % {"max": max_length})
    return value


def _tracking_number(value, where: str) -> str:
    if not isinstance(value, str):
        raise _malformed(where, _("must be a string."))
    number = normalise_tracking_number(value)
    if not number:
        raise _malformed(where, _("is empty."))
    if not number.isprintable() or len(number) > TRACKING_NUMBER_MAX_LENGTH:
        raise _malformed(where, _("is not a tracking number."))
    return number


def _courier_code(value, where: str, *, required: bool) -> str:
    if value is None or value == "":
        if required:
            raise _malformed(where, _("is missing."))
        return ""
    return _printable(value, where, THEIR_COURIER_CODE_MAX_LENGTH)


def _code(value, where: str) -> str | None:
    """A numeric status code, given as a string or a number; null or empty is absent."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _malformed(where, _("must be a status code."))
    code = str(value).strip()
    if not _CODE.fullmatch(code):
        raise _malformed(where, _("must be a status code."))
    return str(int(code))


def _local_time(value, where: str) -> datetime:
    if isinstance(value, str):
        for time_format in LOCAL_TIME_FORMATS:
            try:
                moment = datetime.strptime(value.strip(), time_format).replace(tzinfo=CHINA)  # noqa: DTZ007
            except ValueError:
                continue
            return _plausible(moment, where)
    raise _malformed(where, _("must be a time written YYYY-MM-DD HH:MM:SS (China time)."))


def _iso_time(value, where: str) -> datetime:
    if not isinstance(value, str):
        raise _malformed(where, _("must be an ISO 8601 time with its offset, e.g. 2026-11-20T10:00:00+08:00."))
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _malformed(
            where, _("must be an ISO 8601 time with its offset, e.g. 2026-11-20T10:00:00+08:00.")
        ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise _malformed(where, _("has no UTC offset; add one, e.g. +08:00 for China time."))
    return _plausible(moment, where)


def _plausible(moment: datetime, where: str) -> datetime:
    if not EARLIEST_SCAN <= moment <= timezone.now() + FUTURE_SLACK:
        raise _malformed(where, _("is not a plausible scan time (before 2000 or in the future)."))
    return moment
