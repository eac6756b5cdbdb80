"""WeChat shop through the connector, against the simulator over real HTTP: the pull lists by creation in windows of
at most 24 h and reads each record, a change to an older record is caught by re-reading open records, replays and
older versions change nothing, encrypted pushes at the connection's door are verified and the record read, a refund
agreed then timed out is agreed once, refundpricediff pays once per desk refund, a rate limit pauses one connection,
an expired token breaks it."""

import time
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from django.utils import timezone

from aftersales.gateways import RefundGatewayUnavailable
from aftersales.models import AfterSalesTicket, GoodsState, Platform, Refund, TicketEvent, TicketState
from aftersales.services import refund_execute, refund_settle
from marketplaces.adapters.base import OutcomeUnknown, RecordStatus, ReturnAddress
from marketplaces.adapters.wechat import WechatAdapter, price_diff_request_id
from marketplaces.models import PlatformRecord, ShopConnection
from marketplaces.services import (
    PULL_LAG,
    REFRESH_OPEN_AFTER,
    connection_connect,
    connection_sync,
    credentials_for,
    record_apply,
)
from marketplaces.simulator.server import SimulatorServer
from tests.factories import OrderFactory, ShopFactory, delivered_order

pytestmark = pytest.mark.django_db

APPID, APP_SECRET = "wx00000000000000a1", "wechat-sim-secret"


@pytest.fixture
def wechat_server():
    server = SimulatorServer(platforms=["wechat"]).start()
    server.platforms["wechat"].timeout_sleep = 1.0  # past the tests' 0.5 s client timeout
    yield server
    server.stop()


@pytest.fixture
def wechat(wechat_server):
    return wechat_server.platforms["wechat"]


def connect(server, *, shop_id="wx-shop-1", token="wx-token-1", cursor_hours_ago: float = 1) -> ShopConnection:
    sim = server.platforms["wechat"]
    answer = sim.control("shop", {"shop_id": shop_id, "token": token, "app_key": APPID})
    shop = ShopFactory(platform=Platform.objects.get(code="wechat"), platform_shop_id=shop_id)
    connection = connection_connect(
        shop=shop,
        gateway_url=server.platform_url("wechat"),
        app_key=APPID,
        app_secret=APP_SECRET,
        access_token=token,
        token_expires_at=timezone.now() + timedelta(days=30),
        push_secret=answer["push_secret"],
    )
    ShopConnection.objects.filter(pk=connection.pk).update(cursor=timezone.now() - timedelta(hours=cursor_hours_ago))
    connection.refresh_from_db()
    return connection


@pytest.fixture
def connection(wechat_server):
    return connect(wechat_server)


def sync(connection, *, later: timedelta = timedelta(0)):
    return connection_sync(connection_id=connection.pk, now=timezone.now() + PULL_LAG + timedelta(seconds=5) + later)


def test_a_new_request_opens_a_ticket_with_the_platforms_time_amount_and_deadline(connection, wechat):
    order = delivered_order(shop=connection.shop, paid_amount=Decimal("199.00"))
    created_at = int((timezone.now() - timedelta(minutes=20)).timestamp())
    record = wechat.apply(
        order_id=order.platform_order_id, shop_id="wx-shop-1", type="RETURN", amount=5990, created_at=created_at
    )

    summary = sync(connection)

    ticket = AfterSalesTicket.objects.get(platform_ticket_id=record.after_sale_order_id)
    assert summary.outcomes == {"opened": 1}
    assert (ticket.kind, ticket.requested_amount, ticket.first_reason.code) == (
        "return_refund",
        Decimal("59.90"),
        "quality_defect",
    )
    assert int(ticket.opened_at.timestamp()) == created_at
    # deadline: the simulator answers the seconds left; the desk's absolute time is within the read's second.
    assert abs(ticket.deadline.timestamp() - record.deadline_at) <= 2


