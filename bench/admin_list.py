"""The admin lists used daily at a year of data (orders, tickets padded to 1,000,000, refunds, approvals, intercepts,
claims, shipments, return parcels, inspections): a fixed number of queries, no full COUNT(*), and each page's median
≤ 300 ms and p95 ≤ 600 ms, for the first page, a deep page, a filter and a search, as a manager and as a superuser.

The generated year holds 100,000 tickets; the rest up to `tickets` are its closed tickets copied one, two … years
back (older history), inserted in one statement inside a transaction that is rolled back afterwards (unless
`keep`): the pages are read through Django's test client on the same connection, so they see them, indexes and
fresh statistics included. Each page is opened `runs` times as the shop's manager (per-shop permissions through
django-guardian) and as a superuser; we count the queries, look for a COUNT(*) without a LIMIT in them, and time
the request (middleware, view, template; no network).
"""

import re
import time
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aftersales.models import AfterSalesTicket, Shop
from bench.report import summary_ms

TERMINAL = ("refunded", "resolved", "cancelled", "closed")
SUPERUSER = "bench-superuser"

PAD_SQL = """
INSERT INTO aftersales_aftersalesticket
    (shop_id, order_id, platform_ticket_id, kind, path, state, first_reason_id, reason_id, liability,
     requested_amount, buyer_message, escalation_risk, opened_at, platform_opened_late, deadline, sla_due,
     attention_note, refund_attempt, return_courier_code, return_tracking_number, closed_at, updated_at)
SELECT t.shop_id, {order_id}, '', t.kind, t.path, t.state, t.first_reason_id, t.reason_id, t.liability,
       t.requested_amount, t.buyer_message, t.escalation_risk, t.opened_at - n.years,
       t.platform_opened_late, t.deadline - n.years, t.sla_due - n.years, '', t.refund_attempt, t.return_courier_code,
       '', t.closed_at - n.years, t.updated_at - n.years
FROM aftersales_aftersalesticket t
CROSS JOIN LATERAL (SELECT g, g * interval '365 days' AS years FROM generate_series(1, %(copies)s) g) n
{join}
WHERE t.shop_id = %(shop)s AND t.state = ANY(%(terminal)s)
LIMIT %(missing)s
"""

# Copy n of a ticket on copy ((n - 1) mod k) + 1 of its order, where the orders were copied k times a year back each
# (bench.ticket_search.orders_pad numbers copy m `lpad(m, 2, '0') || number`): tickets spread over orders as in real
# history, rather than a hundred copies on one order, which a search for that order would have to sort.
SPREAD_JOIN = """
JOIN aftersales_order o ON o.id = t.order_id
LEFT JOIN aftersales_order oc ON oc.shop_id = o.shop_id
    AND oc.platform_order_id = lpad((((n.g - 1) %% %(order_copies)s) + 1)::text, 2, '0') || o.platform_order_id
"""

FULL_COUNT = re.compile(r"SELECT COUNT\(\*\)", re.IGNORECASE)


