"""抖店 through the connector: the pull opens and moves tickets, replays and older versions change nothing, pushes at
the connection's door are verified and read, duplicated and reordered pushes end in the newest state, a refund
agreed and then timed out is agreed exactly once, a rate limit pauses one connection, an expired token breaks it."""

import hashlib
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from aftersales.gateways import RefundGatewayUnavailable
from aftersales.models import AfterSalesTicket, GoodsState, Platform, Refund, TicketEvent, TicketState
from aftersales.services import refund_execute, refund_settle
from marketplaces.adapters.base import RecordStatus
from marketplaces.adapters.douyin import DouyinAdapter
from marketplaces.models import PlatformRecord, ShopConnection
from marketplaces.services import PULL_LAG, connection_connect, connection_sync, credentials_for, record_apply
from marketplaces.simulator.server import SimulatorServer
from tests.factories import OrderFactory, ShopFactory, delivered_order

pytestmark = pytest.mark.django_db

APP_KEY, APP_SECRET = "7100000000000000001", "douyin-sim-secret"


@pytest.fixture
def douyin_server():
    server = SimulatorServer(platforms=["douyin"]).start()
    server.platforms["douyin"].timeout_sleep = 1.0  # past the tests' 0.5 s client timeout
    yield server
    server.stop()


@pytest.fixture
def douyin(douyin_server):
    return douyin_server.platforms["douyin"]


def connect(server, *, shop_id="88001", token="dy-token-1") -> ShopConnection:
    sim = server.platforms["douyin"]
    sim.add_app(APP_KEY, APP_SECRET)
    sim.add_shop(shop_id=shop_id, token=token, app_key=APP_KEY)
    shop = ShopFactory(platform=Platform.objects.get(code="douyin"), platform_shop_id=shop_id)
    connection = connection_connect(
        shop=shop,
        gateway_url=server.platform_url("douyin"),
        app_key=APP_KEY,
        app_secret=APP_SECRET,
        access_token=token,
        token_expires_at=timezone.now() + timedelta(days=30),
    )
    # Caught up an hour ago: a first sync reaches a day back in 30-minute windows and takes two runs to reach now.
    ShopConnection.objects.filter(pk=connection.pk).update(cursor=timezone.now() - timedelta(hours=1))
    connection.refresh_from_db()
    return connection


@pytest.fixture
def connection(douyin_server):
    return connect(douyin_server)


def sync(connection):
    # Past the pull's lag, and past the simulator's versions: several changes in one second each take the next
    # second as their update_time (a version only moves forward), so the newest may be a few seconds ahead.
    return connection_sync(connection_id=connection.pk, now=timezone.now() + PULL_LAG + timedelta(seconds=5))


def push(client, connection, body: bytes, headers: dict):
    return client.post(
        reverse("marketplaces:push", args=[connection.pk]),
        data=body,
        content_type="application/json",
        headers={"event-sign": headers["event-sign"]},
    )


def test_a_new_request_opens_a_ticket_with_the_platforms_time_reason_and_deadline(connection, douyin):
    order = delivered_order(shop=connection.shop, paid_amount=Decimal("199.00"))
    applied = int((timezone.now() - timedelta(minutes=20)).timestamp())
    record = douyin.apply(
        order_id=order.platform_order_id, aftersale_type=0, refund_amount=5990, reason="质量问题", applied_at=applied
    )

    summary = sync(connection)

    ticket = AfterSalesTicket.objects.get(platform_ticket_id=record.aftersale_id)
    assert summary.outcomes == {"opened": 1}
    assert (ticket.kind, ticket.requested_amount, ticket.first_reason.code) == (
        "return_refund",
        Decimal("59.90"),
        "quality_defect",
    )
    assert int(ticket.opened_at.timestamp()) == applied
    assert int(ticket.deadline.timestamp()) == record.status_deadline == applied + 2 * 24 * 3600
    # 抖店 pages from 0: the connector's first page reached it.
    assert douyin.calls_of("afterSale.List")[0]["page"] == 0


def test_a_replay_or_an_older_version_changes_nothing(connection, douyin):
    order = delivered_order(shop=connection.shop)
    created = douyin.apply(order_id=order.platform_order_id, aftersale_type=1, refund_amount=1000)
    sync(connection)
    adapter, credentials = DouyinAdapter(), credentials_for(connection)
    first = adapter.read(credentials, created.aftersale_id)
    ticket = AfterSalesTicket.objects.get(platform_ticket_id=created.aftersale_id)

    assert sync(connection).outcomes == {"unchanged": 1}  # the overlap asks the same record again
    assert record_apply(connection=connection, record=first) == "unchanged"
    douyin.buyer_withdraws(created.aftersale_id)
    sync(connection)
    assert record_apply(connection=connection, record=first) == "stale"

    ticket.refresh_from_db()
    assert ticket.state == TicketState.CANCELLED
    row = PlatformRecord.objects.get(platform_id=created.aftersale_id)
    assert (row.status, row.version) == (RecordStatus.CLOSED_BY_BUYER, str(created.update_time))
    assert TicketEvent.objects.filter(ticket=ticket, action="opened").count() == 1
    assert TicketEvent.objects.filter(ticket=ticket, action="withdrawn").count() == 1


