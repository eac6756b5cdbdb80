"""拼多多 through the connector and its simulator: the pull in 30-minute windows opens and moves tickets with the
platform's times and deadline, replays and older versions change nothing, a refund agreed then timed out is agreed
exactly once, a refund is succeeded only when PDD says so, a rate limit pauses one connection, an expired token
breaks it, the cut-off report and the warehouse register reach the platform, and what PDD has no call for reaches
the agent."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from aftersales.gateways import RefundGatewayUnavailable
from aftersales.models import AfterSalesTicket, Platform, Refund, TicketEvent, TicketState
from aftersales.services import refund_execute, refund_settle
from marketplaces.adapters.base import RecordStatus, ReturnAddress, ReturnReceipt
from marketplaces.adapters.pinduoduo import PinduoduoAdapter
from marketplaces.models import OutboundAction, PlatformRecord, ShopConnection
from marketplaces.services import PULL_LAG, connection_connect, connection_sync, credentials_for, record_apply
from marketplaces.simulator.server import SimulatorServer
from tests.factories import OrderFactory, ShopFactory, delivered_order

pytestmark = pytest.mark.django_db

APP_KEY, APP_SECRET = "pdd-client-1", "pdd-sim-secret"


@pytest.fixture
def pdd_server():
    server = SimulatorServer(platforms=["pinduoduo"]).start()
    server.platforms["pinduoduo"].timeout_sleep = 1.0  # past the tests' 0.5 s client timeout
    yield server
    server.stop()


@pytest.fixture
def pdd(pdd_server):
    return pdd_server.platforms["pinduoduo"]


def connect(server, *, mall_id="1001", token="pdd-token-1", cursor_back=timedelta(hours=1)) -> ShopConnection:
    sim = server.platforms["pinduoduo"]
    sim.add_app(APP_KEY, APP_SECRET)
    sim.add_shop(shop_id=mall_id, token=token, app_key=APP_KEY)
    shop = ShopFactory(platform=Platform.objects.get(code="pinduoduo"), platform_shop_id=mall_id)
    connection = connection_connect(
        shop=shop,
        gateway_url=server.platform_url("pinduoduo") + "/api/router",
        app_key=APP_KEY,
        app_secret=APP_SECRET,
        access_token=token,
        token_expires_at=timezone.now() + timedelta(days=30),
    )
    ShopConnection.objects.filter(pk=connection.pk).update(cursor=timezone.now() - cursor_back)
    connection.refresh_from_db()
    return connection


@pytest.fixture
def connection(pdd_server):
    return connect(pdd_server)


def sync(connection):
    return connection_sync(connection_id=connection.pk, now=timezone.now() + PULL_LAG + timedelta(seconds=5))


def test_a_new_request_opens_a_ticket_with_the_platforms_time_reason_and_deadline(connection, pdd):
    order = delivered_order(shop=connection.shop, paid_amount=Decimal("199.00"))
    applied = int((timezone.now() - timedelta(minutes=20)).timestamp())
    record = pdd.apply(
        mall_id="1001",
        order_sn=order.platform_order_id,
        after_sales_type=2,
        refund_amount=5990,
        reason="质量问题",
        applied_at=applied,
    )

    summary = sync(connection)

    ticket = AfterSalesTicket.objects.get(platform_ticket_id=record.platform_id)
    assert summary.outcomes == {"opened": 1}
    assert (ticket.kind, ticket.requested_amount, ticket.first_reason.code) == (
        "return_refund",  # the record's 2 is 退货退款 (the list filter's 2 would be 仅退款)
        Decimal("59.90"),
        "quality_defect",
    )
    assert int(ticket.opened_at.timestamp()) == applied
    assert int(ticket.deadline.timestamp()) == record.expire_time == applied + 2 * 24 * 3600
    assert ticket.platform_kind == "2"


def test_the_pull_walks_windows_of_at_most_30_minutes_from_page_1(pdd_server, pdd):
    connection = connect(pdd_server, cursor_back=timedelta(hours=2))

    sync(connection)

    calls = pdd.calls_of("pdd.refund.list.increment.get")
    assert len(calls) >= 4
    for call in calls:
        assert int(call["end_updated_at"]) - int(call["start_updated_at"]) <= 1800
        assert (call["page"], call["page_size"], call["after_sales_type"]) == ("1", "100", "1")


def test_a_busy_window_pages_on_from_page_1(connection, pdd):
    for index in range(3):
        order = delivered_order(shop=connection.shop)
        pdd.apply(mall_id="1001", order_sn=order.platform_order_id, refund_amount=1000 + index)
    adapter = PinduoduoAdapter()
    adapter.page_size = 2

    now = datetime.now(tz=UTC)
    first = adapter.pull(credentials_for(connection), start=now - timedelta(minutes=10), end=now, page=1)
    second = adapter.pull(credentials_for(connection), start=now - timedelta(minutes=10), end=now, page=2)

    assert (len(first.records), first.has_more, first.next_page) == (2, True, 2)
    assert (len(second.records), second.has_more) == (1, False)


def test_a_replay_or_an_older_version_changes_nothing(connection, pdd):
    order = delivered_order(shop=connection.shop)
    created = pdd.apply(mall_id="1001", order_sn=order.platform_order_id, refund_amount=1000)
    sync(connection)
    adapter, credentials = PinduoduoAdapter(), credentials_for(connection)
    first = adapter.read(credentials, created.platform_id)
    ticket = AfterSalesTicket.objects.get(platform_ticket_id=created.platform_id)

    assert sync(connection).outcomes == {"unchanged": 1}
    assert record_apply(connection=connection, record=first) == "unchanged"
    pdd.buyer_withdraws(created.after_sales_id)
    sync(connection)
    assert record_apply(connection=connection, record=first) == "stale"

    ticket.refresh_from_db()
    assert ticket.state == TicketState.CANCELLED
    row = PlatformRecord.objects.get(platform_id=created.platform_id)
    assert (row.status, row.version) == (RecordStatus.CLOSED_BY_BUYER, str(created.updated_time))
    assert TicketEvent.objects.filter(ticket=ticket, action="withdrawn").count() == 1


def test_a_read_gives_the_lists_yuan_and_the_details_deadline(connection, pdd):
    order = delivered_order(shop=connection.shop)
    created = pdd.apply(mall_id="1001", order_sn=order.platform_order_id, refund_amount=12345)

    record = PinduoduoAdapter().read(credentials_for(connection), created.platform_id)

    assert record.amount == Decimal("123.45")  # never the detail's integer 12345
    assert int(record.deadline.timestamp()) == created.expire_time
    assert pdd.calls_of("pdd.refund.information.get")[0]["order_sn"] == order.platform_order_id


def test_acted_then_timed_out_ends_with_exactly_one_agreement_at_the_platform(connection, pdd, time_machine):
    order = OrderFactory(shop=connection.shop, paid_amount=Decimal("30.00"))  # not shipped: refunded by the rule
    created = pdd.apply(mall_id="1001", order_sn=order.platform_order_id, refund_amount=3000)
    sync(connection)
    refund = Refund.objects.get(ticket__platform_ticket_id=created.platform_id)
    pdd.inject("acted_then_timeout", method="pdd.refund.agree")

    with pytest.raises(RefundGatewayUnavailable):
        refund_execute(refund_id=refund.pk)
    refund.refresh_from_db()
    assert (refund.status, created.status) == (Refund.Status.PENDING, 10)  # we do not know; the platform did it
    time_machine.move_to(timezone.now() + timedelta(hours=1))
    refund_settle(refund_id=refund.pk)
    refund_execute(refund_id=refund.pk)

    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert pdd.operations == [("pdd.refund.agree", created.after_sales_id)]
    assert len(pdd.calls_of("pdd.refund.agree")) == 1


def test_an_agreed_refund_is_succeeded_only_when_the_platform_says_so(connection, pdd):
    order = OrderFactory(shop=connection.shop, paid_amount=Decimal("30.00"))
    created = pdd.apply(mall_id="1001", order_sn=order.platform_order_id, refund_amount=3000)
    sync(connection)
    refund = Refund.objects.get(ticket__platform_ticket_id=created.platform_id)

    refund_execute(refund_id=refund.pk)

    refund.refresh_from_db()
    assert refund.status == Refund.Status.SENT  # agreed; the platform's record is the confirmation
    [agreed] = pdd.calls_of("pdd.refund.agree")
    assert (agreed["after_sales_id"], agreed["order_sn"]) == (created.after_sales_id, order.platform_order_id)
    sync(connection)
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert AfterSalesTicket.objects.get(pk=refund.ticket_id).state == TicketState.REFUNDED


def test_a_rate_limit_pauses_that_connection_only(pdd_server, pdd):
    slowed = connect(pdd_server)
    other = connect(pdd_server, mall_id="1002", token="pdd-token-2")
    delivered = delivered_order(shop=other.shop)
    pdd.apply(mall_id="1002", order_sn=delivered.platform_order_id)
    pdd.inject("rate_limit", method="pdd.refund.list.increment.get")

    first = sync(slowed)
    second = sync(other)

    slowed.refresh_from_db()
    other.refresh_from_db()
    assert first.error.startswith("RateLimited")
    assert slowed.backoff_until is not None
    assert slowed.state == ShopConnection.State.CONNECTED
    assert (second.error, second.outcomes) == ("", {"opened": 1})
    assert other.backoff_until is None


def test_an_expired_token_breaks_the_connection_and_stops_its_writes(connection, pdd):
    order = OrderFactory(shop=connection.shop, paid_amount=Decimal("30.00"))
    created = pdd.apply(mall_id="1001", order_sn=order.platform_order_id, refund_amount=3000)
    sync(connection)
    refund = Refund.objects.get(ticket__platform_ticket_id=created.platform_id)
    pdd.expire_session("pdd-token-1")

    sync(connection)
    connection.refresh_from_db()
    with pytest.raises(RefundGatewayUnavailable):
        refund_execute(refund_id=refund.pk)

    assert connection.state == ShopConnection.State.BROKEN
    assert "access_token" in connection.broken_message
    assert pdd.calls_of("pdd.refund.agree") == []
    assert created.status == 2


def test_agreeing_a_return_sends_the_address_id(connection, pdd):
    order = delivered_order(shop=connection.shop)
    created = pdd.apply(mall_id="1001", order_sn=order.platform_order_id, after_sales_type=2)
    adapter, credentials = PinduoduoAdapter(), credentials_for(connection)

    adapter.agree_return(credentials, adapter.read(credentials, created.platform_id), ReturnAddress("addr-7"))
    adapter.agree_return(credentials, adapter.read(credentials, created.platform_id), ReturnAddress("addr-7"))

    [call] = pdd.calls_of("pdd.refund.returngoods.agree")  # the second saw it agreed and sent nothing
    assert call["return_address_id"] == "addr-7"
    assert created.status == 7
    pdd.buyer_ships_return(created.after_sales_id, shipping_name="顺丰", tracking_number="SF100")
    sync(connection)
    assert AfterSalesTicket.objects.get(platform_ticket_id=created.platform_id).state == TicketState.RETURN_IN_TRANSIT


def test_the_cutoff_report_and_the_warehouse_register_reach_the_platform_with_its_units(connection, pdd):
    order = delivered_order(shop=connection.shop)
    created = pdd.apply(mall_id="1001", order_sn=order.platform_order_id, refund_amount=5990)
    adapter, credentials = PinduoduoAdapter(), credentials_for(connection)
    record = adapter.read(credentials, created.platform_id)
    at = datetime(2026, 12, 4, 8, 0, 0, 250000, tzinfo=UTC)

    adapter.report_cutoff(credentials, record, succeeded=False, at=at)
    failed = dict(created.cutoff)
    adapter.report_cutoff(credentials, record, succeeded=True, at=at)
    adapter.register_return_received(
        credentials, record, ReturnReceipt(received_at=at, packing_intact=True, quality_ok=False, tracking_number="YT1")
    )

    assert failed == {
        "status": "FAIL",
        "fail_reason_code": "1002",
        "refund_fee": "5990",
        "operate_time": "1796371200250",
    }
    assert created.cutoff == {
        "status": "SUCCESS",
        "fail_reason_code": None,
        "refund_fee": "5990",
        "operate_time": "1796371200250",
    }
    assert created.warehouse == {
        "warehouse_status": "2",
        "operate_time": "1796371200250",
        "reverse_tracking_number": "YT1",
    }
    assert adapter.registers_returns_received is True


def test_a_refusal_pdd_has_no_call_for_reaches_the_agent(connection, pdd):
    from aftersales.services import ticket_reject
    from marketplaces.outbound import outbound_sweep
    from tests.factories import make_staff

    order = delivered_order(shop=connection.shop)
    created = pdd.apply(mall_id="1001", order_sn=order.platform_order_id, after_sales_type=2)
    sync(connection)
    ticket = AfterSalesTicket.objects.get(platform_ticket_id=created.platform_id)

    ticket_reject(ticket=ticket, by=make_staff("agent", role="Agent", shops=[connection.shop]), note="照片显示已使用")
    with translation.override("en"):
        outbound_sweep()

    action = OutboundAction.objects.get(ticket=ticket, kind=OutboundAction.Kind.REFUSE)
    assert action.status == OutboundAction.Status.REFUSED
    assert "merchant backend" in action.last_error
    flagged = TicketEvent.objects.filter(ticket=ticket).order_by("-pk").first()
    assert "merchant backend" in flagged.note
    assert created.status == 3  # nothing was sent: PDD still waits for the seller


def test_the_demo_and_bench_control_operations_make_records_the_desk_pulls(connection, pdd, pdd_server):
    import httpx

    from aftersales.models import Order

    unshipped = OrderFactory(shop=connection.shop, paid_amount=Decimal("88.50"))
    control = f"{pdd_server.url}/_control/pinduoduo"
    demo = httpx.post(
        f"{control}/demo_apply",
        json={
            "shop_id": "1001",
            "shop_token": "pdd-token-1",
            "order_id": unshipped.platform_order_id,
            "amount": "88.50",
            "reason": "不想要了",
        },
    ).json()
    orders = [delivered_order(shop=connection.shop) for _ in range(5)]
    bulk = httpx.post(
        f"{control}/bulk_apply",
        json={
            "shop_id": "1001",
            "shop_token": "pdd-token-1",
            "order_ids": [order.platform_order_id for order in orders],
            "amount": "59.00",
            "spread_seconds": 1800,
        },
    ).json()

    record = PinduoduoAdapter().read(credentials_for(connection), demo["platform_id"])
    assert (record.kind, record.status, record.amount) == ("refund_only", RecordStatus.WAITING_SELLER, Decimal("88.50"))
    assert bulk == {"count": 5}
    now = int(timezone.now().timestamp())
    spread = sorted(r.updated_time for r in pdd.records.values() if r.after_sales_id not in demo["platform_id"])
    assert now - 1800 - 2 <= spread[0] < spread[-1] <= now
    summary = sync(connection)
    assert summary.outcomes["opened"] == 6  # (a record in two windows' overlap is seen again, unchanged)
    assert AfterSalesTicket.objects.filter(order__in=Order.objects.filter(shop=connection.shop)).count() == 6


def test_the_in_process_gateway_answers_the_adapter_as_over_http(connection, pdd):
    order = delivered_order(shop=connection.shop)
    created = pdd.apply(mall_id="1001", order_sn=order.platform_order_id, refund_amount=990)
    credentials = credentials_for(connection)
    adapter = PinduoduoAdapter(transport=pdd.transport())

    record = adapter.read(credentials, created.platform_id)

    assert (record.amount, int(record.deadline.timestamp())) == (Decimal("9.90"), created.expire_time)


def test_a_clean_inspection_is_registered_at_pdd_as_warehouse_success_through_the_outbox(connection, pdd):
    from aftersales import roles
    from aftersales.models import Shop
    from aftersales.services import ticket_agree_return
    from marketplaces.outbound import outbound_sweep
    from tests.factories import make_staff
    from warehouse.models import ReturnParcel
    from warehouse.services import inspection_record, return_receive_scan

    Shop.objects.filter(pk=connection.shop.pk).update(refund_on_receipt_enabled=False)
    ShopConnection.objects.filter(pk=connection.pk).update(return_address_id="addr-7")
    agent = make_staff("agent", role=roles.AGENT, shops=[connection.shop])
    clerk = make_staff("clerk", role=roles.WAREHOUSE, shops=[connection.shop])
    order = delivered_order(shop=connection.shop)
    created = pdd.apply(mall_id="1001", order_sn=order.platform_order_id, after_sales_type=2)
    sync(connection)
    ticket = AfterSalesTicket.objects.get(platform_ticket_id=created.platform_id)
    ticket_agree_return(ticket=ticket, by=agent)
    assert outbound_sweep()["done"] == 1  # the agreement reached PDD, with the shop's return address
    pdd.buyer_ships_return(created.after_sales_id, shipping_name="顺丰", tracking_number="SF200")
    sync(connection)

    return_receive_scan(tracking_number="SF200", by=clerk)
    inspection_record(parcel=ReturnParcel.objects.get(ticket=ticket), by=clerk, result="ok", notes="完好")
    counts = outbound_sweep()

    assert counts["done"] == 1
    assert OutboundAction.objects.get(kind=OutboundAction.Kind.RETURN_RECEIVED).ticket_id == ticket.pk
    assert created.warehouse["warehouse_status"] == "1"  # 1 成功
    assert created.warehouse["reverse_tracking_number"] == "SF200"
    assert outbound_sweep() == {"collected": 0}  # once
