"""The buyer's return parcel as the courier's tracking sees it, passed from the app that reads tracking (logistics) to
the app that keeps the return parcel (warehouse), neither importing the other: the warehouse registers a listener at
start-up (AppConfig.ready) and logistics reports each return's first scan and the courier's signature at our address;
the other way, logistics listens for parcels the warehouse scans in that no return expects (月底仓库核对).
Listeners run inside the reporter's transaction, so what they write commits or rolls back with the scan."""

from collections.abc import Callable
from datetime import datetime

from aftersales.models import AfterSalesTicket

_listeners: list[Callable] = []
_back_listeners: list[Callable] = []


def register(listener: Callable) -> None:
    """`listener(ticket=…, at=…, signed=…)`: the return of `ticket` was scanned at `at`; `signed` when the scan is the
    courier's signature at our address (退货物流签收)."""
    if listener not in _listeners:
        _listeners.append(listener)


def return_parcel_scanned(*, ticket: AfterSalesTicket, at: datetime, signed: bool) -> None:
    for listener in _listeners:
        listener(ticket=ticket, at=at, signed=signed)


def register_parcel_back(listener: Callable) -> None:
    """`listener(tracking_number=…, by=…) -> int`: the warehouse scanned in a parcel no return expects (an
    intercepted or lost parcel coming home); the listener withdraws what it had claimed and says how many."""
    if listener not in _back_listeners:
        _back_listeners.append(listener)


def parcel_back_at_warehouse(*, tracking_number: str, by) -> int:
    return sum(listener(tracking_number=tracking_number, by=by) for listener in _back_listeners)
