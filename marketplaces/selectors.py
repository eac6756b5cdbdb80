"""Reads of the connectors."""

from django.db.models import Q
from django.utils import timezone

from marketplaces.models import ShopConnection


def connections_due(now=None) -> list[int]:
    now = now or timezone.now()
    return list(
        ShopConnection.objects.filter(is_enabled=True, state=ShopConnection.State.CONNECTED)
        .filter(Q(backoff_until__isnull=True) | Q(backoff_until__lte=now))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def connections_token_refresh_due(*, now, window, retry) -> list[int]:
    """Connected shops whose token expires within `window`, not tried within `retry`."""
    return list(
        ShopConnection.objects.filter(
            is_enabled=True, state=ShopConnection.State.CONNECTED, token_expires_at__lte=now + window
        )
        .filter(Q(token_refresh_tried_at__isnull=True) | Q(token_refresh_tried_at__lte=now - retry))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def broken_connections() -> list[dict]:
    """For /healthz: each enabled connection the platform refused, with its message."""
    return [
        {"shop": code, "platform": platform, "message": message, "since": since.isoformat() if since else None}
        for code, platform, message, since in ShopConnection.objects.filter(
            is_enabled=True, state=ShopConnection.State.BROKEN
        )
        .order_by("pk")
        .values_list("shop__code", "shop__platform__code", "broken_message", "broken_at")
    ]
