"""Complaints (投诉) over the API: recorded on an order of the caller's shops through complaint_record (with its
OrderEvent, and the day it moves marked for the rollups), idempotent by the platform's complaint id, refused with
the house's error shape (a code and a message) when the order, the time or the role is wrong."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from aftersales.models import Complaint, OrderEvent
from metrics.models import DirtyDay
from tests.api.test_foundation import authorised
from tests.factories import OrderFactory, ShopFactory, make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return ShopFactory(code="shanye")


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def order(shop):
    return OrderFactory(shop=shop, platform_order_id="T1001", paid_at=timezone.now() - timedelta(days=20))


def body(**overrides) -> dict:
    return {
        "shop": "shanye",
        "platform_order_id": "T1001",
        "opened_at": (timezone.now() - timedelta(days=1)).isoformat(),
        "channel": "platform",
        "liability": "merchant",
        "note": "买家投诉发货慢",
        "platform_complaint_id": "TS-1",
        **overrides,
    }


def test_an_agent_records_a_complaint_once_by_its_platform_id_with_its_event_and_the_paid_day_marked(api, shop, order):
    authorised(api, make_staff("agent", role="Agent", shops=[shop]))
    created = api.post("/api/v1/complaints/", body(), format="json")
    again = api.post("/api/v1/complaints/", body(note="replayed"), format="json")

    assert created.status_code == 201, created.json()
    assert again.status_code == 200
    assert created.json()["id"] == again.json()["id"]
    complaint = Complaint.objects.get()
    assert (complaint.order, complaint.liability, complaint.note) == (order, "merchant", "买家投诉发货慢")
    assert OrderEvent.objects.filter(order=order, action=OrderEvent.Action.COMPLAINT_RECORDED).count() == 1
    paid_day = timezone.localtime(order.paid_at).date()
    assert DirtyDay.objects.filter(shop=shop, day=paid_day).exists()


def test_another_shops_order_reads_as_unknown_and_nothing_is_recorded(api, shop, order):
    other = ShopFactory(code="other")
    OrderFactory(shop=other, platform_order_id="T2002")
    authorised(api, make_staff("agent", role="Agent", shops=[shop]))

    wrong_shop = api.post("/api/v1/complaints/", body(shop="other", platform_order_id="T2002"), format="json")
    unknown_order = api.post("/api/v1/complaints/", body(platform_order_id="T2002"), format="json")

    assert (wrong_shop.status_code, list(wrong_shop.json()["fields"])) == (400, ["shop"])
    assert (unknown_order.status_code, list(unknown_order.json()["fields"])) == (400, ["platform_order_id"])
    assert not Complaint.objects.exists()


def test_a_complaint_in_the_future_or_before_the_payment_is_refused_with_its_code(api, shop, order):
    authorised(api, make_staff("agent", role="Agent", shops=[shop]))

    tomorrow = (timezone.now() + timedelta(days=1)).isoformat()
    future = api.post("/api/v1/complaints/", body(opened_at=tomorrow), format="json")
    before_payment = (order.paid_at - timedelta(hours=1)).isoformat()
    early = api.post("/api/v1/complaints/", body(opened_at=before_payment), format="json")
    bad_choice = api.post("/api/v1/complaints/", body(liability="maybe"), format="json")

    assert (future.status_code, future.json()["code"]) == (400, "invalid_time")
    assert (early.status_code, early.json()["code"]) == (400, "invalid_time")
    assert (bad_choice.status_code, bad_choice.json()["code"]) == (400, "invalid")
    assert not Complaint.objects.exists()


def test_a_role_without_the_complaint_permission_cannot_record_one(api, shop, order):
    authorised(api, make_staff("clerk", role="Warehouse", shops=[shop]))

    response = api.post("/api/v1/complaints/", body(), format="json")

    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    assert not Complaint.objects.exists()
