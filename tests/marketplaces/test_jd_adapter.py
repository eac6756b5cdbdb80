"""京东 JOS, the adapter alone: its signature against a vector worked out by hand from MARKETPLACES.md §4, the wire
parameters it sends, the mapping of both kinds of record (every refund application status, the service order codes
it knows and the ones it does not), the one amount conversion, how JD's answers become typed errors, and that JD's
push door refuses everything."""

import json
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import parse_qsl

import httpx
import pytest

from marketplaces.adapters import get_adapter
from marketplaces.adapters import jd as jd_module
from marketplaces.adapters.base import (
    BusinessRefusal,
    Credentials,
    OutcomeUnknown,
    RateLimited,
    RecordKind,
    RecordStatus,
    RefundAgreement,
    SessionInvalid,
    SignatureInvalid,
)
from marketplaces.adapters.jd import JdAdapter, jd_sign, refund_application, service_order

CREDENTIALS = Credentials(
    app_key="ak123",
    app_secret="jd-secret",
    access_token="tok456",
    shop_id="10086",
    gateway_url="http://jd.test/routerjson",
)


def test_the_signature_matches_a_vector_worked_out_by_hand():
    params = {
        "method": "jingdong.pop.afs.soa.refundapply.queryPageList",
        "app_key": "ak123",
        "access_token": "tok456",
        "timestamp": "2026-11-11 08:00:00",
        "v": "2.0",
        "format": "json",
        "360buy_param_json": '{"pageIndex":1,"pageSize":50}',
        "empty": "",  # skipped
    }
    # Sorted by key ("360buy_param_json" first: a digit sorts before letters), key+value, secret on both sides:
    # printf '%s' 'jd-secret360buy_param_json{"pageIndex":1,"pageSize":50}access_tokentok456app_keyak123formatjson
    # methodjingdong.pop.afs.soa.refundapply.queryPageListtimestamp2026-11-11 08:00:00v2.0jd-secret' | md5sum
    assert jd_sign(params, "jd-secret") == "9F690F6F4899CBE6CD70ADA85B6BED0F"
    assert jd_sign({**params, "sign": "ignored"}, "jd-secret") == "9F690F6F4899CBE6CD70ADA85B6BED0F"


class Recorder:
    """An httpx transport that keeps the form it was sent and answers with a fixed body."""

    def __init__(self, answer=None, status: int = 200, raises: Exception | None = None):
        self.answer, self.status, self.raises = answer, status, raises
        self.forms: list[dict] = []
        self.paths: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.forms.append(dict(parse_qsl(request.content.decode(), keep_blank_values=True)))
        self.paths.append(request.url.path)
        if self.raises is not None:
            raise self.raises
        if isinstance(self.answer, bytes):
            return httpx.Response(self.status, content=self.answer)
        return httpx.Response(self.status, json=self.answer)


@pytest.fixture
def wire(monkeypatch):
    def install(**kwargs) -> Recorder:
        recorder = Recorder(**kwargs)
        monkeypatch.setattr(jd_module, "_client", httpx.Client(transport=httpx.MockTransport(recorder)))
        return recorder

    return install


def test_a_call_sends_the_documented_parameters_signed_at_routerjson(wire, time_machine):
    time_machine.move_to(datetime(2026, 11, 11, 0, 0, 5, tzinfo=UTC))
    method = "jingdong.asc.query.view"
    recorder = wire(answer={"jingdong_asc_query_view_responce": {"code": "0", "result": {"success": True}}})

    body = JdAdapter().call(CREDENTIALS, method, {"serviceId": "7", "buId": "10086"})

    [form] = recorder.forms
    assert recorder.paths == ["/routerjson"]
    assert body["code"] == "0"
    assert set(form) == {"method", "app_key", "access_token", "timestamp", "v", "format", "360buy_param_json", "sign"}
    assert (form["timestamp"], form["v"], form["format"]) == ("2026-11-11 08:00:05", "2.0", "json")  # Beijing time
    assert json.loads(form["360buy_param_json"]) == {"serviceId": "7", "buId": "10086"}
    assert form["sign"] == jd_sign({k: v for k, v in form.items() if k != "sign"}, "jd-secret")


