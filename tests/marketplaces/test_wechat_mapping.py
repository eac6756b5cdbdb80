"""WeChat shop's codes onto the desk's shapes: every documented status and type, 分 → 元, the deadline's seconds
left made absolute, and the errcodes as typed errors."""

import json
from datetime import UTC, datetime, timedelta
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
    SessionInvalid,
)
from marketplaces.adapters.wechat import WechatAdapter, record_from_order

ASKED_AT = datetime(2026, 11, 11, 0, 0, tzinfo=UTC)


def order(**fields) -> dict:
    return {
        "after_sale_order_id": "3700000000000001",
        "order_id": "ORD1",
        "type": "REFUND",
        "status": "MERCHANT_PROCESSING",
        "reason_text": "质量问题",
        "refund_info": {"amount": 12990},
        "return_info": {},
        "deadline": 0,
        "create_time": 1762790400,
        "update_time": 1762790460,
        **fields,
    }


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("USER_CANCELD", RecordStatus.CLOSED_BY_BUYER),
        ("MERCHANT_PROCESSING", RecordStatus.WAITING_SELLER),
        ("MERCHANT_REJECT_REFUND", RecordStatus.SELLER_REFUSED),
        ("MERCHANT_REJECT_RETURN", RecordStatus.SELLER_REFUSED),
        ("USER_WAIT_RETURN", RecordStatus.WAITING_BUYER_RETURN),
        ("RETURN_CLOSED", RecordStatus.CLOSED),
        ("MERCHANT_WAIT_RECEIPT", RecordStatus.WAITING_SELLER_CONFIRM),
        ("MERCHANT_OVERDUE_REFUND", RecordStatus.WAITING_SELLER),
        ("MERCHANT_REFUND_SUCCESS", RecordStatus.SUCCEEDED),
        ("MERCHANT_RETURN_SUCCESS", RecordStatus.SUCCEEDED),
        ("PLATFORM_REFUNDING", RecordStatus.REFUNDING),
        ("PLATFORM_REFUND_FAIL", RecordStatus.REFUNDING),
        ("USER_WAIT_CONFIRM", RecordStatus.WAITING_BUYER_RECEIPT),
        ("MERCHANT_REFUND_RETRY_FAIL", RecordStatus.CLOSED),
        ("MERCHANT_FAIL", RecordStatus.CLOSED),
        ("USER_WAIT_CONFIRM_UPDATE", RecordStatus.WAITING_BUYER_RECEIPT),
        ("USER_WAIT_HANDLE_MERCHANT_AFTER_SALE", RecordStatus.WAITING_BUYER_RECEIPT),
        ("SOMETHING_NEW", RecordStatus.UNKNOWN),
    ],
)
def test_every_documented_status_maps(code, status):
    record = record_from_order(order(status=code), asked_at=ASKED_AT)

    assert (record.status, record.platform_status) == (status, code)


def test_a_return_waiting_for_receipt_with_a_waybill_is_shipped():
    shipped = order(
        type="RETURN",
        status="MERCHANT_WAIT_RECEIPT",
        return_info={"delivery_id": "SF", "delivery_name": "顺丰速运", "waybill_id": "SF1234567890"},
    )

    record = record_from_order(shipped, asked_at=ASKED_AT)

    assert (record.status, record.return_courier, record.return_tracking_number) == (
        RecordStatus.RETURN_SHIPPED,
        "SF",
        "SF1234567890",
    )


@pytest.mark.parametrize(
    ("code", "kind"),
    [("REFUND", RecordKind.REFUND_ONLY), ("RETURN", RecordKind.RETURN_REFUND), ("EXCHANGE", RecordKind.UNKNOWN)],
)
def test_types_map_and_an_unverified_one_is_kept_as_unknown_with_its_code(code, kind):
    record = record_from_order(order(type=code), asked_at=ASKED_AT)

    assert (record.kind, record.platform_kind) == (kind, code)


def test_the_amount_is_fen_and_the_version_is_update_time():
    record = record_from_order(order(), asked_at=ASKED_AT)

    assert record.amount == Decimal("129.90")
    assert record.version == "1762790460"
    assert record.modified_at == datetime.fromtimestamp(1762790460, tz=UTC)
    assert record.applied_at == datetime.fromtimestamp(1762790400, tz=UTC)


def test_the_deadline_is_the_seconds_left_counted_from_when_the_read_was_sent():
    # 172800 s left = two days from the moment the desk asked (never from the record's update_time).
    record = record_from_order(order(deadline=172800), asked_at=ASKED_AT)

    assert record.deadline == datetime(2026, 11, 13, 0, 0, tzinfo=UTC)
    assert record_from_order(order(deadline=0), asked_at=ASKED_AT).deadline is None


def test_read_counts_the_deadline_from_its_own_clock():
    answer = {"errcode": 0, "errmsg": "ok", "after_sale_order": order(deadline=3600)}
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=answer))
    adapter = WechatAdapter(transport=transport, clock=lambda: ASKED_AT.timestamp())

    record = adapter.read(credentials(), "3700000000000001")

    assert record.deadline == ASKED_AT + timedelta(hours=1)


def credentials() -> Credentials:
    return Credentials(
        app_key="wx1", app_secret="s", access_token="TOKEN-1", shop_id="1", gateway_url="http://wechat.sim"
    )


def answering(errcode: int, errmsg: str = "message", status: int = 200):
    seen = []

    def reply(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json={"errcode": errcode, "errmsg": errmsg})

    return WechatAdapter(transport=httpx.MockTransport(reply)), seen


@pytest.mark.parametrize(
    ("errcode", "error"),
    [
        (42001, SessionInvalid),
        (40001, SessionInvalid),
        (45009, RateLimited),
        (45011, RateLimited),
        (-1, RateLimited),
        (48001, BusinessRefusal),
        (9710001, BusinessRefusal),
    ],
)
def test_errcodes_are_typed_errors(errcode, error):
    adapter, _seen = answering(errcode, "售后单状态不允许")

    with pytest.raises(error) as raised:
        adapter.read(credentials(), "1")

    assert type(raised.value) is error
    assert raised.value.code == str(errcode)
    if error is BusinessRefusal:
        assert raised.value.message == "售后单状态不允许"


def test_calls_post_json_with_the_access_token_in_the_query_and_no_signature():
    adapter, seen = answering(0)

    with pytest.raises(PlatformError):  # an answer with no after_sale_order
        adapter.read(credentials(), "3700000000000001")

    [request] = seen
    assert request.method == "POST"
    assert request.url.path == "/channels/ec/aftersale/getaftersaleorder"
    assert dict(request.url.params) == {"access_token": "TOKEN-1"}
    assert json.loads(request.content) == {"after_sale_order_id": "3700000000000001"}


def test_a_5xx_on_a_write_is_an_unknown_outcome_and_on_a_read_a_plain_failure():
    def reply(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("getaftersaleorder"):
            return httpx.Response(200, json={"errcode": 0, "after_sale_order": order()})
        return httpx.Response(502, text="bad gateway")

    adapter = WechatAdapter(transport=httpx.MockTransport(reply))
    with pytest.raises(OutcomeUnknown):
        adapter.agree_refunds(credentials(), [RefundAgreement("3700000000000001", Decimal("129.90"), "1")])

    failing, _seen = answering(0, status=503)
    with pytest.raises(PlatformError) as raised:
        failing.read(credentials(), "1")
    assert not isinstance(raised.value, OutcomeUnknown)


def test_one_refund_per_agreement_call():
    assert WechatAdapter().batch_limits(credentials())[0] == 1
