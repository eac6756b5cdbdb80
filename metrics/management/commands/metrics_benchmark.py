"""Benchmark of the manager dashboard on a year of history (DESIGN §7, issue 8 point 7).

    python manage.py metrics_benchmark [--days 365] [--orders-per-day 300] [--runs 20] [--keep]

Writes a benchmark shop with `days` of orders and after-sales (one ticket in twelve orders, decided by an agent,
refunded or rejected), fills its daily rollups, then opens /metrics/?shop=… as a manager `runs` times through
Django's test client (middleware, view, template) and prints the server time (median, p95, max) and the query count
of each request; then marks the days a change to a ticket opened 20 days ago moves and times recomputing exactly
those (the rollup of changed days). The shop and its rows are removed afterwards unless --keep. Rows are written in
bulk, not through the services: this measures reading, not the desk's writes.
"""

import time
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from aftersales.models import AfterSalesTicket, Order, Refund, ReturnReason, Shop, TicketEvent
from aftersales.services import shop_assign_user, shop_upsert
from metrics.dashboard_timing import dashboard_timings
from metrics.definitions import CHINA
from metrics.dirty import orders_mark
from metrics.models import DailyMetric
from metrics.rollups import rollups_dirty, rollups_refresh

SHOP_CODE = "bench-metrics"
MANAGER = "bench-metrics-manager"
AGENT = "bench-metrics-agent"


