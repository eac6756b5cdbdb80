"""Reading the tracking pushes (logistics.tracking_formats), without a database: signatures computed the way the
aggregators document them, every status code's meaning, China-time stamps, and every malformed push refused with the
field it is about. Messages are checked in English (the zh-hans catalogue is filled in later)."""

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import translation

from logistics.models import TrackingStatus
from logistics.services import Scan
from logistics.tracking_formats import (
    PushRejected,
    bulk_scans,
    bulk_sign,
    kdniao_scans,
    kdniao_sign,
    kdniao_status,
    kuaidi100_scans,
    kuaidi100_sign,
)

CHINA = ZoneInfo("Asia/Shanghai")
SALT = "k100-salt"
APP_KEY = "kdn-app-key"
BULK_KEY = "bulk-key"
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=CHINA)
COURIERS = {"shunfeng": "SF", "yuantong": "YTO", "SF": "SF", "YTO": "YTO"}


@pytest.fixture(autouse=True)
def _english_and_frozen():
    with translation.override("en"), time_machine.travel(NOW, tick=False):
        yield


def known_couriers(codes):
    return {code: COURIERS[code] for code in codes if code in COURIERS}


def china(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA)


def refusal(call) -> tuple[int, str]:
    with pytest.raises(PushRejected) as caught:
        call()
    return caught.value.status, caught.value.reason


# --- Kuaidi100 ------------------------------------------------------------------------------------------------------


def k100_form(last_result: dict, *, salt: str = SALT) -> dict:
    param = json.dumps({"status": "polling", "billstatus": "got", "message": "", "lastResult": last_result})
    return {"param": param, "sign": hashlib.md5((param + salt).encode(), usedforsecurity=False).hexdigest().upper()}


def k100_last(data, **fields) -> dict:
    return {
        "message": "ok",
        "state": "0",
        "status": "200",
        "ischeck": "0",
        "com": "yuantong",
        "nu": "yt1",
        **fields,
        "data": data,
    }


def k100_item(time: str, **fields) -> dict:
    return {"context": "【杭州】已发出", "time": time, "ftime": time, **fields}


def read_k100(form):
    return kuaidi100_scans(form, signing_key=SALT, couriers=known_couriers)


def test_kuaidi100_signature_is_the_upper_case_md5_of_param_and_salt():
    assert kuaidi100_sign('{"a":1}', "salt") == hashlib.md5(b'{"a":1}salt', usedforsecurity=False).hexdigest().upper()


def test_a_kuaidi100_push_becomes_its_scans_newest_first_in_china_time():
    data = [
        k100_item("2026-11-23 15:30:00", status="签收", statusCode="3", areaName="浙江,杭州市", context="已签收"),
        k100_item("2026-11-22 08:00:00", status="在途", statusCode="0"),
    ]

    scans = read_k100(k100_form(k100_last(data, nu=" yt 123 ")))

    assert scans == [
        Scan("YTO", "YT123", china("2026-11-23 15:30:00"), TrackingStatus.DELIVERED, "已签收", "浙江,杭州市"),
        Scan("YTO", "YT123", china("2026-11-22 08:00:00"), TrackingStatus.IN_TRANSIT, "【杭州】已发出", ""),
    ]
    assert scans[0].scanned_at == datetime(2026, 11, 23, 7, 30, tzinfo=ZoneInfo("UTC"))


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("0", "in_transit"),
        ("1", "collected"),
        ("2", "problem"),
        ("3", "delivered"),
        ("4", "returned"),
        ("5", "delivering"),
        ("6", "returning"),
        ("7", "in_transit"),
        ("8", "in_transit"),
        ("14", "returning"),
        (14, "returning"),
        ("103", "collected"),
        ("1001", "in_transit"),
        ("204", "problem"),
        ("301", "delivered"),
        ("304", "delivered"),
        ("401", "problem"),
        ("501", "delivering"),
        ("99", "in_transit"),
    ],
)
def test_kuaidi100_status_codes_map_to_our_statuses(code, status):
    [scan] = read_k100(k100_form(k100_last([k100_item("2026-11-22 08:00:00", statusCode=code, status="在途")])))

    assert scan.status == status


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("在途", "in_transit"),
        ("揽收", "collected"),
        ("疑难", "problem"),
        ("签收", "delivered"),
        ("退签", "returned"),
        ("派件", "delivering"),
        ("退回", "returning"),
        ("转投", "in_transit"),
        ("清关", "in_transit"),
        ("拒签", "returning"),
        ("别的", "in_transit"),
    ],
)
def test_kuaidi100_status_words_count_when_there_is_no_code(word, status):
    [scan] = read_k100(k100_form(k100_last([k100_item("2026-11-22 08:00:00", status=word)], state="3")))

    assert scan.status == status


