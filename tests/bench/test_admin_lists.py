"""Every admin list used daily (orders, tickets, refunds, approvals, intercepts, claims, shipments, return parcels,
inspections) costs the same number of queries whatever the rows on the page, on its first page, a deep page, a
filter and a search, as a manager and as a superuser; searches compare the column as written (an index serves
it, not UPPER(column)) and the order list's province filter offers a fixed list (no DISTINCT over the orders).
The intercept, claim, return-parcel and inspection lists read a page in their order from an index (all shops' and
one shop's), take a deep page's ids before joining, and count an inspection's evidence for its listed rows only."""

from datetime import UTC, datetime

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

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


# The intercept, claim, return-parcel and inspection lists: each page's rows come from an index in the list's order,
# a deep page joins only its own rows, and an inspection's evidence is counted for the listed rows only.
JOINED_LISTS = {
    "intercepts": ("logistics_interceptrequest", ["intercept_due_id_idx"], ["intercept_shop_due_id_idx"]),
    "claims": ("logistics_courierclaim", ["claim_month_courier_id_idx"], ["claim_shop_month_id_idx"]),
    "return parcels": ("warehouse_returnparcel", ["return_parcel_created_id_idx"], ["return_parcel_shop_created_idx"]),
    # The shop is the parcel's: a shop's inspections are read in the list's order and kept by their parcel's shop.
    "inspections": ("warehouse_inspection", ["inspection_inspected_id_idx"], ["inspection_inspected_id_idx"]),
}
# Rows a page, so that the small generated year (three claims) still has a third page.
PER_PAGE = {"intercepts": 5, "claims": 1, "return parcels": 5, "inspections": 5}


def page_plan(response) -> str:
    """The plan of the query that reads the page's rows, as the changelist ran it."""
    changelist = response.context["cl"]
    sql, params = changelist.result_list.query.sql_with_params()
    with connection.cursor() as cursor:
        # The tables are tiny here, so the planner is told not to scan nor sort them: what remains is whether an
        # index can hand the rows over in the list's order.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_seqscan")
        cursor.execute("RESET enable_sort")
    return plan


def per_page(monkeypatch, rows):
    for model_admin in admin.site._registry.values():
        monkeypatch.setattr(model_admin, "list_per_page", rows)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plan is PostgreSQL's")
@pytest.mark.parametrize("who", ["lists-year-manager", "lists-superuser"])
def test_each_joined_list_reads_its_page_in_order_from_an_index_for_all_shops_and_for_one(year, who, monkeypatch):
    client = Client(HTTP_HOST="localhost")
    client.force_login(get_user_model().objects.get(username=who))
    for name, (route, all_shops, one_shop) in JOINED_LISTS.items():
        per_page(monkeypatch, PER_PAGE[name])
        changelist = reverse(f"admin:{route}_changelist")

        for url, indexes in [
            (changelist, all_shops),
            (f"{changelist}?p=2", all_shops),
            (f"{changelist}?shop={year.shop.pk}", one_shop),
        ]:
            with transaction.atomic():
                if indexes != all_shops:
                    # One shop's page may read either index (here the shop holds every row); without the
                    # all-shops one, the shop's own must serve it.
                    with connection.cursor() as cursor:
                        for index in all_shops:
                            cursor.execute(f'DROP INDEX "{index}"')
                response = client.get(url)
                assert response.status_code == 200, url
                plan = page_plan(response)
                transaction.set_rollback(True)
            assert any(index in plan for index in indexes), f"{name} / {url}:\n{plan}"


def test_a_deep_page_of_a_joined_list_takes_its_ids_first_and_lists_the_same_rows_in_order(year, monkeypatch):
    """Page 3: the list's rows from 2 × the page size on, and the joins run over those ids only."""
    user = get_user_model().objects.get(username="lists-year-manager")
    for name, (route, _all_shops, _one_shop) in JOINED_LISTS.items():
        rows = PER_PAGE[name]

        sql, response = queries_for(user, reverse(f"admin:{route}_changelist") + "?p=3", rows, monkeypatch)

        changelist = response.context["cl"]
        expected = [row.pk for row in changelist.queryset[2 * rows : 3 * rows]]
        assert len(expected) == rows, f"{name}: the generated year has too few rows for page 3"
        assert [row.pk for row in changelist.result_list] == expected, name
        page_query = [query for query in sql if query.startswith(f'SELECT "{route}"."id", ')]
        assert len(page_query) == 1, page_query
        assert f'"{route}"."id" IN (SELECT' in page_query[0], name
        assert f"LIMIT {rows} OFFSET {2 * rows}" in page_query[0], name


def test_the_inspection_list_counts_each_listed_inspections_evidence_without_grouping_every_inspection(
    year, monkeypatch
):
    from warehouse.models import Inspection

    user = get_user_model().objects.get(username="lists-year-manager")
    with_evidence = Inspection.objects.filter(parcel__shop=year.shop, evidence__isnull=False).first()
    assert with_evidence is not None, "the generated year has no inspection with evidence"
    url = reverse("admin:warehouse_inspection_changelist")

    sql, response = queries_for(user, f"{url}?q={with_evidence.parcel.tracking_number}", 50, monkeypatch)
    listed = list(response.context["cl"].result_list)
    _sql, first_page = queries_for(user, url, 50, monkeypatch)

    assert [row.evidence_total for row in listed] == [with_evidence.evidence.count()]
    assert with_evidence.evidence.count() >= 1
    for row in first_page.context["cl"].result_list:
        assert row.evidence_total == row.evidence.count()
    assert not [query for query in sql + _sql if 'GROUP BY "warehouse_inspection"' in query]


def test_the_row_checkbox_is_djangos_markup_without_rendering_its_widget_per_row(year, monkeypatch):
    from django.contrib.admin import ModelAdmin
    from django.forms import CheckboxInput

    from logistics.models import CourierClaim

    user = get_user_model().objects.get(username="lists-superuser")
    claim = CourierClaim.objects.filter(shop=year.shop).first()
    assert claim is not None, "the generated year has no claim"
    model_admin = admin.site._registry[CourierClaim]
    djangos = ModelAdmin.action_checkbox(model_admin, claim)
    rendered = []

    def render(*args, **kwargs):
        rendered.append(args)
        return ""

    monkeypatch.setattr(CheckboxInput, "render", render)

    _sql, response = queries_for(user, reverse("admin:logistics_courierclaim_changelist"), 50, monkeypatch)

    assert model_admin.action_checkbox(claim) == djangos
    assert djangos in response.content.decode()
    assert not rendered
