"""Every list and detail route of the API: it shows only the caller's shops' rows, and a list page costs the same
number of queries for 5 rows as for 200."""

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from aftersales.models import AfterSalesTicket, ApprovalRequest, Complaint, Order
from logistics.models import CourierClaim, InterceptRequest, Shipment, TrackingEvent
from tests.api.rows import fill_shop
from tests.api.test_foundation import authorised
from tests.factories import ShopFactory, make_staff
from warehouse.models import Inspection, ReturnParcel

pytestmark = pytest.mark.django_db

# route -> the model it lists and the path from that model to its shop
ROUTES = {
    "orders": (Order, "shop"),
    "tickets": (AfterSalesTicket, "shop"),
    "approvals": (ApprovalRequest, "shop"),
    "complaints": (Complaint, "shop"),
    "shipments": (Shipment, "shop"),
    "tracking-events": (TrackingEvent, "shipment__shop"),
    "intercepts": (InterceptRequest, "shop"),
    "claims": (CourierClaim, "shop"),
    "return-parcels": (ReturnParcel, "shop"),
    "inspections": (Inspection, "parcel__shop"),
}


def test_every_paged_list_route_of_the_schema_is_covered_here(api_schema_paths):
    listed = {path.strip("/").split("/")[-1] for path in api_schema_paths if path.count("/") == 4}
    assert listed - {"metrics", "staffing-forecast", "reasons", "token", "schema", "docs"} == set(ROUTES)


@pytest.fixture
def api_schema_paths(api, reader):
    schema = api.get("/api/v1/schema/?format=json").json()
    return list(schema["paths"])


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def shops():
    return ShopFactory(code="mine"), ShopFactory(code="theirs")


@pytest.fixture
def reader(api, shops):
    """A user who may read every model listed, assigned to the first shop only."""
    user = make_staff("reader", shops=[shops[0]])
    user.user_permissions.add(*Permission.objects.filter(codename__startswith="view_"))
    return authorised(api, user) and user


def all_pages(api, url: str) -> list[dict]:
    rows = []
    while url:
        body = api.get(url).json()
        rows.extend(body["results"])
        url = body["next"]
    return rows


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_a_list_and_its_details_show_only_the_callers_shops(api, shops, reader, route):
    mine, theirs = shops
    fill_shop(mine, 3, user=reader)
    fill_shop(theirs, 2, user=reader)
    model, shop_path = ROUTES[route]
    expected = set(model.objects.filter(**{shop_path: mine}).values_list("pk", flat=True))
    other = model.objects.filter(**{shop_path: theirs}).first()

    listed = {row["id"] for row in all_pages(api, f"/api/v1/{route}/?page_size=2")}

    assert len(expected) >= 3
    assert listed == expected
    assert api.get(f"/api/v1/{route}/{min(expected)}/").status_code == 200
    assert api.get(f"/api/v1/{route}/{other.pk}/").status_code == 404


def list_queries(api, url: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = api.get(url)
    assert response.status_code == 200
    return len(queries), len(response.json()["results"])


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_a_list_runs_the_same_queries_for_5_rows_as_for_200(api, shops, reader, route):
    fill_shop(shops[0], 5, user=reader)
    few, shown_few = list_queries(api, f"/api/v1/{route}/?page_size=500")
    fill_shop(shops[0], 195, user=reader)
    many, shown_many = list_queries(api, f"/api/v1/{route}/?page_size=500")

    assert (shown_few, shown_many) == (5, 200)
    assert many == few