def tickets_pad(shop: Shop, target: int, *, order_copies: int = 0) -> int:
    """Insert copies of the shop's closed tickets until the table holds `target`; returns how many were added.
    With `order_copies`, the copies go onto the copies of their orders (SPREAD_JOIN), else onto the order itself."""
    total = AfterSalesTicket.objects.count()
    missing = target - total
    if missing <= 0:
        return 0
    closed = AfterSalesTicket.objects.filter(shop=shop, state__in=TERMINAL).count()
    if not closed:
        return 0
    copies = -(-missing // closed)
    with connection.cursor() as cursor:
        if order_copies:
            sql = PAD_SQL.format(order_id="COALESCE(oc.id, t.order_id)", join=SPREAD_JOIN)
        else:
            sql = PAD_SQL.format(order_id="t.order_id", join="")
        parameters = {"copies": copies, "shop": shop.pk, "terminal": list(TERMINAL), "missing": missing}
        cursor.execute(sql, {**parameters, "order_copies": order_copies})
        added = cursor.rowcount
        cursor.execute("ANALYZE aftersales_aftersalesticket")
    return added


def _full_counts(queries) -> list[str]:
    """COUNT(*) statements that are not bounded by a LIMIT: the full counts the queue must not run."""
    return [query["sql"] for query in queries if FULL_COUNT.search(query["sql"]) and "LIMIT" not in query["sql"]]


def _rows_on_page(content: bytes) -> int:
    table = content.split(b'id="result_list"', 1)
    if len(table) < 2:
        return 0
    body = table[1].split(b"<tbody>", 1)[-1].split(b"</tbody>", 1)[0]
    return body.count(b"<tr")


def measure_pages(user, urls: dict[str, str], runs: int) -> dict:
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    pages = {}
    for name, url in urls.items():
        response = client.get(url)  # warm: templates compiled, caches filled
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
        timings, counts, full_counts, rows = [], set(), [], 0
        for _run in range(runs):
            with CaptureQueriesContext(connection) as queries:
                began = time.perf_counter()
                response = client.get(url)
                timings.append((time.perf_counter() - began) * 1000)
            counts.add(len(queries))
            full_counts.extend(_full_counts(queries.captured_queries))
            rows = _rows_on_page(response.content)
        pages[name] = {
            "url": url,
            "queries": sorted(counts),
            "full_count_queries_per_request": len(full_counts) / runs,
            "rows_on_page": rows,
            **summary_ms(timings),
        }
    return pages


def _first(queryset, field):
    return queryset.exclude(**{field: ""}).values_list(field, flat=True).first() or "none"


def _deep_page(queryset) -> int:
    """Page 150 where the list is that long, else its last full page (at the list's own page size)."""
    from django.contrib import admin

    per_page = admin.site._registry[queryset.model].list_per_page
    return max(1, min(150, queryset.order_by()[: 150 * per_page + 1].count() // per_page))


def list_urls(shop: Shop) -> dict[str, dict[str, str]]:
    """For each daily list: its first page, a deep page, a filter and a search by a number that exists."""
    from aftersales.models import ApprovalRequest, Order, Refund
    from logistics.models import CourierClaim, InterceptRequest, Shipment
    from warehouse.models import Inspection, ReturnParcel

    lists = {
        "orders": (
            "aftersales_order",
            Order.objects.filter(shop=shop),
            "province=新疆",
            _first(Order.objects.filter(shop=shop), "platform_order_id"),
        ),
        "tickets": (
            "aftersales_aftersalesticket",
            AfterSalesTicket.objects.filter(shop=shop),
            "open=all&path__exact=4&state__exact=refunded",
            _first(AfterSalesTicket.objects.filter(shop=shop), "order__platform_order_id"),
        ),
        "refunds": (
            "aftersales_refund",
            Refund.objects.filter(shop=shop),
            "status__exact=failed",
            _first(Refund.objects.filter(shop=shop), "order__platform_order_id"),
        ),
        "approvals": (
            "aftersales_approvalrequest",
            ApprovalRequest.objects.filter(shop=shop),
            "decision=all&status__exact=declined",
            _first(ApprovalRequest.objects.filter(shop=shop), "ticket__order__platform_order_id"),
        ),
        "intercepts": (
            "logistics_interceptrequest",
            InterceptRequest.objects.filter(shop=shop),
            "status__exact=failed",
            _first(InterceptRequest.objects.filter(shop=shop), "shipment__tracking_number"),
        ),
        "claims": (
            "logistics_courierclaim",
            CourierClaim.objects.filter(shop=shop),
            "status__exact=settled",
            _first(CourierClaim.objects.filter(shop=shop), "order__platform_order_id"),
        ),
        "shipments": (
            "logistics_shipment",
            Shipment.objects.filter(shop=shop),
            "status__exact=lost",
            _first(Shipment.objects.filter(shop=shop), "tracking_number"),
        ),
        "return parcels": (
            "warehouse_returnparcel",
            ReturnParcel.objects.filter(shop=shop),
            "status__exact=inspected",
            _first(ReturnParcel.objects.filter(shop=shop), "tracking_number"),
        ),
        "inspections": (
            "warehouse_inspection",
            Inspection.objects.filter(parcel__shop=shop),
            "result__exact=damaged",
            _first(Inspection.objects.filter(parcel__shop=shop), "parcel__tracking_number"),
        ),
    }
    urls = {}
    for name, (route, rows, filtered, term) in lists.items():
        changelist = reverse(f"admin:{route}_changelist")
        everything = "open=all&" if route == "aftersales_aftersalesticket" else ""
        if route == "aftersales_approvalrequest":
            everything = "decision=all&"
        urls[name] = {
            "first page": changelist,
            f"page {_deep_page(rows)}": f"{changelist}?{everything}p={_deep_page(rows)}",
            f"filter {filtered}": f"{changelist}?{filtered}",
            "search": f"{changelist}?{everything}{urlencode({'q': term})}",
        }
    return urls


TARGET = {"median_ms": 300, "p95_ms": 600}


def admin_changelist_benchmark(
    *, shop: Shop, manager, tickets: int = 1_000_000, runs: int = 10, keep=False, only: list[str] | None = None
) -> dict:
    with transaction.atomic():
        began = time.perf_counter()
        added = tickets_pad(shop, tickets)
        padded_seconds = time.perf_counter() - began
        superuser, _created = get_user_model().objects.get_or_create(
            username=SUPERUSER, defaults={"is_staff": True, "is_superuser": True}
        )
        lists = {}
        for name, urls in list_urls(shop).items():
            if only and name not in only:
                continue
            lists[name] = {
                "as_manager": measure_pages(manager, urls, runs),
                "as_superuser": measure_pages(superuser, urls, runs),
            }
        report = {
            "benchmark": "admin_changelist",
            "tickets_in_table": AfterSalesTicket.objects.count(),
            "tickets_added_for_the_run": added,
            "padding_seconds": round(padded_seconds, 1),
            "kept": keep,
            "lists": lists,
            "target": {**TARGET, "queries": "fixed per page", "full_count_queries_per_request": 0},
        }
        all_pages = [page for both in lists.values() for pages in both.values() for page in pages.values()]
        report["pages_measured"] = len(all_pages)
        report["max_queries"] = max(max(page["queries"]) for page in all_pages)
        report["fixed_queries"] = all(len(page["queries"]) == 1 for page in all_pages)
        report["full_count_queries_per_request"] = max(page["full_count_queries_per_request"] for page in all_pages)
        report["worst_median_ms"] = max(page["median_ms"] for page in all_pages)
        report["worst_p95_ms"] = max(page["p95_ms"] for page in all_pages)
        report["over_target"] = [
            f"{name} / {who} / {page_name}: median {page['median_ms']} ms, p95 {page['p95_ms']} ms"
            for name, both in lists.items()
            for who, pages in both.items()
            for page_name, page in pages.items()
            if page["median_ms"] > TARGET["median_ms"] or page["p95_ms"] > TARGET["p95_ms"]
        ]
        report["meets_target"] = (
            report["fixed_queries"] and report["full_count_queries_per_request"] == 0 and not report["over_target"]
        )
        if not keep:
            transaction.set_rollback(True)
    return report