def test_the_pull_asks_windows_of_at_most_24_hours_by_creation_time(wechat_server, wechat):
    connection = connect(wechat_server, cursor_hours_ago=60)
    order = delivered_order(shop=connection.shop)
    created_at = int((timezone.now() - timedelta(hours=50)).timestamp())
    wechat.apply(order_id=order.platform_order_id, shop_id="wx-shop-1", created_at=created_at, push=False)

    summary = sync(connection)

    windows = [(call["begin_create_time"], call["end_create_time"]) for call in wechat.calls_of("getaftersalelist")]
    assert len(windows) == summary.windows == 3
    assert all(0 < end - begin <= 24 * 3600 for begin, end in windows)
    assert summary.outcomes == {"opened": 1}


def test_a_first_sync_reaches_back_to_open_records_created_days_ago(wechat_server, wechat):
    connection = connect(wechat_server)
    ShopConnection.objects.filter(pk=connection.pk).update(cursor=None)
    order = delivered_order(shop=connection.shop)
    created_at = int((timezone.now() - timedelta(days=10)).timestamp())
    record = wechat.apply(order_id=order.platform_order_id, shop_id="wx-shop-1", created_at=created_at, push=False)

    summary = sync(connection)

    assert summary.outcomes == {"opened": 1}
    assert summary.windows == 16  # 15 days in 24 h windows, each reaching 2 min back: a 16th for the rest
    assert AfterSalesTicket.objects.filter(platform_ticket_id=record.after_sale_order_id).exists()


def test_the_pull_follows_next_key_across_pages(connection, wechat):
    orders = [delivered_order(shop=connection.shop) for _ in range(105)]
    for order in orders:
        wechat.apply(order_id=order.platform_order_id, shop_id="wx-shop-1", push=False)

    summary = sync(connection)

    assert summary.outcomes == {"opened": 105}
    keys = [call.get("next_key", "") for call in wechat.calls_of("getaftersalelist")]
    assert keys == ["", "100"]


def test_a_change_to_a_record_created_before_the_window_is_caught_by_re_reading_open_records(wechat_server, wechat):
    connection = connect(wechat_server, cursor_hours_ago=50)
    order = delivered_order(shop=connection.shop)
    created_at = int((timezone.now() - timedelta(hours=48)).timestamp())
    created = wechat.apply(order_id=order.platform_order_id, shop_id="wx-shop-1", created_at=created_at, push=False)
    assert sync(connection).outcomes == {"opened": 1}
    # Now the buyer withdraws: the list (by creation) no longer shows the record, and no push arrives.
    wechat.buyer_withdraws(created.after_sale_order_id, push=False)
    PlatformRecord.objects.update(updated_at=timezone.now() - REFRESH_OPEN_AFTER - timedelta(minutes=1))
    ShopConnection.objects.filter(pk=connection.pk).update(cursor=timezone.now())

    summary = sync(connection)

    assert summary.outcomes == {"moved": 1}
    assert AfterSalesTicket.objects.get(platform_ticket_id=created.after_sale_order_id).state == TicketState.CANCELLED
    assert sync(connection).records == 0  # closed now, and just looked at: not read again


def test_an_open_record_the_platform_no_longer_answers_does_not_hold_up_the_others(wechat_server, wechat):
    connection = connect(wechat_server, cursor_hours_ago=50)
    created_at = int((timezone.now() - timedelta(hours=48)).timestamp())
    gone, kept = (
        wechat.apply(
            order_id=delivered_order(shop=connection.shop).platform_order_id,
            shop_id="wx-shop-1",
            created_at=created_at + n,
            push=False,
        )
        for n in range(2)
    )
    sync(connection)
    del wechat.records[gone.after_sale_order_id]  # getaftersaleorder now answers 售后单不存在
    wechat.buyer_withdraws(kept.after_sale_order_id, push=False)
    PlatformRecord.objects.update(updated_at=timezone.now() - REFRESH_OPEN_AFTER - timedelta(minutes=1))
    ShopConnection.objects.filter(pk=connection.pk).update(cursor=timezone.now())

    summary = sync(connection)

    connection.refresh_from_db()
    assert (summary.error, summary.outcomes) == ("", {"moved": 1})
    assert AfterSalesTicket.objects.get(platform_ticket_id=kept.after_sale_order_id).state == TicketState.CANCELLED
    assert connection.last_synced_at is not None


