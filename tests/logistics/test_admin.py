"""Logistics admins: intercepts by due time with overdue in red, the courier's answers through the services, lost
parcels, a replacement's dispatch, the no-scan policy form, and lists at a fixed number of queries."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from aftersales.models import TicketState
from logistics.models import InterceptRequest, LostParcelPolicy, Shipment
from logistics.services import intercept_request, lost_parcel_remedy, shipments_declare_lost
from tests.factories import ShopFactory, make_staff, open_ticket, system_user
from tests.logistics.parcels import courier, lost_parcel_remedy_set, parcel

pytestmark = pytest.mark.django_db

INTERCEPTS = reverse("admin:logistics_interceptrequest_changelist")
SHIPMENTS = reverse("admin:logistics_shipment_changelist")
POLICY_ADD = reverse("admin:logistics_lostparcelpolicy_add")


@pytest.fixture
def shop():
    return ShopFactory(name="A店")


@pytest.fixture
def agent(shop):
    return make_staff("agent", role="Agent", shops=[shop])


def intercepted(shop, *, hours_ago=0):
    shipment = parcel(quiet_for=timedelta(hours=3), shop=shop)
    intercept = intercept_request(ticket=open_ticket(shipment.order), by=system_user())
    if hours_ago:
        InterceptRequest.objects.filter(pk=intercept.pk).update(
            requested_at=timezone.now() - timedelta(hours=hours_ago),
            due_at=timezone.now() - timedelta(hours=hours_ago - 2),
        )
    return intercept


def count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response


def test_the_intercept_queue_shows_overdue_in_red_and_only_the_users_shops(client, shop, agent):
    late = intercepted(shop, hours_ago=3)
    in_time = intercepted(shop)
    intercepted(ShopFactory())
    client.force_login(agent)

    response = client.get(INTERCEPTS)

    rows = list(response.context["cl"].result_list)
    assert [row.pk for row in rows] == [late.pk, in_time.pk]  # by due time
    page = response.content.decode()
    assert page.count("desk-overdue") == 1
    assert late.shipment.tracking_number in page
    overdue_only = client.get(INTERCEPTS, {"answer": "overdue"})
    assert [row.pk for row in overdue_only.context["cl"].result_list] == [late.pk]


def test_the_intercept_queue_runs_the_same_queries_for_3_and_for_30(client, shop, agent):
    client.force_login(agent)
    for _ in range(3):
        intercepted(shop)
    few, _response = count_queries(client, INTERCEPTS)
    for _ in range(27):
        intercepted(shop)
    many, response = count_queries(client, INTERCEPTS)

    assert len(response.context["cl"].result_list) == 30
    assert many == few


def test_a_clerk_records_the_couriers_confirmation_and_the_refund_starts(client, shop):
    intercept = intercepted(shop)
    client.force_login(make_staff("clerk", role="Warehouse", shops=[shop]))

    response = client.post(INTERCEPTS, {"action": "courier_confirmed", "_selected_action": [intercept.pk]}, follow=True)

    assert response.status_code == 200
    intercept.refresh_from_db()
    intercept.ticket.refresh_from_db()
    assert intercept.status == "confirmed"
    assert intercept.ticket.state == TicketState.REFUNDING
    # Answering again is refused with the reason, not a 500.
    again = client.post(INTERCEPTS, {"action": "courier_failed", "_selected_action": [intercept.pk]}, follow=True)
    assert intercept.shipment.tracking_number in again.content.decode()
    intercept.refresh_from_db()
    assert intercept.status == "confirmed"


def test_the_lost_filter_lists_lost_and_reappeared_parcels(client, shop, agent):
    lost = parcel(quiet_for=timedelta(hours=50), shop=shop)
    moving = parcel(quiet_for=timedelta(hours=2), shop=shop)
    shipments_declare_lost()
    client.force_login(agent)

    response = client.get(SHIPMENTS, {"lost": "lost"})

    assert [row.pk for row in response.context["cl"].result_list] == [lost.pk]
    assert moving.tracking_number not in response.content.decode()


def test_the_parcel_list_runs_the_same_queries_for_3_and_for_30(client, shop, agent):
    client.force_login(agent)
    for _ in range(3):
        parcel(shop=shop)
    few, _response = count_queries(client, SHIPMENTS)
    for _ in range(27):
        parcel(shop=shop)
    many, response = count_queries(client, SHIPMENTS)

    assert len(response.context["cl"].result_list) == 30
    assert many == few


def test_a_clerk_dispatches_a_replacement_and_a_waybill_in_use_is_a_form_error(client, shop):
    lost = parcel(quiet_for=timedelta(hours=50), shop=shop)
    lost_parcel_remedy_set(shop, "reship")
    shipments_declare_lost()
    lost_parcel_remedy(shipment_id=lost.pk)
    replacement = Shipment.objects.get(replaces=lost)
    clerk = make_staff("clerk", role="Warehouse", shops=[shop])
    client.force_login(clerk)
    url = reverse("admin:logistics_shipment_dispatch", args=[replacement.pk])
    sf = courier("SF")

    taken = client.post(url, {"courier": sf.pk, "tracking_number": lost.tracking_number})
    assert taken.status_code == 200
    assert taken.context["form"].non_field_errors()

    response = client.post(url, {"courier": sf.pk, "tracking_number": " sf 9000 0001 "})

    assert response.status_code == 302
    replacement.refresh_from_db()
    assert (replacement.status, replacement.tracking_number) == ("in_transit", "SF90000001")
    assert replacement.last_scan_at is not None


def test_an_agent_cannot_dispatch(client, shop, agent):
    client.force_login(agent)
    lost = parcel(shop=shop)

    response = client.post(reverse("admin:logistics_shipment_dispatch", args=[lost.pk]), {})

    assert response.status_code == 403


def test_the_policy_form_reads_provinces_by_their_short_names_and_checks_the_hours(client, shop):
    manager = make_staff("manager", role="Manager", shops=[shop])
    client.force_login(manager)
    data = {
        "shop": shop.pk,
        "no_scan_hours": 48,
        "remote_no_scan_hours": 24,
        "remote_provinces": "新疆",
        "remedy": "refund",
    }

    refused = client.post(POLICY_ADD, data)
    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors["remote_no_scan_hours"]

    data.update(remote_no_scan_hours=72, remote_provinces="新疆维吾尔自治区、西藏，云南省 海南省,新疆")
    assert client.post(POLICY_ADD, data).status_code == 302
    assert LostParcelPolicy.objects.get(shop=shop).remote_provinces == ["新疆", "西藏", "云南", "海南"]


def test_the_ticket_page_offers_the_intercept_and_links_to_it(client, shop, agent):
    shipment = parcel(shop=shop)
    ticket = open_ticket(shipment.order)
    client.force_login(agent)
    page = reverse("admin:aftersales_aftersalesticket_change", args=[ticket.pk])

    assert "act/request_intercept/" in client.get(page).content.decode()
    client.post(reverse("admin:aftersales_aftersalesticket_act", args=[ticket.pk, "request_intercept"]), {"note": ""})

    intercept = InterceptRequest.objects.get(ticket=ticket)
    assert reverse("admin:logistics_interceptrequest_change", args=[intercept.pk]) in client.get(page).content.decode()
