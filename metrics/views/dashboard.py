"""指标看板: the manager's dashboard. KPI cards against the previous period, merchant time per path week by week,
the per-agent table, today's clearance and what is overdue, and the KPI table as an xlsx file.

Filters are GET parameters (`shop`, `days`), so a view of the figures can be shared. A shop that is not the user's
is "not found" before any figure is computed.
"""

import io
from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, Q
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from openpyxl import Workbook

from aftersales.models import OPEN_TICKET_STATES, AfterSalesTicket, ApprovalRequest, Order
from aftersales.money import to_yuan
from aftersales.selectors import shops_for_user, unconfirmed_refunds
from aftersales.spreadsheets import sheet_append
from desk.pages import permission_any, render_page
from metrics.definitions import CHINA, METRICS, Scope
from metrics.models import ShopScorecard
from metrics.rollups import figures_for
from metrics.scoring import ScoreResult, Status, scorecard_score
from metrics.selectors import agent_table, decisions_rolled_until, path_timeliness
from metrics.views.staffing import VIEW_DASHBOARD, chosen_shop

PERIOD_DAYS = (7, 30, 90)
DEFAULT_DAYS = 30
TREND_WEEKS = 12
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _period(request) -> int:
    raw = request.GET.get("days", "")
    return int(raw) if raw.isdigit() and int(raw) in PERIOD_DAYS else DEFAULT_DAYS


def kpi_rows(shop_ids, *, days: int, now):
    """Each metric's figure for the last `days` complete days (China time) and the days before, with the change."""
    today = timezone.localtime(now, CHINA).replace(hour=0, minute=0, second=0, microsecond=0)
    current = Scope.last_days(shop_ids, end=today, days=days)
    previous = Scope.last_days(shop_ids, end=current.start, days=days)
    now_figures, before_figures = figures_for(current), figures_for(previous)
    rows = []
    for metric in METRICS:
        figure, before = now_figures[metric.code], before_figures[metric.code]
        change = None
        if figure.value is not None and before.value is not None:
            change = figure.value - before.value
        rows.append({"metric": metric, "figure": figure, "before": before, "change": change})
    return rows, current, now_figures


def shop_score(shop, scope: Scope, figures) -> ScoreResult | None:
    """The shop's platform score by its chosen scorecard (admin → 店铺体验分规则), from the period's figures; None when
    the shop has not chosen one. Metrics the desk does not measure are no data there."""
    choice = ShopScorecard.objects.filter(shop=shop).first()
    if choice is None:
        return None
    spec = choice.to_spec()
    values = {code: figure.value for code, figure in figures.items()}
    return scorecard_score(values, spec, valid_paid_orders=valid_paid_orders(shop, scope, spec.min_valid_orders))


def valid_paid_orders(shop, scope: Scope, enough: int | None) -> int | None:
    """The paid orders of the 30 days before the period's end, counted only up to `enough` (the scorecard's "fewer
    than 30 valid paid orders" rule needs to know no more, and a big shop's month of orders is hundreds of
    thousands of rows: a bounded count reads `enough` index entries whatever the volume). None: the rule is off."""
    if enough is None:
        return None
    # The platforms' rule looks at 30 days, whatever period the page shows.
    paid = Order.objects.filter(shop=shop, paid_at__gte=scope.end - timedelta(days=30), paid_at__lt=scope.end)
    return paid.order_by().values("pk")[:enough].count()


def missing_weights(score: ScoreResult | None) -> list[dict]:
    """What the score leaves out and how much it weighed, named on the page (never re-weighted silently): a dimension
    without any data (its weight of the score), or a metric without data or thresholds (its weight in its
    dimension)."""
    if score is None:
        return []
    missing = []
    for dimension in score.dimensions:
        if dimension.score is None:
            missing.append(
                {
                    "name": dimension.name,
                    "weight": _("%(weight)s%% of the score") % {"weight": _percent(dimension.weight)},
                }
            )
            continue
        for metric in dimension.metrics:
            if metric.status != Status.SCORED:
                missing.append(
                    {
                        "name": metric.name,
                        "weight": _("%(weight)s%% of %(dimension)s")
                        % {"weight": _percent(metric.weight), "dimension": dimension.name},
                    }
                )
    return missing


