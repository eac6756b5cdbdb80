"""The tracking webhooks through the Django test client: a signed push of each format moves the shop's parcels, the
same push again stores nothing, a late older scan leaves the parcel at its latest one, and every refused push (bad
signature, malformed, unknown shop, wrong method) is a 4xx with its reason that stores nothing. A fuzz of random
bodies checks that no input gets a 500.

Answers are read in English (the language cookie), since the zh-hans catalogue gets these messages later."""

import base64
import hashlib
import hmac
import json
from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from aftersales.models import Order
from logistics.models import Shipment, TrackingAccount, TrackingEvent, TrackingProvider
from logistics.services import courier_upsert, shipments_create_for_orders
from tests.factories import ShopFactory, shipped_order

pytestmark = pytest.mark.django_db

CHINA = ZoneInfo("Asia/Shanghai")
# Orders are shipped three days before now (18:00 on the 21st); the scans follow.
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=CHINA)
COLLECTED = "2026-11-21 19:00:00"
IN_TRANSIT = "2026-11-22 08:00:00"
DELIVERING = "2026-11-23 09:00:00"
DELIVERED = "2026-11-23 15:30:00"
SALT = "k100-salt"
APP_KEY = "kdn-app-key"
BUSINESS_ID = "1683526"
BULK_KEY = "bulk-hmac-key"
FORM = "application/x-www-form-urlencoded"
K100_ACCEPTED = {"result": True, "returnCode": "200", "message": "成功"}
NOT_SIGNED = "The push is not signed."
BAD_SIGNATURE = "The signature does not match the shop's key."
NO_ACCOUNT = "Unknown shop, or the shop has no active account with this provider."


