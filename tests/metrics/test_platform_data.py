"""Data the desk does not create itself (issue 8 point 9): chat sessions and product reviews imported from the
platforms' export files, and the metrics computed from them, with the figures worked out by hand.

The window is November 2026 (China time). Rows for the golden figures are written directly; the import tests go
through the management command with CSV and XLSX files as the back offices export them (Chinese headers).
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
from metrics.models import ChatSession, DailyMetric, ProductReview, Scorecard, ShopScorecard
from metrics.platform_data import CHATS, REVIEWS, plan_platform_import
from metrics.rollups import figures_for, rollups_refresh
from tests.factories import OrderFactory, ShopFactory, make_staff

pytestmark = pytest.mark.django_db
CHINA = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 1, tzinfo=CHINA)
END = datetime(2026, 12, 1, tzinfo=CHINA)


def at(day: int, hour: int = 10, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=CHINA)


@pytest.fixture
def shop():
    return ShopFactory()


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def figure(code: str, shop):
    return METRICS_BY_CODE[code](Scope((shop.pk,), START, END))


def session(shop, number: int, started: datetime, seconds: int | None, rating: int | None = None) -> ChatSession:
    return ChatSession.objects.create(
        shop=shop, platform_session_id=f"S{number}", started_at=started, first_response_seconds=seconds, rating=rating
    )


def review(shop, order_id: str, reviewed: datetime, rating: int, logistics: int | None = None) -> ProductReview:
    return ProductReview.objects.create(
        shop=shop,
        platform_order_id=order_id,
        reviewed_at=reviewed,
        rating=rating,
        logistics_rating=logistics,
        first_reviewed_at=reviewed,
        first_rating=rating,
    )


def signed_orders(shop, count: int, *, day: int = 5) -> None:
    """Orders signed for (物流签收) in November: the denominator of 商品差评率."""
    for _ in range(count):
        OrderFactory(shop=shop, paid_at=at(day - 3), shipped_at=at(day - 2), delivered_at=at(day))


@pytest.fixture
def sessions(shop):
    """Seven sessions of the shop and one of another shop:
    S1 10:00, answered in 30 s, rated 5      — counts
    S2 08:00 exactly, 90 s, rated 3          — counts (the first minute of the day's hours)
    S3 22:59, never answered, not rated      — counts as 600 s
    S4 23:10, 5 s, rated 1                   — outside 08:00–22:59
    S5 07:59, 1000 s, rated 4                — outside 08:00–22:59
    S6 1 December 10:00, 20 s                — outside the window
    another shop's session 10:00, 10 s       — not this shop's
    """
    session(shop, 1, at(3, 10), 30, rating=5)
    session(shop, 2, at(4, 8, 0), 90, rating=3)
    session(shop, 3, at(5, 22, 59), None)
    session(shop, 4, at(6, 23, 10), 5, rating=1)
    session(shop, 5, at(7, 7, 59), 1000, rating=4)
    session(shop, 6, at(1, 10, month=12), 20, rating=1)
    session(ShopFactory(), 7, at(3, 10), 10, rating=1)


# --- golden figures ---------------------------------------------------------------------------------------------------


def test_chat_response_time(shop, sessions):
    """Counted: S1 30 s, S2 90 s (08:00 is inside), S3 unanswered 600 s. S4 (23:10) and S5 (07:59) are outside the
    hours, S6 outside the window, S7 another shop's. (30 + 90 + 600) / 3 = 720 / 3 = 240.00 s."""
    result = figure("chat_response_time", shop)
    assert result.value == Decimal("240.00")
    assert (result.numerator, result.denominator) == (Decimal(720), 3)


def test_chat_response_time_counts_only_08_00_to_22_59(shop):
    """Only the 23:10 session (5 s) and the 07:59 one (1000 s): none is in the hours → no data, not 0."""
    session(shop, 1, at(6, 23, 10), 5)
    session(shop, 2, at(7, 7, 59), 1000)
    assert figure("chat_response_time", shop).value is None
    session(shop, 3, at(7, 22, 59), 40)
    assert figure("chat_response_time", shop).value == Decimal("40.00")


def test_an_unanswered_session_counts_ten_minutes(shop):
    """One session answered in 60 s, one never answered (600 s): (60 + 600) / 2 = 330.00 s."""
    session(shop, 1, at(3, 9), 60)
    session(shop, 2, at(3, 11), None)
    assert figure("chat_response_time", shop).value == Decimal("330.00")


def test_chat_dissatisfaction_rate(shop, sessions):
    """Rated sessions of the shop started in November: S1 5★, S2 3★, S4 1★, S5 4★ (the chat hours do not apply to
    ratings); S3 is not rated; S6 is December's, S7 another shop's. Unhappy (1–3★): S2 and S4 → 2 / 4 = 0.5000."""
    result = figure("chat_dissatisfaction_rate", shop)
    assert result.value == Decimal("0.5000")
    assert (result.numerator, result.denominator) == (2, 4)


def test_chat_dissatisfaction_without_ratings_is_no_data(shop):
    """Sessions but none rated: nothing to measure → no data, never 0%."""
    session(shop, 1, at(3, 10), 30)
    assert figure("chat_dissatisfaction_rate", shop).value is None


def test_negative_review_rate(shop):
    """商品差评率 (seed 004) = orders whose buyer's first review, given in November, is 1–2★ ÷ orders signed for in
    November. First reviews in November: 1★ (00:00 on 1 November, China time), 2★, 3★, 4★, 5★ (with 1★ logistics,
    not a negative product review). Not counted: a 1★ at 23:59 on 31 October, one on 1 December, another shop's 1★.
    Orders signed for in November: 10 (and one on 1 December, not counted) → 2 / 10 = 0.2000. Before, it divided by
    the reviews (2 / 5 = 0.4000)."""
    review(shop, "A1", START, 1)
    review(shop, "A2", at(10), 2)
    review(shop, "A3", at(11), 3)
    review(shop, "A4", at(12), 4)
    review(shop, "A5", at(13), 5, logistics=1)
    review(shop, "B1", at(31, 23, 59, month=10), 1)
    review(shop, "B2", END, 1)
    review(ShopFactory(), "A1", at(10), 1)
    signed_orders(shop, 10)
    OrderFactory(shop=shop, paid_at=at(28), shipped_at=at(29), delivered_at=END)
    result = figure("negative_review_rate", shop)
    assert result.value == Decimal("0.2000")
    assert (result.numerator, result.denominator) == (2, 10)


def test_negative_review_rate_counts_the_buyers_first_review_when_a_reimport_changes_it(shop, tmp_path):
    """Seed 004: 取用户首次评价结果. The first export has X1 at 1★ and X2 at 5★; the next export has X1 changed to 5★
    and X2 changed to 1★ (a later review of the same orders). 4 orders signed for in November.
    First reviews: X1 1★ (negative), X2 5★ → 1 / 4 = 0.2500, after the re-import as before it. Counting the latest
    review (what a re-import did before) would give X2 alone, also 1/4, but of the wrong order, so the stored first
    ratings are checked too. A re-import with an earlier time than the stored first (a late export of the original)
    becomes the first: X3 first imported at 5★ on the 12th, then at 2★ on the 11th → negative → 2 / 4 = 0.5000."""
    signed_orders(shop, 4)
    run(shop.code, "reviews", csv_file(tmp_path, REVIEW_HEADER + "X1,2026-11-10 09:00,1,\nX2,2026-11-10 10:00,5,\n"))
    assert figure("negative_review_rate", shop).numerator == 1
    later = REVIEW_HEADER + "X1,2026-11-20 09:00,5,\nX2,2026-11-20 10:00,1,\n"
    out, _err = run(shop.code, "reviews", csv_file(tmp_path, later, name="later.csv"))
    assert "0 created, 2 updated, 0 unchanged." in out
    x1, x2 = ProductReview.objects.filter(shop=shop).order_by("platform_order_id")
    assert (x1.rating, x1.first_rating, x1.first_reviewed_at) == (5, 1, at(10, 9))
    assert (x2.rating, x2.first_rating, x2.first_reviewed_at) == (1, 5, at(10, 10))
    result = figure("negative_review_rate", shop)
    assert (result.value, result.numerator, result.denominator) == (Decimal("0.2500"), 1, 4)

    run(shop.code, "reviews", csv_file(tmp_path, REVIEW_HEADER + "X3,2026-11-12 09:00,5,\n", name="x3.csv"))
    run(shop.code, "reviews", csv_file(tmp_path, REVIEW_HEADER + "X3,2026-11-11 09:00,2,\n", name="x3b.csv"))
    assert ProductReview.objects.get(shop=shop, platform_order_id="X3").first_rating == 2
    assert figure("negative_review_rate", shop).value == Decimal("0.5000")


def test_logistics_negative_review_rate(shop):
    """物流差评率: reviews given in November that rated the logistics: 1★ (00:00 on 1 November, China time), 2★, 3★,
    5★, and one on a 5★ product review with 2★ logistics. Not counted: a review without a logistics rating (its
    product 1★), a 1★ one at 23:59 on 31 October and one on 1 December, and another shop's 1★.
    Negative (1–2★): the 1★, the 2★ and the 2★-on-5★ → 3 / 5 = 0.6000."""
    review(shop, "L1", START, 4, logistics=1)
    review(shop, "L2", at(10), 4, logistics=2)
    review(shop, "L3", at(11), 1, logistics=3)
    review(shop, "L4", at(12), 5, logistics=5)
    review(shop, "L5", at(13), 5, logistics=2)
    review(shop, "L6", at(14), 1)
    review(shop, "M1", at(31, 23, 59, month=10), 4, logistics=1)
    review(shop, "M2", END, 4, logistics=1)
    review(ShopFactory(), "L1", at(10), 4, logistics=1)
    result = figure("logistics_negative_review_rate", shop)
    assert result.value == Decimal("0.6000")
    assert (result.numerator, result.denominator) == (3, 5)
    # The product's own stars are another metric, over orders signed for (none here): no data.
    assert figure("negative_review_rate", shop).value is None


def test_reviews_without_logistics_ratings_are_no_data_for_the_logistics_rate(shop):
    """Two reviews, neither rated the logistics: nothing to measure → no data, never 0%. The product's: 1★ first
    review of the two, over 2 orders signed for → 1/2."""
    review(shop, "A1", at(10), 1)
    review(shop, "A2", at(11), 5)
    signed_orders(shop, 2)
    assert figure("logistics_negative_review_rate", shop).value is None
    assert figure("negative_review_rate", shop).value == Decimal("0.5000")


def test_the_rollups_give_the_same_logistics_rate_as_the_live_definition(shop):
    """Two days of reviews rolled up: 10 November 1★ and 4★ logistics, 11 November 2★ and one without → 2 / 3."""
    review(shop, "A1", at(10), 5, logistics=1)
    review(shop, "A2", at(10, 12), 5, logistics=4)
    review(shop, "A3", at(11), 5, logistics=2)
    review(shop, "A4", at(11, 12), 5)
    rollups_refresh(shop_ids=[shop.pk], since=date(2026, 11, 1), until=date(2026, 11, 30))
    from_rollups = figures_for(Scope((shop.pk,), START, END))["logistics_negative_review_rate"]
    assert (from_rollups.value, from_rollups.numerator, from_rollups.denominator) == (Decimal("0.6667"), 2, 3)
    assert figure("logistics_negative_review_rate", shop).value == Decimal("0.6667")


def test_the_rollups_carry_the_new_metrics(shop, sessions):
    """The daily rollup of 4 November holds S2 alone (90 s over 1 session); of 5 November S3 (600 s over 1)."""
    rollups_refresh(shop_ids=[shop.pk], since=date(2026, 11, 4), until=date(2026, 11, 5))
    rows = {
        row.day: (row.numerator, row.denominator)
        for row in DailyMetric.objects.filter(shop=shop, code="chat_response_time")
    }
    assert rows == {date(2026, 11, 4): (Decimal(90), 1), date(2026, 11, 5): (Decimal(600), 1)}


def test_a_period_from_the_rollups_equals_the_live_definition(shop, sessions):
    """November's days rolled up give the same 240.00 s, 0.5000 and no data (no reviews) as the live definitions."""
    rollups_refresh(shop_ids=[shop.pk], since=date(2026, 11, 1), until=date(2026, 11, 30))
    from_rollups = figures_for(Scope((shop.pk,), START, END))
    assert from_rollups["chat_response_time"].value == Decimal("240.00")
    assert from_rollups["chat_dissatisfaction_rate"].value == Decimal("0.5000")
    assert from_rollups["negative_review_rate"].value is None


# --- the import -----------------------------------------------------------------------------------------------------

CHAT_HEADER = "会话ID,开始时间,首次响应时长(秒),评价\n"
REVIEW_HEADER = "订单号,评价时间,商品评分,物流评分\n"


def csv_file(tmp_path, text: str, name: str = "export.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8-sig"))
    return path


