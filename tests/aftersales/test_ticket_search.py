"""The queue's one search box finds the buyer by what they quote, reads indexes on PostgreSQL (trigram ones for the
parts), costs the same queries whatever it finds, and works on SQLite (make run) without those indexes."""

import json
import subprocess
import sys

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aftersales import selectors
from aftersales.models import AfterSalesTicket, Order
from aftersales.selectors import order_search_q
from tests.aftersales.test_ticket_admin import TICKETS, bulk_tickets
from tests.conftest import ROOT, embedded_env
from tests.factories import OrderFactory, ShopFactory, make_staff, open_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return ShopFactory(name="A店")


@pytest.fixture
def agent_client(client, shop):
    client.force_login(make_staff("agent", role="Agent", shops=[shop]))
    return client


@pytest.fixture
def wanted(shop):
    """The buyer on the phone, and a neighbour whose numbers share a short tail with theirs."""
    order = OrderFactory(
        shop=shop,
        platform_order_id="3912345678901234567",
        buyer_nick="小鹿爱跑步",
        receiver_phone="13812345678",
        courier_code="SF",
        tracking_number="SF1400000000001",
    )
    ticket = open_ticket(order, platform_ticket_id="TB-REFUND-88001")
    AfterSalesTicket.objects.filter(pk=ticket.pk).update(return_tracking_number="YT9900000000001")
    neighbour = OrderFactory(shop=shop, platform_order_id="3900000000000000067", receiver_phone="13900000078")
    open_ticket(neighbour)
    return ticket


def listed(client, term) -> list[int]:
    response = client.get(TICKETS, {"open": "all", "q": term})
    assert response.status_code == 200
    return [ticket.pk for ticket in response.context["cl"].result_list]


@pytest.mark.parametrize(
    "term",
    [
        "3912345678901234567",  # the whole order number
        "234567",  # the tail an agent reads over the phone
        "TB-REFUND-88001",  # the platform's refund id
        "sf 1400000000001",  # the outbound waybill as a scanner or a person types it
        "YT9900000000001",  # the return's waybill
        "小鹿爱跑步",  # the buyer's nick
        "爱跑步",  # a part of it
        "13812345678",  # the receiver's phone
        "138-1234-5678",  # …as people write it
        "5678",  # its last four digits
    ],
)
def test_the_search_box_finds_the_ticket_by_what_the_buyer_quotes(agent_client, wanted, term):
    assert listed(agent_client, term) == [wanted.pk]


def test_a_tail_shorter_than_four_digits_finds_nothing_but_the_whole_value(agent_client, wanted):
    assert listed(agent_client, "567") == []
    assert listed(agent_client, "67") == []


def test_the_search_does_not_reach_another_shops_orders(agent_client, wanted):
    elsewhere = OrderFactory(shop=ShopFactory(name="B店"), buyer_nick="小鹿爱跑步", receiver_phone="13812345678")
    open_ticket(elsewhere)

    assert listed(agent_client, "5678") == [wanted.pk]
    assert listed(agent_client, "小鹿爱跑步") == [wanted.pk]


def test_a_search_costs_the_same_queries_for_one_match_and_a_full_page_and_no_more_for_none(agent_client, shop, wanted):
    def queries(term):
        with CaptureQueriesContext(connection) as captured:
            agent_client.get(TICKETS, {"open": "all", "q": term})
        return len(captured)

    none, one = queries("0000"), queries("5678")
    tickets = bulk_tickets(shop, 60)
    Order.objects.filter(pk__in=[ticket.order_id for ticket in tickets]).update(buyer_nick="同一个买家")

    # Nothing found asks the list nothing more (Django knows an empty `id IN ()` matches nothing).
    assert none <= one == queries("同一个买家")
    assert len(listed(agent_client, "同一个买家")) == 50  # a page of them