def china(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA)


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def client(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def shop():
    shop = ShopFactory(code="hz-flagship")
    TrackingAccount.objects.create(shop=shop, provider=TrackingProvider.KUAIDI100, signing_key=SALT)
    TrackingAccount.objects.create(
        shop=shop, provider=TrackingProvider.KDNIAO, account_id=BUSINESS_ID, signing_key=APP_KEY
    )
    TrackingAccount.objects.create(shop=shop, provider=TrackingProvider.BULK, signing_key=BULK_KEY)
    return shop


@pytest.fixture(autouse=True)
def couriers():
    courier_upsert(code="SF", name="顺丰速运", kuaidi100_code="shunfeng", kdniao_code="SF")
    courier_upsert(code="YTO", name="圆通速递", kuaidi100_code="yuantong", kdniao_code="YTO")


@pytest.fixture
def order(shop) -> Order:
    # The first push registers the parcel of a shipped order.
    return shipped_order(shop=shop, courier_code="SF", tracking_number="SF1400000001")


def events_of(number: str) -> list[tuple[str, str]]:
    return [
        (event.scanned_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S"), event.status)
        for event in TrackingEvent.objects.filter(tracking_number=number).order_by("scanned_at")
    ]


# --- building pushes the way each sender does -----------------------------------------------------------------------


def kuaidi100_url(shop_code: str = "hz-flagship") -> str:
    return reverse("logistics:kuaidi100_push", args=[shop_code])


def kdniao_url(shop_code: str = "hz-flagship") -> str:
    return reverse("logistics:kdniao_push", args=[shop_code])


def bulk_url(shop_code: str = "hz-flagship") -> str:
    return reverse("logistics:tracking_push", args=[shop_code])


def k100_form(number: str, items: list, *, com: str = "shunfeng", state: str = "0", salt: str = SALT) -> dict:
    param = json.dumps(
        {
            "status": "polling",
            "billstatus": "got",
            "message": "",
            "lastResult": {
                "message": "ok",
                "state": state,
                "status": "200",
                "ischeck": "0",
                "com": com,
                "nu": number,
                "data": items,
            },
        },
        ensure_ascii=False,
    )
    return {"param": param, "sign": hashlib.md5((param + salt).encode(), usedforsecurity=False).hexdigest().upper()}


def k100_item(time: str, code: str, word: str, context: str = "快件已到达【杭州转运中心】") -> dict:
    return {
        "context": context,
        "time": time,
        "ftime": time,
        "status": word,
        "statusCode": code,
        "areaName": "浙江,杭州市",
    }


def post_k100(client, form: dict, url: str | None = None):
    return client.post(url or kuaidi100_url(), urlencode(form), content_type=FORM)


def kdn_form(parcels: list, *, business_id: str = BUSINESS_ID, key: str = APP_KEY) -> dict:
    request_data = json.dumps(
        {"EBusinessID": business_id, "PushTime": "2026-11-24 11:59:00", "Count": str(len(parcels)), "Data": parcels},
        ensure_ascii=False,
    )
    digest = hashlib.md5((request_data + key).encode(), usedforsecurity=False).hexdigest()
    return {
        "RequestData": request_data,
        "DataSign": base64.b64encode(digest.encode()).decode(),
        "RequestType": "101",
    }


def kdn_parcel(number: str, traces: list, shipper: str = "SF", state: str = "2") -> dict:
    return {
        "EBusinessID": BUSINESS_ID,
        "ShipperCode": shipper,
        "LogisticCode": number,
        "Success": True,
        "State": state,
        "Traces": traces,
    }


def kdn_trace(time: str, action: str, station: str = "快件已到达【杭州转运中心】") -> dict:
    return {"AcceptTime": time, "AcceptStation": station, "Location": "杭州市", "Action": action}


def post_kdn(client, form: dict, url: str | None = None):
    return client.post(url or kdniao_url(), urlencode(form), content_type=FORM)


def kdn_answer(success: bool = True, reason: str = "", business_id: str = BUSINESS_ID) -> dict:
    return {"EBusinessID": business_id, "UpdateTime": "2026-11-24 12:00:00", "Success": success, "Reason": reason}


def bulk_event(number: str, time: str, status: str, courier: str = "SF") -> dict:
    return {
        "courier": courier,
        "tracking_number": number,
        "time": time,
        "status": status,
        "text": "扫描",
        "location": "杭州",
    }


def post_bulk(client, payload, *, key: str = BULK_KEY, url: str | None = None, **headers):
    body = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
    headers.setdefault("X-Signature", "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest())
    # The test client leaves out the Content-Type of an empty body; a real sender does not.
    return client.post(
        url or bulk_url(), body, content_type="application/json", headers=headers, CONTENT_TYPE="application/json"
    )


# --- accepted pushes ------------------------------------------------------------------------------------------------


def test_kuaidi100_push_stores_its_scans_and_delivers_the_parcel(client, order):
    items = [
        k100_item(DELIVERED, "3", "签收", "已签收，签收人凭取货码签收"),
        k100_item(DELIVERING, "5", "派件"),
        k100_item(IN_TRANSIT, "0", "在途"),
    ]

    response = post_k100(client, k100_form("SF1400000001", items, state="3"))

    assert (response.status_code, response.json()) == (200, K100_ACCEPTED)
    assert events_of("SF1400000001") == [
        (IN_TRANSIT, "in_transit"),
        (DELIVERING, "delivering"),
        (DELIVERED, "delivered"),
    ]
    shipment = Shipment.objects.get(order=order)
    assert shipment.status == Shipment.Status.DELIVERED
    assert shipment.last_scan_at == china(DELIVERED)
    assert shipment.delivered_at == china(DELIVERED)
    assert shipment.last_scan_text == "浙江,杭州市 已签收，签收人凭取货码签收"
    assert set(TrackingEvent.objects.values_list("source", flat=True)) == {"kuaidi100"}


def test_kdniao_push_moves_each_of_its_parcels(client, shop, order):
    other = shipped_order(shop=shop, courier_code="YTO", tracking_number="YT9000000002")
    parcels = [
        kdn_parcel("SF1400000001", [kdn_trace(COLLECTED, "1"), kdn_trace(DELIVERED, "301", "已签收")], state="3"),
        kdn_parcel("YT9000000002", [kdn_trace(IN_TRANSIT, "2"), kdn_trace(DELIVERING, "202")], shipper="YTO"),
    ]

    response = post_kdn(client, kdn_form(parcels))

    assert (response.status_code, response.json()) == (200, kdn_answer())
    assert events_of("SF1400000001") == [(COLLECTED, "collected"), (DELIVERED, "delivered")]
    assert events_of("YT9000000002") == [(IN_TRANSIT, "in_transit"), (DELIVERING, "delivering")]
    delivered, on_its_way = Shipment.objects.get(order=order), Shipment.objects.get(order=other)
    assert (delivered.status, delivered.last_scan_at) == (Shipment.Status.DELIVERED, china(DELIVERED))
    assert (on_its_way.status, on_its_way.last_scan_at) == (Shipment.Status.IN_TRANSIT, china(DELIVERING))
    assert set(TrackingEvent.objects.values_list("source", flat=True)) == {"kdniao"}


def test_bulk_push_stores_its_events_and_answers_the_counts(client, order):
    payload = {
        "events": [
            bulk_event("SF1400000001", "2026-11-22T08:00:00+08:00", "in_transit"),
            bulk_event("sf 1400000001", "2026-11-23T07:30:00Z", "delivered"),
        ]
    }

    response = post_bulk(client, payload)

    assert (response.status_code, response.json()) == (200, {"stored": 2, "duplicates": 0, "unknown": 0})
    assert events_of("SF1400000001") == [(IN_TRANSIT, "in_transit"), (DELIVERED, "delivered")]
    shipment = Shipment.objects.get(order=order)
    assert (shipment.status, shipment.last_scan_at) == (Shipment.Status.DELIVERED, china(DELIVERED))


def test_a_push_of_a_registered_replacement_parcel_moves_it_too(client, shop):
    order = shipped_order(shop=shop, courier_code="YTO", tracking_number="YT9000000003")
    [shipment] = shipments_create_for_orders([order])

    response = post_k100(client, k100_form("YT9000000003", [k100_item(IN_TRANSIT, "0", "在途")], com="yuantong"))

    assert response.status_code == 200
    shipment.refresh_from_db()
    assert (shipment.status, shipment.last_scan_at) == (Shipment.Status.IN_TRANSIT, china(IN_TRANSIT))


# --- duplicates and order -------------------------------------------------------------------------------------------


def test_the_same_kuaidi100_push_twice_stores_nothing_new(client, order):
    form = k100_form("SF1400000001", [k100_item(DELIVERING, "5", "派件"), k100_item(IN_TRANSIT, "0", "在途")])
    post_k100(client, form)

    again = post_k100(client, form)

    assert (again.status_code, again.json()) == (200, K100_ACCEPTED)
    assert TrackingEvent.objects.count() == 2


def test_the_same_kdniao_push_twice_stores_nothing_new(client, order):
    form = kdn_form([kdn_parcel("SF1400000001", [kdn_trace(COLLECTED, "1"), kdn_trace(IN_TRANSIT, "2")])])
    post_kdn(client, form)

    again = post_kdn(client, form)

    assert (again.status_code, again.json()) == (200, kdn_answer())
    assert TrackingEvent.objects.count() == 2


def test_the_same_bulk_push_twice_counts_duplicates(client, order):
    payload = {"events": [bulk_event("SF1400000001", "2026-11-22T08:00:00+08:00", "in_transit")]}
    post_bulk(client, payload)

    again = post_bulk(client, payload)

    assert (again.status_code, again.json()) == (200, {"stored": 0, "duplicates": 1, "unknown": 0})
    assert TrackingEvent.objects.count() == 1


def test_a_scan_pushed_by_both_aggregators_is_stored_once(client, order):
    post_k100(client, k100_form("SF1400000001", [k100_item(IN_TRANSIT, "0", "在途")]))

    post_kdn(client, kdn_form([kdn_parcel("SF1400000001", [kdn_trace(IN_TRANSIT, "2")])]))

    assert TrackingEvent.objects.count() == 1


def test_an_older_scan_arriving_late_leaves_a_delivered_parcel_delivered(client, order):
    post_kdn(client, kdn_form([kdn_parcel("SF1400000001", [kdn_trace(DELIVERED, "301")], state="3")]))

    late = post_k100(client, k100_form("SF1400000001", [k100_item(DELIVERING, "5", "派件")]))
    later = post_bulk(client, {"events": [bulk_event("SF1400000001", "2026-11-22T08:00:00+08:00", "in_transit")]})

    assert late.status_code == 200
    assert later.json() == {"stored": 1, "duplicates": 0, "unknown": 0}
    assert events_of("SF1400000001") == [
        (IN_TRANSIT, "in_transit"),
        (DELIVERING, "delivering"),
        (DELIVERED, "delivered"),
    ]
    shipment = Shipment.objects.get(order=order)
    assert (shipment.status, shipment.last_scan_at, shipment.delivered_at) == (
        Shipment.Status.DELIVERED,
        china(DELIVERED),
        china(DELIVERED),
    )


def test_of_two_scans_at_the_same_time_the_later_listed_one_counts(client, shop, order):
    other = shipped_order(shop=shop, courier_code="YTO", tracking_number="YT9000000002")
    same_time = [kdn_trace(DELIVERED, "202"), kdn_trace(DELIVERED, "301")]
    at = "2026-11-23T15:30:00+08:00"

    post_kdn(client, kdn_form([kdn_parcel("SF1400000001", same_time)]))
    post_bulk(
        client,
        {
            "events": [
                bulk_event("YT9000000002", at, "delivering", "YTO"),
                bulk_event("YT9000000002", at, "delivered", "YTO"),
            ]
        },
    )

    assert Shipment.objects.get(order=order).status == Shipment.Status.DELIVERED
    assert Shipment.objects.get(order=other).status == Shipment.Status.DELIVERED


# --- parcels that are not the shop's --------------------------------------------------------------------------------


def test_another_shops_tracking_number_is_counted_unknown_and_not_stored(client, order):
    shipped_order(shop=ShopFactory(), courier_code="SF", tracking_number="SF1400000999")
    payload = {
        "events": [
            bulk_event("SF1400000001", "2026-11-22T08:00:00+08:00", "in_transit"),
            bulk_event("SF1400000999", "2026-11-22T08:00:00+08:00", "in_transit"),
            bulk_event("SF1400000999", "2026-11-22T09:00:00+08:00", "delivering"),
        ]
    }

    response = post_bulk(client, payload)

    assert response.json() == {"stored": 1, "duplicates": 0, "unknown": 2}
    assert events_of("SF1400000999") == []
    assert not Shipment.objects.filter(tracking_number="SF1400000999").exists()


def test_an_aggregator_push_for_another_shops_parcel_is_answered_and_stores_nothing(client, order):
    shipped_order(shop=ShopFactory(), courier_code="SF", tracking_number="SF1400000999")

    k100 = post_k100(client, k100_form("SF1400000999", [k100_item(IN_TRANSIT, "0", "在途")]))
    kdn = post_kdn(client, kdn_form([kdn_parcel("SF1400000999", [kdn_trace(IN_TRANSIT, "2")])]))

    assert (k100.status_code, k100.json()) == (200, K100_ACCEPTED)
    assert (kdn.status_code, kdn.json()) == (200, kdn_answer())
    assert not TrackingEvent.objects.exists()


def test_a_push_naming_another_courier_does_not_touch_the_parcel(client, order):
    response = post_k100(client, k100_form("SF1400000001", [k100_item(IN_TRANSIT, "0", "在途")], com="yuantong"))

    assert response.status_code == 200
    assert not TrackingEvent.objects.exists()


def test_a_courier_we_have_not_mapped_is_matched_by_number_alone(client, order):
    response = post_kdn(client, kdn_form([kdn_parcel("SF1400000001", [kdn_trace(IN_TRANSIT, "2")], shipper="XYZ")]))

    assert response.status_code == 200
    assert events_of("SF1400000001") == [(IN_TRANSIT, "in_transit")]


# --- refusals -------------------------------------------------------------------------------------------------------


def test_kuaidi100_push_with_a_bad_signature_is_refused_and_stores_nothing(client, order):
    form = k100_form("SF1400000001", [k100_item(DELIVERED, "3", "签收")], salt="another salt")

    response = post_k100(client, form)

    assert (response.status_code, response.json()) == (
        403,
        {"result": False, "returnCode": "403", "message": BAD_SIGNATURE},
    )
    assert not TrackingEvent.objects.exists()
    assert not Shipment.objects.exists()


def test_kdniao_push_with_a_bad_signature_is_refused_and_stores_nothing(client, order):
    form = kdn_form([kdn_parcel("SF1400000001", [kdn_trace(DELIVERED, "301")])], key="another key")

    response = post_kdn(client, form)

    assert (response.status_code, response.json()) == (403, kdn_answer(False, BAD_SIGNATURE))
    assert not TrackingEvent.objects.exists()


def test_kdniao_push_for_another_account_is_refused(client, order):
    form = kdn_form([kdn_parcel("SF1400000001", [kdn_trace(DELIVERED, "301")])], business_id="999")

    response = post_kdn(client, form)

    reason = "The push is for another Kdniao account (EBusinessID)."
    assert (response.status_code, response.json()) == (403, kdn_answer(False, reason))
    assert not TrackingEvent.objects.exists()


@pytest.mark.parametrize(
    "headers",
    [{"X-Signature": ""}, {"X-Signature": "sha256=" + "0" * 64}, {"X-Signature": "sha256=签名"}],
)
def test_bulk_push_with_a_bad_signature_is_refused_and_stores_nothing(client, order, headers):
    payload = {"events": [bulk_event("SF1400000001", "2026-11-22T08:00:00+08:00", "in_transit")]}

    response = post_bulk(client, payload, **headers)

    reason = NOT_SIGNED if not headers["X-Signature"] else BAD_SIGNATURE
    assert (response.status_code, response.json()) == (403, {"error": reason})
    assert not TrackingEvent.objects.exists()


def test_bulk_push_signed_with_another_key_is_refused(client, order):
    response = post_bulk(client, {"events": []}, key="kuaidi100's salt")

    assert (response.status_code, response.json()) == (403, {"error": BAD_SIGNATURE})


def signed_k100(param: str) -> dict:
    return {"param": param, "sign": hashlib.md5((param + SALT).encode(), usedforsecurity=False).hexdigest().upper()}


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        ({}, "param: is missing."),
        ({"param": ""}, "param: is missing."),
        (signed_k100("not json"), "param: is not valid JSON."),
        (signed_k100('{"lastResult": []}'), "lastResult: must be an object."),
        (signed_k100('{"lastResult": {"data": []}}'), "lastResult.nu: must be a string."),
        (
            signed_k100('{"lastResult": {"nu": "SF1400000001", "data": [{"time": "22/11/2026 08:00"}]}}'),
            "lastResult.data[0].time: must be a time written YYYY-MM-DD HH:MM:SS (China time).",
        ),
        (
            signed_k100('{"lastResult": {"nu": "SF1400000001", "data": [{"time": 1732233600}]}}'),
            "lastResult.data[0].time: must be a time written YYYY-MM-DD HH:MM:SS (China time).",
        ),
    ],
)
def test_malformed_kuaidi100_push_is_refused_with_its_reason(client, order, form, reason):
    response = post_k100(client, form)

    assert (response.status_code, response.json()) == (400, {"result": False, "returnCode": "400", "message": reason})
    assert not TrackingEvent.objects.exists()


def test_a_kuaidi100_push_with_one_bad_item_stores_none_of_its_items(client, order):
    items = [k100_item(DELIVERED, "3", "签收"), k100_item("yesterday", "0", "在途")]

    response = post_k100(client, k100_form("SF1400000001", items))

    assert response.status_code == 400
    assert not TrackingEvent.objects.exists()
    assert not Shipment.objects.exists()


def signed_kdn(request_data: str) -> dict:
    digest = hashlib.md5((request_data + APP_KEY).encode(), usedforsecurity=False).hexdigest()
    return {"RequestData": request_data, "DataSign": base64.b64encode(digest.encode()).decode(), "RequestType": "101"}


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        ({}, "RequestData: is missing."),
        (signed_kdn("{'EBusinessID': 1}"), "RequestData: is not valid JSON."),
        (signed_kdn('{"EBusinessID": "1683526", "Data": {}}'), "Data: must be a list."),
        (
            signed_kdn(
                '{"EBusinessID": "1683526", "Data": [{"LogisticCode": "SF1400000001", "Traces": [{"AcceptTime": ""}]}]}'
            ),
            "Data[0].Traces[0].AcceptTime: must be a time written YYYY-MM-DD HH:MM:SS (China time).",
        ),
        ({**signed_kdn("{}"), "RequestType": "102"}, "Only track pushes (RequestType 101) are accepted here."),
    ],
)
def test_malformed_kdniao_push_is_refused_with_its_reason(client, order, form, reason):
    response = post_kdn(client, form)

    assert (response.status_code, response.json()) == (400, kdn_answer(False, reason))
    assert not TrackingEvent.objects.exists()


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "The body is empty."),
        (b"{events:", "body: is not valid JSON."),
        ({"event": []}, "events: is missing."),
        ({"events": "SF1400000001"}, "events: must be a list."),
        ({"events": []}, "There are no events."),
    ],
)
def test_malformed_bulk_body_is_refused_with_its_reason(client, order, payload, reason):
    response = post_bulk(client, payload)

    assert (response.status_code, response.json()) == (400, {"error": reason})