def test_a_page_whose_next_key_this_process_never_saw_is_reached_by_walking_the_chain(connection, wechat):
    for n in range(103):
        wechat.apply(order_id=f"walk-{n}", shop_id="wx-shop-1", push=False)
    start, end = timezone.now() - timedelta(hours=1), timezone.now() + timedelta(minutes=1)

    page = WechatAdapter().pull(credentials_for(connection), start=start, end=end, page=2)  # a fresh adapter

    assert len(page.records) == 3
    assert not page.has_more
    assert [call.get("next_key", "") for call in wechat.calls_of("getaftersalelist")] == ["", "100"]


def test_a_replay_or_an_older_version_changes_nothing(connection, wechat):
    order = delivered_order(shop=connection.shop)
    created = wechat.apply(order_id=order.platform_order_id, shop_id="wx-shop-1", amount=1000)
    sync(connection)
    adapter, credentials = WechatAdapter(), credentials_for(connection)
    first = adapter.read(credentials, created.after_sale_order_id)

    assert sync(connection).outcomes == {"unchanged": 1}  # the overlap lists the same record again
    assert record_apply(connection=connection, record=first) == "unchanged"
    wechat.buyer_withdraws(created.after_sale_order_id)
    sync(connection, later=REFRESH_OPEN_AFTER)
    assert record_apply(connection=connection, record=first) == "stale"

    ticket = AfterSalesTicket.objects.get(platform_ticket_id=created.after_sale_order_id)
    assert ticket.state == TicketState.CANCELLED
    row = PlatformRecord.objects.get(platform_id=created.after_sale_order_id)
    assert (row.status, row.version) == (RecordStatus.CLOSED_BY_BUYER, str(created.update_time))
    assert TicketEvent.objects.filter(ticket=ticket, action="withdrawn").count() == 1


def test_an_agreed_return_shipped_by_the_buyer_is_in_transit_with_its_waybill(connection, wechat):
    order = delivered_order(shop=connection.shop)
    created = wechat.apply(order_id=order.platform_order_id, shop_id="wx-shop-1", type="RETURN", amount=9900)
    sync(connection)
    adapter, credentials = WechatAdapter(), credentials_for(connection)

    adapter.agree_return(credentials, adapter.read(credentials, created.after_sale_order_id), ReturnAddress("4001"))
    wechat.buyer_ships_return(created.after_sale_order_id, delivery_id="YTO", waybill_id="YT9001")
    sync(connection, later=REFRESH_OPEN_AFTER)

    ticket = AfterSalesTicket.objects.get(platform_ticket_id=created.after_sale_order_id)
    assert ticket.state == TicketState.RETURN_IN_TRANSIT
    assert ticket.return_tracking_number == "YT9001"
    assert wechat.calls_of("acceptapply") == [
        {"after_sale_order_id": created.after_sale_order_id, "accept_type": 1, "address_id": "4001"}
    ]