def test_kuaidi100_last_result_state_speaks_for_the_newest_item_only():
    data = [k100_item("2026-11-23 15:30:00"), k100_item("2026-11-22 08:00:00")]

    newest, older = read_k100(k100_form(k100_last(data, state="3")))

    assert (newest.status, older.status) == ("delivered", "in_transit")


def test_kuaidi100_time_without_seconds_and_ftime_preferred():
    item = {"context": "x", "time": "garbage", "ftime": "2026-11-22 08:00"}

    [scan] = read_k100(k100_form(k100_last([item])))

    assert scan.scanned_at == datetime(2026, 11, 22, 8, 0, tzinfo=CHINA)


def test_kuaidi100_courier_we_do_not_map_leaves_the_code_empty():
    [scan] = read_k100(k100_form(k100_last([k100_item("2026-11-22 08:00:00")], com="jtexpress")))

    assert scan.courier_code == ""


def test_kuaidi100_abort_push_without_data_has_no_scans():
    form = k100_form({"message": "3天查询无记录", "state": "0", "status": "abort", "com": "yuantong", "nu": "YT1"})

    assert read_k100(form) == []


def test_kuaidi100_lower_case_signature_is_accepted():
    form = k100_form(k100_last([]))

    assert read_k100({**form, "sign": form["sign"].lower()}) == []


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ({"sign": "X"}, (400, "param: is missing.")),
        ({"param": "{}"}, (403, "The push is not signed.")),
        ({"param": "{}", "sign": "0" * 32}, (403, "The signature does not match the shop's key.")),
        ({"param": "{}", "sign": "签名"}, (403, "The signature does not match the shop's key.")),
    ],
)
def test_kuaidi100_push_without_a_good_signature_is_refused(form, expected):
    assert refusal(lambda: read_k100(form)) == expected


def signed_k100_param(param: str) -> dict:
    return {"param": param, "sign": kuaidi100_sign(param, SALT)}


@pytest.mark.parametrize(
    ("param", "expected"),
    [
        ("not json", "param: is not valid JSON."),
        ("[" * 100_000, "param: The JSON is nested too deeply (at most 64 levels)."),
        ("[1]", "param: must be an object."),
        ("{}", "lastResult: must be an object."),
        ('{"lastResult": {"data": []}}', "lastResult.nu: must be a string."),
        ('{"lastResult": {"nu": "  ", "data": []}}', "lastResult.nu: is empty."),
        ('{"lastResult": {"nu": "' + "9" * 41 + '"}}', "lastResult.nu: is not a tracking number."),
        ('{"lastResult": {"nu": "SF\\u00001"}}', "param: The JSON holds a NUL character or an unpaired surrogate."),
        ('{"lastResult": {"nu": "SF1", "com": 5}}', "lastResult.com: must be a string."),
        ('{"lastResult": {"nu": "SF1", "state": "signed"}}', "lastResult.state: must be a status code."),
        ('{"lastResult": {"nu": "SF1", "data": {}}}', "lastResult.data: must be a list."),
        ('{"lastResult": {"nu": "SF1", "data": ["x"]}}', "lastResult.data[0]: must be an object."),
        (
            '{"lastResult": {"nu": "SF1", "data": [{"context": "x"}]}}',
            "lastResult.data[0].time: must be a time written YYYY-MM-DD HH:MM:SS (China time).",
        ),
        (
            '{"lastResult": {"nu": "SF1", "data": [{"time": "2026-11-22T08:00:00+08:00"}]}}',
            "lastResult.data[0].time: must be a time written YYYY-MM-DD HH:MM:SS (China time).",
        ),
        (
            '{"lastResult": {"nu": "SF1", "data": [{"time": "2026-11-31 08:00:00"}]}}',
            "lastResult.data[0].time: must be a time written YYYY-MM-DD HH:MM:SS (China time).",
        ),
        (
            '{"lastResult": {"nu": "SF1", "data": [{"time": "2099-11-22 08:00:00"}]}}',
            "lastResult.data[0].time: is not a plausible scan time (before 2000 or in the future).",
        ),
        (
            '{"lastResult": {"nu": "SF1", "data": [{"time": "0001-01-01 00:00:00"}]}}',
            "lastResult.data[0].time: is not a plausible scan time (before 2000 or in the future).",
        ),
        (
            '{"lastResult": {"nu": "SF1", "data": [{"time": "2026-11-22 08:00:00", "context": 3}]}}',
            "lastResult.data[0].context: must be a string.",
        ),
        (
            '{"lastResult": {"nu": "SF1", "data": [{"time": "2026-11-22 08:00:00", "statusCode": true}]}}',
            "lastResult.data[0].statusCode: must be a status code.",
        ),
    ],
)
def test_malformed_kuaidi100_push_is_refused_with_the_field_it_is_about(param, expected):
    assert refusal(lambda: read_k100(signed_k100_param(param))) == (400, expected)


