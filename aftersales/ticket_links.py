"""Links other apps add to a ticket's page (the inspection with its evidence, later the shipment), without
aftersales importing them: each app registers a function at start-up (AppConfig.ready)."""

from collections.abc import Callable

_providers: list[Callable] = []


def register(provider: Callable) -> None:
    """`provider(ticket, user)` returns [(label, url), ...] that this user may open."""
    if provider not in _providers:
        _providers.append(provider)


def links_for(ticket, user) -> list[tuple[str, str]]:
    return [link for provider in _providers for link in provider(ticket, user)]
