"""Issue 7, points 3 and 5, with real processes: the refund sweep under concurrency, a killed worker and a dead broker.

DESIGN §8: no refund paid twice under concurrent sweeps, and no ticket lost or stuck because Redis or a worker was
down (the next sweep finds the work). Every test runs real Celery workers (`--pool=solo`, so the worker's main
process is the one doing the work) on a Redis server of its own and on the test database, which the test commits to.
"""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from contextlib import contextmanager
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.db.models import Count
from django.test import override_settings
from django.urls import reverse

from aftersales.models import AfterSalesTicket, Order, Refund, Shop, SweepRun, TicketEvent, TicketState
from aftersales.selectors import system_user
from aftersales.services import refund_batch_confirm, refund_batch_create
from aftersales.tasks import refund_sweep_task
from config.celery import app
from tests.conftest import ROOT
from tests.factories import OrderFactory, ShopFactory, confirm_refund, make_staff, open_ticket, reason

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("reference_data")]

WORKER_READY_SECONDS = 30


def wait_for(condition, seconds=30.0, every=0.1):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return False


def _drop_publisher_pools():
    """The app keeps its broker connections and producers in pools made on first use; drop them, so the next
    message goes to the broker the settings name now (what Celery itself does after a fork)."""
    if app._pool is not None:
        try:
            app._pool.force_close_all()
        except Exception:  # noqa: S110 - a connection to a stopped server may fail to close; it is dropped anyway
            pass
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def publishing_to(url):
    """This process publishes its tasks to `url` (never to the suite's shared Redis, whose workers are not ours)."""
    with override_settings(CELERY_BROKER_URL=url):
        _drop_publisher_pools()
        target = urlsplit(url)
        publishing = app.connection_for_write()
        assert (publishing.hostname, publishing.port) == (target.hostname, target.port)
        try:
            yield
        finally:
            _drop_publisher_pools()


@pytest.fixture
def broker(own_redis):
    """own_redis, with this process publishing to it."""
    with publishing_to(own_redis.url):
        yield own_redis


@pytest.fixture
def start_workers(reference_data, broker, tmp_path):
    """Start real Celery workers on `broker` and on this test's database, and wait until each answers a ping;
    they are stopped at the end of the test.

    Depends on reference_data (hence on transactional_db), so the workers are stopped before the database flush.
    """
    database = connection.settings_dict
    credentials = database["USER"] + (f":{database['PASSWORD']}" if database["PASSWORD"] else "")
    database_url = f"postgres://{credentials}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": database_url,
        "REDIS_URL": broker.url,
    }
    started: list[tuple[subprocess.Popen, object]] = []

    def output(name: str) -> str:
        return (tmp_path / f"{name}.log").read_text()

    def start(*names: str, **extra_env) -> list[subprocess.Popen]:
        processes = {}
        for name in names:
            log = open(tmp_path / f"{name}.log", "w")  # closed at teardown
            processes[name] = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "--pool=solo",
                    # One message at a time: a second sweep goes to the other worker, not into this one's buffer.
                    "--prefetch-multiplier=1",
                    "--without-mingle",
                    "--without-gossip",
                    "--without-heartbeat",
                    "-n",
                    f"{name}@%h",
                    "-l",
                    "warning",
                ],
                cwd=ROOT,
                env={**env, **extra_env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, which a test may SIGKILL as a whole
            )
            started.append((processes[name], log))
        waiting = set(names)
        deadline = time.monotonic() + WORKER_READY_SECONDS
        while waiting and time.monotonic() < deadline:
            for name in waiting:
                assert processes[name].poll() is None, f"worker {name} exited:\n{output(name)}"
            answered = {node.split("@")[0] for reply in app.control.ping(timeout=0.5) for node in reply}
            waiting -= answered
        assert not waiting, "never answered a ping: " + "\n".join(f"{name}:\n{output(name)}" for name in waiting)
        return list(processes.values())

    yield start

    for process, log in started:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        log.close()


