"""The 抖店 adapter against the simulator over real HTTP: pages, states, version checks, every action, and each
fault (rate limit, expired session, timeouts, acted-then-timed-out, 5xx) reaching the caller as its typed error."""

from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from marketplaces.adapters.base import (
    BusinessRefusal,
    Credentials,
    OutcomeUnknown,
    PlatformError,
    RateLimited,
    RecordKind,
    RecordStatus,
    RefundAgreement,
    ReturnAddress,
    SessionInvalid,
)
from marketplaces.adapters.douyin import DouyinAdapter
from marketplaces.simulator.douyin import DouyinSim
from marketplaces.simulator.server import SimulatorServer

KEY, SECRET, TOKEN = "7100000000000000001", "sim-secret", "tok-88001"
T0 = int(datetime(2026, 11, 11, 0, 0, tzinfo=UTC).timestamp())


class Clock:
    def __init__(self):
        self.now = float(T0)

    def __call__(self):
        return self.now


@pytest.fixture(scope="module")
def server():
    server = SimulatorServer(platforms=["douyin"]).start()
    yield server
    server.stop()


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(datetime.fromtimestamp(T0, tz=UTC), tick=False)
    return Clock()


@pytest.fixture
def sim(server, clock):
    sim = DouyinSim(server, clock=clock)
    sim.add_app(KEY, SECRET)
    sim.add_shop(shop_id="88001", token=TOKEN, app_key=KEY)
    sim.timeout_sleep = 1.3  # past the credentials' 1 s
    server.platforms["douyin"] = sim
    return sim


@pytest.fixture
def credentials(server):
    return credentials_for(server)


def credentials_for(server, *, secret=SECRET, token=TOKEN) -> Credentials:
    return Credentials(
        app_key=KEY,
        app_secret=secret,
        access_token=token,
        shop_id="88001",
        gateway_url=server.platform_url("douyin"),
        timeout_seconds=1.0,
    )


@pytest.fixture
def adapter(sim):
    return DouyinAdapter()


WINDOW = {"start": datetime(2026, 11, 10, 23, 30, tzinfo=UTC), "end": datetime(2026, 11, 11, 0, 30, tzinfo=UTC)}


def agreement(record) -> RefundAgreement:
    return RefundAgreement(
        platform_id=record.aftersale_id, amount=Decimal(record.refund_amount) / 100, version=str(record.update_time)
    )


def test_pull_pages_from_zero_by_hundreds_in_update_time_order(sim, adapter, clock, credentials):
    for index in range(150):
        clock.now = T0 + (149 - index)  # applied in reverse: the answer must still come oldest first
        sim.apply(order_id=f"69{index:014d}", refund_amount=100 + index)
    sim.apply(order_id="6900000000000999", shop_id="99999")  # another shop's: never seen with this token

    first = adapter.pull(credentials, page=1, **WINDOW)
    second = adapter.pull(credentials, page=first.next_page, **WINDOW)

    assert (len(first.records), first.has_more, first.next_page) == (100, True, 2)
    assert (len(second.records), second.has_more, second.next_page) == (50, False, None)
    versions = [int(record.version) for record in first.records + second.records]
    assert versions == sorted(versions)
    assert len(set(versions)) == 150
    assert first.records[0].amount == Decimal("2.49")  # the last applied, earliest update_time: 249 分
    assert {record.status for record in first.records} == {RecordStatus.WAITING_SELLER}
    assert sim.state.calls[0][1]["page"] == 0
    assert sim.state.calls[0][1]["size"] == 100


def test_pull_keeps_to_the_window(sim, adapter, clock, credentials):
    sim.apply(order_id="6900000000000001")
    clock.now = T0 + 3600
    sim.apply(order_id="6900000000000002")

    page = adapter.pull(credentials, page=1, **WINDOW)

    assert [record.order_id for record in page.records] == ["6900000000000001"]


