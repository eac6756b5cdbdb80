"""商品综合评分 (issue 8 point 9): the shop's daily product overall score, as the platform computes it and shows it in
its back office, imported from the export file and turned into the metric `product_rating` (the mean of the days'
scores), which the Douyin 2026 scorecard grades. The figures are worked out by hand in the docstrings.

The golden window is November 2026 (China time). Rows for the figures are written directly; the import tests go
through the management command with files as the back office exports them (Chinese headers).
"""

import io
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import Workbook
from rest_framework.test import APIClient

from aftersales.models import Platform
from metrics.definitions import METRICS_BY_CODE, Scope
from metrics.models import DailyMetric, ProductScore, Scorecard, ShopScorecard
from metrics.platform_data import PRODUCT_SCORES, plan_platform_import
from metrics.rollups import figures_for, rollups_refresh
from tests.factories import ShopFactory, make_staff

pytestmark = pytest.mark.django_db
CHINA = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 1, tzinfo=CHINA)
END = datetime(2026, 12, 1, tzinfo=CHINA)


@pytest.fixture
def shop():
    return ShopFactory()


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def score(shop, day: date, value: str) -> ProductScore:
    return ProductScore.objects.create(shop=shop, day=day, score=Decimal(value))


def rating(shop, start: datetime = START, end: datetime = END):
    return METRICS_BY_CODE["product_rating"](Scope((shop.pk,), start, end))


# --- golden figures ---------------------------------------------------------------------------------------------------


def test_product_rating_is_the_mean_of_the_days_scores_in_the_window(shop):
    """Scores the platform reported for the shop: 1 November 4.80, 2 November 4.70, 15 November 4.65, 30 November
    4.90 — counted (the first and the last day of the window are inside). Not counted: 31 October 3.00 and 1 December
    1.00 (outside the window), another shop's 2.00 on 2 November.
    (4.80 + 4.70 + 4.65 + 4.90) / 4 = 19.05 / 4 = 4.7625 → 4.76."""
    score(shop, date(2026, 11, 1), "4.80")
    score(shop, date(2026, 11, 2), "4.70")
    score(shop, date(2026, 11, 15), "4.65")
    score(shop, date(2026, 11, 30), "4.90")
    score(shop, date(2026, 10, 31), "3.00")
    score(shop, date(2026, 12, 1), "1.00")
    score(ShopFactory(), date(2026, 11, 2), "2.00")

    result = rating(shop)

    assert result.value == Decimal("4.76")
    assert (result.numerator, result.denominator) == (Decimal("19.05"), 4)


def test_the_mean_is_rounded_half_up_to_two_decimals(shop):
    """4.80 and 4.69: 9.49 / 2 = 4.745 → 4.75 (half up; half-even would give 4.74)."""
    score(shop, date(2026, 11, 3), "4.80")
    score(shop, date(2026, 11, 4), "4.69")
    assert rating(shop).value == Decimal("4.75")


def test_no_reported_score_is_no_data_not_zero(shop):
    """A score of another month only: nothing in the window → no data (None), never 0."""
    score(shop, date(2026, 10, 31), "4.80")
    result = rating(shop)
    assert (result.value, result.numerator, result.denominator) == (None, Decimal(0), 0)


def test_a_day_belongs_to_the_window_its_midnight_falls_in(shop):
    """A window from 1 November 10:00 to 3 November 10:00: 1 November began before it, 2 and 3 November began inside.
    (4.60 + 4.90) / 2 = 4.75; 1 November's 1.00 is not counted."""
    score(shop, date(2026, 11, 1), "1.00")
    score(shop, date(2026, 11, 2), "4.60")
    score(shop, date(2026, 11, 3), "4.90")
    result = rating(shop, START + timedelta(hours=10), START + timedelta(days=2, hours=10))
    assert (result.value, result.denominator) == (Decimal("4.75"), 2)


def test_the_rollups_give_the_same_rating_as_the_live_definition(shop):
    """Each day's rollup holds that day's score over 1; November from the rollups is (4.80 + 4.70 + 4.65) / 3 = 14.15
    / 3 = 4.7166… → 4.72, as the live definition gives."""
    score(shop, date(2026, 11, 1), "4.80")
    score(shop, date(2026, 11, 2), "4.70")
    score(shop, date(2026, 11, 30), "4.65")
    rollups_refresh(shop_ids=[shop.pk], since=date(2026, 11, 1), until=date(2026, 11, 30))

    rows = DailyMetric.objects.filter(shop=shop, code="product_rating", denominator__gt=0)
    assert {row.day: (row.numerator, row.denominator) for row in rows} == {
        date(2026, 11, 1): (Decimal("4.80"), 1),
        date(2026, 11, 2): (Decimal("4.70"), 1),
        date(2026, 11, 30): (Decimal("4.65"), 1),
    }
    from_rollups = figures_for(Scope((shop.pk,), START, END))["product_rating"]
    assert (from_rollups.value, from_rollups.numerator, from_rollups.denominator) == (
        Decimal("4.72"),
        Decimal("14.15"),
        3,
    )
    assert rating(shop).value == Decimal("4.72")


