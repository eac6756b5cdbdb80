"""Nothing reaches the broker inside a transaction: a task is sent to the real Redis after commit, and never for a
change that was rolled back. (The broker being down is tests/test_sweep_reliability.py's.)"""

import json
from decimal import Decimal

import pytest
import redis
from django.conf import settings
from django.db import transaction

from aftersales.models import Refund, TicketState
from config.celery import app
from tests.factories import OrderFactory, open_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def queue():
    """The default queue's messages in the suite's Redis, emptied first."""
    app.control.purge()
    client = redis.Redis.from_url(settings.REDIS_URL)

    def messages() -> list[dict]:
        return [json.loads(raw) for raw in client.lrange(app.conf.task_default_queue, 0, -1)]

    yield messages
    app.control.purge()
    client.close()


def test_a_refund_is_queued_only_once_its_transaction_commits(django_capture_on_commit_callbacks, queue):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(OrderFactory(paid_amount=Decimal("30.00")), requested_amount="30.00")
        assert queue() == []  # still inside the transaction

    assert ticket.state == TicketState.REFUNDING
    [message] = queue()
    assert message["headers"]["task"] == "aftersales.tasks.refund_execute_task"
    assert message["headers"]["argsrepr"] == f"({Refund.objects.get(ticket=ticket).pk},)"


def test_a_rolled_back_change_sends_nothing(django_capture_on_commit_callbacks, queue):
    def request_that_fails_after_the_refund():
        with transaction.atomic():
            open_ticket(OrderFactory(paid_amount=Decimal("30.00")), requested_amount="30.00")
            raise RuntimeError("the request failed after the refund was made")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        request_that_fails_after_the_refund()

    assert queue() == []
    assert not Refund.objects.exists()
