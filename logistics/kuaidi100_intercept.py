"""Kuaidi100's intercept order (interceptOrder), protocol only: the signed request, what its answer means, and the
reading of its callback. No database here; logistics.services.kuaidi100 decides what each answer does.

The request is MARKETPLACES.md §6, read from Kuaidi100's own demo: a form POST of `method=interceptOrder`, `key`, `t`
(milliseconds), `param` (JSON) and `sign` = upper-case hex MD5(param + t + key + secret); an answer `{"code": 200}`
means accepted.

NOT VERIFIED: the callback. Our sources document neither its fields nor its states. What we accept is our safe guess
(docs/tracking-webhooks.md, “Kuaidi100 intercept callback”): the same form as Kuaidi100's tracking pushes, `param`
(JSON) + `sign` = upper-case hex MD5(param + salt), signed with the salt we sent in the request (one per intercept);
inside `param`, the state in `status` (or `state`), and `orderId` / `kuaidinum` checked against ours when present.
Only the states below move an intercept; any other state is stored and left to an agent, never guessed at.
"""

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import httpx
from django.utils.translation import gettext as _

from desk.input_checks import InputRejected, loads_json, normalise_tracking_number

METHOD = "interceptOrder"
# orderRole: 1 寄方 (the sender). The shop sent the parcel it wants back.
ORDER_ROLE_SENDER = "1"
# Kuaidi100 reads `param` as JSON text; far above any intercept's, it bounds what a callback may make us parse.
MAX_CALLBACK_PARAM = 64 * 1024


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    REFUSED = "refused"  # Kuaidi100 answered and said no: the robot asks instead
    UNKNOWN = "unknown"  # no clear answer (timeout, 5xx, garbage): it may have acted; never sent again blindly


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    message: str = ""


class Answer(StrEnum):
    """What a callback's state means for the intercept services."""

    CONFIRMED = "confirmed"
    FAILED = "failed"
    RETURNED = "returned"
    PROGRESS = "progress"
    UNKNOWN = "unknown"


# NOT VERIFIED (see the module's docstring): the states we accept, by our reading of DESIGN §5 (registered → in
# progress → succeeded | failed → return signed), in English codes and in Chinese; compared without case.
CALLBACK_STATES = {
    "REGISTERED": Answer.PROGRESS,
    "PROCESSING": Answer.PROGRESS,
    "已登记": Answer.PROGRESS,
    "拦截中": Answer.PROGRESS,
    "SUCCESS": Answer.CONFIRMED,
    "INTERCEPT_SUCCESS": Answer.CONFIRMED,
    "拦截成功": Answer.CONFIRMED,
    "FAIL": Answer.FAILED,
    "FAILED": Answer.FAILED,
    "INTERCEPT_FAIL": Answer.FAILED,
    "拦截失败": Answer.FAILED,
    "RETURN_SIGNED": Answer.RETURNED,
    "退回签收": Answer.RETURNED,
}


class CallbackRejected(Exception):
    """A callback refused as a whole (nothing of it is believed), with the HTTP status to answer."""

    def __init__(self, status: int, reason):
        super().__init__(str(reason))
        self.status = status
        self.reason = str(reason)


@dataclass(frozen=True)
class Callback:
    param: str
    sign: str
    state: str
    answer: Answer
    message: str


def request_sign(param: str, t: str, key: str, secret: str) -> str:
    """Upper-case hex MD5 of param + t + key + secret."""
    return hashlib.md5((param + t + key + secret).encode(), usedforsecurity=False).hexdigest().upper()


def callback_sign(param: str, salt: str) -> str:
    """Upper-case hex MD5 of param + salt: the rule of Kuaidi100's tracking pushes, assumed for the callback."""
    return hashlib.md5((param + salt).encode(), usedforsecurity=False).hexdigest().upper()


def intercept_param(
    *,
    order_id: str,
    kuaidicom: str,
    kuaidinum: str,
    partner_id: str,
    partner_key: str,
    net: str,
    reason: str,
    intercept_type: str,
    pay_type: str,
    callback_url: str,
    salt: str,
) -> dict:
    param = {
        "orderId": order_id,
        "kuaidicom": kuaidicom,
        "kuaidinum": kuaidinum,
        "partnerId": partner_id,
        "partnerKey": partner_key,
        "net": net,
        "reason": reason,
        "interceptType": intercept_type,
        "orderRole": ORDER_ROLE_SENDER,
        "interceptPayType": pay_type,
        "callbackUrl": callback_url,
        "salt": salt,
    }
    # Empty account fields are left out rather than sent empty: not every courier needs partnerKey or net.
    return {name: value for name, value in param.items() if value != ""}


