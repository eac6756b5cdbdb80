"""The manager dashboard: figures from the daily rollups (equal to the live definitions), change against the
previous period, shop filter and scoping, the xlsx export read back, the overdue summary, and a fixed number of
queries whatever the history."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from aftersales.models import Platform
from aftersales.services import shop_assign_user
from metrics.definitions import CHINA, METRICS_BY_CODE, Scope
from metrics.models import DailyMetric, Scorecard, ShopScorecard
from metrics.rollups import figures_for, rollups_nightly, rollups_refresh
from tests.factories import ShopFactory, make_staff
from tests.metrics.test_definitions import order, ticket

pytestmark = pytest.mark.django_db
DASHBOARD = reverse("metrics:dashboard")


def today():
    return timezone.localtime(timezone.now(), CHINA).replace(hour=0, minute=0, second=0, microsecond=0)


def history(shop, *, days_ago: int, returns: int, orders: int):
    """`orders` orders paid `days_ago` days ago at 10:00, `returns` of them with a return-and-refund ticket."""
    paid = today() - timedelta(days=days_ago) + timedelta(hours=10)
    made = [order(shop, paid=paid, buyer=f"b{days_ago}-{n}") for n in range(orders)]
    for index in range(returns):
        ticket(shop, opened=paid + timedelta(hours=1), kind="return_refund", of=made[index])


@pytest.fixture
def shop():
    return ShopFactory(name="山野户外")


@pytest.fixture
def manager(shop, client):
    user = make_staff("manager", role="Manager", shops=[shop])
    client.force_login(user)
    return user


def refresh(shop, days=40):
    day = today().date()
    rollups_refresh(shop_ids=[shop.pk], since=day - timedelta(days=days), until=day - timedelta(days=1))


def test_a_period_from_the_rollups_equals_the_live_definition(shop):
    """Return-refund rate over the last 30 days: days 3 and 20 ago, 2 of 10 and 1 of 5 → 3/15 = 0.2, the same as the
    definition computed over the window directly."""
    history(shop, days_ago=3, returns=2, orders=10)
    history(shop, days_ago=20, returns=1, orders=5)
    refresh(shop)
    scope = Scope.last_days((shop.pk,), end=today(), days=30)

    from_rollups = figures_for(scope)["return_refund_rate"]
    live = METRICS_BY_CODE["return_refund_rate"](scope)

    assert from_rollups.value == live.value == Decimal("0.2000")
    assert (from_rollups.numerator, from_rollups.denominator) == (3, 15)


def test_refreshing_a_day_again_replaces_its_rows(shop):
    history(shop, days_ago=2, returns=1, orders=4)
    refresh(shop, days=3)
    rows = DailyMetric.objects.count()

    refresh(shop, days=3)

    assert DailyMetric.objects.count() == rows


def test_the_nightly_run_covers_the_last_days_of_every_shop(shop):
    history(shop, days_ago=1, returns=1, orders=2)

    rollups_nightly()

    yesterday = (today() - timedelta(days=1)).date()
    row = DailyMetric.objects.get(shop=shop, day=yesterday, code="return_refund_rate")
    assert (row.numerator, row.denominator) == (1, 2)


def test_the_dashboard_shows_each_figure_with_its_change_and_definition(client, shop, manager):
    """This period 1 of 4 orders returned (25%), the period before 1 of 2 (50%): −25 points."""
    history(shop, days_ago=5, returns=1, orders=4)
    history(shop, days_ago=35, returns=1, orders=2)
    refresh(shop, days=70)

    page = client.get(DASHBOARD, {"shop": shop.pk, "days": 30})

    assert page.status_code == 200
    row = next(row for row in page.context["rows"] if row["metric"].code == "return_refund_rate")
    assert (row["figure"].value, row["before"].value, row["change"]) == (
        Decimal("0.2500"),
        Decimal("0.5000"),
        Decimal("-0.2500"),
    )
    html = page.content.decode()
    assert "25.00%" in html
    assert "-25.00%" in html
    assert str(METRICS_BY_CODE["return_refund_rate"].denominator) in html or "期间付款的订单" in html


def test_a_metric_without_data_says_so(client, shop, manager):
    page = client.get(DASHBOARD, {"shop": shop.pk})

    row = next(row for row in page.context["rows"] if row["metric"].code == "dispute_rate")
    assert row["figure"].value is None
    assert "metrics-no-data" in page.content.decode()


def test_another_shops_dashboard_is_not_found_and_an_agent_is_refused(client, shop, manager):
    other = ShopFactory()
    assert client.get(DASHBOARD, {"shop": other.pk}).status_code == 404

    client.force_login(make_staff("agent", role="Agent", shops=[shop]))
    assert client.get(DASHBOARD).status_code == 403


def test_the_kpi_table_downloads_as_xlsx_and_reads_back(client, shop, manager):
    history(shop, days_ago=5, returns=1, orders=4)
    refresh(shop, days=10)

    response = client.get(DASHBOARD, {"shop": shop.pk, "days": 30, "format": "xlsx"})

    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    returns = next(row for name, row in rows.items() if "退货退款率" in name)
    assert (Decimal(str(returns[1])), returns[4], returns[5]) == (Decimal("0.25"), 1, 4)


def test_the_overdue_summary_counts_what_waits_past_its_time(client, shop, manager):
    now = timezone.now()
    ticket(shop, opened=now - timedelta(hours=60))  # deadline (48 h) and SLA (24 h) passed
    ticket(shop, opened=now - timedelta(hours=30))  # SLA passed only
    ticket(shop, opened=now - timedelta(hours=1))

    summary = client.get(DASHBOARD).context["summary"]

    assert (summary["open"], summary["past_deadline"], summary["past_sla"]) == (3, 1, 2)


def test_the_dashboard_runs_the_same_queries_for_a_week_or_a_year_of_history(client, shop, manager):
    history(shop, days_ago=2, returns=1, orders=3)
    refresh(shop, days=7)
    with CaptureQueriesContext(connection) as small:
        assert client.get(DASHBOARD, {"shop": shop.pk}).status_code == 200

    for days_ago in range(3, 360, 7):
        history(shop, days_ago=days_ago, returns=1, orders=2)
    refresh(shop, days=365)
    with CaptureQueriesContext(connection) as large:
        assert client.get(DASHBOARD, {"shop": shop.pk}).status_code == 200

    assert len(large) == len(small)


def test_a_shop_with_a_scorecard_sees_its_score_from_the_same_figures(client, manager):
    """A Douyin shop graded by the seeded 商家体验分 (seed 004): the scorecard's metrics carry the period's figures
    (none of 4 orders picked up within 24 hours: 0%, the lowest step, 50); 飞鸽 response is the 2026 rule's, not this
    card's; a metric without data is named on the page with its weight."""
    shop = ShopFactory(platform=Platform.objects.get(code="douyin"))
    shop_assign_user(shop=shop, user=manager)
    ShopScorecard.objects.create(
        shop=shop, scorecard=Scorecard.objects.get(platform__code="douyin", version="2024-06-03")
    )
    history(shop, days_ago=5, returns=1, orders=4)
    refresh(shop, days=10)

    page = client.get(DASHBOARD, {"shop": shop.pk})

    score = page.context["score"]
    metrics = {metric.code: metric for dimension in score.dimensions for metric in dimension.metrics}
    assert (metrics["pickup_24h_rate"].figure, metrics["pickup_24h_rate"].step) == (Decimal("0.0000"), 50)
    assert "chat_response_time" not in metrics
    assert score.is_default_thresholds
    assert 'id="score-table"' in page.content.decode()
    # What has no data is named with its weight: a metric in its dimension, a dimension without any data as a whole.
    named = {str(item["name"]): str(item["weight"]) for item in page.context["score_missing"]}
    expected = {}
    for dimension in score.dimensions:
        if dimension.score is None:
            expected[dimension.name] = [f"{dimension.weight.normalize():f}%"]
            continue
        for metric in dimension.metrics:
            if metric.figure is None:
                expected[str(metric.name)] = [f"{metric.weight.normalize():f}%", dimension.name]
    assert expected
    assert named.keys() == expected.keys()
    assert all(part in named[name] for name, parts in expected.items() for part in parts)
    missing_note = page.content.decode().split('id="score-missing"')[1]
    assert all(name in missing_note for name in expected)


