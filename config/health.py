"""`/healthz`: is the database answering, is the broker reachable, is beat ticking.

Load balancers and the on-call person read it; each failing part is named so nobody has to guess.
Every check has a short timeout, so a dead Redis makes this answer 503 quickly instead of hanging.
"""

import logging
import os
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)

BEAT_TICK_CACHE_KEY = "health:beat:last_tick"


def record_beat_tick(now: datetime | None = None) -> None:
    """Called by beat on every loop. A failing cache must never stop beat from scheduling, so errors are logged."""
    moment = now or timezone.now()
    try:
        cache.set(BEAT_TICK_CACHE_KEY, moment.isoformat(), timeout=None)
    except Exception:
        logger.warning("could not record the beat tick", exc_info=True)


def check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:
        return {"ok": False, "error": _describe(error)}
    return {"ok": True, "vendor": connection.vendor}


def check_broker() -> dict:
    broker_url = settings.CELERY_BROKER_URL
    scheme = urlsplit(broker_url).scheme
    if scheme in {"redis", "rediss"}:
        client = redis.Redis.from_url(
            broker_url,
            socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT,
            socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
        )
        try:
            client.ping()
        except Exception as error:
            return {"ok": False, "kind": "redis", "error": _describe(error)}
        finally:
            client.close()
        return {"ok": True, "kind": "redis"}
    if scheme == "filesystem":
        folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]
        if not os.access(folder, os.W_OK):
            return {"ok": False, "kind": "filesystem", "error": f"broker folder {folder} is missing or not writable"}
        return {"ok": True, "kind": "filesystem"}
    return {"ok": False, "kind": scheme, "error": f"no health check for broker scheme {scheme!r}"}


def check_beat(now: datetime | None = None) -> dict:
    moment = now or timezone.now()
    try:
        raw = cache.get(BEAT_TICK_CACHE_KEY)
    except Exception as error:
        return {"ok": False, "error": f"cannot read the beat heartbeat: {_describe(error)}"}
    if raw is None:
        return {"ok": False, "last_tick": None, "error": "beat has never ticked"}
    last_tick = datetime.fromisoformat(raw)
    age = moment - last_tick
    stale_after = timedelta(seconds=settings.BEAT_STALE_AFTER_SECONDS)
    result = {"last_tick": last_tick.isoformat(), "age_seconds": round(age.total_seconds(), 1)}
    if age > stale_after:
        return {
            **result,
            "ok": False,
            "error": f"last beat tick is older than {stale_after.total_seconds():.0f} s",
        }
    return {**result, "ok": True}


def check_marketplaces() -> dict:
    """Shops whose platform refused their session: their sync and writes have stopped until a manager reconnects."""
    from marketplaces.selectors import broken_connections

    try:
        broken = broken_connections()
    except Exception as error:
        return {"ok": False, "error": _describe(error)}
    return {"ok": not broken, "broken": broken}


# Named in the body, but they do not turn the answer into a 503: one shop's expired token must not take the web
# node out of the load balancer. The on-call person and the monitoring read `warnings`.
WARNING_CHECKS = ("marketplaces",)


@never_cache
@require_GET
def healthz(request):
    checks = {
        "database": check_database(),
        "broker": check_broker(),
        "beat": check_beat(),
        "marketplaces": check_marketplaces(),
    }
    failing = [name for name, result in checks.items() if not result["ok"] and name not in WARNING_CHECKS]
    warnings = [name for name in WARNING_CHECKS if not checks[name]["ok"]]
    body = {"status": "fail" if failing else "ok", "failing": failing, "warnings": warnings, "checks": checks}
    return JsonResponse(body, status=503 if failing else 200, json_dumps_params={"ensure_ascii": False})


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:300]