class Command(BaseCommand):
    help = "Time the metrics dashboard for a shop with a year of history (prints figures; changes nothing it keeps)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=365)
        parser.add_argument("--orders-per-day", type=int, default=300)
        parser.add_argument("--runs", type=int, default=20)
        parser.add_argument("--keep", action="store_true", help="keep the benchmark shop and its rows")

    def handle(self, *args, days, orders_per_day, runs, keep, **options):
        started = time.perf_counter()
        shop, manager = self._history(days=days, orders_per_day=orders_per_day)
        built = time.perf_counter() - started
        today = timezone.localtime(timezone.now(), CHINA).date()
        started = time.perf_counter()
        rows = rollups_refresh(shop_ids=[shop.pk], since=today - timedelta(days=days), until=today - timedelta(days=1))
        rolled = time.perf_counter() - started
        self.stdout.write(
            f"history: {days} days × {orders_per_day} orders/day = {Order.objects.filter(shop=shop).count()} orders, "
            f"{AfterSalesTicket.objects.filter(shop=shop).count()} tickets (built in {built:.1f} s)"
        )
        self.stdout.write(f"rollup: {rows} rows in {rolled:.1f} s ({rolled / days * 1000:.0f} ms per day)")
        try:
            self._measure(shop, manager, runs=runs)
            self._late_change(shop)
        finally:
            if not keep:
                self._remove(shop, manager)

    def _measure(self, shop, manager, *, runs: int) -> None:
        figures = dashboard_timings(shop, manager, runs=runs)
        self.stdout.write(
            f"dashboard /metrics/?shop=…&days=30, {runs} requests: median {figures['median_ms']:.0f} ms, "
            f"p95 {figures['p95_ms']:.0f} ms, max {figures['max_ms']:.0f} ms; queries per request: {figures['queries']}"
        )

    def _late_change(self, shop) -> None:
        """What a change to a ticket opened 20 days ago costs the rollups: the days it marks (its order's, its
        events', its buyer's handled tickets') and the time to recompute exactly those (metrics/dirty.py)."""
        since = timezone.now() - timedelta(days=20)
        ticket = AfterSalesTicket.objects.filter(shop=shop, opened_at__lt=since).order_by("-opened_at").first()
        if ticket is None:
            return
        with transaction.atomic():
            marked = orders_mark([ticket.order_id])
        started = time.perf_counter()
        days = rollups_dirty()
        took = time.perf_counter() - started
        self.stdout.write(
            f"late change: a ticket opened 20 days ago marks {marked} shop days; recomputing them took {took:.1f} s "
            f"({took / max(days, 1) * 1000:.0f} ms per day)"
        )

    @transaction.atomic
    def _history(self, *, days: int, orders_per_day: int):
        shop = shop_upsert(code=SHOP_CODE, name="基准测试店铺", platform_code="tmall")
        self._remove_rows(shop)
        manager, _created = get_user_model().objects.get_or_create(username=MANAGER, defaults={"is_staff": True})
        manager.groups.add(Group.objects.get(name="Manager"))
        shop_assign_user(shop=shop, user=manager)
        agent, _created = get_user_model().objects.get_or_create(username=AGENT, defaults={"is_staff": True})
        reasons = list(ReturnReason.objects.order_by("pk"))
        now = timezone.now().replace(microsecond=0)
        orders = []
        for day in range(days, 0, -1):
            for n in range(orders_per_day):
                paid = now - timedelta(days=day, minutes=n * 1440 // orders_per_day)
                orders.append(
                    Order(
                        shop=shop,
                        platform_order_id=f"B{day:03d}{n:05d}",
                        buyer_nick=f"buyer{n % 997}",
                        paid_amount=Decimal("199.00"),
                        paid_at=paid,
                        shipped_at=paid + timedelta(hours=10 + n % 20),
                        delivered_at=paid + timedelta(days=2, hours=n % 30),
                    )
                )
        Order.objects.bulk_create(orders, batch_size=5000)
        tickets = []
        for index, order in enumerate(orders[::12]):
            reason = reasons[index % len(reasons)]
            opened = order.delivered_at + timedelta(hours=3)
            tickets.append(
                AfterSalesTicket(
                    shop=shop,
                    order=order,
                    kind="return_refund" if index % 3 == 0 else "refund_only",
                    path=4 if index % 3 == 0 else 3,
                    first_reason=reason,
                    reason=reason,
                    liability=reason.default_liability,
                    opened_at=opened,
                    deadline=opened + timedelta(hours=48),
                    sla_due=opened + timedelta(hours=24),
                    state="refunded" if index % 5 else "closed",
                    closed_at=opened + timedelta(hours=6 + index % 40),
                )
            )
        AfterSalesTicket.objects.bulk_create(tickets, batch_size=5000)
        events, refunds = [], []
        for index, ticket in enumerate(tickets):
            decided = ticket.opened_at + timedelta(hours=1 + index % 9)
            action = TicketEvent.Action.REJECTED if ticket.state == "closed" else TicketEvent.Action.REFUND_APPROVED
            events.append(TicketEvent(ticket=ticket, actor=agent, action=action, at=decided))
            if ticket.state == "refunded":
                refunds.append(
                    Refund(
                        ticket=ticket,
                        order=ticket.order,
                        shop=shop,
                        kind="full",
                        amount=Decimal("199.00"),
                        idempotency_key=f"bench-{ticket.pk}",
                        requested_by=agent,
                        status="succeeded",
                        sent_at=ticket.closed_at,
                        confirmed_at=ticket.closed_at,
                    )
                )
        TicketEvent.objects.bulk_create(events, batch_size=5000)
        Refund.objects.bulk_create(refunds, batch_size=5000)
        return shop, manager

    def _remove(self, shop, manager) -> None:
        with transaction.atomic():
            self._remove_rows(shop)
            get_user_model().objects.filter(username__in=[MANAGER, AGENT]).delete()
            Shop.objects.filter(pk=shop.pk).delete()

    @staticmethod
    def _remove_rows(shop) -> None:
        DailyMetric.objects.filter(shop=shop).delete()
        Refund.objects.filter(shop=shop).delete()
        TicketEvent.objects.filter(ticket__shop=shop).delete()
        AfterSalesTicket.objects.filter(shop=shop).delete()
        Order.objects.filter(shop=shop).delete()
