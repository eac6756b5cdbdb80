"""The big lists count at most a cap of rows, never the whole table, and the queue's search reads indexes."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from desk.admin.paging import CappedCountPaginator
from tests.aftersales.test_ticket_admin import TICKETS, bulk_tickets
from tests.factories import ShopFactory, make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent_client(client):
    shop = ShopFactory(name="A店")
    client.force_login(make_staff("agent", role="Agent", shops=[shop]))
    client.shop = shop
    return client


def test_the_queue_counts_up_to_the_cap_and_says_more_than(agent_client, monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "cap", 10)
    bulk_tickets(agent_client.shop, 15)

    with CaptureQueriesContext(connection) as queries:
        response = agent_client.get(TICKETS + "?open=all", HTTP_ACCEPT_LANGUAGE="en")

    changelist = response.context["cl"]
    assert changelist.result_count == 10
    assert changelist.paginator.is_capped
    counts = [query["sql"] for query in queries if "COUNT(" in query["sql"].upper()]
    assert counts
    assert all("LIMIT 11" in sql for sql in counts)


def test_below_the_cap_the_count_is_exact(agent_client, monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "cap", 10)
    bulk_tickets(agent_client.shop, 7)

    changelist = agent_client.get(TICKETS + "?open=all").context["cl"]

    assert changelist.result_count == 7
    assert not changelist.paginator.is_capped


def test_the_queue_finds_a_ticket_by_its_exact_order_number(agent_client):
    tickets = bulk_tickets(agent_client.shop, 3)
    number = tickets[1].order.platform_order_id

    listed = agent_client.get(TICKETS + f"?open=all&q={number}").context["cl"].result_list

    assert [ticket.pk for ticket in listed] == [tickets[1].pk]