def test_acted_then_timed_out_ends_with_exactly_one_agreement_at_the_platform(connection, wechat, time_machine):
    order = OrderFactory(shop=connection.shop, paid_amount=Decimal("30.00"))  # not shipped: refunded by the rule
    assert order.goods_state == GoodsState.NOT_SHIPPED
    created = wechat.apply(order_id=order.platform_order_id, shop_id="wx-shop-1", amount=3000)
    sync(connection)
    refund = Refund.objects.get(ticket__platform_ticket_id=created.after_sale_order_id)
    wechat.inject("acted_then_timeout", method="acceptapply")

    with pytest.raises(RefundGatewayUnavailable):
        refund_execute(refund_id=refund.pk)
    refund.refresh_from_db()
    assert (refund.status, created.status) == (Refund.Status.PENDING, "MERCHANT_REFUND_SUCCESS")
    time_machine.move_to(timezone.now() + timedelta(hours=1))
    refund_settle(refund_id=refund.pk)
    refund_execute(refund_id=refund.pk)  # a retry after the answer: nothing is sent again

    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert wechat.accepted == [(created.after_sale_order_id, None)]
    assert len(wechat.calls_of("acceptapply")) == 1


def test_an_agreed_refund_is_succeeded_only_when_the_platform_says_so(connection, wechat):
    wechat.refund_instantly = False  # accepted → PLATFORM_REFUNDING until the platform pays
    order = OrderFactory(shop=connection.shop, paid_amount=Decimal("30.00"))
    created = wechat.apply(order_id=order.platform_order_id, shop_id="wx-shop-1", amount=3000)
    sync(connection)
    refund = Refund.objects.get(ticket__platform_ticket_id=created.after_sale_order_id)

    refund_execute(refund_id=refund.pk)
    sync(connection, later=REFRESH_OPEN_AFTER)

    refund.refresh_from_db()
    assert (refund.status, created.status) == (Refund.Status.SENT, "PLATFORM_REFUNDING")
    wechat.platform_pays(created.after_sale_order_id)
    sync(connection, later=2 * REFRESH_OPEN_AFTER)
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert AfterSalesTicket.objects.get(pk=refund.ticket_id).state == TicketState.REFUNDED


def test_a_price_difference_retried_after_an_unclear_answer_sends_the_same_request_id_and_pays_once(connection, wechat):
    adapter, credentials = WechatAdapter(), credentials_for(connection)
    wechat.inject("acted_then_timeout", method="refundpricediff")
    arguments = {"refund_key": "refund-42", "order_id": "ORD9", "sku_id": "SKU1", "amount": Decimal("12.30")}

    with pytest.raises(OutcomeUnknown):
        adapter.refund_price_difference(credentials, **arguments)
    adapter.refund_price_difference(credentials, **arguments)
    WechatAdapter().refund_price_difference(credentials, **arguments)  # another process, same refund

    sent = [call["request_id"] for call in wechat.calls_of("refundpricediff")]
    assert len(sent) == 3
    assert len(set(sent)) == 1
    assert sent[0] == price_diff_request_id(shop_id="wx-shop-1", refund_key="refund-42")
    assert wechat.price_diff_payments == 1
    assert wechat.calls_of("refundpricediff")[0]["amount"] == 1230  # 分
    adapter.refund_price_difference(credentials, **{**arguments, "refund_key": "refund-43"})
    assert wechat.price_diff_payments == 2


def test_a_rate_limit_pauses_that_connection_only(wechat_server, wechat):
    slowed = connect(wechat_server)
    other = connect(wechat_server, shop_id="wx-shop-2", token="wx-token-2")
    delivered = delivered_order(shop=other.shop)
    wechat.apply(order_id=delivered.platform_order_id, shop_id="wx-shop-2")
    wechat.inject("rate_limit", method="getaftersalelist")

    first = sync(slowed)
    second = sync(other)

    slowed.refresh_from_db()
    other.refresh_from_db()
    assert first.error.startswith("RateLimited")
    assert slowed.backoff_until is not None
    assert (second.error, second.outcomes) == ("", {"opened": 1})
    assert other.backoff_until is None