def test_an_agreed_refund_becomes_success_and_a_stale_version_is_refused(sim, adapter, clock, credentials):
    record = sim.apply(order_id="6900000000000001", aftersale_type=1, refund_amount=12900)
    stale = agreement(record)
    clock.now += 60
    sim.buyer_modifies(record.aftersale_id, reason="少件/漏发")

    refused = adapter.agree_refunds(credentials, [stale])
    agreed = adapter.agree_refunds(credentials, [agreement(record)])

    assert (refused[0].succeeded, refused[0].message) == (False, "售后单已更新，请刷新后重试")
    assert agreed[0].succeeded is True
    assert (record.status, record.refund_status, record.real_refund_amount) == (12, 3, 12900)
    read = adapter.read(credentials, record.aftersale_id)
    assert (read.status, read.refunded_amount, read.reason) == (RecordStatus.SUCCEEDED, Decimal("129.00"), "少件/漏发")
    assert sim.operations == [(201, record.aftersale_id)]


def test_an_amount_other_than_the_buyers_is_not_agreed(sim, adapter, credentials):
    record = sim.apply(order_id="6900000000000001", aftersale_type=2, refund_amount=12900)

    result = adapter.agree_refunds(
        credentials, [RefundAgreement(record.aftersale_id, Decimal("130.00"), str(record.update_time))]
    )

    assert result[0].succeeded is False
    assert sim.operations == []


def test_acted_then_timed_out_ends_with_exactly_one_agreement(sim, adapter, credentials):
    record = sim.apply(order_id="6900000000000001", aftersale_type=1)
    sim.inject("acted_then_timeout", method="afterSale.operate")

    with pytest.raises(OutcomeUnknown):
        adapter.agree_refunds(credentials, [agreement(record)])
    again = adapter.agree_refunds(credentials, [agreement(record)])  # reads first: already agreed

    assert again[0].succeeded is True
    assert sim.operations == [(201, record.aftersale_id)]
    assert len(sim.calls_of("afterSale.operate")) == 1


def test_a_timeout_before_acting_leaves_the_record_and_the_retry_agrees_once(sim, adapter, credentials):
    record = sim.apply(order_id="6900000000000001", aftersale_type=1)
    sim.inject("timeout", method="afterSale.operate")

    with pytest.raises(OutcomeUnknown):
        adapter.agree_refunds(credentials, [agreement(record)])
    assert record.status == 6
    again = adapter.agree_refunds(credentials, [agreement(record)])

    assert again[0].succeeded is True
    assert sim.operations == [(201, record.aftersale_id)]


@pytest.mark.parametrize(
    ("fault", "error", "code"),
    [
        ("rate_limit", RateLimited, "60000"),
        ("session_expired", SessionInvalid, "40003"),
        ("server_error", OutcomeUnknown, "502"),
        ("timeout", OutcomeUnknown, "transport"),
    ],
)
def test_each_fault_is_its_typed_error(sim, adapter, fault, error, code, credentials):
    sim.inject(fault, method="afterSale.List")

    with pytest.raises(error) as raised:
        adapter.pull(credentials, page=1, **WINDOW)

    assert type(raised.value) is error
    assert raised.value.code == code
    assert adapter.pull(credentials, page=1, **WINDOW).records == []  # the fault was armed once


def test_an_expired_or_unknown_token_is_a_broken_session_and_a_wrong_secret_is_not(sim, adapter, credentials, server):
    sim.expire_session(TOKEN)
    with pytest.raises(SessionInvalid):
        adapter.read(credentials, "7300000000001")
    with pytest.raises(SessionInvalid):
        adapter.pull(credentials_for(server, token="nobody"), page=1, **WINDOW)
    with pytest.raises(PlatformError) as wrong:
        adapter.pull(credentials_for(server, secret="not-the-secret"), page=1, **WINDOW)
    assert type(wrong.value) is PlatformError
    assert wrong.value.sub_code == "isv.signature-invalid"


def test_the_md5_sign_method_is_accepted(sim, credentials):
    sim.apply(order_id="6900000000000001")
    page = DouyinAdapter(sign_method="md5").pull(credentials, page=1, **WINDOW)

    assert len(page.records) == 1


