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


def connection_for_platform_shop(*, platform_code: str, app_key: str, platform_shop_id: str) -> ShopConnection | None:
    """The enabled connection of a platform's shop under one app (a PMC message names its mall by id)."""
    return (
        ShopConnection.objects.filter(
            is_enabled=True,
            shop__platform__code=platform_code,
            app_key=app_key,
            shop__platform_shop_id=platform_shop_id,
        )
        .select_related("shop__platform")
        .order_by("pk")
        .first()
    )


def connection_groups(platform_code: str) -> dict[tuple[str, str], int]:
    """One enabled connection per (app key, gateway URL) of a platform: what a channel per app (PDD's PMC) opens."""
    groups: dict[tuple[str, str], int] = {}
    for pk, app_key, gateway_url in (
        ShopConnection.objects.filter(is_enabled=True, shop__platform__code=platform_code)
        .order_by("pk")
        .values_list("pk", "app_key", "gateway_url")
    ):
        groups.setdefault((app_key, gateway_url), pk)
    return groups


def message_buyer_links(ticket, user) -> list[tuple[str, str]]:
    """On a connected shop's platform ticket: the page that sends the buyer a message through the platform."""
    from django.urls import reverse
    from django.utils.translation import gettext as _

    if (
        not ticket.platform_ticket_id
        or not ShopConnection.objects.filter(shop_id=ticket.shop_id, is_enabled=True).exists()
    ):
        return []
    return [(_("Message the buyer on the platform"), reverse("marketplaces:message_buyer", args=[ticket.pk]))]