def refund_sweeps():
    return list(SweepRun.objects.filter(kind=SweepRun.Kind.REFUND).order_by("started_at", "pk"))


def finished_refund_sweeps():
    return [run for run in refund_sweeps() if run.status == SweepRun.Status.FINISHED]


def per_ticket(queryset) -> Counter:
    return Counter(dict(queryset.values_list("ticket").annotate(n=Count("pk")).values_list("ticket", "n")))


def test_two_sweeps_started_together_never_act_on_the_same_ticket(start_workers):
    tickets_count = 300
    shop = ShopFactory(auto_refund_enabled=False)  # the tickets arrive while the rule is off...
    orders = OrderFactory.create_batch(tickets_count, shop=shop, paid_amount=Decimal("50.00"))
    tickets = [open_ticket(order, requested_amount="50.00") for order in orders]
    assert {(ticket.state, ticket.path) for ticket in tickets} == {(TicketState.REQUESTED, 1)}
    assert not Refund.objects.exists()
    Shop.objects.filter(pk=shop.pk).update(auto_refund_enabled=True)  # ...and the sweeps find them all
    # Small batches, so the two runs take turns on the candidates many times.
    start_workers("sweep-a", "sweep-b", SWEEP_BATCH_SIZE="10")

    refund_sweep_task.apply_async()
    refund_sweep_task.apply_async()

    assert wait_for(lambda: len(finished_refund_sweeps()) == 2, seconds=60), refund_sweeps()
    first, second = refund_sweeps()
    # The two runs really ran at the same time (a solo worker runs one task at a time, so on both workers), and
    # both found work: the signature of SKIP LOCKED. Without it, the later run trails the first one's batches and
    # finds every ticket already taken (or, reading them before the first commits, collides on the refunds' keys).
    assert first.started_at < second.finished_at, (first.started_at, second.finished_at)
    assert second.started_at < first.finished_at, (second.started_at, first.finished_at)
    assert first.counts.get("auto_refund", 0) > 0, (first.counts, second.counts)
    assert second.counts.get("auto_refund", 0) > 0, (first.counts, second.counts)
    assert first.errors == []
    assert second.errors == []
    # Together they refunded every ticket, and no ticket was counted, refunded or recorded twice.
    assert first.counts["auto_refund"] + second.counts["auto_refund"] == tickets_count
    ticket_ids = {ticket.pk for ticket in tickets}
    assert per_ticket(Refund.objects.all()) == Counter(dict.fromkeys(ticket_ids, 1))
    assert per_ticket(TicketEvent.objects.filter(action="auto_refund")) == Counter(dict.fromkeys(ticket_ids, 1))
    # The sends the sweeps queued are made once each (the batch-file gateway puts each in the shop's next batch);
    # the shop's batch file and its confirmation pay them, once each, within what the buyers paid.
    assert wait_for(lambda: not Refund.objects.exclude(gateway="batch_file").exists(), seconds=60)
    assert per_ticket(TicketEvent.objects.filter(action="refund_queued")) == Counter(dict.fromkeys(ticket_ids, 1))
    assert not AfterSalesTicket.objects.filter(state=TicketState.REFUNDED).exists()
    batch = refund_batch_create(shop=shop, by=system_user())
    refund_batch_confirm(batch=batch, by=system_user(), note="批量退款工具已全部成功")
    assert batch.refund_count == tickets_count
    assert per_ticket(TicketEvent.objects.filter(action="refund_succeeded")) == Counter(dict.fromkeys(ticket_ids, 1))
    assert set(AfterSalesTicket.objects.values_list("state", flat=True)) == {TicketState.REFUNDED}
    assert set(Order.objects.filter(shop=shop).values_list("refunded_amount", flat=True)) == {Decimal("50.00")}


