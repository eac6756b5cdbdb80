"""The warehouse's admins: lists limited to the user's shops at a fixed number of queries, read-only rows, and the
agents' doors (match an unexpected parcel, record a courier scan, send an exchange early) through the services."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from aftersales.models import AfterSalesTicket, TicketKind, TicketState
from aftersales.services import shop_assign_user
from tests.factories import OrderFactory, ShopFactory, delivered_order, make_staff, open_ticket, reason
from tests.warehouse.test_pages import jpeg, return_on_its_way
from warehouse.models import EarlyExchange, EarlyExchangeRule, Evidence, Inspection, ReturnParcel
from warehouse.services import (
    early_exchange_rule_set,
    inspection_record,
    return_receive_scan,
    return_register_unexpected,
)

pytestmark = pytest.mark.django_db

PARCELS = reverse("admin:warehouse_returnparcel_changelist")
INSPECTIONS = reverse("admin:warehouse_inspection_changelist")
EXCHANGES = reverse("admin:warehouse_earlyexchange_changelist")
RULES = reverse("admin:warehouse_earlyexchangerule_changelist")
RECORD_SCAN = reverse("admin:warehouse_returnparcel_record_scan")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def shop():
    return ShopFactory(name="A店")


@pytest.fixture
def clerk(shop):
    return make_staff("clerk", role="Warehouse", shops=[shop])


@pytest.fixture
def agent(shop):
    return make_staff("agent", role="Agent", shops=[shop])


@pytest.fixture
def manager(shop):
    return make_staff("manager", role="Manager", shops=[shop])


def count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response


# --- rows straight into the tables: the query-count tests need many rows, not the services' work per row ----------


def bulk_tickets(shop, count, *, kind="return_refund"):
    now = timezone.now()
    orders = OrderFactory.create_batch(count, shop=shop)
    changed_mind = reason()
    return AfterSalesTicket.objects.bulk_create(
        [
            AfterSalesTicket(
                shop=shop,
                order=order,
                kind=kind,
                path=4,
                state="received",
                first_reason=changed_mind,
                reason=changed_mind,
                liability="buyer",
                opened_at=now,
                deadline=now + timedelta(days=2),
                sla_due=now + timedelta(days=1),
            )
            for order in orders
        ]
    )


def bulk_parcels(shop, clerk, count, *, status="inspected"):
    now = timezone.now()
    return ReturnParcel.objects.bulk_create(
        [
            ReturnParcel(
                shop=shop,
                ticket=ticket,
                tracking_number=f"BULK{ticket.pk:08d}",
                status=status,
                received_at=now,
                received_by=clerk,
                first_scan_at=now - timedelta(days=1),
                inspected_at=now if status == "inspected" else None,
            )
            for ticket in bulk_tickets(shop, count)
        ]
    )


def bulk_inspections(shop, clerk, count):
    inspections = Inspection.objects.bulk_create(
        [Inspection(parcel=parcel, result="damaged", inspected_by=clerk) for parcel in bulk_parcels(shop, clerk, count)]
    )
    Evidence.objects.bulk_create(
        [
            Evidence(
                inspection=inspection,
                file=f"evidence/{shop.pk}/x{inspection.pk}.jpg",
                kind="photo",
                content_type="image/jpeg",
                extension="jpg",
                size=100,
                sha256=f"{inspection.pk:064d}",
                uploaded_by=clerk,
            )
            for inspection in inspections
            for _copy in range(2)
        ]
    )


def bulk_early_exchanges(shop, agent, count):
    EarlyExchange.objects.bulk_create(
        [
            EarlyExchange(ticket_id=parcel.ticket_id, parcel=parcel, shop=shop, sent_by=agent)
            for parcel in bulk_parcels(shop, agent, count, status="expected")
        ]
    )


# --- query counts ---------------------------------------------------------------------------------------------------


def test_the_parcel_list_runs_the_same_queries_for_5_and_for_50_parcels(client, shop, clerk, agent):
    client.force_login(agent)
    bulk_parcels(shop, clerk, 5)
    few, response = count_queries(client, PARCELS)
    assert len(response.context["cl"].result_list) == 5

    bulk_parcels(shop, clerk, 45)
    many, response = count_queries(client, PARCELS)

    assert len(response.context["cl"].result_list) == 50
    assert many == few


def test_the_inspection_list_runs_the_same_queries_for_5_and_for_50_inspections(client, shop, clerk):
    client.force_login(clerk)
    bulk_inspections(shop, clerk, 5)
    few, response = count_queries(client, INSPECTIONS)
    assert [row.evidence_total for row in response.context["cl"].result_list] == [2] * 5

    bulk_inspections(shop, clerk, 45)
    many, response = count_queries(client, INSPECTIONS)

    assert len(response.context["cl"].result_list) == 50
    assert many == few


def test_the_early_exchange_list_runs_the_same_queries_for_5_and_for_50_exchanges(client, shop, agent):
    client.force_login(agent)
    bulk_early_exchanges(shop, agent, 5)
    few, response = count_queries(client, EXCHANGES)
    assert len(response.context["cl"].result_list) == 5

    bulk_early_exchanges(shop, agent, 45)
    many, response = count_queries(client, EXCHANGES)

    assert len(response.context["cl"].result_list) == 50
    assert many == few


def test_the_early_exchange_rule_list_runs_the_same_queries_for_5_and_for_50_shops(client, manager):
    client.force_login(manager)

    def add_rules(count):
        for shop in ShopFactory.create_batch(count):
            shop_assign_user(shop=shop, user=manager)
            early_exchange_rule_set(shop=shop, is_enabled=True, max_price=Decimal("100.00"))

    add_rules(5)
    few, response = count_queries(client, RULES)
    assert len(response.context["cl"].result_list) == 5

    add_rules(45)
    many, response = count_queries(client, RULES)

    assert len(response.context["cl"].result_list) == 50
    assert many == few


# --- scoping and read-only rows -------------------------------------------------------------------------------------


def test_the_lists_show_only_the_users_shops(client, shop, clerk, agent):
    elsewhere = ShopFactory(name="B店")
    bulk_inspections(shop, clerk, 1)
    bulk_inspections(elsewhere, clerk, 1)
    bulk_early_exchanges(shop, agent, 1)
    bulk_early_exchanges(elsewhere, agent, 1)
    theirs = ReturnParcel.objects.filter(shop=elsewhere).first()
    client.force_login(agent)

    parcels = client.get(PARCELS).context["cl"].result_list
    inspections = client.get(INSPECTIONS).context["cl"].result_list
    exchanges = client.get(EXCHANGES).context["cl"].result_list
    their_page = client.get(reverse("admin:warehouse_returnparcel_change", args=[theirs.pk]))

    assert {parcel.shop for parcel in parcels} == {shop}
    assert {inspection.parcel.shop for inspection in inspections} == {shop}
    assert {exchange.shop for exchange in exchanges} == {shop}
    assert their_page.status_code == 302  # the admin's "does not exist" redirect, no detail shown


def test_parcels_are_read_only_and_found_by_a_scanned_number_with_spaces(client, shop, clerk):
    return_on_its_way(shop, "ZT1001")
    parcel = return_receive_scan(tracking_number="ZT1001", by=clerk).parcel
    client.force_login(clerk)

    found = client.get(PARCELS, {"q": "zt 1001"}).context["cl"].result_list
    page = client.get(reverse("admin:warehouse_returnparcel_change", args=[parcel.pk]))

    assert list(found) == [parcel]
    assert page.status_code == 200
    assert not page.context["has_change_permission"]
    assert client.get(reverse("admin:warehouse_returnparcel_add")).status_code == 403


def test_the_inspection_page_links_its_evidence_to_the_serving_view(client, shop, clerk, agent):
    return_on_its_way(shop, "ZT1001")
    parcel = return_receive_scan(tracking_number="ZT1001", by=clerk).parcel
    inspection = inspection_record(parcel=parcel, by=clerk, result="damaged", files=[jpeg()])
    evidence = Evidence.objects.get()
    client.force_login(agent)

    page = client.get(reverse("admin:warehouse_inspection_change", args=[inspection.pk]))

    assert page.status_code == 200
    assert reverse("warehouse:evidence", args=[evidence.pk]) in page.content.decode()
    assert "/media/" not in page.content.decode()


# --- the agents' doors ----------------------------------------------------------------------------------------------


def test_an_agent_matches_an_unexpected_parcel_to_its_ticket_and_the_ticket_counts_it_received(
    client, shop, clerk, agent
):
    ticket = return_on_its_way(shop, "ZT1001")
    parcel = return_register_unexpected(tracking_number="YT7777", shop=shop, by=clerk)
    client.force_login(agent)
    change = reverse("admin:warehouse_returnparcel_change", args=[parcel.pk])
    assert 'id="parcel-match"' in client.get(change).content.decode()

    response = client.post(reverse("admin:warehouse_returnparcel_match", args=[parcel.pk]), {"ticket": f"#{ticket.pk}"})

    assert response["Location"] == change
    parcel.refresh_from_db()
    ticket.refresh_from_db()
    assert parcel.ticket == ticket
    assert ticket.state == TicketState.RECEIVED


def test_matching_to_a_ticket_of_another_shop_is_refused_and_changes_nothing(client, shop, clerk, agent):
    theirs = return_on_its_way(ShopFactory(name="B店"), "ZT2002")
    parcel = return_register_unexpected(tracking_number="YT7777", shop=shop, by=clerk)
    client.force_login(agent)

    response = client.post(
        reverse("admin:warehouse_returnparcel_match", args=[parcel.pk]), {"ticket": str(theirs.pk)}, follow=True
    )

    parcel.refresh_from_db()
    assert parcel.ticket is None
    assert [message.level_tag for message in response.context["messages"]] == ["error"]


def test_a_clerk_may_not_match_parcels(client, shop, clerk):
    ticket = return_on_its_way(shop, "ZT1001")
    parcel = return_register_unexpected(tracking_number="YT7777", shop=shop, by=clerk)
    client.force_login(clerk)

    response = client.post(reverse("admin:warehouse_returnparcel_match", args=[parcel.pk]), {"ticket": ticket.pk})

    assert response.status_code == 403
    parcel.refresh_from_db()
    assert parcel.ticket is None
    assert client.get(RECORD_SCAN).status_code == 403


def test_an_agent_records_the_courier_scan_then_sends_the_replacement_early(client, shop, agent):
    early_exchange_rule_set(shop=shop, is_enabled=True, max_price=Decimal("200.00"))
    ticket = return_on_its_way(shop, "ZT3003", kind=TicketKind.EXCHANGE)
    client.force_login(agent)

    recorded = client.post(RECORD_SCAN, {"ticket": f"#{ticket.pk}"}, follow=True)

    parcel = ReturnParcel.objects.get(ticket=ticket)
    assert recorded.redirect_chain == [(f"{PARCELS}?q=ZT3003", 302)]
    assert list(recorded.context["cl"].result_list) == [parcel]
    assert parcel.first_scan_at is not None
    assert parcel.status == "expected"

    sent = client.post(PARCELS, {"action": "send_early", "_selected_action": [parcel.pk]}, follow=True)

    exchange = EarlyExchange.objects.get()
    assert (exchange.ticket, exchange.parcel, exchange.sent_by) == (ticket, parcel, agent)
    assert [message.level_tag for message in sent.context["messages"]] == ["success"]


def test_sending_early_reports_each_refused_parcel_with_its_reason(client, shop, clerk, agent):
    early_exchange_rule_set(shop=shop, is_enabled=True, max_price=Decimal("50.00"))
    expensive = return_on_its_way(shop, "ZT4004", kind=TicketKind.EXCHANGE)
    client.force_login(agent)
    client.post(RECORD_SCAN, {"ticket": expensive.pk})
    unexpected = return_register_unexpected(tracking_number="YT8888", shop=shop, by=clerk)
    parcel = ReturnParcel.objects.get(ticket=expensive)

    response = client.post(
        PARCELS, {"action": "send_early", "_selected_action": [parcel.pk, unexpected.pk]}, follow=True
    )

    refusals = [str(message) for message in response.context["messages"] if message.level_tag == "error"]
    assert len(refusals) == 2
    assert refusals[0].startswith("ZT4004: ")
    assert refusals[1].startswith("YT8888: ")
    assert not EarlyExchange.objects.exists()


def test_recording_a_scan_for_a_ticket_without_a_return_number_is_refused_in_the_form(client, shop, agent):
    ticket = open_ticket(delivered_order(shop=shop), kind=TicketKind.RETURN_REFUND)
    client.force_login(agent)

    response = client.post(RECORD_SCAN, {"ticket": ticket.pk})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert not ReturnParcel.objects.exists()


def test_a_clerk_sees_no_agent_actions_on_the_parcel_list(client, shop, clerk):
    client.force_login(clerk)

    response = client.get(PARCELS)

    assert "send_early" not in response.content.decode()
    assert RECORD_SCAN not in response.content.decode()
    assert reverse("warehouse:station") in response.content.decode()


# --- the early-exchange rule ----------------------------------------------------------------------------------------


def test_a_manager_sets_the_rule_for_a_shop_of_theirs_only(client, shop, manager):
    elsewhere = ShopFactory(name="B店")
    client.force_login(manager)
    add = reverse("admin:warehouse_earlyexchangerule_add")

    form = client.get(add).context["adminform"].form
    assert list(form.fields["shop"].queryset) == [shop]
    refused = client.post(add, {"shop": elsewhere.pk, "is_enabled": "on", "max_price": "150.00"})
    created = client.post(add, {"shop": shop.pk, "is_enabled": "on", "max_price": "150.00"})

    assert refused.status_code == 200  # the form error: not one of the choices
    assert created.status_code == 302
    rule = EarlyExchangeRule.objects.get()
    assert (rule.shop, rule.is_enabled, rule.max_price) == (shop, True, Decimal("150.00"))


def test_an_agent_reads_the_rule_but_may_not_change_it(client, shop, agent):
    rule = early_exchange_rule_set(shop=shop, is_enabled=True, max_price=Decimal("100.00"))
    client.force_login(agent)

    page = client.get(reverse("admin:warehouse_earlyexchangerule_change", args=[rule.pk]))
    client.post(
        reverse("admin:warehouse_earlyexchangerule_change", args=[rule.pk]), {"is_enabled": "", "max_price": "999"}
    )

    assert page.status_code == 200
    assert not page.context["has_change_permission"]
    rule.refresh_from_db()
    assert rule.max_price == Decimal("100.00")