def test_the_list_is_asked_for_the_matching_tickets_themselves_and_at_most_so_many(agent_client, shop, monkeypatch):
    """At a million tickets, a list filtered by the matched orders' ids let PostgreSQL walk the queue's ordering
    index (146,000 rows, 850 ms for a phone tail matching 232 tickets, bench_ticket_search); by the tickets' own ids
    it fetches those and sorts them."""
    monkeypatch.setattr(selectors, "SEARCH_TICKETS_MAX", 3)
    tickets = bulk_tickets(shop, 5)
    Order.objects.filter(pk__in=[ticket.order_id for ticket in tickets]).update(buyer_nick="同一个买家")

    with CaptureQueriesContext(connection) as captured:
        found = listed(agent_client, "同一个买家")

    assert len(found) == 3
    assert set(found) <= {ticket.pk for ticket in tickets}
    page = [
        query["sql"]
        for query in captured
        if query["sql"].startswith('SELECT "aftersales_aftersalesticket"."id", ') and "ORDER BY" in query["sql"]
    ]
    assert page
    assert all('"aftersales_aftersalesticket"."id" IN (' in sql for sql in page), page


@pytest.mark.skipif(connection.vendor != "postgresql", reason="trigram indexes are PostgreSQL's")
def test_on_postgresql_the_parts_are_read_off_trigram_indexes(shop, wanted):
    """The tables are tiny here, so the planner is told not to scan them: what remains is whether an index *can*
    serve the LIKE '%…' Django writes (it casts the column to text, which a trigram index on it still serves)."""
    for term, index in [
        ("5678", "order_receiver_phone_trgm_idx"),
        ("234567", "order_platform_id_trgm_idx"),
        ("爱跑步", "order_buyer_nick_trgm_idx"),
    ]:
        # Unordered, as ticket_search reads it (the list order would pick the paid_at index instead).
        query = Order.objects.filter(order_search_q(term)).order_by().values("pk")
        sql, params = query.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert index in plan, plan


SQLITE_PROBE = """
import json
import django
django.setup()
from datetime import timedelta
from django.core.management import call_command
from django.utils import timezone
from aftersales.models import AfterSalesTicket, Order, Platform, ReturnReason, Shop
from aftersales.selectors import ticket_search

call_command("migrate", verbosity=0)
now = timezone.now()
platform, _created = Platform.objects.get_or_create(code="tmall")
shop = Shop.objects.create(code="s1", name="s1", platform=platform)
reason = ReturnReason.objects.create(code="probe", category="non_quality", label_zh="p", label_en="p")
found = {}
rows = [("3912345678901234567", "13812345678", "小鹿爱跑步"), ("3900000000000000067", "13900000078", "b")]
for number, phone, nick in rows:
    order = Order.objects.create(
        shop=shop, platform_order_id=number, receiver_phone=phone, buyer_nick=nick, paid_amount=1, paid_at=now
    )
    AfterSalesTicket.objects.create(
        shop=shop, order=order, kind="refund_only", path=3, first_reason=reason, reason=reason, liability="buyer",
        opened_at=now, deadline=now + timedelta(hours=1), sla_due=now + timedelta(hours=1),
    )
tickets = AfterSalesTicket.objects.all()
for term in ["5678", "234567", "爱跑步", "3900000000000000067"]:
    found[term] = [t.order.platform_order_id for t in ticket_search(tickets, term, shops=Shop.objects.all())]
print(json.dumps(found))
"""


@pytest.mark.slow
def test_on_sqlite_the_migrations_run_and_the_search_falls_back_to_like(tmp_path):
    env = embedded_env(VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="config.settings")
    done = subprocess.run(
        [sys.executable, "-c", SQLITE_PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-5000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])

    assert found == {
        "5678": ["3912345678901234567"],
        "234567": ["3912345678901234567"],
        "爱跑步": ["3912345678901234567"],
        "3900000000000000067": ["3900000000000000067"],
    }


def test_a_term_of_digits_is_a_number_not_a_part_of_a_nick(agent_client, shop, wanted):
    """Nicks with digits in them (tb0499683) would flood a phone-tail search, and crowd the buyer out of the list."""
    open_ticket(OrderFactory(shop=shop, buyer_nick="tb5678123"))

    assert listed(agent_client, "5678") == [wanted.pk]
    assert len(listed(agent_client, "tb5678")) == 1