REFUND_STATUSES = {
    "0": RecordStatus.WAITING_SELLER,
    "1": RecordStatus.REFUNDING,
    "2": RecordStatus.SELLER_REFUSED,
    "3": RecordStatus.SUCCEEDED,
    "4": RecordStatus.CLOSED,
    "5": RecordStatus.REFUNDING,
    "6": RecordStatus.REFUNDING,
    "7": RecordStatus.REFUNDING,
    "8": RecordStatus.UNKNOWN,
    "9": RecordStatus.REFUNDING,
    "10": RecordStatus.UNKNOWN,
    "11": RecordStatus.CLOSED_BY_BUYER,
}


@pytest.mark.parametrize(("status", "expected"), REFUND_STATUSES.items())
def test_every_refund_application_status_is_mapped_and_its_code_kept(status, expected):
    raw = {"id": 501, "orderId": 9001, "applyRefundSum": "59.00", "applyTime": "2026-11-11 08:00:00", "status": status}

    record = refund_application(raw)

    assert (record.status, record.platform_status, record.kind) == (expected, status, RecordKind.REFUND_ONLY)
    assert (record.platform_id, record.order_id, record.amount) == ("refundapply:501", "9001", Decimal("59.00"))
    assert record.applied_at == datetime(2026, 11, 11, 0, 0, tzinfo=UTC)
    assert record.refunded_amount == (Decimal("59.00") if status == "3" else None)


def test_a_refund_applications_later_stage_orders_after_an_earlier_one_in_the_same_second():
    raw = {"id": 1, "orderId": 2, "applyRefundSum": "1", "applyTime": "2026-11-11 08:00:00", "checkTime": ""}
    waiting = refund_application({**raw, "status": "0"})
    agreed = refund_application({**raw, "status": "1", "checkTime": "2026-11-11 08:01:00"})
    paid = refund_application({**raw, "status": "3", "checkTime": "2026-11-11 08:01:00"})

    assert agreed.modified_at == datetime(2026, 11, 11, 0, 1, tzinfo=UTC)
    assert (waiting.modified_at, int(waiting.version)) < (agreed.modified_at, int(agreed.version))
    assert (agreed.modified_at, int(agreed.version)) < (paid.modified_at, int(paid.version))


@pytest.mark.parametrize(
    ("expect", "status", "tracking", "kind", "mapped"),
    [
        ("10", "10", "", RecordKind.RETURN_REFUND, RecordStatus.WAITING_SELLER),
        ("20", "20", "", RecordKind.EXCHANGE, RecordStatus.SELLER_REFUSED),
        ("30", "31", "", RecordKind.REPAIR, RecordStatus.WAITING_BUYER_RETURN),
        ("10", "31", "JDV0001", RecordKind.RETURN_REFUND, RecordStatus.RETURN_SHIPPED),
        ("10", "32", "JDV0001", RecordKind.RETURN_REFUND, RecordStatus.WAITING_SELLER_CONFIRM),
        ("10", "50", "", RecordKind.RETURN_REFUND, RecordStatus.SUCCEEDED),
        ("10", "60", "", RecordKind.RETURN_REFUND, RecordStatus.CLOSED_BY_BUYER),
        # Codes nobody verified: UNKNOWN, JD's own code kept for the agent.
        ("40", "33", "", RecordKind.UNKNOWN, RecordStatus.UNKNOWN),
        ("", "", "", RecordKind.UNKNOWN, RecordStatus.UNKNOWN),
    ],
)
def test_service_orders_map_the_codes_they_can_and_keep_the_others(expect, status, tracking, kind, mapped):
    raw = {
        "serviceId": 880,
        "orderId": "9002",
        "customerExpect": expect,
        "serviceStatus": status,
        "applyTime": "2026-11-11 09:00:00",
        "updateTime": "2026-11-11 09:30:00",
        "sysVersion": 4,
        "expressCode": "jd",
        "expressNo": tracking,
    }

    record = service_order(raw)

    assert (record.kind, record.status) == (kind, mapped)
    assert (record.platform_kind, record.platform_status) == (expect, status)
    assert (record.platform_id, record.version) == ("asc:880", "4")
    assert record.modified_at == datetime(2026, 11, 11, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("answer", "status", "error", "message"),
    [
        (
            {"error_response": {"code": "19", "zh_desc": "token已过期或者不存在，请重新授权"}},
            200,
            SessionInvalid,
            "token",
        ),
        ({"error_response": {"code": "60", "zh_desc": "调用过于频繁，超过流量限制"}}, 200, RateLimited, "频繁"),
        ({"error_response": {"code": "99", "zh_desc": "系统异常"}}, 200, OutcomeUnknown, "系统异常"),
        ({"m_responce": {"code": "10100", "zhDesc": "退款审核单已审核"}}, 200, BusinessRefusal, "已审核"),
        (
            {"m_responce": {"code": "0", "replyResult": {"success": False, "errorMessage": "不允许"}}},
            200,
            BusinessRefusal,
            "不允许",
        ),
        ({"something": "else"}, 200, OutcomeUnknown, "m_responce"),
        ({"error": "internal"}, 500, OutcomeUnknown, "HTTP 500"),
        (b"<html>busy</html>", 200, OutcomeUnknown, "not JSON"),
    ],
)
def test_jds_answers_become_typed_errors(wire, answer, status, error, message):
    wire(answer=answer, status=status)

    with pytest.raises(error) as raised:
        JdAdapter().call(CREDENTIALS, "m", {})

    assert message in raised.value.message


