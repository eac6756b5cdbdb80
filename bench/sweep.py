"""The refund sweep over 100,000 open path-1 tickets, beside one hand-written set-based SQL statement making the same
change (DESIGN §7: within 3× its time; queries grow with batches, not tickets).

Setup (committed, removed afterwards): `tickets` not-shipped orders of the shop, paid within the automatic cap, each
with an open refund-only path-1 ticket, as if the event-driven rule had missed them all (a broker outage on a sale
day). Then:

1. SQL: one statement (a data-modifying CTE) moves every such ticket to refunding, inserts its pending refund (the
   running-total trigger and the refunded ≤ paid check fire as for the sweep) and its `auto_refund` event, with
   constraints IMMEDIATE so the foreign keys are checked inside the timing as the sweep's commits check them; then
   rolled back, so the sweep finds the same rows.
2. The sweep: `refund_sweep_run()` as beat runs it (all its steps over the whole database, batches of
   SWEEP_BATCH_SIZE, one transaction each, rows locked SKIP LOCKED), queuing each refund's payment task on commit to
   the broker (REDIS_URL). No worker runs during the benchmark, so no payment is made; the queued tasks are purged.

The ratio is the sweep's time over the statement's.
"""

import time
from contextlib import contextmanager

from django.db import connection, transaction

from aftersales.models import AfterSalesTicket, ReturnReason, Shop
from aftersales.selectors import system_user
from aftersales.services import refund_sweep_run
from bench.generate import prefixed_tickets_remove

PREFIX = "SWEEP"

SETUP_ORDERS = """
INSERT INTO aftersales_order
    (shop_id, platform_order_id, buyer_nick, receiver_name, receiver_phone, province, city, district, address,
     paid_amount, paid_at, packed_at, shipped_at, courier_code, tracking_number, delivered_at, refunded_amount,
     created_at, updated_at)
SELECT %(shop)s, %(prefix)s || lpad(g::text, 9, '0'), 'sweep' || (g %% 50000), '', '', '浙江', '杭州', '', '',
       (19 + (g %% 250))::numeric + 0.90, now() - interval '20 minutes' - (g %% 3600) * interval '1 second',
       NULL, NULL, '', '', NULL, 0, now(), now()
FROM generate_series(1, %(count)s) g
"""

SETUP_TICKETS = """
INSERT INTO aftersales_aftersalesticket
    (shop_id, order_id, platform_ticket_id, kind, path, state, first_reason_id, reason_id, liability,
     requested_amount, buyer_message, escalation_risk, opened_at, platform_opened_late, deadline, sla_due,
     attention_note, refund_attempt, return_courier_code, return_tracking_number, closed_at, updated_at)
SELECT o.shop_id, o.id, '', 'refund_only', 1, 'requested', %(reason)s, %(reason)s, 'buyer', o.paid_amount, '', false,
       o.paid_at + interval '5 minutes', false, o.paid_at + interval '48 hours',
       o.paid_at + interval '35 minutes', '', 0, '', '', NULL, now()
FROM aftersales_order o
WHERE o.shop_id = %(shop)s AND o.platform_order_id LIKE %(prefix)s || '%%'
"""

# The sweep's auto_refunds_apply as one statement: the same candidates, the same checks (unshipped, not packed, the
# shop's rule on, within its cap and what is left of the order), the same three writes.
SET_BASED_SQL = """
WITH moved AS (
    UPDATE aftersales_aftersalesticket t
    SET state = 'refunding', attention_note = '', updated_at = now()
    FROM aftersales_order o, aftersales_shop s
    WHERE t.order_id = o.id AND s.id = t.shop_id
      AND t.state = 'requested' AND t.kind = 'refund_only' AND t.path = 1
      AND o.shipped_at IS NULL AND o.packed_at IS NULL AND s.auto_refund_enabled
      AND t.requested_amount > 0 AND t.requested_amount <= s.auto_refund_max_amount
      AND t.requested_amount <= o.paid_amount - o.refunded_amount
    RETURNING t.id, t.order_id, t.shop_id, t.requested_amount, t.refund_attempt,
              o.paid_amount - o.refunded_amount AS remaining, s.auto_refund_max_amount AS cap
), refunds AS (
    INSERT INTO aftersales_refund
        (ticket_id, order_id, shop_id, kind, amount, status, idempotency_key, requested_by_id, created_at,
         confirmed_at, gateway, gateway_reference, failure_reason)
    SELECT id, order_id, shop_id, CASE WHEN requested_amount = remaining THEN 'full' ELSE 'partial' END,
           requested_amount, 'pending', 'ticket-' || id || '-attempt-' || refund_attempt, %(system)s, now(),
           NULL, '', '', ''
    FROM moved
)
INSERT INTO aftersales_ticketevent (ticket_id, actor_id, at, action, from_state, to_state, amount, note)
SELECT id, %(system)s, now(), 'auto_refund', 'requested', 'refunding', requested_amount,
       'Not shipped: refunded by the refund sweep under the shop''s automatic rule (up to ¥' || cap || ').'
FROM moved
"""


