"""The ground floor's one row lock: a sweep's batch of rows no other transaction holds, in pk order."""

from django.db.models import QuerySet


def free_rows_for_update(rows: QuerySet, *, after_id: int, limit: int, of=("self",)) -> list:
    """The sweeps' batch: the first `limit` of these rows past `after_id` that no other transaction holds (SKIP
    LOCKED), in pk order."""
    return list(rows.filter(pk__gt=after_id).select_for_update(of=of, skip_locked=True).order_by("pk")[:limit])
