"""Issue 22 §2: the internal time limits of seed 001. No request waits more than 4 h for the merchant (the default
SLA), a not-shipped refund is answered within 30 min, and a supervisor's approval keeps the shop's own hours with
the seed's 12 h offered on the shop's page."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from aftersales.models import Shop, TicketKind
from tests.factories import OrderFactory, ShopFactory, delivered_order, open_ticket

pytestmark = pytest.mark.django_db

START = datetime(2026, 11, 11, 2, 0, tzinfo=UTC)


def test_a_new_shop_answers_other_requests_within_four_hours_and_not_shipped_refunds_within_thirty_minutes():
    shop = ShopFactory(auto_refund_enabled=False)
    assert (shop.sla_hours, shop.path1_sla_minutes) == (4, 30)
    with time_machine.travel(START, tick=False):
        delivered = open_ticket(delivered_order(shop=shop), kind=TicketKind.RETURN_REFUND)
        unshipped = open_ticket(OrderFactory(shop=shop), requested_amount="10.00")
    assert delivered.sla_due == START + timedelta(hours=4)
    assert unshipped.sla_due == START + timedelta(minutes=30)


def test_a_shop_that_chose_its_own_sla_keeps_it():
    shop = ShopFactory(auto_refund_enabled=False, sla_hours=24)
    with time_machine.travel(START, tick=False):
        ticket = open_ticket(delivered_order(shop=shop), kind=TicketKind.RETURN_REFUND)
    assert ticket.sla_due == START + timedelta(hours=24)


def test_the_sla_is_past_four_hours_after_the_request_and_not_a_second_before(client):
    shop = ShopFactory(auto_refund_enabled=False)
    with time_machine.travel(START, tick=False):
        ticket = open_ticket(delivered_order(shop=shop), kind=TicketKind.RETURN_REFUND)
    client.force_login(_superuser())
    url = reverse("admin:aftersales_aftersalesticket_changelist")
    with time_machine.travel(START + timedelta(hours=4) - timedelta(seconds=1), tick=False):
        assert ticket.pk not in _listed(client.get(url, {"overdue": "sla"}))
    with time_machine.travel(START + timedelta(hours=4, seconds=1), tick=False):
        assert ticket.pk in _listed(client.get(url, {"overdue": "sla"}))


def test_the_shop_page_offers_twelve_hours_for_approvals_as_the_seed_does(admin_client):
    shop = ShopFactory()
    page = admin_client.get(reverse("admin:aftersales_shop_change", args=[shop.pk])).content.decode()
    assert '<option value="12"></option>' in page
    assert Shop._meta.get_field("approval_due_hours").default == 4


def _listed(response) -> list[int]:
    return [row.pk for row in response.context["cl"].result_list]


def _superuser():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser("boss", password="pw")
