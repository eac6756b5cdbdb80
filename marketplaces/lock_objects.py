"""Row locks of marketplaces, in one place. Order: platform record → ticket (aftersales' lock, taken by its services)
→ connection. Nothing here calls the network, and no caller may while it holds these."""

from marketplaces.models import OutboundAction, PlatformRecord, ShopConnection


def connection_for_update(connection_id: int) -> ShopConnection:
    return ShopConnection.objects.select_for_update(of=("self",)).select_related("shop__platform").get(pk=connection_id)


def platform_record_for_update(connection_id: int, platform_id: str) -> PlatformRecord | None:
    """The stored record, locked, so two deliveries of one record (a push and a pull) apply it one after the other."""
    return (
        PlatformRecord.objects.select_for_update(of=("self",))
        .filter(connection_id=connection_id, platform_id=platform_id)
        .first()
    )


def outbound_for_update(action_id: int) -> OutboundAction:
    return OutboundAction.objects.select_for_update(of=("self",)).get(pk=action_id)
