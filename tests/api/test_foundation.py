"""The REST API's foundation: token auth, orders and tickets scoped to the caller's shops with the role's model
permission, cursor pages with a fixed number of queries, metrics by code, the staffing forecast, and the OpenAPI
schema and docs served without the internet."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.factories import OrderFactory, ShopFactory, delivered_order, make_staff, open_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return ShopFactory(code="shanye")


@pytest.fixture
def api():
    return APIClient()


def token_for(api, username: str) -> str:
    response = api.post("/api/v1/auth/token/", {"username": username, "password": "pw"}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["token"]


def authorised(api, user) -> APIClient:
    api.credentials(HTTP_AUTHORIZATION=f"Token {token_for(api, user.username)}")
    return api


def test_a_call_without_a_token_is_refused_and_a_wrong_password_gets_no_token(api, shop):
    make_staff("agent", role="Agent", shops=[shop])

    assert api.get("/api/v1/orders/").status_code == 401
    assert api.post("/api/v1/auth/token/", {"username": "agent", "password": "nope"}, format="json").status_code == 400


def test_orders_and_tickets_list_only_the_callers_shops(api, shop):
    other = ShopFactory(code="other")
    mine = delivered_order(shop=shop)
    theirs = delivered_order(shop=other)
    mine_ticket = open_ticket(mine)
    open_ticket(theirs)
    authorised(api, make_staff("agent", role="Agent", shops=[shop]))

    orders = api.get("/api/v1/orders/").json()["results"]
    tickets = api.get("/api/v1/tickets/").json()["results"]

    assert [order["platform_order_id"] for order in orders] == [mine.platform_order_id]
    assert [(t["id"], t["shop"], t["state"]) for t in tickets] == [(mine_ticket.pk, "shanye", mine_ticket.state)]
    assert api.get(f"/api/v1/orders/{theirs.pk}/").status_code == 404
    assert api.get(f"/api/v1/tickets/{mine_ticket.pk}/").json()["order"] == mine.platform_order_id


def test_a_role_without_the_models_view_permission_is_refused(api, shop):
    authorised(api, make_staff("nobody", shops=[shop]))

    assert api.get("/api/v1/tickets/").status_code == 403


def list_queries(api, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert api.get(url).status_code == 200
    return len(queries)


def test_lists_run_the_same_queries_for_5_and_for_60_rows(api, shop):
    authorised(api, make_staff("agent", role="Agent", shops=[shop]))
    for _ in range(5):
        open_ticket(delivered_order(shop=shop))
    few = (list_queries(api, "/api/v1/orders/"), list_queries(api, "/api/v1/tickets/"))
    for _ in range(55):
        open_ticket(delivered_order(shop=shop))

    assert (list_queries(api, "/api/v1/orders/"), list_queries(api, "/api/v1/tickets/")) == few


def test_a_cursor_walks_a_long_list_without_repeating_a_row(api, shop):
    authorised(api, make_staff("agent", role="Agent", shops=[shop]))
    created = {OrderFactory(shop=shop).platform_order_id for _ in range(7)}

    seen, url = [], "/api/v1/orders/?page_size=3"
    while url:
        page = api.get(url).json()
        seen += [order["platform_order_id"] for order in page["results"]]
        url = page["next"]

    assert sorted(seen) == sorted(created)


def test_tickets_filter_by_state_and_reason_category(api, shop):
    authorised(api, make_staff("agent", role="Agent", shops=[shop]))
    quality = open_ticket(delivered_order(shop=shop), reason_code="quality_defect")
    open_ticket(delivered_order(shop=shop), reason_code="changed_mind")

    found = api.get("/api/v1/tickets/", {"reason__category": "quality", "state": quality.state}).json()["results"]

    assert [ticket["id"] for ticket in found] == [quality.pk]


def test_metrics_by_code_for_a_window_and_no_data_as_null(api, shop):
    authorised(api, make_staff("manager", role="Manager", shops=[shop]))

    response = api.get("/api/v1/metrics/", {"shop": "shanye", "start": "2026-11-01", "end": "2026-12-01"})

    figures = {row["code"]: row for row in response.json()}
    assert figures["return_refund_rate"]["value"] is None
    assert figures["return_refund_rate"]["denominator"] == 0
    assert "dispute_rate" in figures
    assert api.get("/api/v1/metrics/", {"start": "2026-12-01", "end": "2026-11-01"}).status_code == 400
    assert api.get("/api/v1/metrics/", {"shop": "other", "start": "2026-11-01", "end": "2026-12-01"}).status_code == 404


def test_an_agent_may_not_read_metrics(api, shop):
    authorised(api, make_staff("agent", role="Agent", shops=[shop]))

    assert api.get("/api/v1/metrics/", {"start": "2026-11-01", "end": "2026-12-01"}).status_code == 403


def test_the_staffing_forecast_works_the_domains_example(api, shop):
    authorised(api, make_staff("manager", role="Manager", shops=[shop]))
    body = {"gmv": "20000000", "refund_rate": "0.05", "average_order_value": "250", "daily_capacity": 100, "days": 7}

    answer = api.post("/api/v1/staffing-forecast/", body, format="json")
    refused = api.post("/api/v1/staffing-forecast/", {**body, "average_order_value": "0"}, format="json")

    assert answer.json() == {"refunds": 4000, "other_aftersales": 1600, "total": 5600, "agents": 8}
    assert refused.status_code == 400
    assert "average_order_value" in refused.json()["fields"]


def test_the_schema_and_its_docs_are_served_without_the_internet(api, shop):
    authorised(api, make_staff("manager", role="Manager", shops=[shop]))

    schema = api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    docs = api.get("/api/v1/docs/")

    paths = schema.json()["paths"]
    assert {"/api/v1/orders/", "/api/v1/tickets/{id}/", "/api/v1/metrics/", "/api/v1/staffing-forecast/"} <= set(paths)
    html = docs.content.decode()
    assert docs.status_code == 200
    assert "drf_spectacular_sidecar" in html
    assert "cdn" not in html.lower()
