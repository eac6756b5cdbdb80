"""What a locked-out login answers (django-axes' AXES_LOCKOUT_CALLABLE, and the API's token view): 429 with
Retry-After and a message in the caller's language; JSON in the API's error shape under /api/, the admin's lockout
page elsewhere."""

import ipaddress
import math

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib import admin
from django.db.models import Max
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import ngettext

from config.middleware import API_PREFIX

LOCKED_OUT_STATUS = 429
LOCKED_OUT_CODE = "locked_out"


def client_address(request) -> str | None:
    """The caller's address for the lockout (AXES_CLIENT_IP_CALLABLE): with LOGIN_TRUSTED_PROXY_COUNT proxies in
    front, the X-Forwarded-For entry the outermost of them added (entries further left are the client's to forge);
    REMOTE_ADDR without proxies, or when the header is missing, short or not an address."""
    count = settings.LOGIN_TRUSTED_PROXY_COUNT
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if count > 0 and len(forwarded) >= count:
        try:
            return str(ipaddress.ip_address(forwarded[-count]))
        except ValueError:
            pass
    return request.META.get("REMOTE_ADDR")


def seconds_until_unlocked(request, credentials=None) -> int:
    """When the failures that locked this username + address fall out of the cool-off window (never below 1 s)."""
    cool_off = get_cool_off(request)
    handler = AxesProxyHandler.get_implementation()
    latest = None
    if hasattr(handler, "get_user_attempts"):  # the database handler
        AxesProxyHandler.update_request(request)
        for attempts in handler.get_user_attempts(request, credentials):
            last = attempts.aggregate(last=Max("attempt_time"))["last"]
            latest = max(filter(None, [latest, last]), default=None)
    if latest is None:
        return math.ceil(cool_off.total_seconds())
    return max(1, math.ceil((latest + cool_off - timezone.now()).total_seconds()))


def locked_out_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return ngettext(
        "Too many failed logins for this user from your address: logins are locked. Try again in %(minutes)d minute.",
        "Too many failed logins for this user from your address: logins are locked. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


def locked_out_response(request, original_response=None, credentials=None):
    seconds = seconds_until_unlocked(request, credentials)
    message = locked_out_message(seconds)
    if request.path.startswith(API_PREFIX):
        response = JsonResponse({"code": LOCKED_OUT_CODE, "message": message}, status=LOCKED_OUT_STATUS)
    else:
        context = {**admin.site.each_context(request), "message": message}
        response = render(request, "admin/locked_out.html", context, status=LOCKED_OUT_STATUS)
    response["Retry-After"] = str(seconds)
    return response
