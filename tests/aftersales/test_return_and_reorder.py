"""退货重拍 (seed 001): an exchange becomes a return-and-refund (the buyer orders again), with a note for the buyer;
the shop's lost-parcel remedy shows on the ticket's page."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from aftersales.models import TicketEvent, TicketKind, TicketState
from aftersales.selectors import system_user
from aftersales.services import ticket_agree_return, ticket_return_and_reorder
from aftersales.ticket_actions import offered_actions, perform
from desk.errors import ActionRefused
from tests.factories import OrderLineFactory, ShopFactory, delivered_order, make_staff, open_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return ShopFactory(name="A店")


@pytest.fixture
def agent(shop):
    return make_staff("agent", role="Agent", shops=[shop])


def exchange(shop):
    order = delivered_order(shop=shop, paid_amount=Decimal("99.00"))
    OrderLineFactory(order=order, quantity=1, paid_amount=Decimal("99.00"))
    return open_ticket(order, kind=TicketKind.EXCHANGE)


def test_an_exchange_awaiting_its_return_becomes_a_return_and_refund_with_a_note_for_the_buyer(shop, agent):
    ticket = exchange(shop)
    ticket_agree_return(ticket=ticket, by=system_user())
    assert "return_and_reorder" in [action.name for action in offered_actions(ticket, agent)]

    with translation.override("zh-hans"):
        message = perform(ticket=ticket, by=agent, name="return_and_reorder", data={"note": "尺码换L"})

    ticket.refresh_from_db()
    assert (ticket.kind, ticket.state) == (TicketKind.RETURN_REFUND, TicketState.AWAITING_RETURN)
    event = ticket.events.get(action=TicketEvent.Action.EXCHANGE_TO_RETURN)
    assert (event.actor, event.from_state, event.to_state) == (agent, "awaiting_return", "awaiting_return")
    assert "退货重拍" in event.note
    assert "尺码换L" in event.note
    assert "退货重拍" in message


def test_only_an_open_exchange_can_become_a_return(shop, agent):
    refund_only = open_ticket(delivered_order(shop=shop))
    with pytest.raises(ActionRefused) as refused:
        ticket_return_and_reorder(ticket=refund_only, by=agent)
    assert refused.value.code == "not_exchange"
    assert "return_and_reorder" not in [action.name for action in offered_actions(refund_only, agent)]

    ticket = exchange(shop)
    ticket_return_and_reorder(ticket=ticket, by=agent)
    with pytest.raises(ActionRefused):  # already a return and refund
        ticket_return_and_reorder(ticket=ticket, by=agent)
    assert ticket.events.filter(action=TicketEvent.Action.EXCHANGE_TO_RETURN).count() == 1


def test_the_ticket_page_shows_the_shops_lost_parcel_remedy(client, shop, agent):
    ticket = open_ticket(delivered_order(shop=shop))
    client.force_login(agent)

    page = client.get(reverse("admin:aftersales_aftersalesticket_change", args=[ticket.pk]))

    assert "补发商品" in page.content.decode()  # the desk speaks Chinese by default
