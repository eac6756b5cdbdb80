"""Reads for the dashboard beyond the single figures: merchant time per path week by week (average and p90), and the
per-agent table. Each is a fixed number of queries, whatever the number of tickets, weeks or agents."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import (
    Count,
    DecimalField,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Subquery,
    Sum,
    Value,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber, TruncWeek

from aftersales.models import Order, Refund, TicketEvent
from aftersales.selectors import system_user
from metrics.definitions import CHINA, HOUR, MERCHANT_DECISIONS, Scope, first_events

HOURS = Decimal("0.01")


def _hours(duration: timedelta | None) -> Decimal | None:
    if duration is None:
        return None
    return (Decimal(duration.total_seconds()) / HOUR).quantize(HOURS, ROUND_HALF_UP)


def first_decisions(scope: Scope):
    """The merchant's first decision on each ticket of the scope's shops, for decisions made in the window."""
    return first_events(scope, MERCHANT_DECISIONS)


@dataclass(frozen=True)
class PathWeek:
    path: int
    week: date
    tickets: int
    average_hours: Decimal | None
    p90_hours: Decimal | None


def path_timeliness(scope: Scope) -> list[PathWeek]:
    """Merchant time (application → the merchant's decision) of the tickets decided in the scope, per path and per
    week (weeks start on Monday, China time): how many, the average and the 90th percentile (nearest rank).

    Two queries: the averages, and the p90 rows picked by a window function (row number = ⌈0.9 n⌉ in each group)."""
    decided = first_decisions(scope).annotate(
        path=F("ticket__path"),
        week=TruncWeek("at", tzinfo=CHINA),
        merchant_time=ExpressionWrapper(F("at") - F("ticket__opened_at"), output_field=DurationField()),
    )
    groups = {
        (row["path"], row["week"]): row
        for row in decided.values("path", "week").annotate(tickets=Count("pk"), total=Sum("merchant_time"))
    }
    group = [F("path"), F("week")]
    ranked = decided.annotate(
        rank=Window(RowNumber(), partition_by=group, order_by=F("merchant_time").asc()),
        size=Window(Count("pk"), partition_by=group),
    ).annotate(nearest=ExpressionWrapper((F("size") * 9 + 9) / 10, output_field=IntegerField()))
    p90 = {
        (row["path"], row["week"]): row["merchant_time"]
        for row in ranked.filter(rank=F("nearest")).values("path", "week", "merchant_time")
    }
    result = []
    for (path, week), row in sorted(groups.items(), key=lambda item: (item[0][1], item[0][0])):
        average = row["total"] / row["tickets"] if row["tickets"] else None
        result.append(
            PathWeek(
                path=path,
                week=week.astimezone(CHINA).date() if hasattr(week, "astimezone") else week,
                tickets=row["tickets"],
                average_hours=_hours(average),
                p90_hours=_hours(p90.get((path, week))),
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


def agent_table(scope: Scope) -> list[AgentRow]:
    """Per person: tickets handled (those whose first decision they made in the scope), average time from
    application to that decision, rejections, compensation paid on their request and 赔偿单价, and the repurchases and
    sales (orders the same buyer paid the shop afterwards). Three queries, whatever the number of agents."""
    system = system_user()
    by_people = first_decisions(scope).exclude(actor=system)
    later_orders = Order.objects.filter(
        shop_id=OuterRef("ticket__shop_id"),
        buyer_nick=OuterRef("ticket__order__buyer_nick"),
        paid_at__gt=OuterRef("at"),
    ).exclude(buyer_nick="")
    later_count = Subquery(
        later_orders.order_by().values("buyer_nick").annotate(n=Count("pk")).values("n")[:1],
        output_field=IntegerField(),
    )
    later_sales = Subquery(
        later_orders.order_by().values("buyer_nick").annotate(total=Sum("paid_amount")).values("total")[:1],
        output_field=DecimalField(max_digits=14, decimal_places=2),
    )
    per_event = by_people.annotate(
        waited=ExpressionWrapper(F("at") - F("ticket__opened_at"), output_field=DurationField()),
        later_count=Coalesce(later_count, Value(0)),
        later_sales=Coalesce(
            later_sales, Value(Decimal("0.00")), output_field=DecimalField(max_digits=14, decimal_places=2)
        ),
    )
    rows = per_event.values("actor_id", "actor__username").annotate(
        handled=Count("pk"),
        waited_total=Sum("waited"),
        repurchases=Sum("later_count"),
        sales_after=Sum("later_sales"),
    )
    rejections = dict(
        TicketEvent.objects.filter(
            ticket__shop_id__in=scope.shop_ids, action="rejected", at__gte=scope.start, at__lt=scope.end
        )
        .exclude(actor=system)
        .values("actor_id")
        .annotate(n=Count("pk"))
        .values_list("actor_id", "n")
    )
    compensation = dict(
        Refund.objects.filter(
            shop_id__in=scope.shop_ids,
            kind=Refund.Kind.COMPENSATION,
            status=Refund.Status.SUCCEEDED,
            executed_at__gte=scope.start,
            executed_at__lt=scope.end,
        )
        .values("requested_by_id")
        .annotate(total=Sum("amount"))
        .values_list("requested_by_id", "total")
    )
    table = []
    for row in rows:
        handled = row["handled"]
        paid = compensation.get(row["actor_id"], Decimal("0.00"))
        table.append(
            AgentRow(
                user_id=row["actor_id"],
                username=row["actor__username"],
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