def _percent(weight: Decimal) -> str:
    return f"{weight.normalize():f}"


def overdue_summary(shop_ids, *, now) -> dict:
    """Today's clearance (日清) at a glance: what waits on the shop past its time. One query per line."""
    open_tickets = AfterSalesTicket.objects.filter(shop_id__in=shop_ids, state__in=OPEN_TICKET_STATES)
    summary = open_tickets.aggregate(
        open=_count(),
        past_deadline=_count(deadline__lt=now),
        past_sla=_count(sla_due__lt=now),
        near_deadline=_count(escalation_risk=True),
    )
    summary["approvals_overdue"] = ApprovalRequest.objects.filter(
        shop_id__in=shop_ids, status=ApprovalRequest.Status.PENDING, due_at__lt=now
    ).count()
    # Refunds sent and not confirmed by the marketplace within the shop's hours: the money may not have moved.
    summary["refunds_unconfirmed"] = unconfirmed_refunds(shop_ids, now=now).count()
    return summary


def _count(**conditions):
    return Count("pk", filter=Q(**conditions)) if conditions else Count("pk")


@require_GET
@permission_any(VIEW_DASHBOARD)
def dashboard(request):
    shops = shops_for_user(request.user)
    shop = chosen_shop(request, shops)
    shop_ids = tuple([shop.pk] if shop else shops.values_list("pk", flat=True))
    days = _period(request)
    now = timezone.now()
    rows, current, figures = kpi_rows(shop_ids, days=days, now=now)
    if request.GET.get("format") == "xlsx":
        return _xlsx(rows, days=days, shop=shop)
    trend_scope = Scope(shop_ids, now - timedelta(weeks=TREND_WEEKS), now)
    agents_scope = Scope.last_days(shop_ids, end=now, days=days)
    # One look at how far the decisions are rolled up, for the wider of the two windows.
    rolled_until = decisions_rolled_until(Scope(shop_ids, min(trend_scope.start, agents_scope.start), now))
    weeks = path_timeliness(trend_scope, rolled_until=rolled_until)
    score = shop_score(shop, current, figures) if shop else None
    context = {
        "shops": shops,
        "shop": shop,
        "days": days,
        "periods": PERIOD_DAYS,
        "rows": rows,
        "path_weeks": weeks,
        "trend": _trend(weeks),
        "agents": agent_table(agents_scope, rolled_until=rolled_until),
        "summary": overdue_summary(shop_ids, now=now),
        "score": score,
        "score_missing": missing_weights(score),
    }
    return render_page(request, "metrics/dashboard.html", context, title=_("Metrics dashboard"), section="dashboard")


def _trend(weeks) -> dict:
    """The chart's data: one line per path, average merchant hours per week."""
    labels = sorted({row.week.isoformat() for row in weeks})
    paths = sorted({row.path for row in weeks})
    by_key = {(row.path, row.week.isoformat()): row.average_hours for row in weeks}
    return {
        "labels": labels,
        "series": [
            {
                "label": _("path %(path)s") % {"path": path},
                "data": [float(by_key[(path, label)]) if (path, label) in by_key else None for label in labels],
            }
            for path in paths
        ],
    }


def _xlsx(rows, *, days: int, shop) -> HttpResponse:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("KPIs")
    sheet_append(sheet, [_("metric"), _("value"), _("previous period"), _("change"), _("numerator"), _("denominator")])
    for row in rows:
        figure, before = row["figure"], row["before"]
        is_money = row["metric"].unit == "money"
        sheet_append(
            sheet,
            [
                str(row["metric"].name),
                figure.value,
                before.value,
                row["change"],
                figure.numerator,
                figure.denominator,
            ],
        )
        if is_money:  # yuan to the fen, as the pages show them (the numerator is a sum of the window's money)
            for cell in sheet[sheet.max_row][1:3] + sheet[sheet.max_row][4:5]:
                if isinstance(cell.value, (int, float, Decimal)):
                    cell.value = to_yuan(cell.value)
                    cell.number_format = "0.00"
    buffer = io.BytesIO()
    workbook.save(buffer)
    name = f"kpi-{shop.code if shop else 'all'}-{days}d-{timezone.localdate():%Y%m%d}.xlsx"
    response = HttpResponse(buffer.getvalue(), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