def test_a_return_is_agreed_shipped_confirmed_and_refunded(sim, adapter, clock, credentials):
    record = sim.apply(order_id="6900000000000001", aftersale_type=0, refund_amount=5000)
    read = adapter.read(credentials, record.aftersale_id)

    adapter.agree_return(credentials, read, ReturnAddress(address_id="4001"))
    clock.now += 3600
    sim.buyer_ships_return(record.aftersale_id, company_code="yuantong", tracking_no="YT9001", company_name="圆通")
    shipped = adapter.pull(credentials, page=1, start=WINDOW["start"], end=datetime(2026, 11, 11, 2, tzinfo=UTC))
    result = adapter.agree_refunds(credentials, [RefundAgreement(record.aftersale_id, Decimal("50.00"), "")])

    assert record.return_address_id == 4001
    assert (shipped.records[0].status, shipped.records[0].return_tracking_number) == (
        RecordStatus.RETURN_SHIPPED,
        "YT9001",
    )
    assert shipped.records[0].deadline == datetime(2026, 11, 21, 1, 0, tzinfo=UTC)
    assert result[0].succeeded is True
    assert sim.operations == [(101, record.aftersale_id), (111, record.aftersale_id)]
    assert adapter.read(credentials, record.aftersale_id).status == RecordStatus.SUCCEEDED


def test_a_refusal_moves_the_record_and_a_refused_operate_reaches_the_caller_as_the_platforms_words(
    sim, adapter, credentials
):
    record = sim.apply(order_id="6900000000000001", aftersale_type=1)
    read = adapter.read(credentials, record.aftersale_id)

    adapter.refuse(credentials, read, reason="商品已签收且无质量问题", evidence=[b"\xff\xd8jpeg"])
    with pytest.raises(BusinessRefusal) as again:
        adapter.refuse(credentials, read, reason="再次拒绝", evidence=[])  # stale version now

    assert (record.status, sim.operations) == (27, [(202, record.aftersale_id)])
    assert again.value.message == "售后单已更新，请刷新后重试"
    operate = sim.calls_of("afterSale.operate")[0]
    assert operate["items"][0]["evidence"][0]["url"].startswith("data:image/jpeg;base64,")


def test_the_buyers_withdrawal_is_told_apart_from_other_failures_in_a_pull(sim, adapter, clock, credentials):
    withdrawn = sim.apply(order_id="6900000000000001")
    failed = sim.apply(order_id="6900000000000002")
    clock.now += 60
    sim.buyer_withdraws(withdrawn.aftersale_id)
    sim.platform_steps_in(failed.aftersale_id, 3)  # 支持卖家: the after-sale fails

    page = adapter.pull(credentials, page=1, **WINDOW)

    statuses = {record.platform_id: record.status for record in page.records}
    assert statuses == {withdrawn.aftersale_id: RecordStatus.CLOSED_BY_BUYER, failed.aftersale_id: RecordStatus.CLOSED}


def test_arbitration_in_progress_and_its_ruling(sim, adapter, credentials):
    record = sim.apply(order_id="6900000000000001", aftersale_type=1)
    sim.platform_steps_in(record.aftersale_id, 4)  # 待商家举证
    in_review = adapter.read(credentials, record.aftersale_id)
    sim.platform_steps_in(record.aftersale_id, 2)  # 支持买家: refunded
    ruled = adapter.read(credentials, record.aftersale_id)

    assert in_review.status == RecordStatus.PLATFORM_REVIEW
    assert (ruled.status, ruled.ruling, ruled.refunded_amount) == (RecordStatus.SUCCEEDED, "for_buyer", Decimal("129"))


