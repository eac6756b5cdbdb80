"""京东 JOS through the connector and the simulator (real HTTP): both kinds of record are pulled and open their tickets
with JD's times, windows stay within the adapter's limits and page by 50, replays and older readings change nothing,
an agreement that timed out after JD acted is made exactly once, an agreed refund succeeds only on JD's word, service
order writes carry sysVersion and a stale one is refused, a rate limit pauses one connection, an expired token breaks
it, a clean inspection is registered at JD as received, and JD's push door stays shut."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from django.urls import reverse
from django.utils import timezone

from aftersales import roles
from aftersales.gateways import RefundGatewayUnavailable
from aftersales.models import AfterSalesTicket, GoodsState, Platform, Refund, Shop, TicketState
from aftersales.services import refund_execute, refund_settle, ticket_agree_return, ticket_reject
from marketplaces.adapters.base import (
    BusinessRefusal,
    PlatformError,
    RecordStatus,
    RefundAgreement,
    ReturnAddress,
    ReturnReceipt,
)
from marketplaces.adapters.jd import (
    M_ASC_AGREE_RETURN,
    M_ASC_RECEIVE,
    M_ASC_REFUSE,
    M_ASC_SYNC,
    M_REFUND_LIST,
    M_REFUND_REPLY,
    JdAdapter,
    parse_jd_time,
)
from marketplaces.models import OutboundAction, PlatformRecord, ShopConnection
from marketplaces.outbound import outbound_sweep
from marketplaces.services import PULL_LAG, connection_connect, connection_sync, credentials_for, record_apply
from marketplaces.simulator.server import SimulatorServer
from tests.factories import OrderFactory, ShopFactory, delivered_order, make_staff

pytestmark = pytest.mark.django_db

APP_KEY, APP_SECRET = "jd-app-1", "jd-sim-secret"


@pytest.fixture
def jd_server():
    server = SimulatorServer(platforms=["jd"]).start()
    server.platforms["jd"].timeout_sleep = 1.0  # past the tests' 0.5 s client timeout
    yield server
    server.stop()


@pytest.fixture
def jd(jd_server):
    return jd_server.platforms["jd"]


def connect(server, *, shop_id="10086", token="jd-token-1", cursor_hours_back: float = 1) -> ShopConnection:
    sim = server.platforms["jd"]
    sim.add_app(APP_KEY, APP_SECRET)
    sim.add_shop(shop_id=shop_id, token=token, app_key=APP_KEY)
    shop = ShopFactory(platform=Platform.objects.get(code="jd"), platform_shop_id=shop_id)
    connection = connection_connect(
        shop=shop,
        gateway_url=server.platform_url("jd") + "/routerjson",
        app_key=APP_KEY,
        app_secret=APP_SECRET,
        access_token=token,
        token_expires_at=timezone.now() + timedelta(days=30),
    )
    ShopConnection.objects.filter(pk=connection.pk).update(cursor=timezone.now() - timedelta(hours=cursor_hours_back))
    connection.refresh_from_db()
    return connection


@pytest.fixture
def connection(jd_server):
    return connect(jd_server)


def sync(connection):
    return connection_sync(connection_id=connection.pk, now=timezone.now() + PULL_LAG + timedelta(seconds=2))


def refund_application(jd, connection, *, amount="30.00", at=None, order=None):
    order = order or OrderFactory(shop=connection.shop, paid_amount=Decimal(amount))  # not shipped
    record = jd.apply_refund(shop_token="jd-token-1", order_id=order.platform_order_id, amount=amount, at=at)
    return order, f"refundapply:{record['id']}", record


def service_ticket(jd, connection, *, expect="10"):
    order = delivered_order(shop=connection.shop, paid_amount=Decimal("99.00"))
    record = jd.apply_service(shop_token="jd-token-1", order_id=order.platform_order_id, customer_expect=expect)
    sync(connection)
    platform_id = f"asc:{record['serviceId']}"
    return AfterSalesTicket.objects.get(platform_ticket_id=platform_id), platform_id, record["serviceId"]


# --- pulling --------------------------------------------------------------------------------------------------------


def test_a_refund_application_opens_a_refund_only_ticket_with_jds_time(connection, jd):
    applied = (timezone.now() - timedelta(minutes=20)).replace(microsecond=0)
    order, platform_id, _record = refund_application(jd, connection, amount="59.00", at=applied)

    summary = sync(connection)

    ticket = AfterSalesTicket.objects.get(platform_ticket_id=platform_id)
    assert summary.outcomes == {"opened": 1}
    assert (ticket.kind, ticket.requested_amount, ticket.order_id) == ("refund_only", Decimal("59.00"), order.pk)
    assert ticket.opened_at == applied
    assert all(int(call["pageSize"]) <= 50 for call in jd.calls_of(M_REFUND_LIST) + jd.calls_of(M_ASC_SYNC))


def test_service_orders_open_tickets_of_their_kind_and_an_unknown_code_is_kept(connection, jd):
    returned, _platform_id, _number = service_ticket(jd, connection, expect="10")
    unknown, unknown_id, _number = service_ticket(jd, connection, expect="99")

    assert returned.kind == "return_refund"
    assert unknown.kind == "unknown"
    assert unknown.platform_kind == "99"
    assert PlatformRecord.objects.get(platform_id=unknown_id).platform_kind == "99"


def test_windows_stay_within_the_limit_reach_back_and_page_by_fifty(jd_server, jd):
    connection = connect(jd_server, cursor_hours_back=2)
    shop = connection.shop
    orders = [OrderFactory(shop=shop, paid_amount=Decimal("59.00")) for _ in range(60)]
    answer = jd.control(
        "bulk_apply",
        {
            "shop_id": "10086",
            "shop_token": "jd-token-1",
            "order_ids": [order.platform_order_id for order in orders],
            "amount": "59.00",
            "spread_seconds": 600,
        },
    )

    summary = sync(connection)

    assert answer == {"count": 60}
    assert summary.outcomes["opened"] == 60  # the overlap reads a few again: unchanged
    assert set(summary.outcomes) <= {"opened", "unchanged"}
    applied = [call for call in jd.calls_of(M_REFUND_LIST) if "applyTimeStart" in call]
    checked = [call for call in jd.calls_of(M_REFUND_LIST) if "checkTimeStart" in call]
    services = jd.calls_of(M_ASC_SYNC)
    windows = [(parse_jd_time(c["updateTimeBegin"]), parse_jd_time(c["updateTimeEnd"])) for c in services]
    assert len(windows) >= 4  # two hours in windows of at most 30 minutes
    assert all(timedelta(0) < end - start <= timedelta(minutes=30) for start, end in windows)
    overlaps = [earlier[1] - later[0] for earlier, later in zip(windows, windows[1:], strict=False)]
    assert set(overlaps) == {timedelta(minutes=2)}
    assert {c["pageIndex"] for c in applied} == {1, 2}  # 60 records in the last window: two pages of 50
    assert len(checked) == len(windows)
    assert len(services) == len(windows)


def test_a_replay_or_an_older_reading_changes_nothing(connection, jd):
    # Delivered: no automatic refund, the request waits for the seller when the buyer withdraws it.
    _order, platform_id, _record = refund_application(jd, connection, order=delivered_order(shop=connection.shop))
    sync(connection)
    adapter, credentials = JdAdapter(), credentials_for(connection)
    first = adapter.read(credentials, platform_id)
    ticket = AfterSalesTicket.objects.get(platform_ticket_id=platform_id)

    assert sync(connection).outcomes == {"unchanged": 1}
    assert record_apply(connection=connection, record=first) == "unchanged"
    jd.buyer_withdraws(platform_id)
    sync(connection)
    assert record_apply(connection=connection, record=first) == "stale"

    ticket.refresh_from_db()
    assert ticket.state == TicketState.CANCELLED
    assert PlatformRecord.objects.get(platform_id=platform_id).status == RecordStatus.CLOSED_BY_BUYER


# --- refunds --------------------------------------------------------------------------------------------------------


def test_acted_then_timed_out_ends_with_exactly_one_agreement_at_jd(connection, jd, time_machine):
    order, platform_id, record = refund_application(jd, connection)
    assert order.goods_state == GoodsState.NOT_SHIPPED
    sync(connection)
    refund = Refund.objects.get(ticket__platform_ticket_id=platform_id)
    jd.inject("acted_then_timeout", method=M_REFUND_REPLY)

    with pytest.raises(RefundGatewayUnavailable):
        refund_execute(refund_id=refund.pk)
    refund.refresh_from_db()
    assert (refund.status, jd.record(platform_id)["status"]) == (Refund.Status.PENDING, "3")
    time_machine.move_to(timezone.now() + timedelta(hours=1))
    refund_settle(refund_id=refund.pk)
    refund_execute(refund_id=refund.pk)

    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    [reply] = jd.calls_of(M_REFUND_REPLY)
    assert (reply["id"], reply["status"]) == (record["id"], 1)


def test_an_agreed_refund_succeeds_only_when_jd_says_so(connection, jd):
    jd.finance_holds = True
    _order, platform_id, record = refund_application(jd, connection)
    sync(connection)
    refund = Refund.objects.get(ticket__platform_ticket_id=platform_id)

    refund_execute(refund_id=refund.pk)
    sync(connection)

    refund.refresh_from_db()
    assert refund.status == Refund.Status.SENT  # 审核通过: JD's finance has not paid yet
    assert PlatformRecord.objects.get(platform_id=platform_id).status == RecordStatus.REFUNDING
    jd.finance_approve(record["id"])
    sync(connection)
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert AfterSalesTicket.objects.get(pk=refund.ticket_id).state == TicketState.REFUNDED


# --- writes ---------------------------------------------------------------------------------------------------------


def test_service_order_writes_carry_sys_version_and_a_stale_one_is_refused(connection, jd):
    _ticket, platform_id, number = service_ticket(jd, connection)
    adapter, credentials = JdAdapter(), credentials_for(connection)
    stale = adapter.read(credentials, platform_id)
    jd.change_service(number, questionDesc="补充了照片")  # the buyer changed it: a new sysVersion

    with pytest.raises(BusinessRefusal, match="版本号"):
        adapter.agree_return(credentials, stale, ReturnAddress("addr-1"))
    fresh = adapter.read(credentials, platform_id)
    adapter.agree_return(credentials, fresh, ReturnAddress("addr-1"))

    sent = [call["sysVersion"] for call in jd.calls_of(M_ASC_AGREE_RETURN)]
    assert sent == [int(stale.version), int(fresh.version)] or sent == [stale.version, fresh.version]
    assert int(fresh.version) > int(stale.version)
    assert jd.record(platform_id)["serviceStatus"] == "31"


def test_an_agents_refusals_reach_jd_by_the_right_api(connection, jd):
    agent = make_staff("agent", role=roles.AGENT, shops=[connection.shop])
    _order, refund_id, record = refund_application(jd, connection, order=delivered_order(shop=connection.shop))
    sync(connection)
    service, service_id, _number = service_ticket(jd, connection)

    ticket_reject(ticket=AfterSalesTicket.objects.get(platform_ticket_id=refund_id), by=agent, note="已发货，请拒收")
    ticket_reject(ticket=service, by=agent, note="超过售后期")
    counts = outbound_sweep()

    assert counts["done"] == 2
    [reply] = jd.calls_of(M_REFUND_REPLY)
    assert (reply["id"], reply["status"], reply["rejectType"]) == (record["id"], 2, 5)
    assert reply["remark"] == "已发货，请拒收"
    [refusal] = jd.calls_of(M_ASC_REFUSE)
    assert refusal["approveNotes"] == "超过售后期"
    assert str(refusal["sysVersion"]) == str(PlatformRecord.objects.get(platform_id=service_id).version)
    assert (jd.record(refund_id)["status"], jd.record(service_id)["serviceStatus"]) == ("2", "20")


def test_an_intercept_agrees_with_jds_intercept_and_a_cutoff_report_is_not_supported(connection, jd):
    adapter, credentials = JdAdapter(), credentials_for(connection)
    _order, platform_id, _record = refund_application(jd, connection)
    record = adapter.read(credentials, platform_id)

    adapter.request_intercept(credentials, record, courier="jd", tracking_number="JDV1")

    assert jd.calls_of(M_REFUND_REPLY)[0]["status"] == 6
    assert jd.record(platform_id)["status"] == "6"
    # 通过并京东拦截 agreed the refund too: the desk's later agreement is sent, and nothing reaches JD again.
    [result] = adapter.agree_refunds(
        credentials, [RefundAgreement(platform_id, Decimal("30.00"), adapter.read(credentials, platform_id).version)]
    )
    assert result.succeeded
    assert len(jd.calls_of(M_REFUND_REPLY)) == 1
    with pytest.raises(BusinessRefusal):
        adapter.report_cutoff(credentials, record, succeeded=True, at=timezone.now())


def test_a_clean_inspection_is_registered_at_jd_through_the_outbox(connection, jd):
    Shop.objects.filter(pk=connection.shop.pk).update(refund_on_receipt_enabled=False)
    agent = make_staff("agent", role=roles.AGENT, shops=[connection.shop])
    clerk = make_staff("clerk", role=roles.WAREHOUSE, shops=[connection.shop])
    ticket, platform_id, number = service_ticket(jd, connection)
    ticket_agree_return(ticket=ticket, by=agent)
    assert outbound_sweep()["done"] == 1
    jd.buyer_ships_return(number, express_code="jd", express_no="JDV000123")
    sync(connection)
    ticket.refresh_from_db()
    assert ticket.state == TicketState.RETURN_IN_TRANSIT

    from warehouse.models import ReturnParcel
    from warehouse.services import inspection_record, return_receive_scan

    return_receive_scan(tracking_number="JDV000123", by=clerk)
    inspection_record(parcel=ReturnParcel.objects.get(ticket=ticket), by=clerk, result="ok", notes="完好")
    counts = outbound_sweep()

    assert counts["done"] == 1
    action = OutboundAction.objects.get(kind=OutboundAction.Kind.RETURN_RECEIVED)
    assert action.ticket_id == ticket.pk
    [register] = jd.calls_of(M_ASC_RECEIVE)
    assert (register["packingState"], register["qualityState"]) == (1, 1)
    assert register["receiveRemark"].startswith("完好")
    assert jd.record(platform_id)["serviceStatus"] == "32"
    assert outbound_sweep() == {"collected": 0}  # once


def test_the_receive_register_sends_a_damaged_return_as_found(connection, jd):
    adapter, credentials = JdAdapter(), credentials_for(connection)
    _ticket, platform_id, number = service_ticket(jd, connection)
    adapter.agree_return(credentials, adapter.read(credentials, platform_id), ReturnAddress())
    jd.buyer_ships_return(number, express_code="jd", express_no="JDV9")
    receipt = ReturnReceipt(
        received_at=datetime(2026, 11, 12, tzinfo=UTC), packing_intact=False, quality_ok=False, note="外箱破损"
    )

    adapter.register_return_received(credentials, adapter.read(credentials, platform_id), receipt)

    [register] = jd.calls_of(M_ASC_RECEIVE)
    assert (register["packingState"], register["qualityState"], register["receiveRemark"]) == (2, 2, "外箱破损")
    assert jd.record(platform_id)["qualityState"] == 2


# --- errors ---------------------------------------------------------------------------------------------------------


def test_a_rate_limit_pauses_that_connection_only(jd_server, jd):
    slowed = connect(jd_server)
    other = connect(jd_server, shop_id="10087", token="jd-token-2")
    order = OrderFactory(shop=other.shop, paid_amount=Decimal("10.00"))
    jd.apply_refund(shop_token="jd-token-2", order_id=order.platform_order_id)
    jd.inject("rate_limit", method=M_REFUND_LIST)

    first = sync(slowed)
    second = sync(other)

    slowed.refresh_from_db()
    other.refresh_from_db()
    assert first.error.startswith("RateLimited")
    assert slowed.backoff_until is not None
    assert slowed.state == ShopConnection.State.CONNECTED
    assert (second.error, second.outcomes) == ("", {"opened": 1})
    assert other.backoff_until is None


def test_an_expired_token_breaks_the_connection_and_stops_its_writes(connection, jd):
    _order, platform_id, _record = refund_application(jd, connection)
    sync(connection)
    refund = Refund.objects.get(ticket__platform_ticket_id=platform_id)
    jd.expire_session("jd-token-1")

    sync(connection)
    connection.refresh_from_db()
    with pytest.raises(RefundGatewayUnavailable):
        refund_execute(refund_id=refund.pk)

    assert connection.state == ShopConnection.State.BROKEN
    assert "token" in connection.broken_message
    assert jd.calls_of(M_REFUND_REPLY) == []


def test_the_simulator_refuses_a_bad_signature(connection, jd):
    credentials = credentials_for(connection)
    wrong = type(credentials)(**{**vars(credentials), "app_secret": "not-the-secret"})

    with pytest.raises(PlatformError, match="签名无效"):
        JdAdapter().read(wrong, "refundapply:1")
    assert jd.calls_of(M_REFUND_LIST) == []


def test_jds_push_door_is_shut(connection, client):
    answer = client.post(
        reverse("marketplaces:push", args=[connection.pk]), data=b"[]", content_type="application/json"
    )

    assert answer.status_code == 401


# --- the lead's demo and bench -------------------------------------------------------------------------------------


def test_demo_apply_over_http_is_a_refund_application_the_pull_opens(jd_server, connection):
    order = OrderFactory(shop=connection.shop, paid_amount=Decimal("88.50"))
    control = f"{jd_server.url}/_control/jd"

    answer = httpx.post(
        f"{control}/demo_apply",
        json={
            "shop_id": "10086",
            "shop_token": "jd-token-1",
            "order_id": order.platform_order_id,
            "amount": "88.50",
            "reason": "不想要了",
        },
    )
    foreign = httpx.post(
        f"{control}/demo_apply",
        json={"shop_id": "other", "shop_token": "jd-token-1", "order_id": "1", "amount": "1.00", "reason": "x"},
    )

    assert answer.status_code == 200
    assert foreign.status_code == 400
    platform_id = answer.json()["platform_id"]
    assert platform_id.startswith("refundapply:")
    sync(connection)
    ticket = AfterSalesTicket.objects.get(platform_ticket_id=platform_id)
    assert (ticket.kind, ticket.requested_amount) == ("refund_only", Decimal("88.50"))


@pytest.mark.parametrize("fault", ["timeout", "server_error"])
def test_a_timeout_or_5xx_before_jd_acted_is_read_back_then_agreed_once(connection, jd, fault, time_machine):
    _order, platform_id, _record = refund_application(jd, connection)
    sync(connection)
    refund = Refund.objects.get(ticket__platform_ticket_id=platform_id)
    jd.inject(fault, method=M_REFUND_REPLY)

    with pytest.raises(RefundGatewayUnavailable):
        refund_execute(refund_id=refund.pk)
    assert jd.record(platform_id)["status"] == "0"  # nothing happened at JD
    time_machine.move_to(timezone.now() + timedelta(hours=1))
    refund_settle(refund_id=refund.pk)  # reads the record: still waiting for the seller
    refund_execute(refund_id=refund.pk)

    refund.refresh_from_db()
    assert refund.status in (Refund.Status.SENT, Refund.Status.SUCCEEDED)
    assert jd.record(platform_id)["status"] == "3"
    assert len(jd.calls_of(M_REFUND_REPLY)) == 1  # the failed call never reached the handler


def test_the_buyers_moves_over_the_control_api(jd_server, connection, jd):
    control = f"{jd_server.url}/_control/jd"
    order = delivered_order(shop=connection.shop)
    token = {"shop_id": "10086", "shop_token": "jd-token-1"}

    applied = httpx.post(f"{control}/apply_service", json={**token, "order_id": order.platform_order_id}).json()
    number = applied["platform_id"].removeprefix("asc:")
    shipped = httpx.post(
        f"{control}/ship_return", json={"service_id": number, "express_code": "jd", "express_no": "JDV7"}
    ).json()
    withdrawn = httpx.post(f"{control}/withdraw", json={"platform_id": applied["platform_id"]}).json()

    assert applied["platform_id"].startswith("asc:")
    assert shipped["record"]["expressNo"] == "JDV7"
    assert withdrawn["record"]["serviceStatus"] == "60"
    assert withdrawn["record"]["sysVersion"] > shipped["record"]["sysVersion"]