def test_bulk_push_with_bad_events_lists_them_and_stores_none(client, order):
    payload = {
        "events": [
            bulk_event("SF1400000001", "2026-11-22T08:00:00+08:00", "in_transit"),
            bulk_event("SF1400000001", "2026-11-23T15:30:00", "delivered"),
            bulk_event("SF1400000001", "2026-11-23T15:30:00+08:00", "签收"),
        ]
    }

    response = post_bulk(client, payload)

    assert response.status_code == 400
    assert response.json() == {
        "error": "2 of 3 events are invalid; nothing was stored.",
        "errors": [
            {"index": 1, "reason": "events[1].time: has no UTC offset; add one, e.g. +08:00 for China time."},
            {
                "index": 2,
                "reason": "events[2].status: must be one of collected, in_transit, delivering, problem, delivered, "
                "returning, returned.",
            },
        ],
    }
    assert not TrackingEvent.objects.exists()
    assert not Shipment.objects.exists()


def test_bulk_push_that_is_not_json_is_refused_as_unsupported(client, order):
    response = client.post(bulk_url(), {"events": "x"})

    assert (response.status_code, response.json()) == (415, {"error": "Send the events as application/json."})


def test_bulk_push_above_the_size_limit_is_refused(client, order, monkeypatch):
    monkeypatch.setattr("logistics.webhooks.BULK_MAX_BYTES", 100)
    payload = {"events": [bulk_event("SF1400000001", "2026-11-22T08:00:00+08:00", "in_transit")] * 2}

    response = post_bulk(client, payload)

    assert (response.status_code, response.json()) == (413, {"error": "The request is too large."})