def test_a_worker_killed_mid_sweep_loses_no_ticket_and_pays_no_refund_twice(start_workers, broker, tmp_path):
    refunds_count = 24
    orders = OrderFactory.create_batch(refunds_count, shop=ShopFactory(), paid_amount=Decimal("60.00"))
    tickets = [open_ticket(order, requested_amount="40.00") for order in orders]
    assert {ticket.state for ticket in tickets} == {TicketState.REFUNDING}
    # The refunds' own tasks are lost (as when a worker dies holding them): only the sweep can pay them now.
    assert app.control.purge() == refunds_count
    calls = tmp_path / "gateway-calls.log"
    slow = {
        "REFUND_GATEWAY": "tests.slow_gateway.SlowGateway",
        "SLOW_GATEWAY_DELAY_SECONDS": "0.3",
        "SLOW_GATEWAY_LOG": str(calls),
        "SWEEP_PENDING_REFUND_GRACE_SECONDS": "0",
        "SWEEP_BATCH_SIZE": "5",
    }
    (doomed,) = start_workers("doomed", **slow)

    refund_sweep_task.apply_async()
    sent = Refund.objects.filter(status__in=[Refund.Status.SENT, Refund.Status.SUCCEEDED])

    def sending_one():  # at least 5 sent, and the gateway is in the middle of the next send
        lines = calls.read_text().splitlines() if calls.exists() else []
        return sent.count() >= 5 and lines and lines[-1].startswith("call ")

    assert wait_for(sending_one, seconds=30, every=0.02), "the sweep never started sending"
    os.killpg(doomed.pid, signal.SIGKILL)
    doomed.wait(timeout=10)

    sent_before = sent.count()
    confirmed_before = Refund.objects.filter(status=Refund.Status.SUCCEEDED).count()
    assert 5 <= sent_before < refunds_count, "the worker was not killed in the middle of the sweep"
    # The refund whose send the kill interrupted: claimed, no answer recorded.
    in_flight = set(
        Refund.objects.filter(status=Refund.Status.PENDING, send_started_at__isnull=False).values_list(
            "idempotency_key", flat=True
        )
    )
    assert len(in_flight) == 1, in_flight
    (killed_run,) = refund_sweeps()
    assert killed_run.status == SweepRun.Status.RUNNING
    assert AfterSalesTicket.objects.filter(state=TicketState.REFUNDING).count() == refunds_count - confirmed_before

    start_workers("rescuer", **slow)
    refund_sweep_task.apply_async()

    assert wait_for(lambda: len(finished_refund_sweeps()) == 1, seconds=40), refund_sweeps()
    (rerun,) = finished_refund_sweeps()
    assert rerun.pk != killed_run.pk
    assert rerun.errors == []
    # The rescuer sends what was never sent, asks about the interrupted one (never received: sent again), and asks
    # the marketplace about the refunds the killed run had sent; the next run confirms the ones sent just now.
    assert rerun.counts == {
        "refund_sent": refunds_count - sent_before,
        "refund_succeeded": sent_before - confirmed_before,
    }
    refund_sweep_task.apply_async()
    assert wait_for(lambda: len(finished_refund_sweeps()) == 2, seconds=40), refund_sweeps()
    assert finished_refund_sweeps()[-1].counts == {"refund_succeeded": refunds_count - sent_before}
    # Every ticket has its one refund, confirmed once, and nothing more left any order than its ticket asked for.
    ticket_ids = {ticket.pk for ticket in tickets}
    assert per_ticket(Refund.objects.all()) == Counter(dict.fromkeys(ticket_ids, 1))
    for refund in Refund.objects.all():
        assert refund.status == Refund.Status.SUCCEEDED
        assert refund.gateway_reference == f"SLOW-{refund.idempotency_key}"
    assert per_ticket(TicketEvent.objects.filter(action="refund_succeeded")) == Counter(dict.fromkeys(ticket_ids, 1))
    assert set(AfterSalesTicket.objects.values_list("state", flat=True)) == {TicketState.REFUNDED}
    refunded = Order.objects.filter(pk__in=[order.pk for order in orders]).values_list("refunded_amount", flat=True)
    assert set(refunded) == {Decimal("40.00")}
    # Every refund was sent once, except the one the kill interrupted: that one was first asked about (status),
    # and sent again only because the marketplace said it never got it (its send never finished: no "paid").
    log = [line.split() for line in calls.read_text().splitlines()]
    keys = set(Refund.objects.values_list("idempotency_key", flat=True))
    sends = Counter(key for event, key in log if event == "call")
    assert {key for event, key in log if event == "paid"} == keys
    assert set(sends) == keys
    assert {key: count for key, count in sends.items() if count != 1} == dict.fromkeys(in_flight, 2)
    (interrupted,) = in_flight
    its_log = [event for event, key in log if key == interrupted]
    assert its_log[:2] == ["call", "status"], its_log
    assert its_log[2:4] == ["call", "paid"], its_log
    # The killed run says so: it never finished (a run older than RUN_STALE_AFTER is marked failed later).
    assert SweepRun.objects.get(pk=killed_run.pk).status == SweepRun.Status.RUNNING


