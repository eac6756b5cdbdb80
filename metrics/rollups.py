"""Daily rollups: each metric's numerator and denominator per shop and China-time day, so the dashboard reads a few
hundred small rows instead of a year of tickets. A period's figure is Σ numerators ÷ Σ denominators over its days.

Rollups never freeze: every change to the data a figure is computed from marks the days it moves (a dirty-day queue,
metrics/dirty.py, written in the change's transaction), and the rollups recompute exactly those days, however old:
the periodic task (`rollups_dirty`), the nightly task (the marked days and the last few days) and on demand
(`manage.py metrics_rollup --dirty`, or `--since YYYY-MM-DD` for a range). What a day's row cannot know yet (an
order whose 24 hours to pickup are not over) is judged at the time of the rollup and corrected by the next nights'
runs.

The same runs record each ticket's first merchant decision made that day (TicketDecision), the day's merchant times
per path as sorted lists (DecisionTimes), and mark the day as done with a `DECISIONS_CODE` row, so the per-path
timeliness and the per-agent table read the rolled-up days from there and only the days not rolled up yet (today)
live (metrics/selectors.py).

A day's rate counts each order once in that day; an order counted on two days of a period is counted twice in the
period (rare: two rulings on one order on different days), which is the price of adding days up.
"""

from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, transaction
from django.db.models import Count, DecimalField, IntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from aftersales.models import Order
from metrics.definitions import (
    CHINA,
    HOURS_PLACES,
    MERCHANT_DECISIONS,
    METRICS,
    POINTS_PLACES,
    RATE_PLACES,
    Figure,
    Scope,
    first_events,
)
from metrics.models import DailyMetric, DecisionTimes, DirtyDay, TicketDecision

# What time alone changes (an order's 24 hours to pickup running out after its day was rolled up) moves the last
# days' figures: the nightly run recomputes them. Changes to the data mark the days they move (metrics/dirty.py).
NIGHTLY_DAYS = 3
# The DailyMetric row that says a shop's day of first decisions is in TicketDecision (numerator = denominator = how
# many); not a metric of its own, so no figure is read from it.
DECISIONS_CODE = "first_decisions"
# The dashboard's longest period is 90 days: the nightly run recounts the later orders of the decisions of that many
# days (and a few more), so a reader adds only the orders paid since the night. Older decisions stay exact (the reader
# adds what was paid since their count), only slower to read.
LATER_ORDERS_DAYS = 95
PLACES = {
    "rate": RATE_PLACES,
    "hours": HOURS_PLACES,
    "money": Decimal("0.01"),
    "seconds": Decimal("0.01"),
    "points": POINTS_PLACES,
}


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), tzinfo=CHINA)
    return start, start + timedelta(days=1)


def _shop_days(shop_ids, since: date, until: date):
    """(shop id, day, its start, its end) for every day of [since, until] and every shop, day by day."""
    day = since
    while day <= until:
        start, end = day_bounds(day)
        for shop_id in shop_ids:
            yield shop_id, day, start, end
        day += timedelta(days=1)


def rollups_refresh(*, shop_ids, since: date, until: date, now: datetime | None = None) -> int:
    """Recompute every metric for these shops and the days [since, until]; one transaction per shop and day, so a
    reader sees a day either before or after. Returns the number of rows written."""
    now = now or timezone.now()
    written = sum(
        _day_refresh(shop_id, day, start, end, now) for shop_id, day, start, end in _shop_days(shop_ids, since, until)
    )
    later_orders_refresh(shop_ids=shop_ids, since=day_bounds(since)[0], now=now)
    return written


def rollup_tables_analyse() -> list[str]:
    """Fresh planner statistics for the tables a range rollup filled (PostgreSQL): the dashboard's plans read them,
    and autovacuum may take minutes to notice a year of new rows, during which the page reads the rollups through
    the wrong plans (twice as slow on a generated year). Returns the tables analysed (none on SQLite)."""
    if connection.vendor != "postgresql":
        return []
    tables = [DailyMetric._meta.db_table, TicketDecision._meta.db_table, DecisionTimes._meta.db_table]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {table}")
    return tables


def _day_refresh(shop_id: int, day: date, start: datetime, end: datetime, now: datetime) -> int:
    rows = []
    for metric in METRICS:
        figure = metric(Scope((shop_id,), start, end, as_of=now))
        rows.append(
            DailyMetric(
                shop_id=shop_id,
                day=day,
                code=metric.code,
                numerator=figure.numerator,
                denominator=figure.denominator,
            )
        )
    decisions = _first_decisions(shop_id, start, end)
    with transaction.atomic():
        DailyMetric.objects.filter(shop_id=shop_id, day=day).delete()
        DailyMetric.objects.bulk_create(rows)
        _decisions_replace(shop_id, day, decisions)
    return len(rows)


