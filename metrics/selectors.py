"""Reads for the dashboard beyond the single figures: merchant time per path week by week (average and p90), and the
per-agent table. Each is a fixed number of queries, whatever the number of tickets, weeks or agents."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.db.models import (
    Count,
    DecimalField,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    Min,
    OuterRef,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from aftersales.models import Order, TicketEvent
from aftersales.money import YuanSum, to_yuan
from aftersales.selectors import system_user
from metrics.definitions import CHINA, HOUR, MERCHANT_DECISIONS, Scope, compensation_refund_parts, first_events
from metrics.models import DailyMetric, DecisionTimes, TicketDecision
from metrics.rollups import DECISIONS_CODE, day_bounds, merchant_microseconds

HOURS = Decimal("0.01")


def _hours(duration: timedelta | None) -> Decimal | None:
    if duration is None:
        return None
    return (Decimal(duration.total_seconds()) / HOUR).quantize(HOURS, ROUND_HALF_UP)


def first_decisions(scope: Scope):
    """The merchant's first decision on each ticket of the scope's shops, for decisions made in the window."""
    return first_events(scope, MERCHANT_DECISIONS)


def decisions_rolled_until(scope: Scope) -> datetime:
    """How far the first decisions of the scope's window are rolled up into TicketDecision for every one of its shops:
    the start of the first China-time day (from the window's first) that is not, or the window's end. Before it the
    readers use the rolled-up rows; from it on they search the events live. One query."""
    first = timezone.localtime(scope.start, CHINA).date()
    last = timezone.localtime(scope.end - timedelta(microseconds=1), CHINA).date()
    shops = set(scope.shop_ids)
    rolled = set(
        DailyMetric.objects.filter(shop_id__in=shops, code=DECISIONS_CODE, day__gte=first, day__lte=last)
        .values("day")
        .annotate(shops=Count("shop_id", distinct=True))
        .filter(shops=len(shops))
        .values_list("day", flat=True)
    )
    day = first
    while day <= last and day in rolled:
        day += timedelta(days=1)
    if day > last:
        return scope.end
    return max(scope.start, day_bounds(day)[0])


def _split(scope: Scope, rolled_until: datetime | None):
    """The rolled-up decisions of the window [start, rolled_until) and the live ones of [rolled_until, end)."""
    rolled_until = decisions_rolled_until(scope) if rolled_until is None else rolled_until
    rolled_until = min(max(rolled_until, scope.start), scope.end)
    rolled = TicketDecision.objects.filter(
        shop_id__in=scope.shop_ids, decided_at__gte=scope.start, decided_at__lt=rolled_until
    )
    live = first_decisions(Scope(scope.shop_ids, rolled_until, scope.end))
    return rolled, live, rolled_until


def _week(at: datetime) -> date:
    day = timezone.localtime(at, CHINA).date()
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True)
class PathWeek:
    path: int
    week: date
    tickets: int
    average_hours: Decimal | None
    p90_hours: Decimal | None


def _whole_days(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The China-time midnights around the whole days inside [start, end): [first, last), first == last if none."""
    first = day_bounds(timezone.localtime(start, CHINA).date())[0]
    if first < start:
        first += timedelta(days=1)
    last = day_bounds(timezone.localtime(end, CHINA).date())[0]
    return first, max(first, last)


def path_timeliness(scope: Scope, *, rolled_until: datetime | None = None) -> list[PathWeek]:
    """Merchant time (application → the merchant's decision) of the tickets decided in the scope, per path and per
    week (weeks start on Monday, China time): how many, the average and the 90th percentile (nearest rank).

    The whole rolled-up days are read as their sorted lists of times (DecisionTimes, a few hundred short rows for
    twelve weeks), the partial days at the window's edges from TicketDecision and the days not rolled up yet live;
    each week's times are put together and ranked here. Sorting twelve weeks of decisions in the database on every
    load was most of the page's time at a year of data. Three queries, and one more to find `rolled_until` when not
    given.
    """
    rolled, live, rolled_until = _split(scope, rolled_until)
    whole_from, whole_to = _whole_days(scope.start, rolled_until)
    times: dict[tuple[int, date], list[int]] = defaultdict(list)
    # Asked even when no whole day is rolled up (an empty range): the page's queries stay the same in number.
    lists = DecisionTimes.objects.filter(
        shop_id__in=scope.shop_ids,
        day__gte=timezone.localtime(whole_from, CHINA).date(),
        day__lt=timezone.localtime(whole_to, CHINA).date(),
    ).values_list("path", "day", "microseconds")
    for path, day, microseconds in lists:
        times[(path, day - timedelta(days=day.weekday()))].extend(microseconds)
    edges = rolled.exclude(decided_at__gte=whole_from, decided_at__lt=whole_to).values_list(
        "path", "decided_at", "opened_at"
    )
    live_rows = live.values_list("ticket__path", "at", "ticket__opened_at")
    for path, decided_at, opened_at in [*edges, *live_rows]:
        times[(path, _week(decided_at))].append(merchant_microseconds(opened_at, decided_at))
    result = []
    for (path, week), spans in sorted(times.items(), key=lambda item: (item[0][1], item[0][0])):
        spans.sort()
        tickets = len(spans)
        p90 = spans[(tickets * 9 + 9) // 10 - 1]
        result.append(
            PathWeek(
                path=path,
                week=week,
                tickets=tickets,
                average_hours=_hours(timedelta(microseconds=sum(spans)) / tickets),
                p90_hours=_hours(timedelta(microseconds=p90)),
            )
        )
    return result


@dataclass(frozen=True)
class AgentRow:
    user_id: int
    username: str
    handled: int
    average_hours: Decimal | None
    rejections: int
    compensation: Decimal
    compensation_per_case: Decimal | None
    repurchases: int
    sales_after: Decimal


def _later_orders(shop_id, buyer_nick, after):
    return Order.objects.filter(shop_id=shop_id, buyer_nick=buyer_nick, paid_at__gt=after).exclude(buyer_nick="")


def _per_agent(decisions, *, shop_id, buyer_nick, at, opened_at, username):
    """Per person: decisions, time waited, and the later orders of the same buyer (count and sum) per decision."""
    later_orders = _later_orders(OuterRef(shop_id), OuterRef(buyer_nick), OuterRef(at))
    later_count = Subquery(
        later_orders.order_by().values("buyer_nick").annotate(n=Count("pk")).values("n")[:1],
        output_field=IntegerField(),
    )
    later_sales = Subquery(
        later_orders.order_by().values("buyer_nick").annotate(total=Sum("paid_amount")).values("total")[:1],
        output_field=DecimalField(max_digits=14, decimal_places=2),
    )
    per_event = decisions.annotate(
        waited=ExpressionWrapper(F(at) - F(opened_at), output_field=DurationField()),
        later_count=Coalesce(later_count, Value(0)),
        later_sales=Coalesce(
            later_sales, Value(Decimal("0.00")), output_field=DecimalField(max_digits=14, decimal_places=2)
        ),
    )
    return per_event.values("actor_id", username=F(username)).annotate(
        handled=Count("pk"),
        waited_total=Sum("waited"),
        repurchases=Sum("later_count"),
        sales_after=YuanSum("later_sales"),
    )


# The orders paid since the rolled-up decisions' later orders were counted (the night before, usually today's
# orders), per person. SQL, because the ORM cannot join two tables without a relation between them; the redundant
# bound on o.paid_at lets the database read only those recent orders and join them to the decisions by buyer.
# The shops are a list of placeholders, not `= ANY(%(shops)s)`: SQLite (`make run`) binds no arrays.
LATER_ORDERS_SINCE_COUNTED = """
SELECT d.actor_id, COUNT(o.id), SUM(o.paid_amount)
FROM {decisions} d
JOIN {orders} o ON o.shop_id = d.shop_id AND o.buyer_nick = d.buyer_nick
    AND o.paid_at > d.decided_at AND o.paid_at >= d.later_counted_until
WHERE d.shop_id IN ({shops}) AND d.decided_at >= %(start)s AND d.decided_at < %(end)s
    AND d.actor_id <> %(system)s AND d.buyer_nick <> ''
    AND o.shop_id IN ({shops}) AND o.paid_at >= %(counted_from)s
GROUP BY d.actor_id
"""


def _later_orders_since_counted(scope: Scope, *, rolled_until: datetime, system, counted_from) -> list[dict]:
    if counted_from is None:  # no rolled-up decisions in the window
        return []
    shops = {f"shop{index}": shop_id for index, shop_id in enumerate(scope.shop_ids)}
    sql = LATER_ORDERS_SINCE_COUNTED.format(
        decisions=connection.ops.quote_name(TicketDecision._meta.db_table),
        orders=connection.ops.quote_name(Order._meta.db_table),
        shops=", ".join(f"%({name})s" for name in shops),
    )
    params = {
        **shops,
        "start": scope.start,
        "end": rolled_until,
        "system": system.pk,
        "counted_from": counted_from,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        # Raw SQL gets no field converters: SQLite's SUM of a decimal column is an int or a float, PostgreSQL's a
        # Decimal; both become Decimal yuan with two places.
        return [
            {
                "actor_id": actor_id,
                "repurchases": count,
                "sales_after": to_yuan(total),
            }
            for actor_id, count, total in cursor.fetchall()
        ]


def agent_table(scope: Scope, *, rolled_until: datetime | None = None) -> list[AgentRow]:
    """Per person: tickets handled (those whose first decision they made in the scope), average time from
    application to that decision, rejections, compensation paid on their request and 赔偿单价, and the repurchases and
    sales (orders the same buyer paid the shop afterwards). The decisions come from TicketDecision for the rolled-up
    days (their later orders counted the night before, plus those paid since) and from the events after them;
    seven queries (the compensation in two parts), and one more to find `rolled_until` when
    not given, whatever the number of agents."""
    system = system_user()
    rolled, live, rolled_until = _split(scope, rolled_until)
    rolled_rows = list(
        rolled.exclude(actor=system)
        .values("actor_id", username=F("actor__username"))
        .annotate(
            handled=Count("pk"),
            waited_total=Sum(ExpressionWrapper(F("decided_at") - F("opened_at"), output_field=DurationField())),
            repurchases=Sum("later_orders"),
            sales_after=YuanSum("later_sales_amount"),
            counted_from=Min("later_counted_until"),
        )
    )
    # The earliest count bounds the orders to read, as a constant the database can plan the index scan with.
    counted_from = min((row.pop("counted_from") for row in rolled_rows), default=None)
    parts = [
        rolled_rows,
        _later_orders_since_counted(scope, rolled_until=rolled_until, system=system, counted_from=counted_from),
        _per_agent(
            live.exclude(actor=system),
            shop_id="ticket__shop_id",
            buyer_nick="ticket__order__buyer_nick",
            at="at",
            opened_at="ticket__opened_at",
            username="actor__username",
        ),
    ]
    rows = {}
    for part in parts:
        for row in part:
            if row["actor_id"] not in rows:
                rows[row["actor_id"]] = dict(row)
                continue
            merged = rows[row["actor_id"]]
            for field in ("handled", "waited_total", "repurchases", "sales_after"):
                if row.get(field) is not None:
                    merged[field] = row[field] if merged.get(field) is None else merged[field] + row[field]
    rejections = dict(
        TicketEvent.objects.filter(
            ticket__shop_id__in=scope.shop_ids,
            action=TicketEvent.Action.REJECTED,
            at__gte=scope.start,
            at__lt=scope.end,
        )
        .exclude(actor=system)
        .values("actor_id")
        .annotate(n=Count("pk"))
        .values_list("actor_id", "n")
    )
    compensation: dict[int, Decimal] = {}
    for part in compensation_refund_parts(scope.shop_ids, scope.start, scope.end):
        totals = (
            part.values("requested_by_id").annotate(total=YuanSum("amount")).values_list("requested_by_id", "total")
        )
        for user_id, total in totals:
            compensation[user_id] = compensation.get(user_id, Decimal("0.00")) + total
    table = []
    for row in rows.values():
        handled = row["handled"]
        paid = compensation.get(row["actor_id"], Decimal("0.00"))
        table.append(
            AgentRow(
                user_id=row["actor_id"],
                username=row["username"],
                handled=handled,
                average_hours=_hours(row["waited_total"] / handled) if handled else None,
                rejections=rejections.get(row["actor_id"], 0),
                compensation=paid,
                compensation_per_case=(paid / handled).quantize(HOURS, ROUND_HALF_UP) if handled else None,
                repurchases=row["repurchases"] or 0,
                sales_after=row["sales_after"] or Decimal("0.00"),
            )
        )
    return sorted(table, key=lambda row: (-row.handled, row.username))
