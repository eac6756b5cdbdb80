"""Courier agreements (快递协议): what one shop agreed with a courier reaches only that shop. Its robot gets only its
messages, its answer time sets its intercepts' due time, its terms its claims; the courier's own row, which every shop
shares, is changed only by someone who covers every shop using it."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from aftersales import roles
from aftersales.models import TicketKind
from aftersales.services import ticket_approve_refund
from logistics.models import Courier, CourierAgreement, CourierClaim, RobotKind, RobotMessage
from logistics.robots import robot_message_send
from logistics.services import (
    claims_register_for_courier_liability,
    courier_agreement_upsert,
    intercept_refund_early,
    intercept_request,
    intercepts_flag_overdue,
    shipments_declare_lost,
)
from tests.factories import ShopFactory, delivered_order, grant_authority, make_staff, open_ticket, system_user
from tests.logistics.parcels import courier, parcel
from tests.logistics.test_robots import RobotServer

pytestmark = pytest.mark.django_db
HTTP = "logistics.robots.HttpRobotTransport"
AGREEMENTS = reverse("admin:logistics_courieragreement_changelist")
ADD_AGREEMENT = reverse("admin:logistics_courieragreement_add")
ADD_COURIER = reverse("admin:logistics_courier_add")


@pytest.fixture
def shop_1():
    return ShopFactory(name="一号店")


@pytest.fixture
def shop_2():
    return ShopFactory(name="二号店")


@pytest.fixture
def robots():
    servers = RobotServer(), RobotServer()
    yield servers
    for server in servers:
        server.close()


def texts(server) -> list[str]:
    return [request["body"]["text"]["content"] for request in server.received]


def send_all() -> list[str]:
    ids = RobotMessage.objects.order_by("pk").values_list("pk", flat=True)
    return [robot_message_send(message_id=pk) for pk in ids]


def courier_form(carrier: Courier, **changes) -> dict:
    data = {
        "code": carrier.code,
        "name": carrier.name,
        "is_active": "on",
        "kuaidi100_code": carrier.kuaidi100_code,
        "kdniao_code": carrier.kdniao_code,
        "intercept_answer_minutes": carrier.intercept_answer_minutes,
        "claim_postage_multiple": "",
        "claim_max_amount": "",
        "claim_terms": "",
    }
    return {**data, **changes}


def agreement_form(shop, carrier, **changes) -> dict:
    data = {
        "shop": shop.pk,
        "courier": carrier.pk,
        "intercept_contact": "刘经理",
        "intercept_contact_phone": "13800000000",
        "intercept_answer_minutes": 120,
        "robot_kind": "wecom",
        "robot_webhook_url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=mine",
        "robot_secret": "",
        "intercept_channel": "robot",
        "kuaidi100_intercept_type": "RETURN_SEND_ADDR",
        "kuaidi100_pay_type": "MONTHLY",
        "claim_postage_multiple": "",
        "claim_max_amount": "",
        "claim_terms": "",
    }
    return {**data, **changes}


def intercept_in(shop):
    shipment = parcel(quiet_for=timedelta(hours=5), shop=shop)
    return intercept_request(ticket=open_ticket(shipment.order, requested_amount="199.00"), by=system_user())


# --- who changes the courier's shared row ----------------------------------------------------------------------------


def test_a_manager_of_one_shop_cannot_change_a_courier_another_shop_uses(client, shop_1, shop_2):
    parcel(shop=shop_1, courier_code="EMS")
    parcel(shop=shop_2, courier_code="EMS")
    ems = Courier.objects.get(code="EMS")
    client.force_login(make_staff("manager-1", role=roles.MANAGER, shops=[shop_1]))
    url = reverse("admin:logistics_courier_change", args=[ems.pk])

    page = client.get(url)
    response = client.post(url, courier_form(ems, name="改掉的EMS", intercept_answer_minutes=999))

    assert page.status_code == 200  # they may read it
    assert not page.context["has_change_permission"]
    assert response.status_code == 403
    ems.refresh_from_db()
    assert (ems.name, ems.intercept_answer_minutes) == ("EMS", 120)


def test_a_manager_of_one_shop_cannot_add_a_courier_any_shop_may_come_to_use(client, shop_1, shop_2):
    client.force_login(make_staff("manager-1", role=roles.MANAGER, shops=[shop_1]))

    response = client.post(ADD_COURIER, courier_form(Courier(code="DBL", name="德邦", intercept_answer_minutes=120)))

    assert response.status_code == 403
    assert not Courier.objects.filter(code="DBL").exists()


def test_a_manager_of_every_shop_using_the_courier_changes_it(client, shop_1, shop_2):
    parcel(shop=shop_1, courier_code="EMS")
    parcel(shop=shop_2, courier_code="EMS")
    ShopFactory(name="不用EMS的店")
    ems = Courier.objects.get(code="EMS")
    client.force_login(make_staff("manager-both", role=roles.MANAGER, shops=[shop_1, shop_2]))

    response = client.post(
        reverse("admin:logistics_courier_change", args=[ems.pk]), courier_form(ems, intercept_answer_minutes=90)
    )

    assert response.status_code == 302
    ems.refresh_from_db()
    assert ems.intercept_answer_minutes == 90


def test_a_courier_counts_as_used_by_a_shop_with_only_an_agreement(client, shop_1, shop_2):
    parcel(shop=shop_1, courier_code="EMS")
    ems = Courier.objects.get(code="EMS")
    courier_agreement_upsert(shop=shop_2, courier=ems, intercept_contact="邮政 客户经理")
    client.force_login(make_staff("manager-1", role=roles.MANAGER, shops=[shop_1]))

    response = client.post(
        reverse("admin:logistics_courier_change", args=[ems.pk]), courier_form(ems, intercept_answer_minutes=90)
    )

    assert response.status_code == 403
    ems.refresh_from_db()
    assert ems.intercept_answer_minutes == 120


def test_a_superuser_changes_any_courier(client, shop_1, shop_2):
    parcel(shop=shop_1, courier_code="EMS")
    parcel(shop=shop_2, courier_code="EMS")
    ems = Courier.objects.get(code="EMS")
    client.force_login(get_user_model().objects.create_superuser("root", password="pw"))

    response = client.post(
        reverse("admin:logistics_courier_change", args=[ems.pk]), courier_form(ems, intercept_answer_minutes=90)
    )

    assert response.status_code == 302
    ems.refresh_from_db()
    assert ems.intercept_answer_minutes == 90


# --- the robot: each shop's own --------------------------------------------------------------------------------------


@override_settings(GROUP_ROBOT_TRANSPORT=HTTP)
def test_each_shops_intercept_request_goes_only_to_its_own_agreements_robot(shop_1, shop_2, robots):
    robot_1, robot_2 = robots
    sf = courier("SF")
    courier_agreement_upsert(shop=shop_1, courier=sf, robot_kind=RobotKind.WECOM, robot_webhook_url=robot_1.url)
    courier_agreement_upsert(shop=shop_2, courier=sf, robot_kind=RobotKind.WECOM, robot_webhook_url=robot_2.url)
    intercept_1, intercept_2 = intercept_in(shop_1), intercept_in(shop_2)

    assert send_all() == [RobotMessage.Status.SENT, RobotMessage.Status.SENT]

    [text_1], [text_2] = texts(robot_1), texts(robot_2)
    assert intercept_1.shipment.tracking_number in text_1
    assert "一号店" in text_1
    assert intercept_2.shipment.tracking_number in text_2
    assert "二号店" in text_2
    assert intercept_2.shipment.tracking_number not in text_1
    assert intercept_2.ticket.order.platform_order_id not in text_1


@override_settings(GROUP_ROBOT_TRANSPORT=HTTP)
def test_a_shop_without_an_agreement_sends_nothing_even_when_another_shop_has_a_robot(shop_1, shop_2, robots):
    robot_1, _robot_2 = robots
    sf = courier("SF")
    courier_agreement_upsert(shop=shop_1, courier=sf, robot_kind=RobotKind.WECOM, robot_webhook_url=robot_1.url)
    intercept_in(shop_2)

    assert send_all() == [RobotMessage.Status.NO_ROBOT]

    assert robot_1.received == []
    message = RobotMessage.objects.get()
    assert (message.shop, message.attempts) == (shop_2, 0)
    assert "二号店" in message.last_error


@override_settings(GROUP_ROBOT_TRANSPORT=HTTP)
def test_a_message_waiting_for_its_robot_is_sent_once_the_shop_sets_it_up(client, shop_1, robots):
    robot_1, _robot_2 = robots
    intercept_in(shop_1)
    assert send_all() == [RobotMessage.Status.NO_ROBOT]
    courier_agreement_upsert(
        shop=shop_1, courier=courier("SF"), robot_kind=RobotKind.WECOM, robot_webhook_url=robot_1.url
    )
    client.force_login(make_staff("supervisor", role=roles.SUPERVISOR, shops=[shop_1]))

    client.post(
        reverse("admin:logistics_robotmessage_changelist"),
        {"action": "send_again", "_selected_action": list(RobotMessage.objects.values_list("pk", flat=True))},
    )

    assert RobotMessage.objects.get().status == RobotMessage.Status.SENT
    assert len(robot_1.received) == 1


@override_settings(GROUP_ROBOT_TRANSPORT=HTTP)
def test_lost_parcels_and_overdue_chases_are_told_to_each_shop_separately(shop_1, shop_2, robots):
    robot_1, robot_2 = robots
    sf = courier("SF")
    courier_agreement_upsert(shop=shop_1, courier=sf, robot_kind=RobotKind.WECOM, robot_webhook_url=robot_1.url)
    courier_agreement_upsert(shop=shop_2, courier=sf, robot_kind=RobotKind.WECOM, robot_webhook_url=robot_2.url)
    lost_1 = parcel(quiet_for=timedelta(hours=49), shop=shop_1)
    lost_2 = parcel(quiet_for=timedelta(hours=49), shop=shop_2)
    late_1, late_2 = intercept_in(shop_1), intercept_in(shop_2)
    shipments_declare_lost()
    intercepts_flag_overdue(now=timezone.now() + timedelta(hours=3))

    send_all()

    sent_1, sent_2 = " ".join(texts(robot_1)), " ".join(texts(robot_2))
    numbers_1 = {lost_1.tracking_number, late_1.shipment.tracking_number}
    numbers_2 = {lost_2.tracking_number, late_2.shipment.tracking_number}
    assert {number for number in numbers_1 | numbers_2 if number in sent_1} == numbers_1
    assert {number for number in numbers_1 | numbers_2 if number in sent_2} == numbers_2


def test_a_manager_sees_only_their_shops_robot_messages_lost_parcel_lists_included(client, shop_1, shop_2):
    parcel(quiet_for=timedelta(hours=49), shop=shop_1)
    parcel(quiet_for=timedelta(hours=49), shop=shop_2)
    shipments_declare_lost()
    client.force_login(make_staff("manager-1", role=roles.MANAGER, shops=[shop_1]))

    response = client.get(reverse("admin:logistics_robotmessage_changelist"))

    assert [message.shop for message in response.context["cl"].result_list] == [shop_1]


# --- the agreement's times and terms ---------------------------------------------------------------------------------


def test_the_intercept_due_time_is_the_shops_agreement_answer_time(shop_1, shop_2):
    sf = courier("SF", intercept_answer_minutes=120)
    courier_agreement_upsert(shop=shop_1, courier=sf, intercept_answer_minutes=30)
    before = timezone.now()

    agreed, by_default = intercept_in(shop_1), intercept_in(shop_2)

    assert before + timedelta(minutes=30) <= agreed.due_at <= timezone.now() + timedelta(minutes=30)
    assert by_default.due_at - by_default.requested_at == timedelta(minutes=120)


def test_a_lost_parcels_claim_uses_the_shops_agreed_cap(shop_1, shop_2):
    sf = courier("SF", claim_max_amount=Decimal("100.00"))
    courier_agreement_upsert(shop=shop_1, courier=sf, claim_max_amount=Decimal("250.00"))
    agreed = parcel(quiet_for=timedelta(hours=49), shop=shop_1, paid_amount=Decimal("300.00"))
    by_default = parcel(quiet_for=timedelta(hours=49), shop=shop_2, paid_amount=Decimal("300.00"))

    shipments_declare_lost()

    assert CourierClaim.objects.get(shipment=agreed).claim_amount == Decimal("250.00")
    assert CourierClaim.objects.get(shipment=by_default).claim_amount == Decimal("100.00")


def test_refunding_during_an_intercept_claims_under_the_shops_postage_multiple(shop_1):
    sf = courier("SF")
    courier_agreement_upsert(shop=shop_1, courier=sf, claim_postage_multiple=Decimal("3.00"))
    intercept = intercept_in(shop_1)
    intercept.shipment.postage = Decimal("12.00")
    intercept.shipment.save(update_fields=["postage"])
    agent = make_staff("agent", role=roles.AGENT, shops=[shop_1])
    grant_authority(agent, shop_1, "500")

    claim = intercept_refund_early(ticket=intercept.ticket, by=agent)

    assert (claim.loss_amount, claim.claim_amount) == (Decimal("199.00"), Decimal("36.00"))


def test_a_liability_claim_uses_the_shops_agreed_cap():
    zto = courier("ZTO", claim_max_amount=Decimal("10.00"))
    order = delivered_order(courier_code="ZTO", tracking_number="7531000000009", paid_amount=Decimal("199.00"))
    courier_agreement_upsert(shop=order.shop, courier=zto, claim_max_amount=Decimal("50.00"))
    ticket = open_ticket(
        order, kind=TicketKind.COMPENSATION, reason_code="damaged_in_transit", requested_amount="60.00"
    )
    ticket_approve_refund(ticket=ticket, by=system_user(), amount="60.00")

    claims_register_for_courier_liability()

    assert CourierClaim.objects.get().claim_amount == Decimal("50.00")


# --- the agreement admin: each shop its own -------------------------------------------------------------------------


def test_a_manager_sees_and_edits_only_their_shops_agreements(client, shop_1, shop_2):
    sf = courier("SF")
    mine = courier_agreement_upsert(shop=shop_1, courier=sf, robot_webhook_url="https://example.com/mine")
    theirs = courier_agreement_upsert(shop=shop_2, courier=sf, robot_webhook_url="https://example.com/theirs")
    client.force_login(make_staff("manager-1", role=roles.MANAGER, shops=[shop_1]))
    their_page = reverse("admin:logistics_courieragreement_change", args=[theirs.pk])

    listed = client.get(AGREEMENTS)
    opened = client.get(their_page)
    posted = client.post(their_page, agreement_form(shop_2, sf, robot_webhook_url="https://evil.example/hook"))
    mine_changed = client.post(
        reverse("admin:logistics_courieragreement_change", args=[mine.pk]),
        agreement_form(shop_1, sf, robot_webhook_url="https://example.com/new"),
    )

    assert [agreement.pk for agreement in listed.context["cl"].result_list] == [mine.pk]
    assert "example.com/theirs" not in listed.content.decode()
    assert opened.status_code == 302  # “does not exist” for them
    assert posted.status_code == 302
    theirs.refresh_from_db()
    assert theirs.robot_webhook_url == "https://example.com/theirs"
    assert mine_changed.status_code == 302
    mine.refresh_from_db()
    assert mine.robot_webhook_url == "https://example.com/new"


def test_a_manager_cannot_add_an_agreement_for_another_shop(client, shop_1, shop_2):
    sf = courier("SF")
    client.force_login(make_staff("manager-1", role=roles.MANAGER, shops=[shop_1]))

    refused = client.post(ADD_AGREEMENT, agreement_form(shop_2, sf))
    added = client.post(ADD_AGREEMENT, agreement_form(shop_1, sf))

    assert refused.status_code == 200
    assert "shop" in refused.context["adminform"].form.errors
    assert added.status_code == 302
    assert list(CourierAgreement.objects.values_list("shop", flat=True)) == [shop_1.pk]


def test_a_supervisor_reads_the_agreements_but_does_not_change_them(client, shop_1):
    agreement = courier_agreement_upsert(shop=shop_1, courier=courier("SF"), intercept_contact="刘经理")
    client.force_login(make_staff("supervisor", role=roles.SUPERVISOR, shops=[shop_1]))
    url = reverse("admin:logistics_courieragreement_change", args=[agreement.pk])

    page = client.get(url)
    response = client.post(url, agreement_form(shop_1, agreement.courier, intercept_contact="别人"))

    assert page.status_code == 200
    assert response.status_code == 403
    agreement.refresh_from_db()
    assert agreement.intercept_contact == "刘经理"


def test_a_robot_url_without_its_kind_is_refused_with_a_form_error(client, shop_1):
    client.force_login(make_staff("manager-1", role=roles.MANAGER, shops=[shop_1]))

    response = client.post(ADD_AGREEMENT, agreement_form(shop_1, courier("SF"), robot_kind=""))

    assert response.status_code == 200
    assert "robot_kind" in response.context["adminform"].form.errors
    assert not CourierAgreement.objects.exists()


def test_the_agreement_list_runs_the_same_queries_for_2_and_for_8_couriers(client, shop_1, shop_2):
    client.force_login(make_staff("manager-1", role=roles.MANAGER, shops=[shop_1]))

    def queries_for(count):
        for number in range(count):
            carrier = courier(f"C{count}-{number}")
            courier_agreement_upsert(shop=shop_1, courier=carrier)
            courier_agreement_upsert(shop=shop_2, courier=carrier)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(AGREEMENTS)
        assert response.status_code == 200
        return len(queries), len(response.context["cl"].result_list)

    few, listed_few = queries_for(2)
    many, listed_many = queries_for(6)

    assert (listed_few, listed_many) == (2, 8)
    assert many == few
