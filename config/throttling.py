"""The API's throttle: DRF's per-user rate, kept in the cache (Redis), except that an unreachable cache lets calls
through (logged) instead of answering 500 to every call. Kept apart from the API's views, because DRF imports the
throttle classes named in settings while it defines its own views."""

import logging
from time import monotonic

import redis
from rest_framework.throttling import UserRateThrottle

logger = logging.getLogger(__name__)

# What the cache raises when Redis cannot be reached (refused, reset, timed out) or a file cache's disk fails.
CACHE_UNREACHABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)
# After a failure this process stops asking the cache for a while: a Redis that hangs would otherwise cost the socket
# timeout on every call (aftersales.tasks does the same for the broker).
CACHE_RETRY_AFTER_SECONDS = 30
_cache_down_until = 0.0


class FailOpenUserRateThrottle(UserRateThrottle):
    """DRF's per-user throttle, which allows the call (and logs a warning) when the cache cannot be reached: an
    outage of Redis must not take the API down with it, and an unthrottled minute is the lesser harm."""

    def allow_request(self, request, view):
        global _cache_down_until
        if monotonic() < _cache_down_until:
            logger.warning("cache unavailable: %s %s let through without throttling", request.method, request.path)
            return True
        try:
            return super().allow_request(request, view)
        except CACHE_UNREACHABLE:
            _cache_down_until = monotonic() + CACHE_RETRY_AFTER_SECONDS
            logger.warning(
                "cache unreachable: %s %s let through without throttling; no throttling for the next %d s",
                request.method,
                request.path,
                CACHE_RETRY_AFTER_SECONDS,
                exc_info=True,
            )
            return True
