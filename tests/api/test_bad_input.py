"""Malformed bodies at the API get 400, 413 or 415 in the one error shape, with nothing written and no message
quoting what cannot be encoded; a wrong JSON type is a field error, never a stored string."""

import json

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from aftersales.models import AfterSalesTicket, TicketEvent
from tests.factories import ShopFactory, delivered_order, make_staff, open_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return ShopFactory(code="bad")


@pytest.fixture
def api(shop):
    client = APIClient()
    client.force_authenticate(make_staff("agent", role="Agent", shops=[shop]))
    return client


@pytest.fixture
def ticket(shop):
    return open_ticket(delivered_order(shop=shop, platform_order_id="O-1"))


def note_url(ticket):
    return f"/api/v1/tickets/{ticket.pk}/actions/note/"


def post(api, url, body: bytes, content_type="application/json"):
    return api.post(url, body, content_type=content_type, HTTP_ACCEPT_LANGUAGE="en")


def test_json_nested_5000_deep_is_a_400_in_the_error_shape(api, ticket):
    events = TicketEvent.objects.count()

    answer = post(api, note_url(ticket), b'{"note": ' + b"[" * 5000 + b"]" * 5000 + b"}")

    assert answer.status_code == 400
    assert answer.json()["code"] == "too_deep"
    assert TicketEvent.objects.count() == events


def test_json_nested_65_deep_is_refused_and_64_is_read(api, ticket):
    too_deep = post(api, note_url(ticket), b'{"note": ' + b"[" * 64 + b"]" * 64 + b"}")
    read = post(api, note_url(ticket), b'{"note": ' + b"[" * 63 + b"]" * 63 + b"}")

    assert (too_deep.status_code, too_deep.json()["code"]) == (400, "too_deep")
    assert (read.status_code, read.json()["code"]) == (400, "invalid")


@pytest.mark.parametrize(
    "body",
    [b'{"note": "a\\ud800b"}', b'{"note": "a\xed\xa0\x80b"}', b'{"note": "a\\u0000b"}', b'{"\\ud800": "n"}'],
)
def test_a_lone_surrogate_or_a_nul_anywhere_in_the_json_is_a_400(api, ticket, body):
    events = TicketEvent.objects.count()

    answer = post(api, note_url(ticket), body)

    assert answer.status_code == 400
    assert set(answer.json()) == {"code", "message"}
    assert TicketEvent.objects.count() == events


def test_a_lone_surrogate_in_a_form_field_is_never_echoed_into_the_error(api, shop, ticket):
    # Through the form parser the text arrives; the unknown code's message quotes it only as far as it is printable.
    answer = api.post(
        "/api/v1/tickets/",
        {"shop": "bad", "platform_order_id": "O-1", "kind": "refund_only", "reason": "no\x07such"},
        format="multipart",
    )

    assert answer.status_code == 400
    message = json.dumps(answer.json()["fields"]["reason"], ensure_ascii=False)
    assert "\x07" not in message
    assert "no\ufffdsuch" in message


def test_a_body_over_the_limit_is_a_413_in_the_error_shape(api, ticket):
    body = b'{"note": "' + b"x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + b'"}'

    answer = post(api, note_url(ticket), body)

    assert answer.status_code == 413
    assert answer.json()["code"] == "too_large"


def test_a_form_body_over_the_limit_is_a_413_too(api, ticket):
    body = b"note=" + b"x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    answer = post(api, note_url(ticket), body, content_type="application/x-www-form-urlencoded")

    assert answer.status_code == 413


def test_a_body_that_is_not_json_is_a_415_or_400(api, ticket):
    assert post(api, note_url(ticket), b"note", content_type="text/plain").status_code == 415
    assert post(api, note_url(ticket), b"{", content_type="application/json").json()["code"] == "parse_error"


@pytest.mark.parametrize("value", [True, 1, [], {}])
def test_a_wrong_json_type_in_a_text_field_is_a_field_error_not_a_stored_string(api, shop, ticket, value):
    body = {"shop": "bad", "platform_order_id": "O-2", "kind": "refund_only", "reason": "changed_mind"}
    delivered_order(shop=shop, platform_order_id="O-2")

    answer = api.post("/api/v1/tickets/", {**body, "platform_ticket_id": value}, format="json")

    assert answer.status_code == 400
    assert "platform_ticket_id" in answer.json()["fields"]
    assert AfterSalesTicket.objects.count() == 1


def test_a_tracking_number_longer_than_its_column_is_refused_before_the_database(api, ticket):
    answer = api.post(
        f"/api/v1/tickets/{ticket.pk}/actions/return_shipped/",
        {"courier_code": "SF", "tracking_number": "SF" + "1" * 58},
        format="json",
    )

    assert answer.status_code == 400
    assert "tracking_number" in answer.json()["fields"]


def test_an_order_field_is_held_to_its_columns_length(api, shop):
    user = make_staff("manager", role="Manager", shops=[shop])
    api.force_authenticate(user)
    order = {
        "shop": "bad",
        "platform_order_id": "O-9",
        "province": "省" * 21,
        "paid_amount": "10.00",
        "paid_at": "2026-11-01T10:00:00+08:00",
        "lines": [{"sku": "A", "item_name": "i", "quantity": 1, "paid_amount": "10.00"}],
    }

    answer = api.post("/api/v1/orders/", order, format="json")

    assert answer.status_code == 400
    assert "province" in answer.json()["fields"]