def test_bulk_push_with_too_many_events_is_refused(client, order, monkeypatch):
    monkeypatch.setattr("logistics.tracking_formats.MAX_SCANS", 2)
    payload = {
        "events": [bulk_event("SF1400000001", f"2026-11-22T0{hour}:00:00+08:00", "in_transit") for hour in "123"]
    }

    response = post_bulk(client, payload)

    assert (response.status_code, response.json()) == (413, {"error": "Too many scans: at most 2 per request."})
    assert not TrackingEvent.objects.exists()


@pytest.mark.parametrize("shop_code", ["no-such-shop", "hz flagship", "hz%00flagship", "%E5%BA%97%E9%93%BA", "x" * 41])
def test_a_push_to_an_unknown_shop_is_not_found(client, order, shop_code):
    k100 = post_k100(client, k100_form("SF1400000001", []), url=f"/logistics/webhooks/kuaidi100/{shop_code}/")
    kdn = post_kdn(client, kdn_form([]), url=f"/logistics/webhooks/kdniao/{shop_code}/")
    bulk = post_bulk(client, {"events": []}, url=f"/logistics/webhooks/tracking/{shop_code}/")

    assert (k100.status_code, k100.json()) == (404, {"result": False, "returnCode": "404", "message": NO_ACCOUNT})
    assert (kdn.status_code, kdn.json()) == (404, kdn_answer(False, NO_ACCOUNT, business_id=""))
    assert (bulk.status_code, bulk.json()) == (404, {"error": NO_ACCOUNT})


