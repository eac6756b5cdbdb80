"""Merchant time per path week by week (average and p90) and the per-agent table, on hand-built tickets."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from metrics.definitions import Scope
from metrics.selectors import agent_table, path_timeliness
from tests.factories import make_staff
from tests.metrics.test_definitions import END, START, at, order, paid_refund, ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    from tests.factories import ShopFactory

    return ShopFactory()


def scope(shop):
    return Scope((shop.pk,), START, END)


def decided(shop, agent, *, path: int, opened, hours: float, action="refund_approved", **fields):
    return ticket(shop, opened=opened, path=path, events=[(action, opened + timedelta(hours=hours), agent)], **fields)


def test_average_and_p90_per_path_and_week(shop):
    """Week of Mon 2 Nov, path 3: ten tickets of 1..10 h → average 5.50 h, p90 = the 9th smallest (⌈0.9·10⌉) = 9 h.
    Same week, path 2: 4 h alone → 4 and 4. Week of 9 Nov, path 3: 2 h and 6 h → 4.00, p90 = 2nd (⌈1.8⌉) = 6 h."""
    agent = make_staff("agent", role="Agent", shops=[shop])
    for hours in range(1, 11):
        decided(shop, agent, path=3, opened=at(3, 8), hours=hours)
    decided(shop, agent, path=2, opened=at(4, 8), hours=4)
    decided(shop, agent, path=3, opened=at(10, 8), hours=2)
    decided(shop, agent, path=3, opened=at(11, 8), hours=6)

    rows = path_timeliness(scope(shop))

    assert [(r.week, r.path, r.tickets, r.average_hours, r.p90_hours) for r in rows] == [
        (date(2026, 11, 2), 2, 1, Decimal("4.00"), Decimal("4.00")),
        (date(2026, 11, 2), 3, 10, Decimal("5.50"), Decimal("9.00")),
        (date(2026, 11, 9), 3, 2, Decimal("4.00"), Decimal("6.00")),
    ]


def test_path_timeliness_costs_two_queries_whatever_the_number_of_weeks(shop):
    agent = make_staff("agent", role="Agent", shops=[shop])
    for day in range(2, 29, 3):
        decided(shop, agent, path=3, opened=at(day, 8), hours=day)
    path_timeliness(scope(shop))  # the system user is fetched once and cached

    with CaptureQueriesContext(connection) as queries:
        rows = path_timeliness(scope(shop))

    assert len(rows) == 4
    assert len(queries) == 2


def test_the_agent_table(shop):
    """李雷 decides two tickets first (2 h and 4 h → 3.00 h), rejects one of them, and pays a ¥30 compensation;
    the buyer of one orders ¥88 more afterwards. 韩梅 decides one ticket in 1 h. The system's automatic refund is
    nobody's. A second decision on an already decided ticket does not count it twice."""
    lei = make_staff("lilei", role="Agent", shops=[shop])
    mei = make_staff("hanmei", role="Agent", shops=[shop])
    first = decided(
        shop, lei, path=3, opened=at(3, 8), hours=2, action="rejected", of=order(shop, paid=at(1), buyer="甲")
    )
    second = decided(shop, lei, path=3, opened=at(4, 8), hours=4, kind="compensation")
    decided(shop, mei, path=3, opened=at(5, 8), hours=1)
    ticket(shop, opened=at(6, 8), path=1, events=[("auto_refund", at(6, 8, 1))])
    from aftersales.models import TicketEvent

    TicketEvent.objects.create(ticket=first, actor=mei, action="refund_approved", at=at(7, 9))
    comp = paid_refund(second, executed=at(4, 13), amount="30.00", kind="compensation")
    comp.requested_by = lei
    comp.save()
    order(shop, paid=at(20), buyer="甲", amount="88.00")

    rows = agent_table(scope(shop))

    assert [
        (r.username, r.handled, r.average_hours, r.rejections, r.compensation, r.compensation_per_case) for r in rows
    ] == [
        ("lilei", 2, Decimal("3.00"), 1, Decimal("30.00"), Decimal("15.00")),
        ("hanmei", 1, Decimal("1.00"), 0, Decimal("0.00"), Decimal("0.00")),
    ]
    assert [(r.username, r.repurchases, r.sales_after) for r in rows] == [
        ("lilei", 1, Decimal("88.00")),
        ("hanmei", 0, Decimal("0.00")),
    ]