def rollups_dirty(*, now: datetime | None = None, also: set[tuple[int, date]] = frozenset()) -> int:
    """Recompute exactly the shops' days a change has marked since the last run (metrics/dirty.py), and `also`, then
    remove the marks it read: a mark written while it computes (by a change it may not have seen) stays for the next
    run. A day's later orders (the per-agent repurchases) are recounted with it. Returns the number of days."""
    now = now or timezone.now()
    marks = list(DirtyDay.objects.values_list("pk", "shop_id", "day"))
    pairs = sorted({(shop_id, day) for _pk, shop_id, day in marks} | set(also))
    for shop_id, day in pairs:
        start, end = day_bounds(day)
        _day_refresh(shop_id, day, start, end, now)
        later_orders_refresh(shop_ids=[shop_id], since=start, until=end, now=now)
    ids = [pk for pk, _shop_id, _day in marks]
    for first in range(0, len(ids), 1000):
        DirtyDay.objects.filter(pk__in=ids[first : first + 1000]).delete()
    return len(pairs)


def decisions_refresh(*, shop_ids, since: date, until: date, now: datetime | None = None) -> int:
    """Record the first merchant decisions of these shops and days [since, until] alone (what rollups_refresh also
    does), to fill TicketDecision for days whose metrics are already rolled up. Returns the number of decisions."""
    now = now or timezone.now()
    written = 0
    for shop_id, day, start, end in _shop_days(shop_ids, since, until):
        decisions = _first_decisions(shop_id, start, end)
        with transaction.atomic():
            _decisions_replace(shop_id, day, decisions)
        written += len(decisions)
    later_orders_refresh(shop_ids=shop_ids, since=day_bounds(since)[0], now=now)
    return written


def later_orders_refresh(
    *, shop_ids, since: datetime, until: datetime | None = None, now: datetime | None = None
) -> int:
    """Recount, for the decisions made since `since` (and before `until`, when given), the orders the same buyer paid
    the shop after the decision and before the start of today (China time); the readers add the orders paid from then
    on. One statement. Returns the number of decisions recounted."""
    until = _counted_until(now or timezone.now())
    later = Order.objects.filter(
        shop_id=OuterRef("shop_id"),
        buyer_nick=OuterRef("buyer_nick"),
        paid_at__gt=OuterRef("decided_at"),
        paid_at__lt=until,
    ).exclude(buyer_nick="")
    count = later.order_by().values("buyer_nick").annotate(n=Count("pk")).values("n")[:1]
    total = later.order_by().values("buyer_nick").annotate(total=Sum("paid_amount")).values("total")[:1]
    decisions = TicketDecision.objects.filter(shop_id__in=shop_ids, decided_at__gte=since)
    if until is not None:
        decisions = decisions.filter(decided_at__lt=until)
    return decisions.update(
        later_orders=Coalesce(Subquery(count, output_field=IntegerField()), Value(0)),
        later_sales_amount=Coalesce(
            Subquery(total, output_field=DecimalField(max_digits=14, decimal_places=2)),
            Value(Decimal("0.00")),
            output_field=DecimalField(max_digits=14, decimal_places=2),
        ),
        later_counted_until=until,
    )


def _counted_until(now: datetime) -> datetime:
    return day_bounds(timezone.localtime(now, CHINA).date())[0]


def _first_decisions(shop_id: int, start: datetime, end: datetime) -> list[TicketDecision]:
    """The shop's tickets whose first merchant decision was made in [start, end), as the live definition finds them."""
    events = first_events(Scope((shop_id,), start, end), MERCHANT_DECISIONS).values_list(
        "ticket_id", "actor_id", "at", "ticket__path", "ticket__opened_at", "ticket__order__buyer_nick"
    )
    return [
        TicketDecision(
            ticket_id=ticket_id,
            shop_id=shop_id,
            path=path,
            actor_id=actor_id,
            buyer_nick=buyer_nick or "",
            opened_at=opened_at,
            decided_at=at,
        )
        for ticket_id, actor_id, at, path, opened_at, buyer_nick in events
    ]