# --- the import -------------------------------------------------------------------------------------------------------

HEADER = "统计日期,商品综合评分\n"


def csv_file(tmp_path, text: str, name: str = "scores.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8-sig"))
    return path


def run(shop_code: str, path) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "metrics_import_platform_data", "--shop", shop_code, "--kind", PRODUCT_SCORES, str(path), stdout=out, stderr=err
    )
    return out.getvalue(), err.getvalue()


def stored(shop) -> dict[date, Decimal]:
    return dict(ProductScore.objects.filter(shop=shop).values_list("day", "score"))


def test_scores_import_from_a_csv_with_chinese_headers(shop, tmp_path):
    """A date, a date-time (its day) and a slashed date; a score with the back office's "分"; 5 as a whole number."""
    path = csv_file(tmp_path, HEADER + "2026-11-01,4.82\n2026-11-02 00:00:00,4.8分\n2026/11/03,5\n")

    out, _err = run(shop.code, path)

    assert "3 created, 0 updated, 0 unchanged." in out
    assert stored(shop) == {
        date(2026, 11, 1): Decimal("4.82"),
        date(2026, 11, 2): Decimal("4.80"),
        date(2026, 11, 3): Decimal("5.00"),
    }
    # (4.82 + 4.80 + 5.00) / 3 = 14.62 / 3 = 4.8733… → 4.87
    assert rating(shop).value == Decimal("4.87")


def test_scores_import_from_an_xlsx_with_excel_dates(shop, tmp_path):
    workbook = Workbook()
    workbook.active.append(["日期", "商品体验分"])
    workbook.active.append([date(2026, 11, 4), 4.75])
    workbook.active.append([datetime(2026, 11, 5, 0, 0), "4.7"])  # noqa: DTZ001 - an Excel cell is naive
    path = tmp_path / "scores.xlsx"
    workbook.save(path)

    out, _err = run(shop.code, path)

    assert "2 created, 0 updated, 0 unchanged." in out
    assert stored(shop) == {date(2026, 11, 4): Decimal("4.75"), date(2026, 11, 5): Decimal("4.70")}


def test_a_bad_row_is_named_and_nothing_is_written(shop, tmp_path):
    score(shop, date(2026, 11, 1), "4.50")
    path = csv_file(
        tmp_path,
        HEADER
        + "2026-11-01,4.82\n"  # row 2: fine, would update 1 November
        + "2026-11-02,5.10\n"  # row 3: above 5
        + "2026-11-31,4.80\n"  # row 4: no 31 November
        + "2026-11-04,4.825\n",  # row 5: three decimals, not the back office's figure
    )

    with pytest.raises(CommandError, match="3 of 4 rows have errors; nothing was imported."):
        run(shop.code, path)

    assert stored(shop) == {date(2026, 11, 1): Decimal("4.50")}


def test_the_row_errors_say_which_row_and_why(shop):
    rows = [
        {"_row": 2, "day": "2026-11-01", "score": "4.82"},
        {"_row": 3, "day": "2026-11-02", "score": "5.10"},
        {"_row": 4, "day": "2026-11-31", "score": "4.80"},
        {"_row": 5, "day": "2026-11-01 00:00", "score": "4.70"},
        {"_row": 6, "day": "2026-11-06", "score": ""},
    ]
    plan = plan_platform_import(shop=shop, kind=PRODUCT_SCORES, rows=rows)
    errors = {error.row_number: error.message for error in plan.errors}
    assert errors == {
        3: "商品综合评分: Ensure this value is less than or equal to 5.",
        4: "日期: Enter a valid date.",
        5: "日期 2026-11-01 appears twice in the file (first on row 2).",
        6: "商品综合评分: This field is required.",
    }