def test_a_push_for_an_inactive_or_missing_account_is_not_found(client, shop, order):
    TrackingAccount.objects.filter(shop=shop, provider=TrackingProvider.KUAIDI100).update(is_active=False)
    TrackingAccount.objects.filter(shop=shop, provider=TrackingProvider.BULK).delete()
    form = k100_form("SF1400000001", [k100_item(IN_TRANSIT, "0", "在途")])

    k100 = post_k100(client, form)
    bulk = post_bulk(client, {"events": [bulk_event("SF1400000001", "2026-11-22T08:00:00+08:00", "in_transit")]})

    assert (k100.status_code, k100.json()) == (404, {"result": False, "returnCode": "404", "message": NO_ACCOUNT})
    assert (bulk.status_code, bulk.json()) == (404, {"error": NO_ACCOUNT})
    assert not TrackingEvent.objects.exists()


def test_another_shops_key_does_not_open_this_shops_webhook(client, order):
    other = ShopFactory(code="sh-outlet")
    TrackingAccount.objects.create(shop=other, provider=TrackingProvider.KUAIDI100, signing_key="outlet salt")

    response = post_k100(client, k100_form("SF1400000001", [k100_item(IN_TRANSIT, "0", "在途")], salt="outlet salt"))

    assert response.status_code == 403
    assert not TrackingEvent.objects.exists()


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_only_post_is_allowed(client, shop, method):
    assert kuaidi100_url() == "/logistics/webhooks/kuaidi100/hz-flagship/"
    answers = {
        kuaidi100_url(): {"result": False, "returnCode": "405", "message": "Only POST is accepted."},
        kdniao_url(): kdn_answer(False, "Only POST is accepted.", business_id=""),
        bulk_url(): {"error": "Only POST is accepted."},
    }
    for url, answer in answers.items():
        response = getattr(client, method)(url)

        assert (response.status_code, response.json(), response["Allow"]) == (405, answer, "POST")


