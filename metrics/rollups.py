"""Daily rollups: each metric's numerator and denominator per shop and China-time day, so the dashboard reads a few
hundred small rows instead of a year of tickets. A period's figure is Σ numerators ÷ Σ denominators over its days.

Filled by the nightly task (the last few days again, as late events arrive) and on demand
(`manage.py metrics_rollup --since YYYY-MM-DD`). What a day's row cannot know yet (an order whose 24 hours to
pickup are not over) is judged at the time of the rollup and corrected by the next nights' runs.

A day's rate counts each order once in that day; an order counted on two days of a period is counted twice in the
period (rare: two rulings on one order on different days), which is the price of adding days up.
"""

from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from metrics.definitions import CHINA, HOURS_PLACES, METRICS, POINTS_PLACES, RATE_PLACES, Figure, Scope
from metrics.models import DailyMetric

# Late events (a refund paid, a ruling) change the last days' figures: the nightly run recomputes them.
NIGHTLY_DAYS = 3
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


def rollups_refresh(*, shop_ids, since: date, until: date, now: datetime | None = None) -> int:
    """Recompute every metric for these shops and the days [since, until]; one transaction per shop and day, so a
    reader sees a day either before or after. Returns the number of rows written."""
    now = now or timezone.now()
    written = 0
    day = since
    while day <= until:
        start, end = day_bounds(day)
        for shop_id in shop_ids:
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
            with transaction.atomic():
                DailyMetric.objects.filter(shop_id=shop_id, day=day).delete()
                DailyMetric.objects.bulk_create(rows)
            written += len(rows)
        day += timedelta(days=1)
    return written


def rollups_nightly(*, now: datetime | None = None) -> int:
    """The nightly run: the last NIGHTLY_DAYS complete days of every active shop."""
    from aftersales.models import Shop

    now = now or timezone.now()
    yesterday = timezone.localtime(now, CHINA).date() - timedelta(days=1)
    shop_ids = list(Shop.objects.filter(is_active=True).values_list("pk", flat=True))
    return rollups_refresh(
        shop_ids=shop_ids, since=yesterday - timedelta(days=NIGHTLY_DAYS - 1), until=yesterday, now=now
    )


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
