"""Refunds are sent by a real Celery worker after the transaction commits, not by the request that made them; the
ticket is refunded only once the marketplace confirms (here: the shop's batch file and its result)."""

import os
import subprocess
import sys
import time
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection

from aftersales.models import Refund, TicketState
from aftersales.services import ticket_approve_refund
from config.celery import app
from tests.conftest import ROOT
from tests.factories import OrderFactory, confirm_refund, delivered_order, grant_authority, make_staff, open_ticket

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("reference_data")]


@pytest.fixture
def worker():
    """A worker process on the suite's Redis and on this test's database (the test commits, so it sees the rows)."""
    app.control.purge()  # messages other transactional tests queued with nobody listening
    database = connection.settings_dict
    credentials = database["USER"] + (f":{database['PASSWORD']}" if database["PASSWORD"] else "")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": f"postgres://{credentials}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--concurrency=1", "-l", "warning"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    yield process
    process.terminate()
    process.wait(timeout=20)


def wait_for(condition, seconds=30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_a_path_one_ticket_is_refunded_by_the_worker_within_seconds(worker):
    order = OrderFactory(paid_amount=Decimal("89.00"))

    ticket = open_ticket(order, requested_amount="89.00")

    assert ticket.state == TicketState.REFUNDING  # the request only queued the send
    assert wait_for(lambda: Refund.objects.get(ticket=ticket).gateway == "batch_file"), "worker never sent it"
    ticket.refresh_from_db()
    assert ticket.state == TicketState.REFUNDING  # waiting for the shop's batch file, not refunded yet
    assert ticket.events.filter(action="refund_queued").count() == 1
    refund = confirm_refund(Refund.objects.get(ticket=ticket))
    assert refund.gateway_reference.startswith(f"B{order.shop_id}-")
    ticket.refresh_from_db()
    assert ticket.state == TicketState.REFUNDED
    assert ticket.events.filter(action="refund_succeeded").count() == 1


def test_an_agents_compensation_is_paid_by_the_worker(worker):
    order = delivered_order(paid_amount=Decimal("300.00"))
    agent = make_staff("agent", role="Agent", shops=[order.shop])
    grant_authority(agent, order.shop, "50.00")
    ticket = open_ticket(order, kind="compensation", requested_amount="30.00")

    refund = ticket_approve_refund(ticket=ticket, by=agent, amount="30.00").refund

    assert wait_for(lambda: Refund.objects.get(pk=refund.pk).gateway == "batch_file"), "worker never sent it"
    assert confirm_refund(refund).status == Refund.Status.SUCCEEDED
    ticket.refresh_from_db()
    assert ticket.state == TicketState.REFUNDED