def xlsx_file(tmp_path, rows: list[list], name: str = "export.xlsx"):
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    path = tmp_path / name
    workbook.save(path)
    return path


def run(shop_code: str, kind: str, path) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("metrics_import_platform_data", "--shop", shop_code, "--kind", kind, str(path), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_chat_sessions_import_from_a_csv_with_chinese_headers(shop, tmp_path):
    path = csv_file(
        tmp_path,
        CHAT_HEADER + "S100,2026-11-03 10:00,35,5\nS101,2026-11-03 22:59:30,,\nS102,2026-11-04 08:00:00,12,2星\n",
    )
    out, _err = run(shop.code, "chats", path)
    assert "3 created, 0 updated, 0 unchanged." in out
    stored = {s.platform_session_id: s for s in ChatSession.objects.filter(shop=shop)}
    assert stored["S100"].started_at == at(3, 10)
    assert (stored["S100"].first_response_seconds, stored["S100"].rating) == (35, 5)
    assert stored["S101"].started_at == datetime(2026, 11, 3, 22, 59, 30, tzinfo=CHINA)
    assert (stored["S101"].first_response_seconds, stored["S101"].rating) == (None, None)
    assert stored["S102"].rating == 2
    # (35 + 600 + 12) / 3 = 215.67 s
    assert figure("chat_response_time", shop).value == Decimal("215.67")


def test_reviews_import_from_an_xlsx_with_chinese_headers(shop, tmp_path):
    path = xlsx_file(
        tmp_path,
        [
            ["订单号", "评价时间", "商品评分", "物流评分"],
            # An Excel date cell: naive, China local time.
            ["6950000000000000001", datetime(2026, 11, 10, 9, 30), 1, 5],  # noqa: DTZ001
            ["6950000000000000002", "2026-11-11 20:00", "4星", None],
        ],
    )
    out, _err = run(shop.code, "reviews", path)
    assert "2 created, 0 updated, 0 unchanged." in out
    first = ProductReview.objects.get(shop=shop, platform_order_id="6950000000000000001")
    assert (first.reviewed_at, first.rating, first.logistics_rating) == (
        datetime(2026, 11, 10, 9, 30, tzinfo=CHINA),
        1,
        5,
    )
    second = ProductReview.objects.get(shop=shop, platform_order_id="6950000000000000002")
    assert (second.reviewed_at, second.rating, second.logistics_rating) == (at(11, 20), 4, None)
    # One first review at 1★ of the two; 4 orders signed for in November → 1/4.
    signed_orders(shop, 4)
    assert figure("negative_review_rate", shop).value == Decimal("0.2500")


def test_english_headers_are_accepted(shop, tmp_path):
    path = csv_file(tmp_path, "order_id,reviewed_at,rating,logistics_rating\nE1,2026-11-10 09:30,2,\n")
    out, _err = run(shop.code, "reviews", path)
    assert "1 created, 0 updated, 0 unchanged." in out
    assert ProductReview.objects.get(shop=shop).rating == 2


def test_a_reimport_updates_by_the_session_id(shop, tmp_path):
    run(shop.code, "chats", csv_file(tmp_path, CHAT_HEADER + "S1,2026-11-03 10:00,,\nS2,2026-11-03 11:00,20,4\n"))
    # The platform's later export: S1 was answered after all and rated; S3 is new.
    later = csv_file(tmp_path, CHAT_HEADER + "S1,2026-11-03 10:00,45,2\nS3,2026-11-04 12:00,8,5\n", name="later.csv")
    out, _err = run(shop.code, "chats", later)
    assert "1 created, 1 updated, 0 unchanged." in out
    assert ChatSession.objects.filter(shop=shop).count() == 3
    updated = ChatSession.objects.get(shop=shop, platform_session_id="S1")
    assert (updated.first_response_seconds, updated.rating) == (45, 2)


def test_the_same_session_id_in_another_shop_is_another_session(shop, tmp_path):
    other = ShopFactory()
    path = csv_file(tmp_path, CHAT_HEADER + "S1,2026-11-03 10:00,30,5\n")
    run(shop.code, "chats", path)
    out, _err = run(other.code, "chats", path)
    assert "1 created, 0 updated, 0 unchanged." in out
    assert ChatSession.objects.filter(platform_session_id="S1").count() == 2


def test_a_file_with_two_bad_rows_names_both_and_writes_nothing(shop, tmp_path):
    session(shop, 1, at(3, 10), 30, rating=5)
    path = csv_file(
        tmp_path,
        CHAT_HEADER
        + "S1,2026-11-03 10:00,99,1\n"  # row 2: fine, would update S1
        + "S2,2026-13-01 10:00,10,5\n"  # row 3: no 13th month
        + "S3,2026-11-03 10:00,10,5\n"  # row 4: fine
        + "S4,2026-11-03 10:00,10,6\n",  # row 5: six stars
    )
    with pytest.raises(CommandError, match="2 of 4 rows have errors; nothing was imported."):
        run(shop.code, "chats", path)
    assert set(ChatSession.objects.values_list("platform_session_id", flat=True)) == {"S1"}
    assert ChatSession.objects.get(platform_session_id="S1").first_response_seconds == 30


def test_the_row_errors_say_which_row_and_why(shop):
    rows = [
        {"_row": 2, "platform_session_id": "S1", "started_at": "2026-11-03 10:00"},
        {"_row": 3, "platform_session_id": "S2", "started_at": "2026-13-01 10:00"},
        {"_row": 4, "platform_session_id": "S3", "started_at": "2026-11-03 10:00", "rating": "6"},
        {"_row": 5, "platform_session_id": "S1", "started_at": "2026-11-03 11:00"},
        {"_row": 6, "platform_session_id": "S6", "started_at": "2026-11-03 11:00", "first_response_seconds": "-1"},
    ]
    plan = plan_platform_import(shop=shop, kind=CHATS, rows=rows)
    errors = {error.row_number: error.message for error in plan.errors}
    assert sorted(errors) == [3, 4, 5, 6]
    assert errors[3].startswith("开始时间: ")
    assert errors[4] == "评价: Ensure this value is less than or equal to 5."
    assert errors[5] == "会话ID S1 appears twice in the file (first on row 2)."
    assert errors[6].startswith("首次响应时长(秒): ")


def test_a_review_needs_a_rating_and_a_text_order_number(shop):
    rows = [
        {"_row": 2, "platform_order_id": "A1", "reviewed_at": "2026-11-03 10:00", "rating": ""},
        {"_row": 3, "platform_order_id": 6.95e18, "reviewed_at": "2026-11-03 10:00", "rating": 5},
    ]
    errors = {
        error.row_number: error.message for error in plan_platform_import(shop=shop, kind=REVIEWS, rows=rows).errors
    }
    assert errors[2] == "商品评分: This field is required."
    assert "stored by Excel as a number" in errors[3]


def test_a_file_without_the_required_columns_is_refused(shop, tmp_path):
    path = csv_file(tmp_path, "订单号,评价时间\nA1,2026-11-03 10:00\n")
    with pytest.raises(CommandError, match="lacks the required columns: 商品评分"):
        run(shop.code, "reviews", path)


def test_an_unknown_shop_or_kind_is_a_command_error(shop, tmp_path):
    path = csv_file(tmp_path, CHAT_HEADER + "S1,2026-11-03 10:00,30,5\n")
    with pytest.raises(CommandError, match="Unknown shop code: nope"):
        run("nope", "chats", path)
    with pytest.raises(CommandError, match="invalid choice: 'orders'"):
        run(shop.code, "orders", path)
    assert not ChatSession.objects.exists()


# --- 物流差评率 on the pages ------------------------------------------------------------------------------------------


def days_ago(days: int) -> datetime:
    return timezone.localtime(timezone.now(), CHINA).replace(hour=10, minute=0, second=0, microsecond=0) - timedelta(
        days=days
    )


@pytest.fixture
def tmall_manager(client):
    """A Tmall shop graded by 店铺真实体验分 (rule 20009524), whose 物流体验 has 物流差评率; its manager logged in."""
    shop = ShopFactory(code="tmall-shop", platform=Platform.objects.get(code="tmall"))
    ShopScorecard.objects.create(shop=shop, scorecard=Scorecard.objects.get(platform__code="tmall", version="20009524"))
    user = make_staff("manager", role="Manager", shops=[shop])
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return shop, user


def card(html: str, code: str) -> str:
    start = html.index(f'data-metric="{code}"')
    return html[start : html.index("</section>", start)]


def test_the_dashboard_api_and_scorecard_show_the_logistics_rate_with_its_definition(client, tmall_manager):
    """Three days ago: logistics 1★ and 5★; two days ago 2★ and 4★ → 2 / 4 = 50.00% on the card, in the API, and
    graded by the Tmall scorecard (0.5 is 50% against steps that end at 1.0% → the floor, 50)."""
    shop, user = tmall_manager
    review(shop, "A1", days_ago(3), 5, logistics=1)
    review(shop, "A2", days_ago(3), 5, logistics=5)
    review(shop, "A3", days_ago(2), 5, logistics=2)
    review(shop, "A4", days_ago(2), 5, logistics=4)
    rollups_refresh(shop_ids=[shop.pk], since=days_ago(5).date(), until=days_ago(1).date())

    page = client.get(reverse("metrics:dashboard"), {"shop": shop.pk})

    html = page.content.decode()
    logistics = card(html, "logistics_negative_review_rate")
    assert "50.00%" in logistics
    assert "reviews given in the window with a logistics rating of 1–2 stars" in logistics
    assert "Reviews without a logistics rating are not counted." in logistics
    graded = {metric.code: metric for dimension in page.context["score"].dimensions for metric in dimension.metrics}
    assert (graded["logistics_negative_review_rate"].figure, graded["logistics_negative_review_rate"].step) == (
        Decimal("0.5000"),
        50,
    )

    api = APIClient()
    api.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    api.force_authenticate(user)
    today = days_ago(0).date()
    rows = api.get(
        "/api/v1/metrics/", {"shop": shop.code, "start": str(today - timedelta(days=5)), "end": str(today)}
    ).json()
    row = next(row for row in rows if row["code"] == "logistics_negative_review_rate")
    assert (row["value"], row["numerator"], row["denominator"]) == ("0.5000", "2.0000", 4)
    assert row["definition"].startswith("reviews given in the window with a logistics rating of 1–2 stars ÷ ")


def test_every_figure_without_data_says_no_data_on_the_dashboard(client, tmall_manager):
    """A shop with no history: every KPI card, now and before, and every graded metric reads "no data"; the score
    has no value rather than 0 or 100."""
    shop, _user = tmall_manager

    page = client.get(reverse("metrics:dashboard"), {"shop": shop.pk})

    html = page.content.decode()
    for row in page.context["rows"]:
        assert row["figure"].value is None, row["metric"].code
        assert card(html, row["metric"].code).count("metrics-no-data") == 2, row["metric"].code
    score = page.context["score"]
    assert score.total is None
    graded = [metric for dimension in score.dimensions for metric in dimension.metrics]
    assert graded
    assert all(metric.figure is None for metric in graded)
    table = html[html.index('id="score-table"') : html.index("</table>", html.index('id="score-table"'))]
    # Each metric says "no data", and so does each dimension (its weight is named as shared among the others).
    assert table.count("metrics-no-data") == len(graded) + len(score.dimensions)
