"""The buyer's return parcel as the courier's tracking sees it, passed from the app that reads tracking (logistics) to
the app that keeps the return parcel (warehouse), neither importing the other: the warehouse registers a listener at
start-up (AppConfig.ready) and logistics reports each return's first scan and the courier's signature at our address.
Listeners run inside the reporter's transaction, so what they write commits or rolls back with the scan."""

from collections.abc import Callable
from datetime import datetime

from aftersales.models import AfterSalesTicket

_listeners: list[Callable] = []


def register(listener: Callable) -> None:
    """`listener(ticket=…, at=…, signed=…)`: the return of `ticket` was scanned at `at`; `signed` when the scan is the
    courier's signature at our address (退货物流签收)."""
    if listener not in _listeners:
        _listeners.append(listener)


def return_parcel_scanned(*, ticket: AfterSalesTicket, at: datetime, signed: bool) -> None:
    for listener in _listeners:
        listener(ticket=ticket, at=at, signed=signed)