def test_a_scan_an_hour_ahead_of_our_clock_is_still_plausible():
    ahead = (NOW + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")

    [scan] = read_k100(k100_form(k100_last([k100_item(ahead)])))

    assert scan.scanned_at == NOW + timedelta(hours=1)


@pytest.mark.parametrize("escape", ["\\u0000", "\\ud800"])
def test_a_push_with_characters_postgresql_cannot_store_is_refused(escape):
    context = json.dumps({"time": "2026-11-22 08:00:00", "context": "a"})[:-2] + escape + 'b"}'
    param = '{"lastResult": {"nu": "SF1", "data": [%s]}}' % context  # noqa: UP031 - braces would need escaping

    with pytest.raises(PushRejected) as caught:
        read_k100(signed_k100_param(param))

    assert caught.value.status == 400
    assert "param" in caught.value.reason


# --- Kdniao ---------------------------------------------------------------------------------------------------------


def kdn_form(data: list, *, business_id: str = "1683526", key: str = APP_KEY, request_type: str = "101") -> dict:
    request_data = json.dumps(
        {"EBusinessID": business_id, "PushTime": "2026-11-24 11:59:00", "Count": str(len(data)), "Data": data},
        ensure_ascii=False,
    )
    digest = hashlib.md5((request_data + key).encode(), usedforsecurity=False).hexdigest()
    return {
        "RequestData": request_data,
        "DataSign": base64.b64encode(digest.encode()).decode(),
        "RequestType": request_type,
    }


def kdn_parcel(number: str, traces: list, **fields) -> dict:
    return {
        "EBusinessID": "1683526",
        "ShipperCode": "SF",
        "LogisticCode": number,
        "Success": True,
        "State": "2",
        "Traces": traces,
        **fields,
    }


def kdn_trace(time: str, station: str = "【杭州】已发出", **fields) -> dict:
    return {"AcceptTime": time, "AcceptStation": station, **fields}


def read_kdn(form, *, account_id="1683526"):
    return kdniao_scans(form, signing_key=APP_KEY, account_id=account_id, couriers=known_couriers)


def test_kdniao_signature_is_base64_of_the_lower_case_md5_of_data_and_app_key():
    digest = hashlib.md5(b'{"a":1}key', usedforsecurity=False).hexdigest()

    assert kdniao_sign('{"a":1}', "key") == base64.b64encode(digest.encode()).decode()
    assert digest == digest.lower()


def test_a_kdniao_push_becomes_the_scans_of_each_parcel_newest_first():
    data = [
        kdn_parcel(
            "sf1",
            [
                kdn_trace("2026-11-21 19:00:00", "已揽收", Action="1", Location="杭州市"),
                kdn_trace("2026-11-23 15:30:00", "已签收", Action="301", Location="上海市"),
            ],
        ),
        kdn_parcel("YT2", [kdn_trace("2026-11-22 08:00:00")], ShipperCode="JTSD", StateEx="202"),
    ]

    scans = read_kdn(kdn_form(data))

    assert scans == [
        Scan("", "YT2", china("2026-11-22 08:00:00"), TrackingStatus.DELIVERING, "【杭州】已发出", ""),
        Scan("SF", "SF1", china("2026-11-23 15:30:00"), TrackingStatus.DELIVERED, "已签收", "上海市"),
        Scan("SF", "SF1", china("2026-11-21 19:00:00"), TrackingStatus.COLLECTED, "已揽收", "杭州市"),
    ]


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("0", "in_transit"),
        ("1", "collected"),
        ("2", "in_transit"),
        ("201", "in_transit"),
        ("202", "delivering"),
        ("211", "in_transit"),
        ("3", "delivered"),
        ("301", "delivered"),
        ("311", "delivered"),
        ("4", "problem"),
        ("401", "problem"),
        ("404", "returning"),
        ("405", "problem"),
        ("406", "returned"),
        ("407", "returning"),
        ("412", "problem"),
        ("5", "in_transit"),
        ("6", "in_transit"),
        ("601", "in_transit"),
        ("10", "in_transit"),
        (None, "in_transit"),
    ],
)
def test_kdniao_codes_map_to_our_statuses(code, status):
    assert kdniao_status(code) == status


