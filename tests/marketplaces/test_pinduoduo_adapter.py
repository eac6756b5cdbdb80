"""拼多多's adapter on its own: signing (fixed vectors worked out by hand from MARKETPLACES.md §3), what one call sends,
the mapping of every status and type, the errors, the 30-minute window, and the writes PDD has no method for."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qsl

import httpx
import pytest

from marketplaces.adapters.base import (
    AfterSaleRecord,
    BusinessRefusal,
    Credentials,
    OutcomeUnknown,
    RateLimited,
    RecordKind,
    RecordStatus,
    Ruling,
    SessionInvalid,
)
from marketplaces.adapters.pinduoduo import (
    NotSupportedByPlatform,
    PinduoduoAdapter,
    pmc_ack,
    pmc_push_message,
    pmc_sign,
    raise_for_answer,
    record_from_list_item,
    record_from_pair,
    sign,
)

CREDENTIALS = Credentials(
    app_key="abc", app_secret="sec", access_token="tok", shop_id="1001", gateway_url="http://pdd.test/api/router"
)


def test_the_rest_signature_is_upper_md5_of_sorted_key_values_between_secrets_skipping_nulls():
    params = {
        "type": "pdd.refund.agree",
        "client_id": "abc",
        "access_token": "tok",
        "timestamp": 1700000000,
        "data_type": "JSON",
        "version": "V1",
        "after_sales_id": "123",
        "order_sn": "240101-1",
        "order_sns": ["240101-1", "240101-2"],  # an object parameter: signed as its JSON text
        "operate_desc": None,  # null: left out
    }
    # hashlib.md5(b'secaccess_tokentokafter_sales_id123client_idabcdata_typeJSONorder_sn240101-1'
    #             b'order_sns["240101-1","240101-2"]timestamp1700000000typepdd.refund.agreeversionV1sec')
    #     .hexdigest().upper()
    assert sign(params, "sec") == "37BDD57C46ACC334144F447923A0395F"


def test_the_pmc_sign_is_base64_of_the_lower_hex_md5_of_client_id_ts_ms_and_secret():
    # base64(hashlib.md5(b"abc1700000000123sec").hexdigest().encode())
    assert pmc_sign(client_id="abc", timestamp_ms=1700000000123, secret="sec") == (
        "MDkwNmJiMjM3MzRhYmZjODUxNGQxNmNiYmY2OTE4MDg="
    )


def _capturing(answer: dict):
    sent: list[dict] = []

    def respond(request: httpx.Request) -> httpx.Response:
        sent.append(dict(parse_qsl(request.content.decode())))
        return httpx.Response(200, json=answer)

    return sent, PinduoduoAdapter(transport=httpx.MockTransport(respond))


def test_a_call_sends_the_common_parameters_in_seconds_and_objects_as_json_text():
    sent, adapter = _capturing({"x_response": {"ok": 1}})

    body = adapter.call(CREDENTIALS, "pdd.refund.agree", {"after_sales_id": "9", "extra": {"a": 1}}, now=1700000000)

    assert body == {"ok": 1}
    [form] = sent
    assert {key: form[key] for key in ("type", "client_id", "access_token", "timestamp", "data_type", "version")} == {
        "type": "pdd.refund.agree",
        "client_id": "abc",
        "access_token": "tok",
        "timestamp": "1700000000",
        "data_type": "JSON",
        "version": "V1",
    }
    assert form["extra"] == '{"a":1}'
    # The form as sent verifies under the documented rule, worked out here from the received text.
    import hashlib

    text = "".join(f"{key}{value}" for key, value in sorted(form.items()) if key != "sign")
    assert form["sign"] == hashlib.md5(f"sec{text}sec".encode()).hexdigest().upper()  # noqa: S324


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (10019, SessionInvalid),
        (52101, RateLimited),
        (52102, RateLimited),
        (52103, RateLimited),
        (70031, RateLimited),
        (10001, BusinessRefusal),
    ],
)
def test_error_codes_map_to_typed_errors(code, error):
    with pytest.raises(error) as raised:
        raise_for_answer({"error_response": {"error_code": code, "error_msg": "说明", "request_id": "r"}})
    assert raised.value.message == "说明"
    assert raised.value.code == str(code)


def test_a_5xx_or_a_timeout_is_an_unknown_outcome():
    def respond(request):
        return httpx.Response(502, text="bad gateway")

    def hang(request):
        raise httpx.ReadTimeout("slow", request=request)

    for transport in (httpx.MockTransport(respond), httpx.MockTransport(hang)):
        with pytest.raises(OutcomeUnknown):
            PinduoduoAdapter(transport=transport).call(CREDENTIALS, "pdd.refund.agree", {})


# Every status code MARKETPLACES.md lists.
STATUS_CASES = {
    0: RecordStatus.CLOSED,
    2: RecordStatus.WAITING_SELLER,
    3: RecordStatus.WAITING_SELLER,
    4: RecordStatus.REFUNDING,
    5: RecordStatus.REFUNDING,
    6: RecordStatus.SELLER_REFUSED,
    7: RecordStatus.WAITING_BUYER_RETURN,
    8: RecordStatus.PLATFORM_REVIEW,
    9: RecordStatus.CLOSED,
    10: RecordStatus.SUCCEEDED,
    11: RecordStatus.CLOSED_BY_BUYER,
    12: RecordStatus.CLOSED,
    13: RecordStatus.CLOSED,
    14: RecordStatus.WAITING_SELLER,
    15: RecordStatus.UNKNOWN,
    16: RecordStatus.SUCCEEDED,
    17: RecordStatus.CLOSED,
    18: RecordStatus.WAITING_BUYER_RECEIPT,
    21: RecordStatus.WAITING_SELLER,
    22: RecordStatus.WAITING_BUYER_RETURN,
    24: RecordStatus.CLOSED,
    25: RecordStatus.SUCCEEDED,
    27: RecordStatus.WAITING_BUYER_RECEIPT,
    31: RecordStatus.WAITING_BUYER_RETURN,
    32: RecordStatus.SELLER_SHIPPING,
    33: RecordStatus.WAITING_SELLER,
    19: RecordStatus.UNKNOWN,  # not in the list: kept as UNKNOWN with its code
}


def _item(**fields) -> dict:
    return {
        "id": 555,
        "order_sn": "240101-77",
        "after_sales_type": 1,
        "after_sales_status": 2,
        "refund_amount": "59.90",
        "after_sale_reason": "不想要了",
        "created_time": "2026-12-04 10:00:00",
        "updated_time": "2026-12-04 10:05:00",
        **fields,
    }


@pytest.mark.parametrize(("code", "expected"), list(STATUS_CASES.items()))
def test_every_status_maps(code, expected):
    record = record_from_list_item(_item(after_sales_status=code))
    assert (record.status, record.platform_status) == (expected, str(code))


def test_rulings_and_a_shipped_return():
    assert record_from_list_item(_item(after_sales_status=5)).ruling == Ruling.FOR_BUYER
    assert record_from_list_item(_item(after_sales_status=9)).ruling == Ruling.FOR_MERCHANT
    shipped = record_from_list_item(
        _item(after_sales_type=2, after_sales_status=3, tracking_number="SF1", shipping_name="顺丰")
    )
    assert (shipped.status, shipped.return_tracking_number, shipped.return_courier) == (
        RecordStatus.RETURN_SHIPPED,
        "SF1",
        "顺丰",
    )


@pytest.mark.parametrize(
    ("record_type", "kind"),
    [
        # The record's numbering (list item and detail) …
        (1, RecordKind.REFUND_ONLY),
        (2, RecordKind.RETURN_REFUND),
        (3, RecordKind.EXCHANGE),
        (4, RecordKind.RESHIP),
        (5, RecordKind.REPAIR),
        (6, RecordKind.UNKNOWN),  # the filter's 6 维修 is no record type
        (9, RecordKind.UNKNOWN),
    ],
)
def test_the_records_type_numbering_is_not_the_list_filters(record_type, kind):
    record = record_from_list_item(_item(after_sales_type=record_type))
    assert (record.kind, record.platform_kind) == (kind, str(record_type))


def test_the_pull_asks_the_filters_all_types_value_and_one_window_of_at_most_30_minutes():
    sent, adapter = _capturing({"refund_increment_get_response": {"total_count": 150, "refund_list": []}})
    start = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)

    page = adapter.pull(CREDENTIALS, start=start, end=start + timedelta(minutes=30), page=1)

    [form] = sent
    # 1 is 全部 in the list filter (2 would be 仅退款 there, while a record's 2 is 退货退款).
    assert (form["after_sales_type"], form["page"], form["page_size"]) == ("1", "1", "100")
    assert int(form["end_updated_at"]) - int(form["start_updated_at"]) == 1800
    assert (page.has_more, page.next_page) == (True, 2)
    with pytest.raises(ValueError, match="30 minutes"):
        adapter.pull(CREDENTIALS, start=start, end=start + timedelta(minutes=31), page=1)
    assert adapter.pull_window_max_seconds == 1800


def test_amounts_are_the_lists_yuan_and_the_details_integer_is_never_money():
    item = _item(refund_amount="59.90", updated_time="2026-12-04 10:05:00")
    detail = {**item, "refund_amount": 5990, "expire_time": "2026-12-06 10:05:00"}

    record = record_from_pair(item, detail)

    assert record.amount == Decimal("59.90")
    assert record.deadline == datetime(2026, 12, 6, 2, 5, tzinfo=UTC)  # China time → UTC
    assert record.modified_at == datetime(2026, 12, 4, 2, 5, tzinfo=UTC)
    assert record.platform_id == "240101-77:555"


def _record(**changes) -> AfterSaleRecord:
    return record_from_list_item(_item(**changes))


@pytest.mark.parametrize(
    "write",
    [
        lambda adapter: adapter.refuse(CREDENTIALS, _record(), reason="no", evidence=[]),
        lambda adapter: adapter.request_intercept(CREDENTIALS, _record(), courier="SF", tracking_number="1"),
        lambda adapter: adapter.send_message(CREDENTIALS, _record(), text="hi", images=[]),
    ],
)
def test_writes_with_no_verified_method_are_refused_for_the_agent_and_send_nothing(write):
    sent, adapter = _capturing({"x_response": {}})
    with pytest.raises(BusinessRefusal) as raised:
        write(adapter)
    assert isinstance(raised.value, NotSupportedByPlatform)
    assert raised.value.code == "not_supported"
    assert sent == []


def test_a_pmc_frame_only_names_the_record_and_its_ack_echoes_it():
    frame = {
        "id": "77",
        "commandType": "Common",
        "time": 1,
        "sendTime": 2,
        "message": {
            "type": "pdd_refund_RefundCreated",
            "mallID": 1001,
            "content": json.dumps({"refund_id": 555, "tid": "240101-77"}),
        },
    }

    message = pmc_push_message(frame)

    assert (message.platform_id, message.shop_id, message.record) == ("240101-77:555", "1001", None)
    ack = pmc_ack(frame)
    assert {key: ack[key] for key in ("commandType", "id", "sendTime", "type", "mallID")} == {
        "commandType": "Ack",
        "id": "77",
        "sendTime": 2,
        "type": "pdd_refund_RefundCreated",
        "mallID": 1001,
    }
    assert pmc_push_message({**frame, "message": {"content": "{not json"}}) is None
    assert pmc_push_message({**frame, "message": {"content": {"refund_id": 1}}}) is None  # no order: unreadable