def _decisions_replace(shop_id: int, day: date, decisions: list[TicketDecision]) -> None:
    """Replace the shop's day of decisions and its mark; call inside a transaction. A ticket whose first decision has
    moved to another day (an earlier event recorded late) moves with it."""
    start, end = day_bounds(day)
    ticket_ids = [decision.ticket_id for decision in decisions]
    # The days the moving tickets leave lose their times too (rare: usually no row, one indexed read).
    left = {
        (moved_shop, timezone.localtime(at, CHINA).date())
        for moved_shop, at in TicketDecision.objects.filter(ticket_id__in=ticket_ids)
        .exclude(shop_id=shop_id, decided_at__gte=start, decided_at__lt=end)
        .values_list("shop_id", "decided_at")
    }
    TicketDecision.objects.filter(shop_id=shop_id, decided_at__gte=start, decided_at__lt=end).delete()
    TicketDecision.objects.filter(ticket_id__in=ticket_ids).delete()
    for decision in decisions:
        # Nothing counted yet: the readers add every later order until later_orders_refresh counts them.
        decision.later_counted_until = decision.decided_at
    TicketDecision.objects.bulk_create(decisions, batch_size=2000)
    _times_replace(shop_id, day, decisions)
    for other_shop, other_day in left:
        other_start, other_end = day_bounds(other_day)
        remaining = TicketDecision.objects.filter(
            shop_id=other_shop, decided_at__gte=other_start, decided_at__lt=other_end
        ).only("path", "opened_at", "decided_at")
        _times_replace(other_shop, other_day, list(remaining))
    DailyMetric.objects.update_or_create(
        shop_id=shop_id,
        day=day,
        code=DECISIONS_CODE,
        defaults={"numerator": len(decisions), "denominator": len(decisions)},
    )


def merchant_microseconds(opened_at: datetime, decided_at: datetime) -> int:
    """Merchant time as whole microseconds: exact to add up and to compare, as the intervals the database subtracts."""
    return (decided_at - opened_at) // timedelta(microseconds=1)


def _times_replace(shop_id: int, day: date, decisions) -> None:
    """Replace the shop's day of merchant times per path (DecisionTimes) with those of `decisions`."""
    by_path: dict[int, list[int]] = {}
    for decision in decisions:
        by_path.setdefault(decision.path, []).append(merchant_microseconds(decision.opened_at, decision.decided_at))
    DecisionTimes.objects.filter(shop_id=shop_id, day=day).delete()
    DecisionTimes.objects.bulk_create(
        DecisionTimes(shop_id=shop_id, day=day, path=path, microseconds=sorted(times))
        for path, times in sorted(by_path.items())
    )


def rollups_nightly(*, now: datetime | None = None) -> int:
    """The nightly run: the last NIGHTLY_DAYS complete days of every active shop (what only time changes: an order's
    24 hours to pickup running out), and every day a change has marked since the last run, whatever its age."""
    from aftersales.models import Shop

    now = now or timezone.now()
    yesterday = timezone.localtime(now, CHINA).date() - timedelta(days=1)
    shop_ids = list(Shop.objects.filter(is_active=True).values_list("pk", flat=True))
    recent = {(shop_id, yesterday - timedelta(days=back)) for shop_id in shop_ids for back in range(NIGHTLY_DAYS)}
    days = rollups_dirty(now=now, also=recent)
    later_orders_refresh(shop_ids=shop_ids, since=day_bounds(yesterday - timedelta(days=LATER_ORDERS_DAYS))[0], now=now)
    return days * len(METRICS)


def figures_for(scope: Scope) -> dict[str, Figure]:
    """Every metric's figure for the scope's shops and the China-time days its window covers, from the rollups.
    One query, whatever the number of days or shops; a metric without rows, or with an empty denominator, is no data."""
    first = timezone.localtime(scope.start, CHINA).date()
    last = timezone.localtime(scope.end - timedelta(microseconds=1), CHINA).date()
    sums = {
        row["code"]: row
        for row in DailyMetric.objects.filter(shop_id__in=scope.shop_ids, day__gte=first, day__lte=last)
        .values("code")
        .annotate(numerator=Sum("numerator"), denominator=Sum("denominator"))
    }
    figures = {}
    for metric in METRICS:
        row = sums.get(metric.code)
        numerator = row["numerator"] if row else Decimal(0)
        denominator = row["denominator"] if row else 0
        value = None
        if denominator:
            value = (numerator / denominator).quantize(PLACES[metric.unit], ROUND_HALF_UP)
        figures[metric.code] = Figure(value, numerator, denominator)
    return figures
