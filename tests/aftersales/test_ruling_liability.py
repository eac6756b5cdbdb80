"""A platform ruling records whether the platform held the merchant liable (商责), from the ticket page and the API:
the dispute rate (纠纷率) counts only the rulings against the merchant as liable."""

from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from aftersales.models import MerchantLiability, PlatformRuling, TicketState
from aftersales.services import ticket_escalate_to_platform
from tests.factories import ShopFactory, delivered_order, grant_authority, make_staff, open_ticket

pytestmark = pytest.mark.django_db

ACT = "admin:aftersales_aftersalesticket_act"


@pytest.fixture
def shop():
    return ShopFactory()


@pytest.fixture
def agent(shop):
    return make_staff("agent", role="Agent", shops=[shop])


@pytest.fixture
def supervisor(shop):
    supervisor = make_staff("supervisor", role="Supervisor", shops=[shop])
    grant_authority(supervisor, shop, "2000.00")
    return supervisor


def ticket_in_review(shop, agent, amount="120.00"):
    ticket = open_ticket(delivered_order(shop=shop, paid_amount=Decimal(amount)), requested_amount=amount)
    ticket_escalate_to_platform(ticket=ticket, by=agent)
    return ticket


def test_the_ticket_page_records_the_merchant_liable_ruling(client, shop, agent, supervisor):
    ticket = ticket_in_review(shop, agent)
    client.force_login(supervisor)

    page = client.get(reverse("admin:aftersales_aftersalesticket_change", args=[ticket.pk]))
    client.post(
        reverse(ACT, args=[ticket.pk, "ruled_for_buyer"]),
        {"case_number": "TB-7", "evidence": "判定截图", "liability": "merchant", "note": ""},
    )

    assert 'name="liability"' in page.content.decode()
    ruling = PlatformRuling.objects.get(ticket=ticket)
    assert (ruling.for_buyer, ruling.liability) == (True, MerchantLiability.MERCHANT)


def test_the_api_records_the_ruling_with_its_liability_and_without_one_it_is_not_known(shop, agent, supervisor):
    held = ticket_in_review(shop, agent)
    silent = ticket_in_review(shop, agent)
    api = APIClient()
    api.force_authenticate(supervisor)

    first = api.post(
        f"/api/v1/tickets/{held.pk}/actions/ruled_for_merchant/",
        {"case_number": "DY-1", "evidence": "截图", "liability": "not_merchant"},
        format="json",
    )
    second = api.post(
        f"/api/v1/tickets/{silent.pk}/actions/ruled_for_merchant/",
        {"case_number": "DY-2", "evidence": "截图"},
        format="json",
    )

    assert (first.status_code, second.status_code) == (200, 200)
    assert dict(PlatformRuling.objects.values_list("case_number", "liability")) == {
        "DY-1": MerchantLiability.NOT_MERCHANT,
        "DY-2": MerchantLiability.UNKNOWN,
    }


def test_an_unknown_liability_is_refused_and_nothing_is_recorded(shop, agent, supervisor):
    ticket = ticket_in_review(shop, agent)
    api = APIClient()
    api.force_authenticate(supervisor)

    answer = api.post(
        f"/api/v1/tickets/{ticket.pk}/actions/ruled_for_buyer/",
        {"case_number": "DY-3", "evidence": "截图", "liability": "the courier"},
        format="json",
    )

    ticket.refresh_from_db()
    assert answer.status_code == 400
    assert ticket.state == TicketState.PLATFORM_REVIEW
    assert not PlatformRuling.objects.exists()
