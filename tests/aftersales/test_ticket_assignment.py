"""Who owns a ticket: an agent takes one (接单), a supervisor gives one to an agent of the shop (派单), each with its
event in the same transaction; the queue opens on "mine and unassigned"; an agent reads a supervisor's decline."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from aftersales.models import AfterSalesTicket, ApprovalRequest, TicketEvent, TicketState
from aftersales.services import (
    approval_acknowledge_decline,
    approval_decide,
    ticket_assign,
    ticket_request_approval,
)
from desk.errors import ActionRefused
from tests.aftersales.test_ticket_admin import TICKETS, bulk_tickets, count_queries
from tests.factories import ShopFactory, delivered_order, grant_authority, make_staff, open_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return ShopFactory(name="A店")


@pytest.fixture
def agent(shop):
    return make_staff("agent", role="Agent", shops=[shop])


@pytest.fixture
def other_agent(shop):
    return make_staff("agent2", role="Agent", shops=[shop])


@pytest.fixture
def supervisor(shop):
    user = make_staff("lead", role="Supervisor", shops=[shop])
    grant_authority(user, shop, "5000.00")
    return user


@pytest.fixture
def ticket(shop):
    return open_ticket(delivered_order(shop=shop))


def declines_banner(page: str) -> str:
    if 'id="declined-requests"' not in page:
        return ""
    return page.split('id="declined-requests"', 1)[1].split("</section>", 1)[0]


def events(ticket, action):
    return list(TicketEvent.objects.filter(ticket=ticket, action=action).values_list("actor__username", "note"))


def test_an_agent_takes_an_unassigned_ticket_and_the_history_says_so(ticket, agent):
    ticket_assign(ticket=ticket, by=agent, assignee=agent)

    ticket.refresh_from_db()
    assert ticket.assignee == agent
    assert events(ticket, "taken") == [("agent", "agent")]


def test_taking_a_ticket_one_already_holds_writes_nothing(ticket, agent):
    ticket_assign(ticket=ticket, by=agent, assignee=agent)
    ticket_assign(ticket=ticket, by=agent, assignee=agent)

    assert len(events(ticket, "taken")) == 1


def test_an_agent_cannot_take_a_ticket_another_agent_holds(ticket, agent, other_agent):
    ticket_assign(ticket=ticket, by=other_agent, assignee=other_agent)

    with pytest.raises(ActionRefused) as refused:
        ticket_assign(ticket=ticket, by=agent, assignee=agent)

    assert refused.value.code == "taken"
    ticket.refresh_from_db()
    assert ticket.assignee == other_agent
    assert events(ticket, "taken") == [("agent2", "agent2")]


def test_an_agent_cannot_give_a_ticket_to_someone_else(ticket, agent, other_agent):
    with pytest.raises(ActionRefused) as refused:
        ticket_assign(ticket=ticket, by=agent, assignee=other_agent)

    assert refused.value.code == "not_permitted"
    assert AfterSalesTicket.objects.get(pk=ticket.pk).assignee is None
    assert not TicketEvent.objects.filter(ticket=ticket, action__in=["taken", "assigned"]).exists()


def test_a_supervisor_moves_a_ticket_from_one_agent_to_another(ticket, agent, other_agent, supervisor):
    ticket_assign(ticket=ticket, by=agent, assignee=agent)
    ticket_assign(ticket=ticket, by=supervisor, assignee=other_agent)

    ticket.refresh_from_db()
    assert ticket.assignee == other_agent
    assert events(ticket, "assigned") == [("lead", "agent → agent2")]


def test_a_supervisor_cannot_give_a_ticket_to_someone_outside_the_shop_or_who_does_not_work_tickets(ticket, supervisor):
    stranger = make_staff("stranger", role="Agent", shops=[ShopFactory(name="B店")])
    clerk = make_staff("clerk", role="Warehouse", shops=[ticket.shop])
    for assignee in (stranger, clerk):
        with pytest.raises(ActionRefused) as refused:
            ticket_assign(ticket=ticket, by=supervisor, assignee=assignee)
        assert refused.value.code == "assignee_not_in_shop"

    assert AfterSalesTicket.objects.get(pk=ticket.pk).assignee is None
    assert not TicketEvent.objects.filter(ticket=ticket, action="assigned").exists()


def test_a_warehouse_clerk_cannot_take_a_ticket_nor_anyone_a_closed_one(ticket, agent, shop):
    clerk = make_staff("clerk", role="Warehouse", shops=[shop])
    with pytest.raises(ActionRefused):
        ticket_assign(ticket=ticket, by=clerk, assignee=clerk)
    AfterSalesTicket.objects.filter(pk=ticket.pk).update(state=TicketState.CLOSED, closed_at=timezone.now())
    with pytest.raises(ActionRefused) as refused:
        ticket_assign(ticket=ticket, by=agent, assignee=agent)

    assert refused.value.code == "closed"
    assert AfterSalesTicket.objects.get(pk=ticket.pk).assignee is None


def test_the_page_take_button_and_assign_form_call_the_service(client, ticket, agent, other_agent, supervisor):
    assign_url = reverse("admin:aftersales_aftersalesticket_assign", args=[ticket.pk])
    change_url = reverse("admin:aftersales_aftersalesticket_change", args=[ticket.pk])
    client.force_login(agent)
    page = client.get(change_url).content.decode()
    assert 'id="take-ticket"' in page
    assert 'id="assign-ticket"' not in page
    client.post(assign_url)
    assert AfterSalesTicket.objects.get(pk=ticket.pk).assignee == agent

    client.force_login(supervisor)
    page = client.get(change_url).content.decode()
    assert 'id="assign-ticket"' in page
    response = client.post(assign_url, {"assignee": "not-a-number"})
    assert response.status_code == 302
    assert AfterSalesTicket.objects.get(pk=ticket.pk).assignee == agent
    client.post(assign_url, {"assignee": str(other_agent.pk)})
    assert AfterSalesTicket.objects.get(pk=ticket.pk).assignee == other_agent
    assert client.get(assign_url).status_code == 405


def test_the_queue_opens_on_mine_and_unassigned_and_all_is_one_click_away(client, shop, agent, other_agent):
    mine, free, theirs = bulk_tickets(shop, 3)
    AfterSalesTicket.objects.filter(pk=mine.pk).update(assignee=agent)
    AfterSalesTicket.objects.filter(pk=theirs.pk).update(assignee=other_agent)
    client.force_login(agent)

    def listed(query=""):
        return {ticket.pk for ticket in client.get(TICKETS + query).context["cl"].result_list}

    assert listed() == {mine.pk, free.pk}
    assert listed("?owner=all") == {mine.pk, free.pk, theirs.pk}
    assert listed("?owner=mine") == {mine.pk}
    assert listed("?owner=unassigned") == {free.pk}
    assert "?owner=all" in client.get(TICKETS).content.decode()


def test_the_queue_costs_the_same_queries_with_assignees_and_declines_as_without(client, shop, agent, supervisor):
    client.force_login(agent)
    bulk_tickets(shop, 5)
    before, _response = count_queries(client, TICKETS)

    tickets = bulk_tickets(shop, 60)
    AfterSalesTicket.objects.filter(pk__in=[ticket.pk for ticket in tickets[::2]]).update(assignee=agent)
    for ticket in tickets[:3]:
        approval = ticket_request_approval(ticket=ticket, by=agent, amount="5")
        approval_decide(approval=approval, by=supervisor, approve=False, note="不同意")
    after, response = count_queries(client, TICKETS + "?owner=all")

    assert after == before
    assert len(response.context["declines"]) == 3


def test_an_agent_sees_the_declines_of_their_requests_with_the_note_until_they_mark_them_read(
    client, shop, agent, other_agent, supervisor
):
    ticket = open_ticket(delivered_order(shop=shop))
    theirs = open_ticket(delivered_order(shop=shop))
    approval = ticket_request_approval(ticket=ticket, by=agent, amount="80")
    approval_decide(approval=approval, by=supervisor, approve=False, note="先补偿20元")
    other = ticket_request_approval(ticket=theirs, by=other_agent, amount="80")
    approval_decide(approval=other, by=supervisor, approve=False, note="别人的")
    client.force_login(agent)

    banner = declines_banner(client.get(TICKETS).content.decode())
    assert "先补偿20元" in banner
    assert "别人的" not in banner

    read_url = reverse("admin:aftersales_aftersalesticket_decline_read", args=[approval.pk])
    client.post(read_url)
    client.post(read_url)  # twice: recorded once

    assert declines_banner(client.get(TICKETS).content.decode()) == ""
    approval.refresh_from_db()
    assert approval.acknowledged_at is not None
    assert events(ticket, "decline_read") == [("agent", "先补偿20元")]


def test_only_the_requester_marks_a_decline_read_and_only_a_decline(shop, agent, other_agent, supervisor):
    ticket = open_ticket(delivered_order(shop=shop))
    approval = ticket_request_approval(ticket=ticket, by=agent, amount="80")
    with pytest.raises(ActionRefused) as refused:
        approval_acknowledge_decline(approval=approval, by=agent)
    assert refused.value.code == "not_declined"

    approval_decide(approval=approval, by=supervisor, approve=False, note="不行")
    with pytest.raises(ActionRefused) as refused:
        approval_acknowledge_decline(approval=approval, by=other_agent)

    assert refused.value.code == "not_yours"
    assert ApprovalRequest.objects.get(pk=approval.pk).acknowledged_at is None
    assert not TicketEvent.objects.filter(ticket=ticket, action="decline_read").exists()


def test_the_queue_shows_the_countdown_to_the_nearer_clock_in_red_when_overdue(client, shop, agent, time_machine):
    soon, late = bulk_tickets(shop, 2)
    now = timezone.now()
    # The clock stands still: on a loaded machine a second passing between setup and render turns 40 min into 39.
    time_machine.move_to(now, tick=False)
    AfterSalesTicket.objects.filter(pk=soon.pk).update(
        deadline=now + timedelta(hours=30), sla_due=now + timedelta(minutes=40)
    )
    AfterSalesTicket.objects.filter(pk=late.pk).update(deadline=now - timedelta(hours=2, minutes=5))
    client.force_login(agent)

    page = client.get(TICKETS).content.decode()

    assert '<span class="desk-clock desk-clock-urgent"' in page
    assert '剩余 40分</span><small class="desk-sub">时效 ' in page
    assert '<span class="desk-clock desk-clock-overdue"' in page
    assert '已超时 2时5分</span><small class="desk-sub">平台 ' in page
