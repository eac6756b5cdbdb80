"""Every admin list used daily (orders, tickets, refunds, approvals, intercepts, claims, shipments, return parcels,
inspections) costs the same number of queries whatever the rows on the page, on its first page, a deep page, a
filter and a search, as a manager and as a superuser; searches compare the column as written (an index serves
it, not UPPER(column)) and the order list's province filter offers a fixed list (no DISTINCT over the orders)."""

from datetime import UTC, datetime

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from aftersales.models import Order
from bench.admin_list import list_urls
from bench.generate import generate_year

pytestmark = pytest.mark.django_db
END = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


@pytest.fixture
def year(db):
    year = generate_year(shop_code="lists-year", orders=1_200, tickets=240, seed=11, end=END)
    get_user_model().objects.create_user(username="lists-superuser", is_staff=True, is_superuser=True)
    return year


def queries_for(user, url, per_page, monkeypatch):
    for model_admin in admin.site._registry.values():
        monkeypatch.setattr(model_admin, "list_per_page", per_page)
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    client.get(url)  # the session and caches warm
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return [query["sql"] for query in queries], response


@pytest.mark.parametrize("who", ["lists-year-manager", "lists-superuser"])
def test_every_daily_list_costs_a_fixed_number_of_queries(year, who, monkeypatch):
    user = get_user_model().objects.get(username=who)
    checked = 0
    for name, pages in list_urls(year.shop).items():
        for page, url in pages.items():
            one, _response = queries_for(user, url, 1, monkeypatch)
            many, response = queries_for(user, url, 50, monkeypatch)
            assert len(one) == len(many), f"{name} / {page}: {len(one)} queries for 1 row, {len(many)} for 50"
            assert len(many) <= 12, f"{name} / {page}: {len(many)} queries"
            if page == "search":
                assert response.context["cl"].result_count >= 1, f"{name}: the search found nothing"
                assert not [sql for sql in many if "UPPER(" in sql], f"{name}: the search compares UPPER(column)"
            checked += 1
    assert checked == 9 * 4


def test_the_order_list_filters_provinces_from_a_fixed_list(year, monkeypatch):
    """No DISTINCT over the orders; 新疆 matches an order written 新疆 and one written 新疆维吾尔自治区."""
    user = get_user_model().objects.get(username="lists-superuser")
    full = Order.objects.filter(shop=year.shop).exclude(province="新疆").first()
    Order.objects.filter(pk=full.pk).update(province="新疆维吾尔自治区")
    short = Order.objects.filter(shop=year.shop, province="新疆").count()

    sql, response = queries_for(user, "/admin/aftersales/order/?province=新疆", 50, monkeypatch)

    assert not [query for query in sql if "DISTINCT" in query.upper()]
    assert response.context["cl"].result_count == short + 1
    choices = [
        choice["display"]
        for spec in response.context["cl"].filter_specs
        for choice in spec.choices(response.context["cl"])
    ]
    assert "西藏" in choices
    assert "广东" in choices


def test_the_order_search_matches_the_number_as_written_from_its_index(year, monkeypatch):
    user = get_user_model().objects.get(username="lists-superuser")
    order = Order.objects.filter(shop=year.shop).exclude(buyer_nick="").first()

    for term in (order.platform_order_id, order.buyer_nick, f"  {order.platform_order_id} "):
        sql, response = queries_for(user, f"/admin/aftersales/order/?q={term}", 50, monkeypatch)
        assert order in response.context["cl"].result_list
        assert not [query for query in sql if "UPPER(" in query]
