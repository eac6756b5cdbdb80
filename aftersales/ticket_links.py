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


# Lists (the approval queue) show the same links for a page of tickets: each provider answers for all of them at
# once, in a fixed number of queries, so a list never costs a query per row.
_list_providers: list[Callable] = []


def register_for_lists(provider: Callable) -> None:
    """`provider(ticket_ids, user)` returns {ticket_id: [(label, url), ...]} for the links this user may open."""
    if provider not in _list_providers:
        _list_providers.append(provider)


def links_for_tickets(ticket_ids, user) -> dict[int, list[tuple[str, str]]]:
    ticket_ids = list(ticket_ids)
    links: dict[int, list[tuple[str, str]]] = {ticket_id: [] for ticket_id in ticket_ids}
    if not ticket_ids:
        return links
    for provider in _list_providers:
        for ticket_id, found in provider(ticket_ids, user).items():
            links.setdefault(ticket_id, []).extend(found)
    return links


# Panels: a few rows another app shows on the ticket page (the parcel's last courier scans), read by that app.
_panel_providers: list[Callable] = []


def register_panel(provider: Callable) -> None:
    """`provider(ticket, user)` returns [TicketPanel, ...] this user may read (none when it has nothing to show)."""
    if provider not in _panel_providers:
        _panel_providers.append(provider)


class TicketPanel:
    """A titled table: `columns` are the headings, `rows` tuples of already-formatted cells, newest first."""

    def __init__(self, title: str, columns: list[str], rows: list[tuple], *, empty: str = "") -> None:
        self.title = title
        self.columns = columns
        self.rows = rows
        self.empty = empty


def panels_for(ticket, user) -> list[TicketPanel]:
    return [panel for provider in _panel_providers for panel in provider(ticket, user)]
