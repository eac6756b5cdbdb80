"""The agents' ticket queue in the admin at 1,000,000 tickets (DESIGN §7: ≤ 12 queries, no full COUNT(*)).

The generated year holds 100,000 tickets; the rest up to `tickets` are its closed tickets copied one, two … years
back (older history), inserted in one statement inside a transaction that is rolled back afterwards (unless
`keep`): the pages are read through Django's test client on the same connection, so they see them, indexes and
fresh statistics included. Each page is opened `runs` times as the shop's manager (per-shop permissions through
django-guardian) and as a superuser; we count the queries, look for a COUNT(*) without a LIMIT in them, and time
the request (middleware, view, template; no network).
"""

import time
from urllib.parse import quote

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.urls import reverse

from aftersales.models import AfterSalesTicket, Order, Shop
from aftersales.selectors import SEARCH_ORDERS_MAX, order_search_q
from bench.admin_list import SUPERUSER, measure_pages, tickets_pad

SEARCH_TARGET_MS = 300

# Copies of the year's orders a year back each (copy n: its number prefixed with n, the phone's last eight digits
# shifted, the nick suffixed with n), no lines, refunds or tickets: enough orders for the search's lookup to read a
# table of the target size when the generator could not write that many on this machine.
ORDER_PAD_SQL = """
INSERT INTO aftersales_order
    (shop_id, platform_order_id, buyer_nick, receiver_name, receiver_phone, province, city, district, address,
     paid_amount, paid_at, packed_at, shipped_at, courier_code, tracking_number, delivered_at, created_at, updated_at,
     refunded_amount, is_custom_made, is_presale, needs_shipping, promised_ship_by)
SELECT o.shop_id, lpad(n.g::text, 2, '0') || o.platform_order_id, o.buyer_nick || n.g::text, o.receiver_name,
       CASE WHEN o.receiver_phone ~ '^[0-9]{11}$'
            THEN left(o.receiver_phone, 3)
                 || lpad(((right(o.receiver_phone, 8)::bigint + n.g * 7919) %% 100000000)::text, 8, '0')
            ELSE o.receiver_phone END,
       o.province, o.city, o.district, o.address, o.paid_amount, o.paid_at - n.years, o.packed_at - n.years,
       o.shipped_at - n.years, '', '', o.delivered_at - n.years, o.created_at - n.years, o.updated_at - n.years,
       0, o.is_custom_made, o.is_presale, o.needs_shipping, o.promised_ship_by - n.years
FROM aftersales_order o
CROSS JOIN LATERAL (SELECT g, g * interval '365 days' AS years FROM generate_series(1, %(copies)s) g) n
WHERE o.shop_id = %(shop)s
LIMIT %(missing)s
"""


