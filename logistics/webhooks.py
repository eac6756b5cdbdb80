"""The tracking webhooks: Kuaidi100's and Kdniao's pushes and our bulk JSON (docs/tracking-webhooks.md), and the
callback of Kuaidi100's intercept orders.

Each view finds the shop's active account for its provider, lets logistics.tracking_formats read and check the push,
and hands all of its scans to one `tracking_ingest` call. A refused push stores nothing and is answered with a 4xx
in the sender's own answer format, with the reason; no input leads to a 500.
"""

import logging
import re
from collections.abc import Callable

from django.core.exceptions import SuspiciousOperation
from django.db.models.functions import Upper
from django.http import HttpRequest, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from desk.input_checks import InputRejected, read_body
from logistics.kuaidi100_intercept import CallbackRejected, read_callback
from logistics.models import Courier, TrackingAccount, TrackingProvider
from logistics.selectors import kuaidi100_intercept_by_order_id
from logistics.services import IngestResult, Scan, kuaidi100_intercept_callback_record, tracking_ingest
from logistics.tracking_formats import (
    BULK_MAX_BYTES,
    PushRejected,
    bulk_scans,
    kdniao_scans,
    kuaidi100_scans,
)

logger = logging.getLogger(__name__)

SHOP_CODE = re.compile(r"[-a-zA-Z0-9_]{1,40}")
# Kuaidi100's own word for an accepted push; its servers read `result` and `returnCode`.
KUAIDI100_ACCEPTED = "成功"


def _couriers_by(field: str) -> Callable[[set[str]], dict[str, str]]:
    """Our courier codes for an aggregator's codes, compared without case; a code two couriers share maps to none."""

    def lookup(codes: set[str]) -> dict[str, str]:
        wanted = {code.upper(): code for code in codes}
        found: dict[str, set[str]] = {}
        rows = (
            Courier.objects.annotate(their_code=Upper(field))
            .filter(their_code__in=wanted)
            .values_list("their_code", "code")
        )
        for their_code, code in rows:
            found.setdefault(their_code, set()).add(code)
        return {wanted[their_code]: ours.pop() for their_code, ours in found.items() if len(ours) == 1}

    return lookup


def _account(shop_code: str, provider: str) -> TrackingAccount:
    account = None
    if SHOP_CODE.fullmatch(shop_code):
        account = (
            TrackingAccount.objects.select_related("shop")
            .filter(shop__code=shop_code, provider=provider, is_active=True)
            .first()
        )
    if account is None:
        raise PushRejected(404, _("Unknown shop, or the shop has no active account with this provider."))
    return account


def _form(request: HttpRequest):
    try:
        return request.POST
    except SuspiciousOperation:  # too big, or too many fields
        raise PushRejected(413, _("The request is too large.")) from None
    except MultiPartParserError:
        raise PushRejected(400, _("The form cannot be read.")) from None


def _receive(
    request: HttpRequest, shop_code: str, provider: str, read: Callable[[HttpRequest, TrackingAccount], list[Scan]]
) -> IngestResult:
    """Check, read and store one push; raises PushRejected before anything is stored."""
    if request.method != "POST":
        raise PushRejected(405, _("Only POST is accepted."))
    account = _account(shop_code, provider)
    try:
        scans = read(request, account)
    except PushRejected as refusal:
        logger.info("%s push for shop %s refused (%s): %s", provider, shop_code, refusal.status, refusal.reason)
        raise
    return tracking_ingest(shop=account.shop, scans=scans, source=provider)


def _respond(body: dict, status: int) -> JsonResponse:
    response = JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
    if status == 405:
        response["Allow"] = "POST"
    return response


@csrf_exempt
def kuaidi100_push(request, shop_code):
    def read(request, account):
        return kuaidi100_scans(_form(request), signing_key=account.signing_key, couriers=_couriers_by("kuaidi100_code"))

    try:
        _receive(request, shop_code, TrackingProvider.KUAIDI100, read)
    except PushRejected as refusal:
        body = {"result": False, "returnCode": str(refusal.status), "message": refusal.reason}
        return _respond(body, refusal.status)
    return _respond({"result": True, "returnCode": "200", "message": KUAIDI100_ACCEPTED}, 200)


ORDER_ID = re.compile(r"[-a-zA-Z0-9_]{1,40}")


@csrf_exempt
def kuaidi100_intercept_callback(request, order_id):
    """The courier's answer to an intercept asked through Kuaidi100. NOT VERIFIED by our sources (see
    logistics/kuaidi100_intercept.py): signed like a tracking push, with the salt we sent for this intercept; answered
    like a tracking push. A known state moves the intercept; an unknown one is stored for an agent (and answered 200,
    so Kuaidi100 does not repeat it); a replay changes nothing."""
    try:
        if request.method != "POST":
            raise PushRejected(405, _("Only POST is accepted."))
        call = kuaidi100_intercept_by_order_id(order_id) if ORDER_ID.fullmatch(order_id) else None
        if call is None:
            raise PushRejected(404, _("Unknown intercept order."))
        callback = read_callback(
            _form(request), salt=call.salt, order_id=call.order_id, kuaidinum=call.intercept.shipment.tracking_number
        )
        outcome = kuaidi100_intercept_callback_record(call=call, callback=callback)
    except (PushRejected, CallbackRejected) as refusal:
        logger.info("kuaidi100 intercept callback %s refused (%s): %s", order_id[:40], refusal.status, refusal.reason)
        body = {"result": False, "returnCode": str(refusal.status), "message": refusal.reason}
        return _respond(body, refusal.status)
    logger.info("kuaidi100 intercept callback %s: %s", order_id, outcome)
    return _respond({"result": True, "returnCode": "200", "message": KUAIDI100_ACCEPTED}, 200)


@csrf_exempt
def kdniao_push(request, shop_code):
    business_id = ""

    def read(request, account):
        nonlocal business_id
        form = _form(request)
        business_id = account.account_id or form.get("EBusinessID", "")[:64]
        return kdniao_scans(
            form,
            signing_key=account.signing_key,
            account_id=account.account_id,
            couriers=_couriers_by("kdniao_code"),
        )

    try:
        _receive(request, shop_code, TrackingProvider.KDNIAO, read)
    except PushRejected as refusal:
        return _respond(_kdniao_answer(business_id, success=False, reason=refusal.reason), refusal.status)
    return _respond(_kdniao_answer(business_id, success=True, reason=""), 200)


def _kdniao_answer(business_id: str, *, success: bool, reason: str) -> dict:
    update_time = timezone.localtime().strftime("%Y-%m-%d %H:%M:%S")
    return {"EBusinessID": business_id, "UpdateTime": update_time, "Success": success, "Reason": reason}


@csrf_exempt
def bulk_push(request, shop_code):
    def read(request, account):
        content_type = request.content_type or ""
        if content_type != "application/json":
            raise PushRejected(415, _("Send the events as application/json."))
        try:
            body = read_body(request, BULK_MAX_BYTES)
        except InputRejected as rejected:
            raise PushRejected(rejected.status, rejected.message) from None
        return bulk_scans(body, signature=request.headers.get("X-Signature"), signing_key=account.signing_key)

    try:
        result = _receive(request, shop_code, TrackingProvider.BULK, read)
    except PushRejected as refusal:
        body = {"error": refusal.reason}
        if refusal.errors:
            body["errors"] = refusal.errors
        return _respond(body, refusal.status)
    return _respond({"stored": result.stored, "duplicates": result.duplicates, "unknown": result.unknown}, 200)
