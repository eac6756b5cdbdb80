"""拼多多's PMC end to end: the desk's client opens the simulator's WebSocket with the documented path sign; a message
leads to a read of the record, the record is applied, and only then is the message acknowledged; duplicated and
reordered messages end in the newest state; a message whose record cannot be read now stays unacknowledged; a bad
sign is refused at the handshake."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from aftersales.models import AfterSalesTicket, Platform, TicketEvent, TicketState
from marketplaces.adapters.pinduoduo import pmc_path
from marketplaces.models import PlatformRecord
from marketplaces.pmc import PmcClient, pmc_base_url
from marketplaces.services import connection_connect
from marketplaces.simulator.server import SimulatorServer
from tests.factories import ShopFactory, delivered_order

APP_KEY, APP_SECRET = "pdd-client-1", "pdd-sim-secret"
MALL = "1001"


@pytest.fixture
def pdd_server():
    server = SimulatorServer(platforms=["pinduoduo"]).start()
    yield server
    server.stop()


@pytest.fixture
def pdd(pdd_server):
    return pdd_server.platforms["pinduoduo"]


@pytest.fixture
def connection(pdd_server, reference_data):
    sim = pdd_server.platforms["pinduoduo"]
    sim.add_app(APP_KEY, APP_SECRET)
    sim.add_shop(shop_id=MALL, token="pdd-token-1", app_key=APP_KEY)
    shop = ShopFactory(platform=Platform.objects.get(code="pinduoduo"), platform_shop_id=MALL)
    return connection_connect(
        shop=shop,
        gateway_url=pdd_server.platform_url("pinduoduo") + "/api/router",
        app_key=APP_KEY,
        app_secret=APP_SECRET,
        access_token="pdd-token-1",
        token_expires_at=timezone.now() + timedelta(days=30),
    )


@pytest.fixture
def client(connection, pdd):
    stop = threading.Event()
    client = PmcClient(
        base_url=pmc_base_url(connection.gateway_url),
        app_key=APP_KEY,
        app_secret=APP_SECRET,
        stop=stop,
        heartbeat_seconds=0.2,
    )

    def run():
        try:
            client.run()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    wait_for(lambda: len(pdd.sessions) == 1)
    yield client
    stop.set()
    thread.join(5)


def wait_for(condition, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("not reached in time")


@pytest.mark.django_db(transaction=True)
def test_a_message_leads_to_a_read_an_applied_record_and_then_its_ack(connection, pdd, client):
    order = delivered_order(shop=connection.shop)

    created = pdd.apply(mall_id=MALL, order_sn=order.platform_order_id, refund_amount=4590)

    wait_for(lambda: pdd.pmc_acks == ["1"])
    ticket = AfterSalesTicket.objects.get(platform_ticket_id=created.platform_id)
    assert str(ticket.requested_amount) == "45.90"  # read from the platform, not from the message
    assert [call["after_sales_id"] for call in pdd.calls_of("pdd.refund.information.get")] == [created.after_sales_id]
    assert pdd.pmc_unacked() == 0
    wait_for(lambda: pdd.pmc_heartbeats > 0)


@pytest.mark.django_db(transaction=True)
def test_duplicated_and_reordered_messages_end_in_the_newest_state(connection, pdd, client):
    order = delivered_order(shop=connection.shop)
    pdd.inject("duplicate_push", method="push")
    created = pdd.apply(mall_id=MALL, order_sn=order.platform_order_id)  # sent twice
    # Waiting on the simulator, not the database: the ack comes after the record is applied (and SQLite's shared
    # in-memory test database would lock a reader out while the channel's thread writes).
    wait_for(lambda: pdd.pmc_acks == ["1"])
    pdd.inject("out_of_order_push", method="push")
    pdd.buyer_withdraws(created.after_sales_id)  # held back …
    pdd.platform_steps_in(created.after_sales_id, outcome="merchant")  # … and sent after this one

    wait_for(lambda: pdd.pmc_unacked() == 0 and len(pdd.pmc_acks) == 3)
    ticket = AfterSalesTicket.objects.get(platform_ticket_id=created.platform_id)
    assert PlatformRecord.objects.get(platform_id=created.platform_id).version == str(created.updated_time)
    assert TicketEvent.objects.filter(ticket=ticket, action="opened").count() == 1
    assert AfterSalesTicket.objects.get(pk=ticket.pk).state == TicketState.CANCELLED


@pytest.mark.django_db(transaction=True)
def test_a_message_whose_record_cannot_be_read_now_is_not_acknowledged(connection, pdd, client):
    order = delivered_order(shop=connection.shop)
    pdd.inject("server_error", method="pdd.refund.information.get")

    created = pdd.apply(mall_id=MALL, order_sn=order.platform_order_id)

    wait_for(lambda: not pdd.state.faults)  # the read met the 5xx
    time.sleep(0.5)
    assert pdd.pmc_acks == []
    assert pdd.pmc_unacked() == 1
    assert not AfterSalesTicket.objects.filter(platform_ticket_id=created.platform_id).exists()
    # Sent again on the next connection, it is read and applied then.
    for session in list(pdd.sessions):
        session.connection.close()
    wait_for(lambda: pdd.pmc_acks == ["1"])
    assert AfterSalesTicket.objects.filter(platform_ticket_id=created.platform_id).exists()


def test_a_bad_sign_is_refused_at_the_handshake(pdd_server, pdd):
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    pdd.add_app(APP_KEY, APP_SECRET)
    base = pdd_server.platform_url("pinduoduo").replace("http://", "ws://")
    stamp = int(time.time() * 1000)

    with pytest.raises(InvalidStatus) as refused:
        connect(base + pmc_path(client_id=APP_KEY, timestamp_ms=stamp, secret="not-the-secret"), open_timeout=5)
    with connect(base + pmc_path(client_id=APP_KEY, timestamp_ms=stamp, secret=APP_SECRET), open_timeout=5):
        wait_for(lambda: len(pdd.sessions) == 1)

    assert refused.value.response.status_code == 401
    assert pdd.pmc_refused == 1


@pytest.mark.django_db(transaction=True)
def test_the_command_opens_a_channel_for_each_pdd_app_and_applies_what_comes(connection, pdd):
    from django.core.management import call_command

    def run():
        try:
            call_command("marketplace_pmc", rescan=0.2, seconds=6, stdout=open("/dev/null", "w"))  # noqa: SIM115
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    wait_for(lambda: len(pdd.sessions) == 1)
    order = delivered_order(shop=connection.shop)

    created = pdd.apply(mall_id=MALL, order_sn=order.platform_order_id)

    wait_for(lambda: pdd.pmc_acks == ["1"])
    assert AfterSalesTicket.objects.filter(platform_ticket_id=created.platform_id).exists()
    thread.join(10)
    assert not thread.is_alive()


def test_the_http_push_door_refuses_anything_for_a_pdd_connection(connection):
    from django.test import Client
    from django.urls import reverse

    answer = Client().post(
        reverse("marketplaces:push", args=[connection.pk]), data=b"{}", content_type="application/json"
    )

    assert answer.status_code == 401