def test_a_timeout_on_a_write_is_an_unknown_outcome(wire):
    wire(raises=httpx.ReadTimeout("slow"))

    with pytest.raises(OutcomeUnknown):
        JdAdapter().agree_refunds(CREDENTIALS, [RefundAgreement("refundapply:5", Decimal("1.00"), "0")])


def test_one_refund_application_per_agreement_call():
    assert JdAdapter().batch_limits(CREDENTIALS)[0] == 1
    with pytest.raises(ValueError, match="split"):
        JdAdapter().agree_refunds(
            CREDENTIALS,
            [RefundAgreement("refundapply:5", Decimal("1"), "0"), RefundAgreement("refundapply:6", Decimal("1"), "0")],
        )


def test_the_amount_is_read_in_one_place_as_yuan():
    assert jd_module.yuan_from_platform("59") == Decimal("59.00")
    assert jd_module.yuan_from_platform(12.5) == Decimal("12.50")
    for bad in ("abc", "-1", "NaN", True):
        with pytest.raises(jd_module.PlatformError):
            jd_module.yuan_from_platform(bad)


def test_jd_is_registered_and_refuses_every_push():
    adapter = get_adapter("jd")

    assert isinstance(adapter, JdAdapter)
    assert adapter.registers_returns_received is True
    assert adapter.pull_window_max_seconds <= 3600
    with pytest.raises(SignatureInvalid):
        adapter.verify_push(CREDENTIALS, headers={}, body=b"[]")


def test_an_id_of_neither_kind_is_refused_before_anything_is_sent(wire):
    recorder = wire(answer={})

    with pytest.raises(BusinessRefusal):
        JdAdapter().read(CREDENTIALS, "12345")

    assert recorder.forms == []


def test_an_unreadable_list_answer_is_a_platform_error_not_a_crash(wire):
    start = datetime(2026, 11, 11, tzinfo=UTC)
    list_body = {"code": "0", "queryResult": {"success": True, "result": [], "totalCount": "many"}}
    wire(answer={"jingdong_pop_afs_soa_refundapply_queryPageList_responce": list_body})

    with pytest.raises(jd_module.PlatformError):
        JdAdapter().pull(CREDENTIALS, start=start, end=start, page=1)


def test_one_pull_walks_applied_then_checked_refund_applications_then_service_orders(wire):
    start = datetime(2026, 11, 11, tzinfo=UTC)
    recorder = wire(
        answer={
            "jingdong_pop_afs_soa_refundapply_queryPageList_responce": {
                "code": "0",
                "queryResult": {"success": True, "result": [], "totalCount": 0},
            }
        }
    )
    adapter = JdAdapter()

    first = adapter.pull(CREDENTIALS, start=start, end=start, page=1)
    second = adapter.pull(CREDENTIALS, start=start, end=start, page=first.next_page)

    params = [json.loads(form["360buy_param_json"]) for form in recorder.forms]
    assert "applyTimeStart" in params[0]
    assert "checkTimeStart" in params[1]
    assert (first.has_more, second.has_more) == (True, True)
    assert second.next_page is not None
    assert {form["method"] for form in recorder.forms} == {"jingdong.pop.afs.soa.refundapply.queryPageList"}
