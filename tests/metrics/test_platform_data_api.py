"""Pushing chat sessions, product reviews and daily product overall scores over the REST API (issue 8 point 9, "… and
by the API"): the same checks as the file import, all rows or none, idempotent by the platform's id (or the day), for
the caller's own shops, with the import's permission, and a fixed number of queries whatever the number of rows."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from metrics.models import ChatSession, ProductReview, ProductScore
from tests.factories import ShopFactory, api_token_for, make_staff

pytestmark = pytest.mark.django_db
CHINA = ZoneInfo("Asia/Shanghai")
CHATS_URL = "/api/v1/platform-data/chats/"
REVIEWS_URL = "/api/v1/platform-data/reviews/"
SCORES_URL = "/api/v1/platform-data/product-scores/"


@pytest.fixture
def shop():
    return ShopFactory(code="shanye")


@pytest.fixture
def api():
    client = APIClient()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def as_user(api, user) -> APIClient:
    api.force_authenticate(user)
    return api


@pytest.fixture
def manager(shop):
    return make_staff("manager", role="Manager", shops=[shop])


def chat(number: int, **fields) -> dict:
    return {"platform_session_id": f"S{number}", "started_at": "2026-11-03 10:00", **fields}


def test_a_manager_pushes_chat_sessions_and_gets_the_counts(api, shop, manager):
    rows = [
        chat(1, first_response_seconds=35, rating=5),
        # ISO 8601 with its own offset; JSON null for "never answered".
        chat(2, started_at="2026-11-03T14:59:30Z", first_response_seconds=None),
        chat(3, first_response_seconds="12", rating="2星"),
    ]
    response = as_user(api, manager).post(CHATS_URL, {"shop": "shanye", "rows": rows}, format="json")

    assert response.status_code == 201, response.content
    assert response.json() == {"created": 3, "updated": 0, "unchanged": 0}
    stored = {session.platform_session_id: session for session in ChatSession.objects.filter(shop=shop)}
    assert stored["S1"].started_at == datetime(2026, 11, 3, 10, tzinfo=CHINA)
    assert (stored["S1"].first_response_seconds, stored["S1"].rating) == (35, 5)
    assert stored["S2"].started_at == datetime(2026, 11, 3, 22, 59, 30, tzinfo=CHINA)
    assert stored["S2"].first_response_seconds is None
    assert stored["S3"].rating == 2


def test_a_manager_pushes_product_reviews(api, shop, manager):
    rows = [
        {
            "platform_order_id": "6950000000000000001",
            "reviewed_at": "2026-11-10 09:30",
            "rating": 1,
            "logistics_rating": 2,
        },
        {"platform_order_id": "6950000000000000002", "reviewed_at": "2026-11-11 20:00", "rating": 4},
    ]
    response = as_user(api, manager).post(REVIEWS_URL, {"shop": "shanye", "rows": rows}, format="json")

    assert response.status_code == 201, response.content
    assert response.json() == {"created": 2, "updated": 0, "unchanged": 0}
    first, second = ProductReview.objects.filter(shop=shop).order_by("platform_order_id")
    assert (first.rating, first.logistics_rating) == (1, 2)
    assert (second.platform_order_id, second.logistics_rating) == ("6950000000000000002", None)


@pytest.mark.parametrize(
    ("url", "row", "field"),
    [
        (CHATS_URL, {"platform_session_id": True, "started_at": "2026-11-03 10:00"}, "platform_session_id"),
        (CHATS_URL, {"platform_session_id": 7, "started_at": "2026-11-03 10:00"}, "platform_session_id"),
        (CHATS_URL, {"platform_session_id": "S1", "started_at": 1762135200}, "started_at"),
        (CHATS_URL, {"platform_session_id": "S1", "started_at": "2026-11-03 10:00", "rating": True}, "rating"),
        (REVIEWS_URL, {"platform_order_id": True, "reviewed_at": "2026-11-10 09:30", "rating": 5}, "platform_order_id"),
        (REVIEWS_URL, {"platform_order_id": 695, "reviewed_at": "2026-11-10 09:30", "rating": 5}, "platform_order_id"),
    ],
)
def test_a_wrong_json_type_is_a_row_error_naming_the_field_and_nothing_is_stored(api, shop, manager, url, row, field):
    response = as_user(api, manager).post(url, {"shop": "shanye", "rows": [row]}, format="json")

    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_rows"
    assert [(error["row"], error["field"]) for error in response.json()["errors"]] == [(1, field)]
    assert not ChatSession.objects.exists()
    assert not ProductReview.objects.exists()


def test_bad_rows_are_all_named_with_field_and_reason_and_nothing_is_written(api, shop, manager):
    ChatSession.objects.create(
        shop=shop,
        platform_session_id="S1",
        started_at=datetime(2026, 11, 3, 10, tzinfo=CHINA),
        first_response_seconds=30,
    )
    rows = [
        chat(1, first_response_seconds=99),  # fine: would update S1
        chat(2, started_at="2026-13-01 10:00"),  # no 13th month
        chat(3, rating=6),
        chat(1),  # S1 twice
        {"started_at": "2026-11-03 10:00", "ratng": 5},  # no id; a misspelt field
    ]
    response = as_user(api, manager).post(CHATS_URL, {"shop": "shanye", "rows": rows}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["message"]) == ("invalid_rows", "4 of 5 rows have errors; nothing was imported.")
    assert body["errors"] == [
        {"row": 2, "field": "started_at", "message": "Enter a valid date/time."},
        {"row": 3, "field": "rating", "message": "Ensure this value is less than or equal to 5."},
        {"row": 4, "field": "platform_session_id", "message": "S1 appears twice (first on row 1)."},
        {
            "row": 5,
            "field": "ratng",
            "message": (
                "Unknown field; the fields are: platform_session_id, started_at, first_response_seconds, rating, "
                "buyer_nick."
            ),
        },
    ]
    assert list(ChatSession.objects.values_list("platform_session_id", "first_response_seconds")) == [("S1", 30)]


def test_a_list_or_an_object_where_a_value_belongs_is_a_row_error(api, shop, manager):
    rows = [chat(1, platform_session_id=["S1"]), chat(2, rating={"stars": 5})]
    response = as_user(api, manager).post(CHATS_URL, {"shop": "shanye", "rows": rows}, format="json")

    assert response.status_code == 400
    message = "Expected a single value, not a list or an object."
    assert response.json()["errors"] == [
        {"row": 1, "field": "platform_session_id", "message": message},
        {"row": 2, "field": "rating", "message": message},
    ]
    assert not ChatSession.objects.exists()


def test_a_missing_required_field_is_a_row_error(api, shop, manager):
    rows = [{"platform_order_id": "A1", "reviewed_at": "2026-11-10 09:30"}]
    response = as_user(api, manager).post(REVIEWS_URL, {"shop": "shanye", "rows": rows}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == [{"row": 1, "field": "rating", "message": "This field is required."}]
    assert not ProductReview.objects.exists()


def test_the_row_errors_are_in_chinese_by_default(shop, manager):
    api = as_user(APIClient(), manager)
    response = api.post(CHATS_URL, {"shop": "shanye", "rows": [chat(1, rating=6)]}, format="json")

    assert response.status_code == 400
    assert response.json()["message"] == "1 行中有 1 行有错误，未导入任何内容。"
    assert response.json()["errors"][0]["message"] == "确保该值小于或等于5。"


def test_a_replay_stores_nothing_twice_and_a_change_updates_only_that_row(api, shop, manager):
    as_user(api, manager)
    rows = [chat(1, first_response_seconds=35, rating=5), chat(2, first_response_seconds=None)]
    assert api.post(CHATS_URL, {"shop": "shanye", "rows": rows}, format="json").status_code == 201
    first_import = dict(ChatSession.objects.values_list("platform_session_id", "imported_at"))

    replay = api.post(CHATS_URL, {"shop": "shanye", "rows": rows}, format="json")

    assert replay.status_code == 200
    assert replay.json() == {"created": 0, "updated": 0, "unchanged": 2}
    assert dict(ChatSession.objects.values_list("platform_session_id", "imported_at")) == first_import

    # The platform's later data: S2 was answered after all.
    later = [chat(1, first_response_seconds=35, rating=5), chat(2, first_response_seconds=480)]
    response = api.post(CHATS_URL, {"shop": "shanye", "rows": later}, format="json")

    assert (response.status_code, response.json()) == (200, {"created": 0, "updated": 1, "unchanged": 1})
    assert ChatSession.objects.count() == 2
    assert ChatSession.objects.get(platform_session_id="S2").first_response_seconds == 480


def test_another_shop_is_refused_with_a_clear_message_and_nothing_is_written(api, shop, manager):
    ShopFactory(code="other")
    for code in ("other", "nope"):
        response = as_user(api, manager).post(CHATS_URL, {"shop": code, "rows": [chat(1)]}, format="json")

        assert response.status_code == 404
        assert response.json() == {
            "code": "not_found",
            "message": f"You are not assigned to a shop with the code {code}.",
        }
    assert not ChatSession.objects.exists()


@pytest.mark.parametrize(
    ("role", "expected"), [("Agent", 403), ("Warehouse", 403), (None, 403), ("Supervisor", 201), ("Manager", 201)]
)
def test_only_the_roles_that_import_platform_data_may_push_it(api, shop, role, expected):
    user = make_staff("someone", role=role, shops=[shop])
    rows = [{"platform_order_id": "A1", "reviewed_at": "2026-11-10", "rating": 5}]
    response = as_user(api, user).post(REVIEWS_URL, {"shop": "shanye", "rows": rows}, format="json")

    assert response.status_code == expected
    assert ProductReview.objects.count() == (1 if expected == 201 else 0)


def test_without_a_login_the_push_is_refused(api, shop):
    response = api.post(CHATS_URL, {"shop": "shanye", "rows": [chat(1)]}, format="json")

    assert response.status_code == 401
    assert not ChatSession.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"shop": "shanye", "rows": []},
        {"shop": "shanye", "rows": ["S1,2026-11-03 10:00"]},
        {"shop": "shanye"},
        {"rows": [{"platform_session_id": "S1", "started_at": "2026-11-03 10:00"}]},
        ["not", "an", "object"],
    ],
)
def test_a_malformed_body_is_a_400_not_a_500(api, shop, manager, body):
    response = as_user(api, manager).post(CHATS_URL, body, format="json")

    assert response.status_code == 400
    assert not ChatSession.objects.exists()


def test_a_form_encoded_body_is_refused(api, shop, manager):
    response = as_user(api, manager).post(CHATS_URL, {"shop": "shanye", "rows": "x"})

    assert response.status_code == 415


def pushed_queries(api, rows: list[dict]) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = api.post(CHATS_URL, {"shop": "shanye", "rows": rows}, format="json")
    assert response.status_code in (200, 201), response.content
    return len(queries)


def test_a_push_runs_the_same_queries_for_5_and_for_50_rows(api, shop, manager):
    # By token, as a client would: every request loads the caller and the permissions afresh.
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(manager)}")
    few = pushed_queries(api, [chat(number) for number in range(5)])
    many = pushed_queries(api, [chat(number) for number in range(100, 150)])
    # And a replay of the 50, which only reads.
    replay = pushed_queries(api, [chat(number) for number in range(100, 150)])

    assert ChatSession.objects.count() == 55
    assert many == few
    assert replay == few - 2  # no upsert, and no day marked for the rollups (metrics/dirty.py)


def test_the_schema_documents_both_routes_and_the_idempotency(api, manager):
    schema = as_user(api, manager).get("/api/v1/schema/", {"format": "json"}).json()

    for url, key in ((CHATS_URL, "platform_session_id"), (REVIEWS_URL, "platform_order_id")):
        operation = schema["paths"][url]["post"]
        assert "Idempotent by the platform's own id" in operation["description"]
        assert key in operation["description"]
        assert set(operation["responses"]) >= {"200", "201", "400", "403", "404"}
    rows = schema["components"]["schemas"]["ProductReviewsRowRequest"]
    assert set(rows["required"]) == {"platform_order_id", "reviewed_at", "rating"}
    assert set(rows["properties"]) == {"platform_order_id", "reviewed_at", "rating", "logistics_rating"}


# --- 商品综合评分 ---------------------------------------------------------------------------------------------------


def test_a_manager_pushes_daily_product_scores(api, shop, manager):
    rows = [
        {"day": "2026-11-01", "score": "4.82"},
        # A date-time counts for its China-time day: 23:30 UTC on 1 November is 07:30 on 2 November in China.
        {"day": "2026-11-01T23:30:00Z", "score": 4.8},
        {"day": "2026-11-03", "score": 5},
    ]
    response = as_user(api, manager).post(SCORES_URL, {"shop": "shanye", "rows": rows}, format="json")

    assert response.status_code == 201, response.content
    assert response.json() == {"created": 3, "updated": 0, "unchanged": 0}
    assert dict(ProductScore.objects.filter(shop=shop).values_list("day", "score")) == {
        date(2026, 11, 1): Decimal("4.82"),
        date(2026, 11, 2): Decimal("4.80"),
        date(2026, 11, 3): Decimal("5.00"),
    }


def test_a_replay_of_the_scores_answers_200_and_changes_nothing(api, shop, manager):
    as_user(api, manager)
    rows = [{"day": "2026-11-01", "score": "4.82"}, {"day": "2026-11-02", "score": "4.80"}]
    assert api.post(SCORES_URL, {"shop": "shanye", "rows": rows}, format="json").status_code == 201
    first_push = dict(ProductScore.objects.values_list("day", "imported_at"))

    # "4.8" is the stored 4.80: the same value.
    replay = [{"day": "2026-11-01", "score": "4.82"}, {"day": "2026-11-02", "score": "4.8"}]
    response = api.post(SCORES_URL, {"shop": "shanye", "rows": replay}, format="json")

    assert (response.status_code, response.json()) == (200, {"created": 0, "updated": 0, "unchanged": 2})
    assert dict(ProductScore.objects.values_list("day", "imported_at")) == first_push


def test_bad_score_rows_answer_invalid_rows_and_write_nothing(api, shop, manager):
    rows = [
        {"day": "2026-11-01", "score": "4.82"},  # fine
        {"day": "2026-11-02", "score": "5.01"},
        {"day": "2026-11-31", "score": "4.80"},
        {"day": "2026-11-04", "score": "-0.5"},
        {"day": "2026-11-05"},
    ]
    response = as_user(api, manager).post(SCORES_URL, {"shop": "shanye", "rows": rows}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["message"]) == ("invalid_rows", "4 of 5 rows have errors; nothing was imported.")
    assert body["errors"] == [
        {"row": 2, "field": "score", "message": "Ensure this value is less than or equal to 5."},
        {"row": 3, "field": "day", "message": "Enter a valid date."},
        {"row": 4, "field": "score", "message": "Ensure this value is greater than or equal to 0."},
        {"row": 5, "field": "score", "message": "This field is required."},
    ]
    assert not ProductScore.objects.exists()


def test_scores_for_another_shop_are_not_found(api, shop, manager):
    ShopFactory(code="other")
    rows = [{"day": "2026-11-01", "score": "4.82"}]
    response = as_user(api, manager).post(SCORES_URL, {"shop": "other", "rows": rows}, format="json")

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "You are not assigned to a shop with the code other."}
    assert not ProductScore.objects.exists()


@pytest.mark.parametrize(("role", "expected"), [("Agent", 403), ("Supervisor", 201), ("Manager", 201)])
def test_only_the_roles_that_import_platform_data_may_push_scores(api, shop, role, expected):
    user = make_staff("someone", role=role, shops=[shop])
    rows = [{"day": "2026-11-01", "score": "4.82"}]
    response = as_user(api, user).post(SCORES_URL, {"shop": "shanye", "rows": rows}, format="json")

    assert response.status_code == expected
    assert ProductScore.objects.count() == (1 if expected == 201 else 0)


def test_the_schema_documents_the_scores_route(api, manager):
    schema = as_user(api, manager).get("/api/v1/schema/", {"format": "json"}).json()

    operation = schema["paths"][SCORES_URL]["post"]
    assert "Idempotent by the platform's own id" in operation["description"]
    assert set(operation["responses"]) >= {"200", "201", "400", "403", "404"}
    rows = schema["components"]["schemas"]["ProductScoresRowRequest"]
    assert set(rows["required"]) == {"day", "score"}
    assert rows["properties"]["day"]["format"] == "date"
