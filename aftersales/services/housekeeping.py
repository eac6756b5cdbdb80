"""Keeping tables that only grow within bounds."""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from aftersales.models import ApiIdempotencyKey

PURGE_BATCH_SIZE = 5000


def idempotency_keys_purge(*, now: datetime | None = None, batch_size: int = PURGE_BATCH_SIZE) -> int:
    """Delete the API's idempotency keys older than API_IDEMPOTENCY_KEY_DAYS, in batches so no long lock is held.

    A client retries within minutes or hours; after the retention a replayed key runs as a new request (the orders'
    and tickets' own platform ids still keep those idempotent). Returns how many were deleted."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.API_IDEMPOTENCY_KEY_DAYS)
    deleted = 0
    while True:
        ids = list(ApiIdempotencyKey.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        deleted += ApiIdempotencyKey.objects.filter(pk__in=ids).delete()[0]
