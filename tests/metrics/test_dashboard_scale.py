"""The dashboard at a year of data. The scorecard's "fewer than 30 valid paid orders" rule counts the shop's paid
orders of 30 days only up to 30: a bounded count (LIMIT) that reads no more rows at a million orders than at 31."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aftersales.models import Platform
from metrics.definitions import Scope
from metrics.views.dashboard import valid_paid_orders
from tests.factories import ShopFactory
from tests.metrics.test_dashboard import today
from tests.metrics.test_definitions import order

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return ShopFactory(platform=Platform.objects.get(code="douyin"))


def scope(shop):
    return Scope.last_days([shop.pk], end=today(), days=7)


def test_the_count_stops_at_the_rules_threshold(shop):
    """35 orders paid 3 days ago: the rule needs 30, so 30 is the answer, read by one query with LIMIT 30."""
    for n in range(35):
        order(shop, paid=today() - timedelta(days=3), buyer=f"b{n}")

    with CaptureQueriesContext(connection) as queries:
        counted = valid_paid_orders(shop, scope(shop), 30)

    assert counted == 30
    assert len(queries) == 1
    assert "LIMIT 30" in queries[0]["sql"]


def test_fewer_than_the_threshold_are_counted_exactly_within_30_days(shop):
    """12 orders 3 days ago count; 5 paid 31 days before the period's end and 4 paid on its end day do not."""
    for n in range(12):
        order(shop, paid=today() - timedelta(days=3), buyer=f"in{n}")
    for n in range(5):
        order(shop, paid=today() - timedelta(days=31), buyer=f"old{n}")
    for n in range(4):
        order(shop, paid=today() + timedelta(hours=2), buyer=f"late{n}")

    assert valid_paid_orders(shop, scope(shop), 30) == 12


def test_no_query_when_the_scorecard_has_no_such_rule(shop):
    with CaptureQueriesContext(connection) as queries:
        assert valid_paid_orders(shop, scope(shop), None) is None
    assert len(queries) == 0


def test_a_range_rollup_analyses_the_tables_it_filled(shop):
    """The dashboard's plans need statistics of the year of rollups just written; the command takes them itself
    (PostgreSQL), so nobody has to run ANALYZE by hand before the page is fast."""
    day = today().date() - timedelta(days=1)
    with CaptureQueriesContext(connection) as queries:
        call_command("metrics_rollup", "--since", day.isoformat(), "--shop", shop.code, stdout=io.StringIO())

    analysed = [query["sql"] for query in queries if query["sql"].startswith("ANALYZE")]
    # SQLite (`make run`) has no planner statistics to refresh here.
    expected = ["ANALYZE metrics_dailymetric", "ANALYZE metrics_ticketdecision", "ANALYZE metrics_decisiontimes"]
    assert analysed == (expected if connection.vendor == "postgresql" else [])