def test_answers_are_json_in_chinese_by_default(shop):
    response = Client().get(kuaidi100_url())

    assert response["Content-Type"] == "application/json"
    assert response["Content-Language"] == "zh-hans"


# --- cost -----------------------------------------------------------------------------------------------------------


def test_a_push_costs_the_same_queries_for_one_parcel_or_twenty(client, shop, django_assert_num_queries):
    numbers = [f"SF14000001{index:02d}" for index in range(21)]
    for number in numbers:
        shipments_create_for_orders([shipped_order(shop=shop, courier_code="SF", tracking_number=number)])

    def push(numbers, time):
        parcels = [
            kdn_parcel(number, [kdn_trace(time, "2"), kdn_trace(time.replace("08", "09"), "202")]) for number in numbers
        ]
        return kdn_form(parcels)

    with django_assert_num_queries(8) as one:
        post_kdn(client, push(numbers[:1], IN_TRANSIT))
    with django_assert_num_queries(len(one.captured_queries)):
        response = post_kdn(client, push(numbers[1:], IN_TRANSIT))

    assert response.status_code == 200
    assert TrackingEvent.objects.count() == 42


# --- fuzz -----------------------------------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
TIMES = st.sampled_from([IN_TRANSIT, "2026-11-22 08:00", "2026-13-01 00:00:00", "", "2099-01-01 00:00:00"])
CODES = st.one_of(st.none(), st.integers(-5, 2000), st.text(max_size=5), st.sampled_from(["0", "3", "301", "14"]))
K100_ITEM = st.fixed_dictionaries(
    {},
    optional={
        "time": TIMES | JSON,
        "ftime": TIMES | JSON,
        "context": JSON,
        "status": JSON,
        "statusCode": CODES,
        "areaName": JSON,
    },
)
K100_PUSH = st.fixed_dictionaries(
    {},
    optional={
        "status": JSON,
        "lastResult": st.fixed_dictionaries(
            {},
            optional={
                "nu": st.sampled_from(["SF1400000001", "", " ", "X" * 50]) | JSON,
                "com": JSON,
                "state": CODES,
                "data": st.lists(K100_ITEM, max_size=4) | JSON,
            },
        )
        | JSON,
    },
)
KDN_TRACE = st.fixed_dictionaries(
    {}, optional={"AcceptTime": TIMES | JSON, "AcceptStation": JSON, "Location": JSON, "Action": CODES}
)
KDN_PUSH = st.fixed_dictionaries(
    {"EBusinessID": st.sampled_from([BUSINESS_ID]) | JSON},
    optional={
        "Data": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "LogisticCode": st.sampled_from(["SF1400000001"]) | JSON,
                    "ShipperCode": JSON,
                    "State": CODES,
                    "StateEx": CODES,
                    "Traces": st.lists(KDN_TRACE, max_size=3) | JSON,
                },
            )
            | JSON,
            max_size=3,
        )
        | JSON,
    },
)
BULK_EVENT = st.fixed_dictionaries(
    {},
    optional={
        "courier": st.sampled_from(["SF", ""]) | JSON,
        "tracking_number": st.sampled_from(["SF1400000001"]) | JSON,
        "time": st.sampled_from(["2026-11-22T08:00:00+08:00", "2026-11-22T08:00:00", "9999-12-31T23:59:59-23:59"])
        | JSON,
        "status": st.sampled_from(["in_transit", "delivered"]) | JSON,
        "text": JSON,
        "location": JSON,
    },
)
FORM_FIELDS = st.dictionaries(
    st.sampled_from(["param", "sign", "RequestData", "DataSign", "RequestType", "EBusinessID", "x"]),
    st.text(max_size=40),
    max_size=5,
)
FUZZ = hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(form=FORM_FIELDS, raw=st.binary(max_size=200))
def test_random_unsigned_forms_and_bodies_never_get_a_500(client, order, form, raw):
    for url in (kuaidi100_url(), kdniao_url()):
        assert post_k100(client, form, url=url).status_code < 500
        assert client.post(url, raw, content_type=FORM).status_code < 500
        assert client.post(url, raw, content_type="multipart/form-data; boundary=x").status_code < 500
    assert client.post(bulk_url(), raw, content_type="application/json").status_code < 500
    assert post_bulk(client, raw).status_code < 500


@FUZZ
@given(push=K100_PUSH | JSON)
def test_random_signed_kuaidi100_pushes_never_get_a_500(client, order, push):
    response = post_k100(client, signed_k100(json.dumps(push)))

    assert response.status_code < 500
    assert response.json()["result"] is (response.status_code == 200)


@FUZZ
@given(push=KDN_PUSH | JSON)
def test_random_signed_kdniao_pushes_never_get_a_500(client, order, push):
    response = post_kdn(client, signed_kdn(json.dumps(push)))

    assert response.status_code < 500
    assert response.json()["Success"] is (response.status_code == 200)


@FUZZ
@given(payload=st.fixed_dictionaries({"events": st.lists(BULK_EVENT, max_size=4) | JSON}) | JSON)
def test_random_signed_bulk_bodies_never_get_a_500(client, order, payload):
    response = post_bulk(client, json.dumps(payload).encode())

    assert response.status_code < 500
    assert ("stored" in response.json()) is (response.status_code == 200)