def test_kdniao_parcel_state_speaks_for_its_newest_trace_only_and_state_ex_comes_first():
    parcel = kdn_parcel("SF1", [kdn_trace("2026-11-22 08:00:00"), kdn_trace("2026-11-23 15:30:00")], State="4")
    parcel["StateEx"] = 301

    newest, older = read_kdn(kdn_form([parcel]))

    assert (older.status, newest.status) == ("in_transit", "delivered")


def test_kdniao_signature_padding_and_an_unencoded_plus_do_not_matter():
    form = kdn_form([])
    form["DataSign"] = form["DataSign"].rstrip("=").replace("+", " ")

    assert read_kdn(form) == []


def test_kdniao_account_id_is_not_checked_when_the_shop_has_none():
    assert read_kdn(kdn_form([], business_id="999"), account_id="") == []


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ({"DataSign": "x", "RequestType": "101"}, (400, "RequestData: is missing.")),
        ({"RequestData": "{}", "DataSign": "x"}, (400, "RequestType: is missing.")),
        ({"RequestData": "{}", "RequestType": "101"}, (403, "The push is not signed.")),
        (
            {"RequestData": "{}", "RequestType": "101", "DataSign": "YWJj"},
            (403, "The signature does not match the shop's key."),
        ),
        (kdn_form([], key="another key"), (403, "The signature does not match the shop's key.")),
        (kdn_form([], business_id="999"), (403, "The push is for another Kdniao account (EBusinessID).")),
        (kdn_form([], request_type="102"), (400, "Only track pushes (RequestType 101) are accepted here.")),
    ],
)
def test_kdniao_push_that_is_not_ours_is_refused(form, expected):
    assert refusal(lambda: read_kdn(form)) == expected


def signed_kdn(request_data: str) -> dict:
    return {"RequestData": request_data, "DataSign": kdniao_sign(request_data, APP_KEY), "RequestType": "101"}


@pytest.mark.parametrize(
    ("request_data", "expected"),
    [
        ("{", "RequestData: is not valid JSON."),
        ('"text"', "RequestData: must be an object."),
        ('{"EBusinessID": "1683526", "Data": "x"}', "Data: must be a list."),
        ('{"EBusinessID": "1683526", "Data": [null]}', "Data[0]: must be an object."),
        ('{"EBusinessID": "1683526", "Data": [{"Traces": []}]}', "Data[0].LogisticCode: must be a string."),
        (
            '{"EBusinessID": "1683526", "Data": [{"LogisticCode": "SF1", "State": [2]}]}',
            "Data[0].State: must be a status code.",
        ),
        (
            '{"EBusinessID": "1683526", "Data": [{"LogisticCode": "SF1", "Traces": [{}]}]}',
            "Data[0].Traces[0].AcceptTime: must be a time written YYYY-MM-DD HH:MM:SS (China time).",
        ),
        (
            '{"EBusinessID": "1683526", "Data": [{"LogisticCode": "SF1", "Traces": [{"AcceptTime": '
            '"2026-11-22 08:00:00", "Action": "2a"}]}]}',
            "Data[0].Traces[0].Action: must be a status code.",
        ),
    ],
)
def test_malformed_kdniao_push_is_refused_with_the_field_it_is_about(request_data, expected):
    assert refusal(lambda: read_kdn(signed_kdn(request_data))) == (400, expected)


# --- bulk JSON ------------------------------------------------------------------------------------------------------


def bulk_event(**fields) -> dict:
    return {
        "courier": "SF",
        "tracking_number": "SF1",
        "time": "2026-11-22T08:00:00+08:00",
        "status": "in_transit",
        "text": "到达杭州",
        "location": "杭州",
        **fields,
    }


