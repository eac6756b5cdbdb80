"""A ticket's evidence images (the warehouse's photos of the opened return), passed to the apps that send them on
(the marketplace connectors, with a refusal) without either importing the other: the app that keeps them registers a
provider at start-up (AppConfig.ready), like return_tracking's listeners."""

from collections.abc import Callable

_providers: list[Callable[[int], list[bytes]]] = []


def register(provider: Callable[[int], list[bytes]]) -> None:
    """`provider(ticket_id) -> [image bytes, …]`: the ticket's evidence photos, oldest first."""
    if provider not in _providers:
        _providers.append(provider)


def ticket_evidence_images(ticket_id: int) -> list[bytes]:
    images: list[bytes] = []
    for provider in _providers:
        images += provider(ticket_id)
    return images