def test_an_expired_token_breaks_the_connection_and_stops_its_writes(connection, wechat):
    order = OrderFactory(shop=connection.shop, paid_amount=Decimal("30.00"))
    created = wechat.apply(order_id=order.platform_order_id, shop_id="wx-shop-1", amount=3000)
    sync(connection)
    refund = Refund.objects.get(ticket__platform_ticket_id=created.after_sale_order_id)
    wechat.expire_session("wx-token-1")

    sync(connection)
    connection.refresh_from_db()
    with pytest.raises(RefundGatewayUnavailable):
        refund_execute(refund_id=refund.pk)

    assert connection.state == ShopConnection.State.BROKEN
    assert "access_token" in connection.broken_message
    assert wechat.calls_of("acceptapply") == []


def post_push(client, connection, query: dict, body: bytes):
    url = reverse("marketplaces:push", args=[connection.pk]) + "?" + urlencode(query)
    return client.post(url, data=body, content_type="application/json")


def test_an_encrypted_push_at_the_door_reads_the_record_and_a_bad_one_reads_nothing(connection, wechat, client):
    order = delivered_order(shop=connection.shop)
    created = wechat.apply(order_id=order.platform_order_id, shop_id="wx-shop-1", push=False)
    query, body = wechat.signed_push(wechat.event_of(created), APPID)

    wrong_signature = post_push(client, connection, {**query, "msg_signature": "0" * 40}, body)
    tampered = post_push(client, connection, query, body.replace(b'"Encrypt": "', b'"Encrypt": "AAAA'))
    no_query = client.post(reverse("marketplaces:push", args=[connection.pk]), body, content_type="application/json")
    header_instead = client.post(
        reverse("marketplaces:push", args=[connection.pk]),
        body,
        content_type="application/json",
        headers={"X-Desk-Push-Query": urlencode(query)},  # the door takes the query from the URL only
    )
    garbage = post_push(client, connection, query, b"\x00\xff garbage")
    assert [r.status_code for r in (wrong_signature, tampered, no_query, header_instead, garbage)] == [401] * 5
    assert wechat.calls_of("getaftersaleorder") == []

    good = post_push(client, connection, query, body)

    assert good.status_code == 200
    assert AfterSalesTicket.objects.filter(platform_ticket_id=created.after_sale_order_id).exists()
    assert [call["after_sale_order_id"] for call in wechat.calls_of("getaftersaleorder")] == [
        created.after_sale_order_id
    ]


def test_a_push_encrypted_for_another_shops_appid_is_refused(wechat_server, wechat, client):
    connection = connect(wechat_server)
    wechat.control("shop", {"shop_id": "wx-shop-9", "token": "wx-token-9", "app_key": "wx-other-app"})
    token, encoding_aes_key = _keys_of(wechat, APPID)
    wechat.set_push_keys("wx-other-app", token=token, encoding_aes_key=encoding_aes_key)
    order = delivered_order(shop=connection.shop)
    created = wechat.apply(order_id=order.platform_order_id, shop_id="wx-shop-1", push=False)

    # Same Token and key, correctly signed, but the plaintext ends with another appid.
    query, body = wechat.signed_push(wechat.event_of(created), "wx-other-app")
    answer = post_push(client, connection, query, body)

    assert answer.status_code == 401
    assert wechat.calls_of("getaftersaleorder") == []


def _keys_of(sim, appid):
    keys = sim.push_keys[appid]
    return keys.token, keys.encoding_aes_key


def test_the_doors_url_check_answers_wechats_echostr(connection, wechat, client):
    token, _key = _keys_of(wechat, APPID)
    from marketplaces.simulator.wechat import sim_sha1

    query = {"timestamp": "1700000000", "nonce": "n1", "echostr": "echo-99"}
    url = reverse("marketplaces:push", args=[connection.pk])

    good = client.get(url, {**query, "signature": sim_sha1(token, "1700000000", "n1")})
    bad = client.get(url, {**query, "signature": "0" * 40})

    assert (good.status_code, good.content) == (200, b"echo-99")
    assert bad.status_code == 401