def test_a_reimport_leaves_the_same_days_alone_and_updates_a_changed_one(shop, tmp_path):
    path = csv_file(tmp_path, HEADER + "2026-11-01,4.82\n2026-11-02,4.80\n")
    run(shop.code, path)
    first_import = dict(ProductScore.objects.values_list("day", "imported_at"))

    out, _err = run(shop.code, path)

    assert "0 created, 0 updated, 2 unchanged." in out
    assert dict(ProductScore.objects.values_list("day", "imported_at")) == first_import

    # The back office revised 2 November's score; 3 November is new.
    later = csv_file(tmp_path, HEADER + "2026-11-01,4.82\n2026-11-02,4.78\n2026-11-03,4.9\n", name="later.csv")
    out, _err = run(shop.code, later)

    assert "1 created, 1 updated, 1 unchanged." in out
    assert stored(shop) == {
        date(2026, 11, 1): Decimal("4.82"),
        date(2026, 11, 2): Decimal("4.78"),
        date(2026, 11, 3): Decimal("4.90"),
    }


def test_a_file_without_the_score_column_is_refused(shop, tmp_path):
    with pytest.raises(CommandError, match="lacks the required columns: 商品综合评分"):
        run(shop.code, csv_file(tmp_path, "日期,评分\n2026-11-01,4.8\n"))
    assert not ProductScore.objects.exists()


# --- on the dashboard and the Douyin 2026 scorecard -----------------------------------------------------------------


def days_ago(days: int) -> datetime:
    return timezone.localtime(timezone.now(), CHINA).replace(hour=10, minute=0, second=0, microsecond=0) - timedelta(
        days=days
    )


@pytest.fixture
def douyin_manager(client):
    """A Douyin shop graded by 商家体验分 2026 (rule 103956), whose 商品体验 has 商品综合评分 with the steps
    4.8 → 100, 4.7 → 90, 4.6 → 80, 4.5 → 70, 4.3 → 60; its manager logged in."""
    shop = ShopFactory(code="douyin-shop", platform=Platform.objects.get(code="douyin"))
    ShopScorecard.objects.create(shop=shop, scorecard=Scorecard.objects.get(platform__code="douyin", version="103956"))
    user = make_staff("manager", role="Manager", shops=[shop])
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return shop, user


def card(html: str, code: str) -> str:
    start = html.index(f'data-metric="{code}"')
    return html[start : html.index("</section>", start)]


def graded(page) -> dict:
    return {metric.code: metric for dimension in page.context["score"].dimensions for metric in dimension.metrics}


def test_the_dashboard_api_and_scorecard_show_the_rating_and_the_step_reached(client, douyin_manager):
    """Three days ago 4.70, two days ago 4.80: (4.70 + 4.80) / 2 = 4.75 on the card, in the API, and graded by the
    Douyin 2026 scorecard: 4.75 meets 4.7 (90) but not 4.8 (100) → step 90."""
    shop, user = douyin_manager
    score(shop, days_ago(3).date(), "4.70")
    score(shop, days_ago(2).date(), "4.80")
    rollups_refresh(shop_ids=[shop.pk], since=days_ago(5).date(), until=days_ago(1).date())

    page = client.get(reverse("metrics:dashboard"), {"shop": shop.pk})

    html = page.content.decode()
    rating_card = card(html, "product_rating")
    assert "4.75" in rating_card
    assert "the daily product overall scores (0–5) the platform reported for the days in the window" in rating_card
    assert "days in the window with a reported score" in rating_card
    metric = graded(page)["product_rating"]
    assert (metric.figure, metric.status, metric.step) == (Decimal("4.75"), "scored", 90)
    table = html[html.index('id="score-table"') : html.index("</table>", html.index('id="score-table"'))]
    row = table[table.index(str(metric.name)) :]
    assert row[: row.index("</tr>")].count('class="num">90<') == 1

    api = APIClient()
    api.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    api.force_authenticate(user)
    today = days_ago(0).date()
    rows = api.get(
        "/api/v1/metrics/", {"shop": shop.code, "start": str(today - timedelta(days=5)), "end": str(today)}
    ).json()
    api_row = next(row for row in rows if row["code"] == "product_rating")
    assert (api_row["unit"], api_row["value"], api_row["numerator"], api_row["denominator"]) == (
        "points",
        "4.7500",
        "9.5000",
        2,
    )
    assert api_row["definition"].startswith("Σ the daily product overall scores (0–5) ")


def test_without_scores_the_rating_reads_no_data_and_takes_no_part_in_the_score(client, douyin_manager):
    shop, _user = douyin_manager

    page = client.get(reverse("metrics:dashboard"), {"shop": shop.pk})

    html = page.content.decode()
    row = next(row for row in page.context["rows"] if row["metric"].code == "product_rating")
    assert row["figure"].value is None
    assert card(html, "product_rating").count("metrics-no-data") == 2
    metric = graded(page)["product_rating"]
    assert (metric.figure, metric.status, metric.step) == (None, "no_data", None)