def orders_pad(shop: Shop, target: int) -> tuple[int, int]:
    """Insert copies of the shop's orders until the table holds `target`; returns how many were added and how many
    copies of each order were asked for."""
    missing = target - Order.objects.count()
    existing = Order.objects.filter(shop=shop).count()
    if missing <= 0 or not existing:
        return 0, 0
    copies = -(-missing // existing)
    if copies > 99:
        raise ValueError("at most 99 copies of the shop's orders")
    with connection.cursor() as cursor:
        cursor.execute(ORDER_PAD_SQL, {"copies": copies, "shop": shop.pk, "missing": missing})
        added = cursor.rowcount
        cursor.execute("ANALYZE aftersales_order")
    return added, copies


def search_terms(shop: Shop) -> dict[str, str]:
    """What an agent types for one buyer of the shop, each a separate search: the order number and its tail, the
    outbound waybill, the nick and a part of it, the phone and its last four digits."""
    order = (
        Order.objects.filter(shop=shop, tickets__isnull=False)
        .exclude(receiver_phone="")
        .exclude(buyer_nick="")
        .exclude(tracking_number="")
        .order_by("-paid_at")
        .first()
    )
    if order is None:
        return {}
    terms = {
        "search by order number": order.platform_order_id,
        "search by order number tail (6)": order.platform_order_id[-6:],
        "search by outbound waybill": order.tracking_number,
        "search by buyer nick": order.buyer_nick,
        "search by receiver phone": order.receiver_phone,
        "search by phone last 4": order.receiver_phone[-4:],
    }
    if len(order.buyer_nick) >= 4:
        terms["search by part of a nick"] = order.buyer_nick[1:]
    return terms


def explain_order_lookup(term: str) -> list[str]:
    """EXPLAIN ANALYZE of the search's order lookup (the part the trigram indexes serve), as the queue runs it."""
    query = Order.objects.filter(order_search_q(term)).order_by().values_list("pk", flat=True)[:SEARCH_ORDERS_MAX]
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        return [row[0] for row in cursor.fetchall()]


def ticket_search_benchmark(
    *, shop: Shop, manager, tickets: int = 1_000_000, orders: int = 0, runs: int = 10, keep=False
) -> dict:
    changelist = reverse("admin:aftersales_aftersalesticket_changelist")
    urls = {
        "queue (open, default order)": changelist,
        "all tickets": f"{changelist}?open=all",
        "all tickets, page 150": f"{changelist}?open=all&p=150",
        "filtered: path 4, refunded": f"{changelist}?open=all&path__exact=4&state__exact=refunded",
    }
    with transaction.atomic():
        began = time.perf_counter()
        orders_added, order_copies = orders_pad(shop, orders)
        added = tickets_pad(shop, tickets, order_copies=order_copies)
        padded_seconds = time.perf_counter() - began
        terms = search_terms(shop)
        for name, term in terms.items():
            urls[name] = f"{changelist}?open=all&q={quote(term)}"
        deep_page = max(1, min(150, AfterSalesTicket.objects.filter(shop=shop)[:7_550].count() // 50))
        urls.pop("all tickets, page 150")
        urls[f"all tickets, page {deep_page}"] = f"{changelist}?open=all&p={deep_page}"
        superuser, _created = get_user_model().objects.get_or_create(
            username=SUPERUSER, defaults={"is_staff": True, "is_superuser": True}
        )
        report = {
            "benchmark": "admin_changelist",
            "tickets_in_table": AfterSalesTicket.objects.count(),
            "tickets_added_for_the_run": added,
            "orders_added_for_the_run": orders_added,
            "padding_seconds": round(padded_seconds, 1),
            "kept": keep,
            "as_manager": measure_pages(manager, urls, runs),
            "as_superuser": measure_pages(superuser, urls, runs),
            "target": {"queries": 12, "full_count_queries_per_request": 0},
        }
        all_pages = [*report["as_manager"].values(), *report["as_superuser"].values()]
        report["max_queries"] = max(max(page["queries"]) for page in all_pages)
        report["full_count_queries_per_request"] = max(page["full_count_queries_per_request"] for page in all_pages)
        report["worst_median_ms"] = max(page["median_ms"] for page in all_pages)
        searches = [
            page for name, page in [*report["as_manager"].items(), *report["as_superuser"].items()] if name in terms
        ]
        report["search_worst_median_ms"] = max((page["median_ms"] for page in searches), default=None)
        report["search_worst_p95_ms"] = max((page["p95_ms"] for page in searches), default=None)
        report["search_target_ms"] = SEARCH_TARGET_MS
        report["orders_in_table"] = Order.objects.count()
        if "search by phone last 4" in terms:
            report["explain_phone_last_4"] = explain_order_lookup(terms["search by phone last 4"])
        if "search by part of a nick" in terms:
            report["explain_part_of_a_nick"] = explain_order_lookup(terms["search by part of a nick"])
        report["meets_target"] = (
            report["max_queries"] <= 12
            and report["full_count_queries_per_request"] == 0
            and (report["search_worst_median_ms"] or 0) <= SEARCH_TARGET_MS
        )
        if not keep:
            transaction.set_rollback(True)
    return report
