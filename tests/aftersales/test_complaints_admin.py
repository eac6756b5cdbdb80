"""Complaints (投诉) in the admin: an agent records one on an order of their shops by its order number, through
complaint_record (its OrderEvent written with it); a wrong order number or a time before the payment is a form error;
later only the liability changes, with its event; nobody deletes one."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from aftersales.models import Complaint, OrderEvent
from tests.factories import OrderFactory, ShopFactory, make_staff

pytestmark = pytest.mark.django_db
ADD = reverse("admin:aftersales_complaint_add")


@pytest.fixture
def shop():
    return ShopFactory(code="shanye")


@pytest.fixture
def order(shop):
    return OrderFactory(shop=shop, platform_order_id="T1001", paid_at=timezone.now() - timedelta(days=12))


@pytest.fixture
def agent(client, shop):
    user = make_staff("agent", role="Agent", shops=[shop])
    client.force_login(user)
    return user


def form(shop, **overrides) -> dict:
    opened = timezone.localtime(timezone.now() - timedelta(days=2))
    return {
        "shop": shop.pk,
        "platform_order_id": "T1001",
        "ticket_number": "",
        "opened_at_0": opened.strftime("%Y-%m-%d"),
        "opened_at_1": opened.strftime("%H:%M:%S"),
        "channel": "regulator",
        "liability": "unknown",
        "note": "买家打了12315",
        **overrides,
    }


def test_an_agent_records_a_complaint_and_later_its_liability(client, shop, order, agent):
    response = client.post(ADD, form(shop))

    assert response.status_code == 302, response.context["adminform"].form.errors
    complaint = Complaint.objects.get()
    assert (complaint.order, complaint.channel, complaint.recorded_by) == (order, "regulator", agent)
    change = reverse("admin:aftersales_complaint_change", args=[complaint.pk])
    assert client.post(change, {"liability": "merchant"}).status_code == 302
    complaint.refresh_from_db()
    assert complaint.liability == "merchant"
    events = OrderEvent.objects.filter(order=order, action=OrderEvent.Action.COMPLAINT_RECORDED).order_by("pk")
    assert [event.changes["liability"] for event in events] == [
        {"old": "", "new": "unknown"},
        {"old": "unknown", "new": "merchant"},
    ]
    delete = reverse("admin:aftersales_complaint_delete", args=[complaint.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert Complaint.objects.exists()


def test_an_unknown_order_or_a_time_before_the_payment_is_a_form_error(client, shop, order, agent):
    unknown = client.post(ADD, form(shop, platform_order_id="T9999"))
    before = order.paid_at - timedelta(days=1)
    early = client.post(
        ADD,
        form(shop, opened_at_0=timezone.localtime(before).strftime("%Y-%m-%d"), opened_at_1="10:00:00"),
    )

    assert unknown.status_code == 200
    assert "platform_order_id" in unknown.context["adminform"].form.errors
    assert early.status_code == 200
    assert early.context["adminform"].form.non_field_errors()
    assert not Complaint.objects.exists()