@contextmanager
def counting_queries():
    counter = {"queries": 0}

    def count(execute, sql, params, many, context):
        counter["queries"] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        yield counter


def sweep_tickets_create(shop: Shop, count: int) -> int:
    reason = ReturnReason.objects.get(code="changed_mind")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(SETUP_ORDERS, {"shop": shop.pk, "prefix": PREFIX, "count": count})
        cursor.execute(SETUP_TICKETS, {"shop": shop.pk, "prefix": PREFIX, "reason": reason.pk})
        created = cursor.rowcount
    with connection.cursor() as cursor:
        for table in ("aftersales_order", "aftersales_aftersalesticket", "aftersales_refund", "aftersales_ticketevent"):
            cursor.execute(f"ANALYZE {table}")
    return created


def set_based_seconds(system_id: int) -> tuple[float, int]:
    """The statement's time (constraints checked inside it), rolled back."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            began = time.perf_counter()
            cursor.execute(SET_BASED_SQL, {"system": system_id})
            seconds = time.perf_counter() - began
            moved = cursor.rowcount
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # Django's foreign keys are deferred by default
        transaction.set_rollback(True)
    return seconds, moved


def queued_tasks_purge() -> int:
    from config.celery import app

    try:
        return app.control.purge() or 0
    except Exception:  # noqa: BLE001 (a broker that is not there holds nothing to purge)
        return 0


def sweep_benchmark(*, shop: Shop, tickets: int = 100_000, batch_size: int | None = None) -> dict:
    from django.conf import settings

    batch_size = batch_size or settings.SWEEP_BATCH_SIZE
    prefixed_tickets_remove(shop, PREFIX)
    began = time.perf_counter()
    created = sweep_tickets_create(shop, tickets)
    setup_seconds = time.perf_counter() - began
    system = system_user()
    try:
        # Read the rows once so neither run pays for the first read from disk.
        AfterSalesTicket.objects.filter(shop=shop, state="requested", path=1).count()
        sql_seconds, sql_moved = set_based_seconds(system.pk)
        with counting_queries() as counter:
            began = time.perf_counter()
            run = refund_sweep_run(batch_size=batch_size)
            sweep_seconds = time.perf_counter() - began
        purged = queued_tasks_purge()
        refunded = AfterSalesTicket.objects.filter(
            shop=shop, order__platform_order_id__startswith=PREFIX, state="refunding"
        ).count()
    finally:
        prefixed_tickets_remove(shop, PREFIX)
    ratio = sweep_seconds / sql_seconds
    return {
        "benchmark": "refund_sweep",
        "open_path1_tickets": created,
        "setup_seconds": round(setup_seconds, 1),
        "set_based_sql_seconds": round(sql_seconds, 2),
        "set_based_sql_tickets_moved": sql_moved,
        "sweep_seconds": round(sweep_seconds, 2),
        "sweep_tickets_moved": refunded,
        "sweep_counts": run.counts,
        "sweep_errors": len(run.errors),
        "sweep_batch_size": batch_size,
        "sweep_queries": counter["queries"],
        "queries_per_batch": round(counter["queries"] / max(1, -(-created // batch_size)), 1),
        "refund_tasks_queued_then_purged": purged,
        "ratio": round(ratio, 2),
        "target_ratio": 3,
        "meets_target": ratio <= 3 and refunded == created,
    }