def test_an_agreed_return_shipped_by_the_buyer_is_in_transit_with_its_waybill(connection, douyin):
    order = delivered_order(shop=connection.shop)
    created = douyin.apply(order_id=order.platform_order_id, aftersale_type=0, refund_amount=9900)
    sync(connection)
    adapter, credentials = DouyinAdapter(), credentials_for(connection)
    from marketplaces.adapters.base import ReturnAddress

    adapter.agree_return(credentials, adapter.read(credentials, created.aftersale_id), ReturnAddress("4001"))
    douyin.buyer_ships_return(created.aftersale_id, company_code="yuantong", tracking_no="YT9001", company_name="圆通")
    sync(connection)

    ticket = AfterSalesTicket.objects.get(platform_ticket_id=created.aftersale_id)
    assert ticket.state == TicketState.RETURN_IN_TRANSIT
    assert ticket.return_tracking_number == "YT9001"
    assert int(ticket.deadline.timestamp()) == created.status_deadline  # the platform's 10 days to confirm


def test_a_push_is_verified_then_the_record_read_and_a_bad_or_tampered_one_reads_nothing(connection, douyin, client):
    order = delivered_order(shop=connection.shop)
    created = douyin.apply(order_id=order.platform_order_id, aftersale_type=1, push=False)
    body, headers = douyin.push_body(APP_KEY, [douyin.message(200, created.aftersale_id)])

    bad = push(client, connection, body, {"event-sign": "0" * 32})
    tampered = push(client, connection, body.replace(b"\\u8d28", b"x"), headers)
    malformed_body = b'[{"tag": "200", "data": "{not json"}]'
    malformed_sign = hashlib.md5(APP_KEY.encode() + malformed_body + APP_SECRET.encode()).hexdigest()  # noqa: S324
    malformed = push(client, connection, malformed_body, {"event-sign": malformed_sign})
    assert (bad.status_code, tampered.status_code, malformed.status_code) == (401, 401, 401)
    assert douyin.calls_of("afterSale.Detail") == []

    good = push(client, connection, body, headers)

    assert good.status_code == 200
    assert good.json()["code"] == 0
    assert AfterSalesTicket.objects.filter(platform_ticket_id=created.aftersale_id).exists()
    assert [call["after_sale_id"] for call in douyin.calls_of("afterSale.Detail")] == [created.aftersale_id]


def test_duplicate_and_out_of_order_pushes_end_in_the_newest_state(connection, douyin, client):
    order = delivered_order(shop=connection.shop)
    created = douyin.apply(order_id=order.platform_order_id, aftersale_type=1, push=False)
    opened = douyin.message(200, created.aftersale_id)
    douyin.buyer_modifies(created.aftersale_id, reason="少件/漏发", push=False)
    modified = douyin.message(208, created.aftersale_id)
    douyin.buyer_withdraws(created.aftersale_id, push=False)
    closed = douyin.message(207, created.aftersale_id, close_reason="buyer_cancel")
    body, headers = douyin.push_body(APP_KEY, [opened, modified, closed], duplicate=True, reverse=True)

    answer = push(client, connection, body, headers)
    again = push(client, connection, *douyin.push_body(APP_KEY, [modified, opened]))

    assert (answer.status_code, again.status_code) == (200, 200)
    # Newest first, then the same three again, then two older ones: each read gives the newest state. A record
    # closed before the desk opened a ticket for it opens it once and ends it withdrawn (the platform counts it).
    ticket = AfterSalesTicket.objects.get(platform_ticket_id=created.aftersale_id)
    assert ticket.state == TicketState.CANCELLED
    assert TicketEvent.objects.filter(ticket=ticket, action="opened").count() == 1
    assert TicketEvent.objects.filter(ticket=ticket, action="withdrawn").count() == 1
    row = PlatformRecord.objects.get(platform_id=created.aftersale_id)
    assert (row.status, row.version) == (RecordStatus.CLOSED_BY_BUYER, str(created.update_time))