@pytest.mark.django_db(transaction=True)
def test_the_simulator_pushes_encrypted_and_duplicates_and_reorderings_end_in_the_newest_state(
    wechat_server, wechat, live_server, reference_data
):
    connection = connect(wechat_server)
    wechat.push_target = live_server.url + reverse("marketplaces:push", args=[connection.pk])
    order = delivered_order(shop=connection.shop)
    wechat.inject("duplicate_push", method="push")
    created = wechat.apply(order_id=order.platform_order_id, shop_id="wx-shop-1")  # sent twice
    wait_for(lambda: AfterSalesTicket.objects.filter(platform_ticket_id=created.after_sale_order_id).exists())
    wechat.inject("out_of_order_push", method="push")
    wechat.set_status(created.after_sale_order_id, "MERCHANT_PROCESSING")  # held back
    wechat.buyer_withdraws(created.after_sale_order_id)  # sent before the held one
    wait_for(lambda: wechat.pushes_sent >= 4 and not wechat.pushes_pending())

    ticket = AfterSalesTicket.objects.get(platform_ticket_id=created.after_sale_order_id)
    wait_for(lambda: AfterSalesTicket.objects.get(pk=ticket.pk).state == TicketState.CANCELLED)
    assert TicketEvent.objects.filter(ticket=ticket, action="opened").count() == 1
    assert TicketEvent.objects.filter(ticket=ticket, action="withdrawn").count() == 1
    assert PlatformRecord.objects.get(platform_id=created.after_sale_order_id).version == str(created.update_time)


