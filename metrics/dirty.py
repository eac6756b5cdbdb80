"""Which rolled-up days a change moves (the dirty-day queue of metrics/rollups.py).

Every metric puts a row in the day of one of its times: a ticket's opening, closing or one of its events, a refund's
confirmation, an order's payment, shipping or signature, a review's, a chat's or a complaint's time; and the
repurchase rate puts a handled ticket in the day it closed, which a later order of the same buyer moves. So a change
to an order, its tickets, refunds, rulings or complaints marks every day any of those times falls on (the order's,
its tickets' and refunds' and its buyer's handled tickets'), before the change and after it, in the change's own
transaction; an imported review, chat or score marks its own days. The rollup recomputes exactly those days
(`rollups_dirty`, and the nightly run) and removes the marks it read.

The writers in aftersales (which imports no other app of ours) send `aftersales.signals.orders_changed`; the receiver
below marks the days: two queries per change (every time it moves read by one UNION ALL, then one insert of the
marks), three when orders were written (their buyers' earlier tickets), whatever the size of the history.
"""

from collections.abc import Iterable
from datetime import date, datetime

from django.utils import timezone

from metrics.definitions import CHINA
from metrics.models import DirtyDay


def _day(moment) -> date | None:
    if moment is None:
        return None
    if isinstance(moment, datetime):
        return timezone.localtime(moment, CHINA).date()
    return moment


def days_mark(shop_id: int, moments: Iterable) -> int:
    """Mark the China-time days of these times (or dates; None is skipped) of one shop, and today. One insert."""
    return shop_days_mark({(shop_id, day) for day in map(_day, [*moments, timezone.now()]) if day is not None})


def shop_days_mark(pairs: set[tuple[int, date]]) -> int:
    now = timezone.now()
    DirtyDay.objects.bulk_create(
        [DirtyDay(shop_id=shop_id, day=day, marked_at=now) for shop_id, day in sorted(pairs)], batch_size=1000
    )
    return len(pairs)


# Orders marked per round of queries (SQLite's limit on a statement's parameters).
MARK_BATCH = 500


def orders_mark(order_ids: Iterable[int], *, repurchases: bool = False) -> int:
    """Mark every day whose figures these orders, their tickets (events included), refunds, rulings and complaints
    can move as they stand now (call it before a change as well when the change moves one of those times); with
    `repurchases` (the orders themselves were written) also the days the same buyers' earlier tickets closed. Two
    queries per 500 orders (four with `repurchases`)."""
    order_ids = sorted(set(order_ids))
    return sum(
        _orders_mark(order_ids[start : start + MARK_BATCH], repurchases=repurchases)
        for start in range(0, len(order_ids), MARK_BATCH)
    )


def _orders_mark(order_ids: list[int], *, repurchases: bool) -> int:
    from aftersales.models import AfterSalesTicket, Order

    if not order_ids:
        return 0
    pairs: set[tuple[int, date | None]] = {
        (shop_id, _day(moment)) for shop_id, *moments in _moments(order_ids) for moment in moments if moment is not None
    }
    # An order written (new, or its buyer or payment changed) moves the days the same buyer's earlier tickets closed
    # (复购率: later orders of handled buyers); a change to a ticket does not.
    if repurchases:
        buyers: dict[int, dict[str, datetime]] = {}
        for shop_id, buyer, paid_at in Order.objects.filter(pk__in=order_ids).values_list(
            "shop_id", "buyer_nick", "paid_at"
        ):
            if buyer:
                latest = buyers.setdefault(shop_id, {})
                latest[buyer] = max(paid_at, latest.get(buyer, paid_at))
        for shop_id, latest in buyers.items():
            closed = AfterSalesTicket.objects.filter(
                shop_id=shop_id, order__buyer_nick__in=list(latest), closed_at__isnull=False
            ).values_list("order__buyer_nick", "closed_at")
            pairs.update((shop_id, _day(closed_at)) for nick, closed_at in closed if closed_at < latest[nick])
    shops = {shop_id for shop_id, _day_ in pairs}
    today = _day(timezone.now())
    pairs.update((shop_id, today) for shop_id in shops)
    return shop_days_mark({(shop_id, day) for shop_id, day in pairs if day is not None})


def _moments(order_ids: list[int]):
    """(shop, time, time, time) rows of every time of these orders, their tickets, the tickets' events, refunds and
    complaints: one query (a UNION ALL of one indexed read per table) instead of one per table, since every change
    to a ticket marks and a sweep's batch or a burst of tickets pays it each time."""
    from django.db.models import DateTimeField, F, Value

    from aftersales.models import AfterSalesTicket, Complaint, Order, Refund, TicketEvent

    none = Value(None, output_field=DateTimeField())
    parts = [
        Order.objects.filter(pk__in=order_ids).values_list("shop_id", "paid_at", "shipped_at", "delivered_at"),
        AfterSalesTicket.objects.filter(order_id__in=order_ids)
        .annotate(t3=none)
        .values_list("shop_id", "opened_at", "closed_at", "t3"),
        TicketEvent.objects.filter(ticket__order_id__in=order_ids)
        .annotate(shop=F("ticket__shop_id"), t2=none, t3=none)
        .values_list("shop", "at", "t2", "t3"),
        Refund.objects.filter(order_id__in=order_ids)
        .annotate(t3=none)
        .values_list("shop_id", "sent_at", "confirmed_at", "t3"),
        Complaint.objects.filter(order_id__in=order_ids)
        .annotate(t2=none, t3=none)
        .values_list("shop_id", "opened_at", "t2", "t3"),
    ]
    return parts[0].order_by().union(*[part.order_by() for part in parts[1:]], all=True)


def on_orders_changed(sender, *, order_ids, repurchases: bool = False, **kwargs) -> None:
    orders_mark(order_ids, repurchases=repurchases)