def test_a_reordered_push_after_the_ticket_opened_still_ends_withdrawn_once(connection, douyin, client):
    order = delivered_order(shop=connection.shop)
    created = douyin.apply(order_id=order.platform_order_id, aftersale_type=1, push=False)
    push(client, connection, *douyin.push_body(APP_KEY, [douyin.message(200, created.aftersale_id)]))
    douyin.buyer_modifies(created.aftersale_id, reason="少件/漏发", push=False)
    modified = douyin.message(208, created.aftersale_id)
    douyin.buyer_withdraws(created.aftersale_id, push=False)
    closed = douyin.message(207, created.aftersale_id, close_reason="buyer_cancel")

    push(client, connection, *douyin.push_body(APP_KEY, [closed, modified], duplicate=True))

    ticket = AfterSalesTicket.objects.get(platform_ticket_id=created.aftersale_id)
    assert ticket.state == TicketState.CANCELLED
    assert TicketEvent.objects.filter(ticket=ticket, action="opened").count() == 1
    assert TicketEvent.objects.filter(ticket=ticket, action="withdrawn").count() == 1


def test_acted_then_timed_out_ends_with_exactly_one_agreement_at_the_platform(connection, douyin, time_machine):
    order = OrderFactory(shop=connection.shop, paid_amount=Decimal("30.00"))  # not shipped: refunded by the rule
    assert order.goods_state == GoodsState.NOT_SHIPPED
    created = douyin.apply(order_id=order.platform_order_id, aftersale_type=2, refund_amount=3000)
    sync(connection)
    ticket = AfterSalesTicket.objects.get(platform_ticket_id=created.aftersale_id)
    refund = Refund.objects.get(ticket=ticket)
    douyin.inject("acted_then_timeout", method="afterSale.operate")

    with pytest.raises(RefundGatewayUnavailable):
        refund_execute(refund_id=refund.pk)
    refund.refresh_from_db()
    assert (refund.status, created.status) == (Refund.Status.PENDING, 12)  # we do not know; the platform did it
    time_machine.move_to(timezone.now() + timedelta(hours=1))
    refund_settle(refund_id=refund.pk)
    refund_execute(refund_id=refund.pk)  # a retry after the answer: nothing is sent again

    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert douyin.operations == [(201, created.aftersale_id)]
    assert len(douyin.calls_of("afterSale.operate")) == 1


def test_an_agreed_refund_is_succeeded_only_when_the_platform_says_so(connection, douyin):
    order = OrderFactory(shop=connection.shop, paid_amount=Decimal("30.00"))
    created = douyin.apply(order_id=order.platform_order_id, aftersale_type=2, refund_amount=3000)
    sync(connection)
    refund = Refund.objects.get(ticket__platform_ticket_id=created.aftersale_id)

    refund_execute(refund_id=refund.pk)

    refund.refresh_from_db()
    assert refund.status == Refund.Status.SENT  # agreed; the platform's record is the confirmation
    assert (created.status, created.refund_status) == (12, 3)
    sync(connection)
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert AfterSalesTicket.objects.get(pk=refund.ticket_id).state == TicketState.REFUNDED


def test_a_rate_limit_pauses_that_connection_only(douyin_server, douyin):
    slowed = connect(douyin_server)
    other = connect(douyin_server, shop_id="88002", token="dy-token-2")
    delivered = delivered_order(shop=other.shop)
    douyin.apply(order_id=delivered.platform_order_id, shop_id="88002")
    douyin.inject("rate_limit", method="afterSale.List")

    first = sync(slowed)
    second = sync(other)

    slowed.refresh_from_db()
    other.refresh_from_db()
    assert first.error.startswith("RateLimited")
    assert slowed.backoff_until is not None
    assert (second.error, second.outcomes) == ("", {"opened": 1})
    assert other.backoff_until is None


def test_an_expired_token_breaks_the_connection_and_stops_its_writes(connection, douyin):
    order = OrderFactory(shop=connection.shop, paid_amount=Decimal("30.00"))
    created = douyin.apply(order_id=order.platform_order_id, aftersale_type=2, refund_amount=3000)
    sync(connection)
    refund = Refund.objects.get(ticket__platform_ticket_id=created.aftersale_id)
    douyin.expire_session("dy-token-1")

    sync(connection)
    connection.refresh_from_db()
    with pytest.raises(RefundGatewayUnavailable):
        refund_execute(refund_id=refund.pk)

    assert connection.state == ShopConnection.State.BROKEN
    assert "access_token" in connection.broken_message
    assert douyin.calls_of("afterSale.operate") == []