def intercept_form(param: dict, *, key: str, secret: str, now_ms: int | None = None) -> dict[str, str]:
    text = json.dumps(param, ensure_ascii=False, separators=(",", ":"))
    t = str(now_ms if now_ms is not None else int(time.time() * 1000))
    return {"method": METHOD, "key": key, "t": t, "param": text, "sign": request_sign(text, t, key, secret)}


def send_intercept(url: str, form: dict[str, str], *, timeout: float = 10.0) -> SendResult:
    """POST the form once. No transport retries: a retried write may stop the parcel twice or hide that it did."""
    try:
        with httpx.Client(timeout=httpx.Timeout(timeout, connect=3.0)) as client:
            response = client.post(url, data=form)
    except httpx.HTTPError as error:
        # Even a connect error may hide a proxy that forwarded the request: every failure to hear the answer is
        # “unknown”, and the caller never sends the same intercept again on its own.
        return SendResult(Outcome.UNKNOWN, f"{type(error).__name__}: {error}"[:300])
    if response.status_code >= 500 or response.status_code == 429:
        return SendResult(Outcome.UNKNOWN, f"HTTP {response.status_code}")
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        if response.status_code >= 400:
            return SendResult(Outcome.REFUSED, f"HTTP {response.status_code}")
        return SendResult(Outcome.UNKNOWN, _("Not a JSON answer (HTTP %(status)s).") % {"status": response.status_code})
    code = str(answer.get("code", ""))
    message = str(answer.get("message") or "")[:250]
    if code == "200":
        return SendResult(Outcome.ACCEPTED, message)
    if code.startswith("5") or not code:
        return SendResult(Outcome.UNKNOWN, f"{code or '?'} {message}".strip())
    return SendResult(Outcome.REFUSED, f"{code} {message}".strip())


def read_callback(form: Mapping[str, str], *, salt: str, order_id: str, kuaidinum: str) -> Callback:
    """Check and read one callback; CallbackRejected (4xx) before anything is believed."""
    param = form.get("param") or ""
    sign = (form.get("sign") or "").strip().upper()
    if not param:
        raise CallbackRejected(400, _("The field “param” is missing."))
    if len(param) > MAX_CALLBACK_PARAM:
        raise CallbackRejected(413, _("The request is too large."))
    if not sign:
        raise CallbackRejected(403, _("The push is not signed."))
    # compare_digest wants ASCII str or bytes; a sign with other characters simply does not match.
    if not hmac.compare_digest(sign.encode(errors="replace"), callback_sign(param, salt).encode()):
        raise CallbackRejected(403, _("The signature does not match the shop's key."))
    try:
        body = loads_json(param)
    except InputRejected as rejected:
        raise CallbackRejected(400, rejected.message) from None
    if not isinstance(body, dict):
        raise CallbackRejected(400, _("The field “param” must be an object."))
    their_order = body.get("orderId")
    if their_order not in (None, "") and str(their_order) != order_id:
        raise CallbackRejected(409, _("The callback is about another intercept."))
    their_number = body.get("kuaidinum")
    if isinstance(their_number, str) and their_number and normalise_tracking_number(their_number) != kuaidinum:
        raise CallbackRejected(409, _("The callback is about another waybill."))
    raw_state = body.get("status", body.get("state"))
    if isinstance(raw_state, bool) or not isinstance(raw_state, str | int):
        raise CallbackRejected(400, _("The callback has no state."))
    state = str(raw_state).strip()[:100]
    if not state:
        raise CallbackRejected(400, _("The callback has no state."))
    message = body.get("message", body.get("msg", ""))
    message = message.strip()[:200] if isinstance(message, str) else ""
    return Callback(
        param=param,
        sign=sign,
        state=state,
        answer=CALLBACK_STATES.get(state.upper(), Answer.UNKNOWN),
        message=message,
    )
