"""抖店 after-sales pushes: signed messages open, move and withdraw tickets through the ticket services; replays
change nothing; a bad signature, a malformed body or an unmapped reason is a 4xx that writes nothing."""

import hashlib
import hmac
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from aftersales.models import AfterSalesTicket, Platform, ReturnReason, TicketEvent, TicketState
from aftersales.selectors import system_user
from aftersales.services import ticket_agree_return
from marketplaces.douyin_push import REASONS
from tests.factories import ShopFactory, delivered_order

pytestmark = pytest.mark.django_db

URL = "/api/v1/marketplaces/douyin/push/"
APP_KEY, APP_SECRET = "7100000000000000001", "s3cret"
APPLIED = int(datetime(2026, 11, 11, 2, 0, tzinfo=UTC).timestamp())


@pytest.fixture(autouse=True)
def douyin_app(settings):
    settings.DOUYIN_APP_KEY, settings.DOUYIN_APP_SECRET = APP_KEY, APP_SECRET


@pytest.fixture
def order():
    shop = ShopFactory(code="dy", platform=Platform.objects.get(code="douyin"), platform_shop_id="88001")
    return delivered_order(shop=shop, platform_order_id="6920000000000001", paid_amount=Decimal("129.00"))


def message(tag: int, **data) -> dict:
    return {"tag": str(tag), "msg_id": f"m-{tag}-{data.get('aftersale_id')}", "data": json.dumps(data)}


def created(**overrides) -> dict:
    data = {
        "shop_id": 88001,
        "aftersale_id": 7300000000001,
        "p_id": "6920000000000001",
        "aftersale_type": 0,
        "reason": "质量问题",
        "refund_amount": 12900,
        "apply_time": APPLIED,
        "buyer_message": "开线了",
        **overrides,
    }
    return message(200, **data)


def push(messages, *, sign_method="md5", secret=APP_SECRET, language="en"):
    body = json.dumps(messages).encode()
    text = APP_KEY.encode() + body + secret.encode()
    if sign_method == "md5":
        signature = hashlib.md5(text).hexdigest()  # noqa: S324 - the platform's scheme
    else:
        signature = hmac.new(secret.encode(), text, hashlib.sha256).hexdigest()
    return APIClient().post(
        URL,
        body,
        content_type="application/json",
        HTTP_EVENT_SIGN=signature,
        HTTP_SIGN_METHOD=sign_method,
        HTTP_ACCEPT_LANGUAGE=language,
    )


def test_a_refund_created_push_opens_a_return_ticket_with_the_mapped_reason_and_amount_in_yuan(order):
    answer = push([created()])

    assert answer.status_code == 200, answer.content
    assert (answer.json()["code"], answer.json()["results"][0]["outcome"]) == (0, "opened")
    ticket = AfterSalesTicket.objects.get()
    assert (ticket.platform_ticket_id, ticket.kind, ticket.path, ticket.state) == (
        "7300000000001",
        "return_refund",
        4,
        TicketState.REQUESTED,
    )
    assert (ticket.first_reason.code, ticket.requested_amount) == ("quality_defect", Decimal("129.00"))
    assert ticket.opened_at == datetime(2026, 11, 11, 2, 0, tzinfo=UTC)
    assert ticket.buyer_message == "开线了"


def test_a_replayed_push_and_the_hmac_signature_change_nothing_more(order):
    first = push([created()])
    again = push([created()], sign_method="hmac-sha256")

    assert again.status_code == 200
    assert again.json()["results"][0]["outcome"] == "replayed"
    assert again.json()["results"][0]["ticket_id"] == first.json()["results"][0]["ticket_id"]
    assert AfterSalesTicket.objects.count() == 1
    assert TicketEvent.objects.filter(action="opened").count() == 1


