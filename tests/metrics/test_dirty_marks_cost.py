"""Marking the days a change moves costs two queries (one UNION ALL of every time it moves, one insert), whatever
the tables hold, and marks the same days the per-table reads did: the order's payment, a ticket's opening and
closing, its events', a refund's and a complaint's day, and today."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from aftersales.models import TicketEvent
from aftersales.selectors import system_user
from metrics.definitions import CHINA
from metrics.dirty import orders_mark
from metrics.models import DirtyDay
from tests.factories import ShopFactory
from tests.metrics.test_definitions import order, ticket

pytestmark = pytest.mark.django_db


def test_a_mark_reads_every_time_in_one_query_and_writes_once():
    shop = ShopFactory()
    now = timezone.now()
    paid = now - timedelta(days=20)
    made = order(shop, paid=paid)
    opened = ticket(shop, opened=paid + timedelta(days=2), of=made)
    TicketEvent.objects.create(
        ticket=opened, actor=system_user(), action="note", from_state=opened.state, to_state=opened.state
    )
    TicketEvent.objects.filter(ticket=opened).update(at=paid + timedelta(days=5))

    with CaptureQueriesContext(connection) as queries:
        orders_mark([made.pk])

    assert len(queries) == 2
    assert "UNION ALL" in queries[0]["sql"]
    days = set(DirtyDay.objects.filter(shop=shop).values_list("day", flat=True))
    china = {timezone.localtime(moment, CHINA).date() for moment in (paid, paid + timedelta(days=2), now)}
    assert china | {timezone.localtime(paid + timedelta(days=5), CHINA).date()} <= days
