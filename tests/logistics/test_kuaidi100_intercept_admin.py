"""The Kuaidi100 channel in the admin: a manager chooses it on the shop's agreement with write-only secrets, and the
intercept list and page show which channel asked and the courier's answer, at a fixed number of queries."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aftersales import roles
from desk import crypto
from logistics.models import CourierAgreement, InterceptChannel, InterceptRequest, Kuaidi100Intercept
from logistics.services import courier_agreement_upsert, intercept_request
from tests.factories import ShopFactory, make_staff, open_ticket, system_user
from tests.logistics.parcels import courier, parcel
from tests.logistics.test_courier_agreements import agreement_form

pytestmark = pytest.mark.django_db

AGREEMENTS = reverse("admin:logistics_courieragreement_changelist")
ADD_AGREEMENT = reverse("admin:logistics_courieragreement_add")
INTERCEPTS = reverse("admin:logistics_interceptrequest_changelist")
SECRET = "k100-very-secret"


@pytest.fixture
def shop():
    return ShopFactory(name="A店")


def kuaidi100_form(shop, carrier, **changes) -> dict:
    kuaidi100 = {
        "intercept_channel": "kuaidi100",
        "kuaidi100_key": "k100-key",
        "kuaidi100_secret": SECRET,
        "kuaidi100_partner_id": "SF-1",
        "kuaidi100_partner_key": "partner-pass",
        "kuaidi100_net": "",
    }
    return agreement_form(shop, carrier, **{**kuaidi100, **changes})


def test_a_manager_chooses_kuaidi100_and_its_secrets_are_never_shown_back(client, shop):
    sf = courier("SF")
    client.force_login(make_staff("manager", role=roles.MANAGER, shops=[shop]))

    added = client.post(ADD_AGREEMENT, kuaidi100_form(shop, sf))

    assert added.status_code == 302
    agreement = CourierAgreement.objects.get()
    assert agreement.intercept_channel == InterceptChannel.KUAIDI100
    assert crypto.decrypt(agreement.kuaidi100_secret_encrypted) == SECRET
    assert crypto.decrypt(agreement.kuaidi100_partner_key_encrypted) == "partner-pass"
    page = client.get(reverse("admin:logistics_courieragreement_change", args=[agreement.pk])).content.decode()
    assert SECRET not in page
    assert "partner-pass" not in page
    assert agreement.kuaidi100_secret_encrypted not in page
    # An empty secret field keeps the stored one.
    kept = client.post(
        reverse("admin:logistics_courieragreement_change", args=[agreement.pk]),
        kuaidi100_form(shop, sf, kuaidi100_secret="", kuaidi100_partner_key="", kuaidi100_net="杭州网点"),
    )
    assert kept.status_code == 302
    agreement.refresh_from_db()
    assert crypto.decrypt(agreement.kuaidi100_secret_encrypted) == SECRET
    assert agreement.kuaidi100_net == "杭州网点"


def test_kuaidi100_without_a_secret_or_to_change_the_address_is_refused(client, shop):
    sf = courier("SF")
    client.force_login(make_staff("manager", role=roles.MANAGER, shops=[shop]))

    no_secret = client.post(ADD_AGREEMENT, kuaidi100_form(shop, sf, kuaidi100_secret=""))
    modify = client.post(ADD_AGREEMENT, kuaidi100_form(shop, sf, kuaidi100_intercept_type="MODIFY_ADDR"))

    assert "kuaidi100_secret" in no_secret.context["adminform"].form.errors
    assert "kuaidi100_intercept_type" in modify.context["adminform"].form.errors
    assert not CourierAgreement.objects.exists()


def intercepted(shop, *, kuaidi100: bool):
    shipment = parcel(quiet_for=timedelta(hours=3), shop=shop)
    if kuaidi100:
        agreement = courier_agreement_upsert(
            shop=shop, courier=shipment.courier, intercept_channel="kuaidi100", kuaidi100_key="k"
        )
        agreement.set_kuaidi100_secret("s")
        agreement.save()
    else:
        CourierAgreement.objects.filter(shop=shop).update(intercept_channel="robot")
    intercept = intercept_request(ticket=open_ticket(shipment.order), by=system_user())
    if kuaidi100:
        InterceptRequest.objects.filter(pk=intercept.pk).update(courier_answer="拦截中")
    return intercept


def count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response


def test_the_intercept_list_shows_the_channel_and_the_couriers_answer_at_fixed_queries(client, shop):
    client.force_login(make_staff("agent", role="Agent", shops=[shop]))
    for index in range(3):
        intercepted(shop, kuaidi100=index % 2 == 0)
    few, _response = count_queries(client, INTERCEPTS)
    for index in range(27):
        intercepted(shop, kuaidi100=index % 2 == 0)
    many, response = count_queries(client, INTERCEPTS)

    assert len(response.context["cl"].result_list) == 30
    assert many == few
    page = response.content.decode()
    assert "Kuaidi100 intercept API" in page or "快递100拦截接口" in page
    assert "拦截中" in page
    channels = {row.channel for row in response.context["cl"].result_list}
    assert channels == {"robot", "kuaidi100"}


def test_the_intercept_page_shows_the_kuaidi100_order_without_its_salt(client, shop):
    intercept = intercepted(shop, kuaidi100=True)
    call = Kuaidi100Intercept.objects.get(intercept=intercept)
    client.force_login(make_staff("agent", role="Agent", shops=[shop]))

    page = client.get(reverse("admin:logistics_interceptrequest_change", args=[intercept.pk])).content.decode()

    assert call.order_id in page
    assert call.salt not in page