def test_with_redis_down_the_admin_still_opens_a_ticket_and_the_next_sweep_pays_it(
    client, caplog, start_workers, broker
):
    shop = ShopFactory()
    order = OrderFactory(shop=shop, paid_amount=Decimal("80.00"))
    agent = make_staff("agent", role="Agent", shops=[shop])
    client.force_login(agent)
    broker.stop()

    started = time.monotonic()
    response = client.post(
        reverse("admin:aftersales_aftersalesticket_add"),
        {"platform_order_id": order.platform_order_id, "kind": "refund_only", "reason": reason().pk},
    )
    elapsed = time.monotonic() - started

    ticket = AfterSalesTicket.objects.get(order=order)
    assert response.status_code == 302
    assert response.url == reverse("admin:aftersales_aftersalesticket_change", args=[ticket.pk])
    # Not a benchmark: a guard that a dead broker cannot hang the page past the configured socket timeouts.
    assert elapsed < 5, f"opening a ticket took {elapsed:.1f} s with Redis down"
    assert ticket.state == TicketState.REFUNDING  # the path-1 rule refunded it; only the payment waits
    refund = Refund.objects.get(ticket=ticket)
    assert (refund.status, refund.amount) == (Refund.Status.PENDING, Decimal("80.00"))

    assert "could not queue aftersales.tasks.refund_execute_task" in caplog.text  # the broker really was down

    broker.start()
    start_workers("after-outage", SWEEP_PENDING_REFUND_GRACE_SECONDS="0")
    refund_sweep_task.apply_async()

    assert wait_for(lambda: len(finished_refund_sweeps()) == 1, seconds=30), refund_sweeps()
    assert finished_refund_sweeps()[0].counts.get("refund_queued") == 1
    refund = confirm_refund(refund)
    ticket.refresh_from_db()
    order.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert ticket.state == TicketState.REFUNDED
    assert order.refunded_amount == Decimal("80.00")


def test_with_redis_down_twenty_refunds_in_a_row_wait_for_the_broker_once(broker):
    orders = [OrderFactory(paid_amount=Decimal("20.00")) for _ in range(20)]
    broker.stop()

    started = time.monotonic()
    tickets = [open_ticket(order, requested_amount="20.00") for order in orders]  # each commits and queues a payment
    elapsed = time.monotonic() - started

    # One connect timeout (2 s), then the process leaves the payments to the sweep instead of 20 × 2 s.
    assert elapsed < 8, f"20 refunds took {elapsed:.1f} s with Redis down"
    assert {ticket.state for ticket in tickets} == {TicketState.REFUNDING}
    assert set(Refund.objects.values_list("status", flat=True)) == {Refund.Status.PENDING}
