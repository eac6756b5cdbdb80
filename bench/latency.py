"""Path-1 ticket in → refund sent, with a real Celery worker running (DESIGN §7: p95 ≤ 5 s).

Not-shipped orders of the generated shop, paid within its automatic cap, get a ticket each through `ticket_open`
(the service the admin's "new ticket" page and the API call), as one of the shop's agents, at `rate` tickets a
second. The path-1 rule refunds each at once and queues the send after commit; a real worker (`celery -A config
worker`, prefork, `concurrency` processes, on REDIS_URL) sends it through REFUND_GATEWAY (the default batch-file
gateway queues it for the shop's next batch file; no outside call). Latency per ticket: from just before
`ticket_open` to the ticket event the worker writes with the gateway's answer (`refund_queued`, or `refund_sent`
for an API gateway; same machine, same clock). The marketplace's confirmation comes later and is not timed here.
The orders, tickets and refunds are removed afterwards.
"""

import signal
import subprocess
import time
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Min
from django.utils import timezone

from aftersales.models import AfterSalesTicket, Order, ReturnReason, Shop, TicketEvent
from aftersales.services import ticket_open
from bench.generate import prefixed_tickets_remove
from bench.processes import PYTHON, ROOT, child_env
from bench.report import percentile
from config.celery import app

# The worker recorded the gateway's answer: queued for the batch file, or sent to the marketplace's API.
ANSWERED = (TicketEvent.Action.REFUND_QUEUED, TicketEvent.Action.REFUND_SENT)

PREFIX = "LATENCY"


class Worker:
    def __init__(self, concurrency: int):
        self.concurrency = concurrency
        self.process = None

    def __enter__(self):
        app.control.purge()
        self.process = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=prefork",
                f"--concurrency={self.concurrency}",
                "-l",
                "warning",
                "--without-gossip",
                "--without-mingle",
            ],  # fmt: skip
            cwd=ROOT,
            env=child_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if app.control.ping(timeout=0.5):
                return self
            if self.process.poll() is not None:
                break
        self.__exit__()
        raise RuntimeError("the Celery worker did not start")

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


def orders_create(shop: Shop, count: int) -> list[Order]:
    now = timezone.now()
    orders = [
        Order(
            shop=shop,
            platform_order_id=f"{PREFIX}{now:%H%M%S}{n:06d}",
            buyer_nick=f"latency{n}",
            province="浙江",
            paid_amount=Decimal(59 + n % 200),
            paid_at=now - timedelta(minutes=10),
        )
        for n in range(count)
    ]
    return Order.objects.bulk_create(orders)


def latency_benchmark(*, shop: Shop, tickets: int = 300, rate: float = 10.0, concurrency: int = 2) -> dict:
    agent = get_user_model().objects.get(username=f"{shop.code}-agent-01")
    reason = ReturnReason.objects.get(code="changed_mind")
    prefixed_tickets_remove(shop, PREFIX)
    orders = orders_create(shop, tickets)
    opened_at: dict[int, object] = {}
    open_ms = []
    try:
        with Worker(concurrency) as worker:
            began = time.perf_counter()
            for index, order in enumerate(orders):
                wait = began + index / rate - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                asked = timezone.now()
                started = time.perf_counter()
                ticket = ticket_open(order=order, kind="refund_only", reason=reason, by=agent)
                open_ms.append((time.perf_counter() - started) * 1000)
                opened_at[ticket.pk] = asked
            opening_seconds = time.perf_counter() - began
            deadline = time.monotonic() + 120
            paid = {}
            while time.monotonic() < deadline:
                paid = dict(
                    TicketEvent.objects.filter(ticket_id__in=opened_at, action__in=ANSWERED)
                    .values("ticket_id")
                    .annotate(first=Min("at"))
                    .values_list("ticket_id", "first")
                )
                if len(paid) == len(opened_at):
                    break
                time.sleep(0.5)
            drained_seconds = time.perf_counter() - began
            worker_processes = worker.concurrency
        refunded = AfterSalesTicket.objects.filter(pk__in=opened_at, state="refunded").count()
    finally:
        prefixed_tickets_remove(shop, PREFIX)
    latencies = sorted((paid[pk] - opened_at[pk]).total_seconds() for pk in paid)
    p95 = percentile(latencies, 0.95) if latencies else None
    return {
        "benchmark": "path1_refund_latency",
        "transport": "ticket_open in this process; a real Celery worker (prefork) on the broker pays",
        "worker_processes": worker_processes,
        "tickets": len(opened_at),
        "rate_per_second": rate,
        "opening_seconds": round(opening_seconds, 1),
        "ticket_open_median_ms": round(percentile(open_ms, 0.5), 1),
        "paid": len(paid),
        "tickets_refunded": refunded,
        "p50_seconds": round(percentile(latencies, 0.5), 3) if latencies else None,
        "p95_seconds": round(p95, 3) if p95 is not None else None,
        "max_seconds": round(latencies[-1], 3) if latencies else None,
        "all_paid_after_seconds": round(drained_seconds, 1),
        "target_p95_seconds": 5,
        "meets_target": p95 is not None and p95 <= 5 and len(paid) == len(opened_at),
    }