def test_the_first_push_door_hands_a_connected_shops_messages_to_the_connector(connection, douyin, settings):
    settings.DOUYIN_APP_KEY, settings.DOUYIN_APP_SECRET = APP_KEY, APP_SECRET
    order = delivered_order(shop=connection.shop)
    created = douyin.apply(order_id=order.platform_order_id, aftersale_type=1, reason="少件/漏发", push=False)
    # The push's own fields would refuse it at this door (no apply_time, a reason label the door's table lacks):
    # for a connected shop they are not read, the record is.
    message = douyin.message(200, created.aftersale_id, reason="外星人抢走了", apply_time=None)
    body, headers = douyin.push_body(APP_KEY, [message])
    url = reverse("api-douyin-push")

    first = APIClient().post(url, body, content_type="application/json", HTTP_EVENT_SIGN=headers["event-sign"])
    again = APIClient().post(url, body, content_type="application/json", HTTP_EVENT_SIGN=headers["event-sign"])

    assert first.status_code == 200, first.content
    assert [r["outcome"] for r in first.json()["results"]] == ["opened"]
    assert [r["outcome"] for r in again.json()["results"]] == ["replayed"]
    ticket = AfterSalesTicket.objects.get(platform_ticket_id=created.aftersale_id)
    assert first.json()["results"][0]["ticket_id"] == ticket.pk
    assert ticket.first_reason.code == "missing_items"  # the platform's record, read, not the push's words
    assert len(douyin.calls_of("afterSale.Detail")) == 2


@pytest.mark.django_db(transaction=True)
def test_the_simulator_pushes_signed_and_its_duplicates_and_reorderings_end_in_the_newest_state(
    douyin_server, douyin, live_server, reference_data
):
    connection = connect(douyin_server)
    douyin.push_target = live_server.url + reverse("marketplaces:push", args=[connection.pk])
    order = delivered_order(shop=connection.shop)
    douyin.inject("duplicate_push", method="push")
    created = douyin.apply(order_id=order.platform_order_id, aftersale_type=1)  # 200, sent twice
    wait_for(lambda: AfterSalesTicket.objects.filter(platform_ticket_id=created.aftersale_id).exists())
    douyin.inject("out_of_order_push", method="push")
    douyin.buyer_modifies(created.aftersale_id, reason="少件/漏发")  # 208, held back
    douyin.buyer_withdraws(created.aftersale_id)  # 207, sent before the held 208
    wait_for(lambda: douyin.pushes_sent >= 4 and not douyin.pushes_pending())

    ticket = AfterSalesTicket.objects.get(platform_ticket_id=created.aftersale_id)
    wait_for(lambda: AfterSalesTicket.objects.get(pk=ticket.pk).state == TicketState.CANCELLED)
    assert TicketEvent.objects.filter(ticket=ticket, action="opened").count() == 1
    assert TicketEvent.objects.filter(ticket=ticket, action="withdrawn").count() == 1
    assert PlatformRecord.objects.get(platform_id=created.aftersale_id).version == str(created.update_time)


def wait_for(condition, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("not reached in time")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json", 401),
        (b'{"tag": "200"}', 401),
        (b'[{"tag": ["200"], "data": "{}"}]', 401),
        (b'[{"tag": "200", "msg_id": {"a": 1}, "data": "{}"}]', 401),
        (b'[{"tag": "200", "data": 7}]', 401),
        (b'[{"tag": "200", "data": "{\\"aftersale_id\\": \\"\\\\u0000\\"}"}]', 401),  # NUL in a string
        (b'[{"tag": "200", "data": "{}"}]', 200),  # no aftersale_id: acknowledged, nothing to read
        (b"[" * 100_000 + b"]" * 100_000, 401),
        (b'[{"tag":"200","data":"' + b"x" * 3_000_000 + b'"}]', 413),
    ],
)
def test_a_signed_push_of_the_wrong_shape_or_size_is_a_4xx_and_reads_nothing(connection, douyin, client, body, status):
    signature = hashlib.md5(APP_KEY.encode() + body + APP_SECRET.encode()).hexdigest()  # noqa: S324

    answer = push(client, connection, body, {"event-sign": signature})

    assert answer.status_code == status
    assert douyin.calls_of("afterSale.Detail") == []
    assert not PlatformRecord.objects.exists()


def test_make_runs_demo_connects_a_douyin_shop_and_its_buyers_requests_reach_the_desk(douyin_server, douyin):
    from django.core.management import call_command

    shop = ShopFactory(platform=Platform.objects.get(code="douyin"), platform_shop_id="103956")
    order = OrderFactory(shop=shop, paid_amount=Decimal("88.50"))  # not shipped

    call_command("marketplace_demo", simulator=douyin_server.url, desk="http://127.0.0.1:9", every=0, count=1)

    connection = ShopConnection.objects.get(shop=shop)
    assert connection.gateway_url == douyin_server.url + "/douyin"
    [record] = douyin.records.values()
    assert (record.shop_id, record.order_id, record.aftersale_type, record.refund_amount) == (
        "103956",
        order.platform_order_id,
        2,
        8850,
    )
    ShopConnection.objects.filter(pk=connection.pk).update(cursor=timezone.now() - timedelta(hours=1))
    sync(connection)
    assert AfterSalesTicket.objects.get(platform_ticket_id=record.aftersale_id).requested_amount == Decimal("88.50")
