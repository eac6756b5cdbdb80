"""Issue 22 §5, 已收到货仅退款 (seed 004: 已收到货仅退款的协商退货退款，未修改则拒绝): a refund only on delivered goods
is met with a proposal of return and refund and a time to answer; if the buyer does not change the request in time
the sweep proposes the rejection, with the seed's reason, and only the agent's confirmation rejects it."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from aftersales.models import AfterSalesTicket, ReturnProposal, TicketEvent, TicketKind, TicketState
from aftersales.services import ticket_agree_return, ticket_reject_unchanged_request
from aftersales.services.sweeps import refund_sweep_run
from aftersales.ticket_actions import offered_actions, perform
from desk.errors import ActionRefused
from tests.factories import OrderFactory, ShopFactory, delivered_order, make_staff, open_ticket, shipped_order

pytestmark = pytest.mark.django_db

START = datetime(2026, 6, 3, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
SEED_REASON = "已收到货仅退款的协商退货退款，未修改则拒绝"


@pytest.fixture
def shop():
    return ShopFactory(auto_refund_enabled=False, deadline_warning_hours=6)


@pytest.fixture
def agent(shop):
    return make_staff("agent", role="Agent", shops=[shop])


def proposed(shop) -> AfterSalesTicket:
    with time_machine.travel(START, tick=False):
        return open_ticket(delivered_order(shop=shop), requested_amount="99.00")


def reload(ticket) -> AfterSalesTicket:
    return AfterSalesTicket.objects.get(pk=ticket.pk)


def test_a_refund_only_on_delivered_goods_is_met_with_a_proposal_due_in_24_hours(shop):
    ticket = proposed(shop)

    assert (ticket.path, ticket.return_proposal) == (3, ReturnProposal.PROPOSED)
    # 24 h, before the platform's 48 h answer deadline less the shop's 6 h warning (42 h).
    assert ticket.return_proposal_due == START + timedelta(hours=24)
    event = TicketEvent.objects.get(ticket=ticket, action="return_proposed")
    assert "2026-06-04 09:00" in event.note


@pytest.mark.parametrize(
    ("make_order", "kind"),
    [
        (delivered_order, TicketKind.RETURN_REFUND),
        (delivered_order, TicketKind.COMPENSATION),
        (shipped_order, TicketKind.REFUND_ONLY),
        (OrderFactory, TicketKind.REFUND_ONLY),
    ],
)
def test_other_requests_get_no_proposal(shop, make_order, kind):
    ticket = open_ticket(make_order(shop=shop), kind=kind, requested_amount="10.00")
    assert (ticket.return_proposal, ticket.return_proposal_due) == ("", None)
    assert not TicketEvent.objects.filter(ticket=ticket, action="return_proposed").exists()


def test_a_close_platform_deadline_brings_the_proposal_forward_to_its_warning(shop):
    shop.platform.refund_response_hours = 24
    shop.platform.save()
    ticket = proposed(shop)
    assert ticket.return_proposal_due == START + timedelta(hours=24 - 6)


def test_the_sweep_proposes_the_rejection_exactly_at_the_due_time_and_not_a_second_before(shop, agent):
    ticket = proposed(shop)
    due = START + timedelta(hours=24)

    with time_machine.travel(due - timedelta(seconds=1), tick=False):
        assert "return_proposal_expired" not in refund_sweep_run().counts
    assert reload(ticket).return_proposal == ReturnProposal.PROPOSED
    assert not any(action.name == "reject_unchanged" for action in offered_actions(reload(ticket), agent))

    with time_machine.travel(due, tick=False):
        assert refund_sweep_run().counts["return_proposal_expired"] == 1
    ticket = reload(ticket)
    # Proposed, not done: the ticket still waits for the agent, with the seed's reason in front of them.
    assert (ticket.state, ticket.return_proposal) == (TicketState.REQUESTED, ReturnProposal.EXPIRED)
    assert SEED_REASON in ticket.attention_note
    assert TicketEvent.objects.filter(ticket=ticket, action="proposal_expired").count() == 1
    assert any(action.name == "reject_unchanged" for action in offered_actions(ticket, agent))
    with time_machine.travel(due + timedelta(hours=8), tick=False):
        assert "return_proposal_expired" not in refund_sweep_run().counts  # once


def test_the_agent_confirms_the_rejection_with_the_seeds_reason(shop, agent):
    ticket = proposed(shop)
    with time_machine.travel(START + timedelta(hours=24), tick=False):
        refund_sweep_run()

    message = perform(ticket=reload(ticket), by=agent, name="reject_unchanged", data={"note": "已电话联系"})

    ticket = reload(ticket)
    assert ticket.state == TicketState.REJECTED
    assert message
    event = TicketEvent.objects.filter(ticket=ticket, action="rejected").get()
    assert SEED_REASON in event.note
    assert event.note.endswith("已电话联系")
    assert event.actor == agent


def test_the_rejection_cannot_be_confirmed_while_the_buyer_still_has_time(shop, agent):
    ticket = proposed(shop)
    with pytest.raises(ActionRefused) as refusal:
        ticket_reject_unchanged_request(ticket=ticket, by=agent)
    assert refusal.value.code == "no_expired_proposal"
    assert reload(ticket).state == TicketState.REQUESTED


def test_a_buyer_who_changes_the_request_in_time_gets_the_return_and_nothing_is_rejected(shop, agent):
    ticket = proposed(shop)
    with time_machine.travel(START + timedelta(hours=5), tick=False):
        ticket_agree_return(ticket=ticket, by=agent, note="买家已改为退货退款")
    with time_machine.travel(START + timedelta(hours=30), tick=False):
        assert "return_proposal_expired" not in refund_sweep_run().counts
    ticket = reload(ticket)
    assert (ticket.state, ticket.kind, ticket.return_proposal) == (
        TicketState.AWAITING_RETURN,
        TicketKind.RETURN_REFUND,
        "",
    )


def test_the_ticket_page_guides_the_agent_through_the_proposal(client, shop, agent):
    ticket = proposed(shop)
    client.force_login(agent)
    url = reverse("admin:aftersales_aftersalesticket_change", args=[ticket.pk])
    with time_machine.travel(START + timedelta(hours=1), tick=False):
        page = client.get(url).content.decode()
    assert 'id="return-proposal"' in page
    assert "2026-06-04 09:00" in page
    with time_machine.travel(START + timedelta(hours=24), tick=False):
        refund_sweep_run()
        page = client.get(url).content.decode()
    assert 'id="action-reject_unchanged"' in page