def wait_for(condition, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("not reached in time")


def test_intercept_and_cut_off_are_refused_as_not_supported_and_reach_the_agent(connection, wechat):
    from marketplaces.adapters.base import BusinessRefusal

    adapter, credentials = WechatAdapter(), credentials_for(connection)
    order = delivered_order(shop=connection.shop)
    created = wechat.apply(order_id=order.platform_order_id, shop_id="wx-shop-1", push=False)
    record = adapter.read(credentials, created.after_sale_order_id)

    with pytest.raises(BusinessRefusal):
        adapter.request_intercept(credentials, record, courier="SF", tracking_number="SF1")
    with pytest.raises(BusinessRefusal):
        adapter.report_cutoff(credentials, record, succeeded=True, at=timezone.now())
    with pytest.raises(BusinessRefusal):
        adapter.refuse(credentials, record, reason="图片证据", evidence=[b"\xff\xd8"])
    assert wechat.calls_of("rejectapply") == []


def test_the_demo_and_bench_control_operations(wechat_server, wechat):
    wechat.control("shop", {"shop_id": "wx-demo", "token": "wx-demo-token", "app_key": APPID})

    applied = wechat.control(
        "demo_apply",
        {
            "shop_id": "wx-demo",
            "shop_token": "wx-demo-token",
            "order_id": "O1",
            "amount": "88.50",
            "reason": "不想要了",
        },
    )
    bulk = wechat.control(
        "bulk_apply",
        {"shop_token": "wx-demo-token", "order_ids": ["B1", "B2", "B3"], "amount": "59.00", "spread_seconds": 1800},
    )

    record = wechat.records[applied["platform_id"]]
    assert (record.type, record.amount, record.order_id, record.status) == ("REFUND", 8850, "O1", "MERCHANT_PROCESSING")
    assert bulk == {"count": 3}
    created = sorted(r.create_time for r in wechat.records.values() if r.order_id.startswith("B"))
    assert created[-1] - created[0] >= 1000
    assert all(r.amount == 5900 and r.shop_id == "wx-demo" for r in wechat.records.values() if r.order_id != "O1")


def test_a_get_at_the_push_door_of_a_platform_without_a_url_check_is_not_allowed(client):
    shop = ShopFactory(platform=Platform.objects.get(code="douyin"), platform_shop_id="88009")
    connection = connection_connect(
        shop=shop, gateway_url="http://127.0.0.1:9/douyin", app_key="k", app_secret="s", access_token="t"
    )

    answer = client.get(reverse("marketplaces:push", args=[connection.pk]), {"echostr": "x"})

    assert answer.status_code == 405


def test_make_runs_demo_connects_a_wechat_shop_with_its_push_secret_and_its_buyers_request_reaches_the_desk(
    wechat_server, wechat
):
    from django.core.management import call_command

    shop = ShopFactory(platform=Platform.objects.get(code="wechat"), platform_shop_id="wx-demo")
    order = OrderFactory(shop=shop, paid_amount=Decimal("88.50"))  # not shipped

    call_command("marketplace_demo", simulator=wechat_server.url, desk="http://127.0.0.1:9", every=0, count=1)

    connection = ShopConnection.objects.get(shop=shop)
    # The simulator's pushes are encrypted with the shop's own Token and EncodingAESKey: without them every push
    # would be refused at the door.
    assert credentials_for(connection).push_secret == wechat.push_secret_of("demo-app") != ""
    ShopConnection.objects.filter(pk=connection.pk).update(cursor=timezone.now() - timedelta(hours=1))
    connection.refresh_from_db()
    sync(connection)
    ticket = AfterSalesTicket.objects.get(order=order)
    assert ticket.requested_amount == Decimal("88.50")


def _price_difference(connection, *, lines=1):
    """A price-protection ticket (价保) opened on the desk for a WeChat order, refunded by a supervisor: a pending
    price-difference refund of ¥30.00."""
    from aftersales import roles
    from aftersales.models import TicketKind
    from aftersales.services import ticket_approve_refund
    from tests.factories import OrderLineFactory, grant_authority, make_staff, open_ticket

    order = delivered_order(shop=connection.shop, paid_amount=Decimal("199.00"))
    for _n in range(lines):
        OrderLineFactory(order=order, paid_amount=Decimal("199.00") / lines)
    supervisor = make_staff("pp-supervisor", role=roles.SUPERVISOR, shops=[connection.shop])
    grant_authority(supervisor, connection.shop, "500.00")
    ticket = open_ticket(
        order, kind=TicketKind.PRICE_PROTECTION, reason_code="promotion_changed", requested_amount="30.00"
    )
    refund = ticket_approve_refund(ticket=ticket, by=supervisor).refund
    assert refund.kind == Refund.Kind.PRICE_DIFFERENCE
    return order, refund


def test_a_desk_price_difference_is_paid_by_refundpricediff_with_its_refund_key_once_though_the_answer_was_lost(
    connection, wechat
):
    order, refund = _price_difference(connection)
    wechat.inject("acted_then_timeout", method="refundpricediff")

    with pytest.raises(RefundGatewayUnavailable):
        refund_execute(refund_id=refund.pk)
    assert wechat.price_diff_payments == 1  # paid, but the desk never heard
    refund_settle(refund_id=refund.pk)  # asks again with the same request_id

    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    calls = wechat.calls_of("refundpricediff")
    expected_id = price_diff_request_id(shop_id="wx-shop-1", refund_key=refund.idempotency_key)
    assert [call["request_id"] for call in calls] == [expected_id, expected_id]
    assert (calls[0]["order_id"], calls[0]["amount"]) == (order.platform_order_id, 3000)  # 分
    assert calls[0]["sku_id"] == order.lines.get().sku
    assert wechat.price_diff_payments == 1


def test_a_price_difference_on_an_order_of_several_items_goes_to_the_batch_file_visibly(connection, wechat):
    from django.utils import translation

    _order, refund = _price_difference(connection, lines=2)

    with translation.override("en"):
        refund_execute(refund_id=refund.pk)

    refund.refresh_from_db()
    assert refund.gateway == "batch_file"
    assert wechat.calls_of("refundpricediff") == []
    assert "does not know which one the price difference of ¥30.00 is for" in refund.ticket.attention_note