def test_the_buyer_ships_the_agreed_return_then_cancels_a_second_request(order):
    push([created(), created(aftersale_id=7300000000002, aftersale_type=1, refund_amount=0, reason="少件/漏发")])
    early = push([message(203, shop_id=88001, aftersale_id=7300000000001, tracking_no="YT9001")])
    ticket_agree_return(ticket=AfterSalesTicket.objects.get(platform_ticket_id="7300000000001"), by=system_user())
    shipped = message(203, shop_id=88001, aftersale_id=7300000000001, logistics_code="yto", tracking_no="yt 9001")
    cancelled = message(207, shop_id=88001, aftersale_id=7300000000002, close_reason="buyer_cancel")

    answer = push([shipped, cancelled])
    replay = push([shipped, cancelled])

    assert (early.status_code, early.json()["results"][0]["code"]) == (400, "wrong_state")  # not agreed yet
    assert [result["outcome"] for result in answer.json()["results"]] == ["recorded", "recorded"]
    assert [result["outcome"] for result in replay.json()["results"]] == ["replayed", "replayed"]
    returned = AfterSalesTicket.objects.get(platform_ticket_id="7300000000001")
    withdrawn = AfterSalesTicket.objects.get(platform_ticket_id="7300000000002")
    assert (returned.state, returned.return_courier_code, returned.return_tracking_number) == (
        TicketState.RETURN_IN_TRANSIT,
        "YTO",
        "YT9001",
    )
    assert withdrawn.state == TicketState.CANCELLED
    assert withdrawn.requested_amount == Decimal("129.00")  # 0 fen asked: the whole order, as the platform means


def test_a_bad_signature_is_refused_and_writes_nothing(order):
    answer = push([created()], secret="wrong")

    assert (answer.status_code, answer.json()["code"]) == (403, "bad_signature")
    assert not AfterSalesTicket.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"tag": "200"},
        [],
        ["not a message"],
        [{"tag": "200", "data": "{not json"}],
        [{"tag": "200", "data": "[1, 2]"}],
        [created(aftersale_type="0")],
        [created(apply_time=-5)],
        [created(p_id=None)],
        [created(refund_amount=-1)],
        [created(shop_id="88001\u0000")],
    ],
)
def test_a_malformed_push_is_a_4xx_with_its_reason_and_writes_nothing(order, body):
    answer = push(body)

    assert answer.status_code == 400, answer.content
    assert answer.json()["code"] in ("invalid_push", "push_refused")
    assert answer.json()["message"]
    assert not AfterSalesTicket.objects.exists()


def test_an_unmapped_reason_or_unknown_order_is_refused_alone_while_the_good_message_is_applied(order):
    answer = push(
        [
            created(reason="外星人抢走了"),
            created(aftersale_id=7300000000003, p_id="nope"),
            created(aftersale_id=7300000000004),
        ],
    )

    assert answer.status_code == 400
    assert [(r["outcome"], r["code"]) for r in answer.json()["results"]] == [
        ("refused", "unknown_reason"),
        ("refused", "unknown_order"),
        ("opened", ""),
    ]
    assert "外星人抢走了" in answer.json()["message"]
    assert list(AfterSalesTicket.objects.values_list("platform_ticket_id", flat=True)) == ["7300000000004"]


def test_every_mapped_douyin_reason_names_a_reason_of_the_taxonomy():
    assert set(REASONS.values()) <= set(ReturnReason.objects.values_list("code", flat=True))


def push_bytes(body: bytes):
    signature = hashlib.md5(APP_KEY.encode() + body + APP_SECRET.encode()).hexdigest()  # noqa: S324
    return APIClient().post(URL, body, content_type="application/json", HTTP_EVENT_SIGN=signature)


@pytest.mark.parametrize(
    "data",
    [
        '{"shop_id": "88001", "aftersale_id": "7300\\ud800", "p_id": "6920000000000001"}',
        '{"shop_id": "88001", "aftersale_id": "7300\\u0000", "p_id": "6920000000000001"}',
        '{"a": ' + "[" * 5000 + "]" * 5000 + "}",
    ],
)
def test_a_signed_push_with_a_lone_surrogate_a_nul_or_deep_nesting_is_refused_and_writes_nothing(order, data):
    answer = push_bytes(json.dumps([{"tag": "200", "msg_id": "m", "data": data}]).encode())

    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_push"
    assert not AfterSalesTicket.objects.exists()


def test_a_signed_push_with_raw_invalid_utf8_or_5000_deep_json_is_refused(order):
    assert push_bytes(b'[{"tag": "200", "msg_id": "\xed\xa0\x80", "data": {}}]').status_code == 400
    assert push_bytes(b"[" * 5000 + b"]" * 5000).status_code == 400
    assert not AfterSalesTicket.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("aftersale_id", "7" * 65), ("p_id", "6" * 65), ("buyer_message", 12), ("buyer_message", "x" * 2001)],
)
def test_an_over_long_id_or_a_message_that_is_not_text_is_refused_before_the_database(order, field, value):
    answer = push([created(**{field: value})])

    assert answer.status_code == 400
    assert field in answer.json()["message"]
    assert not AfterSalesTicket.objects.exists()