def test_the_admin_home_leads_a_manager_to_the_dashboard_and_not_an_agent(client, shop, manager):
    assert client.get(reverse("admin:index")).url == reverse("metrics:dashboard")  # the manager's start page
    home = client.get(reverse("admin:index") + "?menu=1").content.decode()  # every menu
    assert reverse("metrics:dashboard") in home
    assert reverse("metrics:staffing") in home

    client.force_login(make_staff("agent", role="Agent", shops=[shop]))
    assert reverse("metrics:dashboard") not in client.get(reverse("admin:index") + "?menu=1").content.decode()


@pytest.mark.parametrize(
    ("language", "texts"),
    [
        (
            "zh-hans",
            [
                "取用户首次评价结果",
                "统计期间买家首次评价为商品 1–2 星（差评）的订单数",
                "按订单，以最后一次有效结果为准",
                "统计期间支付的订单中产生投诉或纠纷商责的订单数",
                "判商家胜诉的，以及判买家胜诉但为他方责任的，不计入。",
            ],
        ),
        (
            "en",
            [
                "the buyer&#x27;s first review",
                "last valid result, per order",
                "or with a dispute the platform ruled against the merchant as liable (纠纷商责)",
                "with the merchant liable (商责)",
            ],
        ),
    ],
)
def test_the_definitions_under_the_figures_say_what_is_computed_in_chinese_and_english(
    shop, manager, client, language, texts
):
    """商品差评率, 售后拒绝率, 平台求助率 and 纠纷率 are shown with the definitions of seeds 003/004, in both languages:
    what is computed, not what was computed before."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    page = client.get(DASHBOARD, {"shop": shop.pk}, HTTP_ACCEPT_LANGUAGE=language)

    assert page.status_code == 200
    html = page.content.decode()
    for text in texts:
        assert text in html, text