def test_intercept_cutoff_and_evidence(sim, adapter, clock, credentials):
    record = sim.apply(order_id="6900000000000001", aftersale_type=2)
    read = adapter.read(credentials, record.aftersale_id)

    adapter.request_intercept(credentials, read, courier="yuantong", tracking_number="YT1")
    adapter.report_cutoff(credentials, read, succeeded=True, at=datetime(2026, 11, 11, 0, 5, tzinfo=UTC))
    calls_before = len(sim.state.calls)
    adapter.report_cutoff(credentials, read, succeeded=False, at=datetime(2026, 11, 11, 0, 6, tzinfo=UTC))
    adapter.send_message(credentials, read, text="已拦截", images=[b"a", b"b"])
    sim.intercept_possible = False
    with pytest.raises(BusinessRefusal) as refused:
        adapter.request_intercept(credentials, read, courier="yuantong", tracking_number="YT1")
    with pytest.raises(BusinessRefusal):
        adapter.send_message(credentials, read, text="x", images=[b"1"] * 5)

    assert record.intercepts[0] == [{"company_code": "yuantong", "tracking_no": "YT1"}]
    assert record.cutoff_reported_at == int(datetime(2026, 11, 11, 0, 5, tzinfo=UTC).timestamp())
    assert sim.state.calls[calls_before][0] == "afterSale.submitEvidence"  # the failed cut-off sent nothing
    assert record.evidence[0]["comment"] == "已拦截"
    assert len(record.evidence[0]["evidence"]) == 2
    assert refused.value.message == "包裹已签收，无法拦截"


def test_every_kind_the_simulator_can_hold_reads_back_mapped(sim, adapter, credentials):
    for aftersale_type, sub_type in [(0, 0), (1, 0), (2, 0), (3, 0), (6, 0), (7, 0), (8, 0), (8, 8001)]:
        sim.apply(order_id=f"69{aftersale_type}{sub_type}", aftersale_type=aftersale_type, sub_type=sub_type)

    kinds = [record.kind for record in adapter.pull(credentials, page=1, **WINDOW).records]

    assert kinds == [
        RecordKind.RETURN_REFUND,
        RecordKind.REFUND_ONLY,
        RecordKind.REFUND_ONLY,
        RecordKind.EXCHANGE,
        RecordKind.PRICE_PROTECTION,
        RecordKind.RESHIP,
        RecordKind.REPAIR,
        RecordKind.EXCHANGE,
    ]


def test_a_return_agreed_then_timed_out_is_not_agreed_again_nor_a_refusal_repeated(sim, adapter, credentials):
    returned = sim.apply(order_id="6900000000000001", aftersale_type=0)
    refused = sim.apply(order_id="6900000000000002", aftersale_type=1)
    sim.inject("acted_then_timeout", method="afterSale.operate", times=2)

    with pytest.raises(OutcomeUnknown):
        adapter.agree_return(credentials, adapter.read(credentials, returned.aftersale_id), ReturnAddress("4001"))
    with pytest.raises(OutcomeUnknown):
        adapter.refuse(credentials, adapter.read(credentials, refused.aftersale_id), reason="已发货", evidence=[])
    # The caller reads again, then retries: the record shows the write happened, nothing is sent.
    adapter.agree_return(credentials, adapter.read(credentials, returned.aftersale_id), ReturnAddress("4001"))
    adapter.refuse(credentials, adapter.read(credentials, refused.aftersale_id), reason="已发货", evidence=[])

    assert sim.operations == [(101, returned.aftersale_id), (202, refused.aftersale_id)]
    assert len(sim.calls_of("afterSale.operate")) == 2


def test_the_control_api_plays_the_buyer_for_make_run_and_the_bench(server, sim):
    sim.add_app(KEY, SECRET)
    control = server.url + "/_control/douyin/"

    applied = httpx.post(control + "apply", json={"order_id": "6900000000000001", "aftersale_type": 1}).json()
    withdrawn = httpx.post(control + "withdraw", json={"aftersale_id": applied["record"]["aftersale_id"]}).json()
    listed = httpx.post(control + "records", json={}).json()

    assert applied["record"]["status"] == 6
    assert withdrawn["record"]["status"] == 28
    assert [record["aftersale_id"] for record in listed["records"]] == [applied["record"]["aftersale_id"]]