def read_bulk(payload, *, key: str = BULK_KEY):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
    return bulk_scans(body, signature=signature, signing_key=BULK_KEY)


def test_bulk_signature_is_hmac_sha256_of_the_raw_body():
    assert bulk_sign(b"{}", "k") == "sha256=" + hmac.new(b"k", b"{}", hashlib.sha256).hexdigest()


def test_bulk_events_become_scans_with_any_offset_last_listed_first():
    scans = read_bulk(
        {
            "events": [
                bulk_event(),
                bulk_event(courier=None, time="2026-11-22T00:30:00Z", status="delivered", text=None, location=None),
            ]
        }
    )

    assert scans == [
        Scan("", "SF1", china("2026-11-22 08:30:00"), "delivered", "", ""),
        Scan("SF", "SF1", china("2026-11-22 08:00:00"), "in_transit", "到达杭州", "杭州"),
    ]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"", "The body is empty."),
        (b"\xff\xfe{", "body: is not valid JSON."),
        (b"[]", "body: must be an object."),
        ({}, "events: is missing."),
        ({"events": {}}, "events: must be a list."),
        ({"events": []}, "There are no events."),
    ],
)
def test_malformed_bulk_body_is_refused(payload, expected):
    assert refusal(lambda: read_bulk(payload)) == (400, expected)


def test_every_bad_bulk_event_is_reported_by_index():
    events = [
        bulk_event(),
        "event",
        bulk_event(time="2026-11-22T08:00:00"),
        bulk_event(time="2026-11-22 08:00"),
        bulk_event(time=1732233600),
        bulk_event(status="signed"),
        bulk_event(tracking_number=123),
        bulk_event(courier="顺丰速运有限公司的一个很长很长很长的快递代码"),
        bulk_event(text=["x"]),
    ]

    with pytest.raises(PushRejected) as caught:
        read_bulk({"events": events})

    iso = "must be an ISO 8601 time with its offset, e.g. 2026-11-20T10:00:00+08:00."
    assert caught.value.status == 400
    assert caught.value.reason == "8 of 9 events are invalid; nothing was stored."
    assert caught.value.errors == [
        {"index": 1, "reason": "events[1]: must be an object."},
        {"index": 2, "reason": "events[2].time: has no UTC offset; add one, e.g. +08:00 for China time."},
        {"index": 3, "reason": "events[3].time: has no UTC offset; add one, e.g. +08:00 for China time."},
        {"index": 4, "reason": f"events[4].time: {iso}"},
        {
            "index": 5,
            "reason": "events[5].status: must be one of collected, in_transit, delivering, problem, delivered, "
            "returning, returned.",
        },
        {"index": 6, "reason": "events[6].tracking_number: must be a string."},
        {"index": 7, "reason": "events[7].courier: must be at most 20 printable characters."},
        {"index": 8, "reason": "events[8].text: must be a string."},
    ]


def test_only_the_first_twenty_bad_events_are_listed():
    with pytest.raises(PushRejected) as caught:
        read_bulk({"events": [bulk_event(status="?")] * 25})

    assert caught.value.reason == "25 of 25 events are invalid; nothing was stored."
    assert [error["index"] for error in caught.value.errors] == list(range(20))


def test_too_many_bulk_events_are_refused_as_too_large(monkeypatch):
    monkeypatch.setattr("logistics.tracking_formats.MAX_SCANS", 2)

    assert refusal(lambda: read_bulk({"events": [bulk_event()] * 3})) == (413, "Too many scans: at most 2 per request.")


@pytest.mark.parametrize("signature", [None, "", "sha256=", "sha1=abc", "sha256=" + "0" * 64, "sha256=ü", "Sha256=ABC"])
def test_bulk_body_without_the_shop_signature_is_refused(signature):
    status, _reason = refusal(lambda: bulk_scans(b'{"events": []}', signature=signature, signing_key=BULK_KEY))

    assert status == 403


def test_bulk_signature_hex_case_does_not_matter():
    body = json.dumps({"events": [bulk_event()]}).encode()
    signature = "SHA256=" + hmac.new(BULK_KEY.encode(), body, hashlib.sha256).hexdigest().upper()

    assert len(bulk_scans(body, signature=signature, signing_key=BULK_KEY)) == 1
