"""Issue 22 §1: the platform deadline follows the ticket's stage (services/deadlines.py), from the platform's
defaults or, for a connected shop, from the marketplace; the queue, the page and the near-deadline sweep read it."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from aftersales.models import AfterSalesTicket, DeadlineSource, Platform, TicketEvent, TicketKind, TicketState
from aftersales.selectors import system_user
from aftersales.services import (
    ticket_agree_return,
    ticket_escalate_to_platform,
    ticket_restart_stage_deadline,
    ticket_return_received,
    ticket_return_shipped,
    ticket_set_platform_deadline,
)
from aftersales.services.sweeps import refund_sweep_run
from desk.errors import ActionRefused
from tests.factories import ShopFactory, delivered_order, make_staff, open_ticket

pytestmark = pytest.mark.django_db

# 2026-03-02 09:00 in Shanghai.
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@pytest.fixture
def shop():
    return ShopFactory(auto_refund_enabled=False, deadline_warning_hours=6)


@pytest.fixture
def agent(shop):
    return make_staff("agent", role="Agent", shops=[shop])


@pytest.fixture
def warehouse(shop):
    return make_staff("warehouse", role="Warehouse", shops=[shop])


def reload(ticket) -> AfterSalesTicket:
    return AfterSalesTicket.objects.get(pk=ticket.pk)


def last_event(ticket) -> TicketEvent:
    return TicketEvent.objects.filter(ticket=ticket).order_by("-id").first()


def test_each_stage_takes_its_own_deadline_from_the_platform_and_writes_it_with_its_event(shop, agent, warehouse):
    tmall = Platform.objects.get(code="tmall")  # 48 h to answer a return, 7 days to send it, 10 to confirm it
    with time_machine.travel(START, tick=False):
        ticket = open_ticket(delivered_order(shop=shop), kind=TicketKind.RETURN_REFUND)
    assert ticket.deadline == START + timedelta(hours=48)

    agreed_at = START + timedelta(hours=3)
    with time_machine.travel(agreed_at, tick=False):
        ticket_agree_return(ticket=ticket, by=agent)
    assert reload(ticket).deadline == agreed_at + timedelta(days=tmall.buyer_return_upload_days)
    assert last_event(ticket).deadline == agreed_at + timedelta(days=7)

    shipped_at = START + timedelta(days=2)
    with time_machine.travel(shipped_at, tick=False):
        ticket_return_shipped(ticket=ticket, by=agent, courier_code="YTO", tracking_number="YT1234567890")
    assert reload(ticket).deadline == shipped_at + timedelta(days=10)

    signed_at = START + timedelta(days=4, hours=5)
    with time_machine.travel(signed_at + timedelta(hours=2), tick=False):
        ticket_return_received(ticket=ticket, by=warehouse, signed_at=signed_at)
    ticket = reload(ticket)
    # 10 days from the courier's signature at our address, not from the warehouse's scan two hours later.
    assert ticket.deadline == datetime(2026, 3, 16, 6, 0, tzinfo=UTC) == signed_at + timedelta(days=10)
    assert (last_event(ticket).action, last_event(ticket).deadline) == ("return_received", ticket.deadline)


def test_the_deadline_after_a_platform_step_is_the_platforms_answer_time(shop, agent):
    tmall = Platform.objects.get(code="tmall")
    tmall.platform_step_response_hours = 72
    tmall.save()
    with time_machine.travel(START, tick=False):
        ticket = open_ticket(delivered_order(shop=shop), requested_amount="20.00")
    stepped_in = START + timedelta(hours=30)
    with time_machine.travel(stepped_in, tick=False):
        ticket_escalate_to_platform(ticket=ticket, by=agent)
    assert reload(ticket).deadline == stepped_in + timedelta(hours=72)


def test_moves_inside_a_stage_keep_its_deadline(shop, agent):
    with time_machine.travel(START, tick=False):
        ticket = open_ticket(delivered_order(shop=shop), kind=TicketKind.RETURN_REFUND)
    with time_machine.travel(START + timedelta(hours=1), tick=False):
        ticket_agree_return(ticket=ticket, by=agent)
    agreed_deadline = reload(ticket).deadline
    from aftersales.services import ticket_add_note

    with time_machine.travel(START + timedelta(days=3), tick=False):
        ticket_add_note(ticket=ticket, by=agent, note="买家说明天寄")
    assert reload(ticket).deadline == agreed_deadline
    assert last_event(ticket).deadline is None


def test_the_sweep_warns_of_the_receipt_deadline_six_hours_before_it_and_not_a_second_earlier(shop, agent, warehouse):
    with time_machine.travel(START, tick=False):
        ticket = open_ticket(delivered_order(shop=shop), kind=TicketKind.RETURN_REFUND)
        ticket_agree_return(ticket=ticket, by=agent)
        ticket_return_shipped(ticket=ticket, by=agent, courier_code="YTO", tracking_number="YT1234567891")
    signed_at = START + timedelta(days=3)
    with time_machine.travel(signed_at, tick=False):
        ticket_return_received(ticket=ticket, by=warehouse)
    deadline = signed_at + timedelta(days=10)
    assert reload(ticket).deadline == deadline

    # The sweep's warning (6 h before): one second early it leaves the ticket alone, on the hour it flags it.
    with time_machine.travel(deadline - timedelta(hours=6, seconds=1), tick=False):
        assert refund_sweep_run().counts == {}
    with time_machine.travel(deadline - timedelta(hours=6), tick=False):
        assert refund_sweep_run().counts == {"deadline_escalated": 1}
    event = last_event(ticket)
    assert event.action == "deadline_near"
    assert "超时自动退款" in event.note
    assert reload(ticket).state == TicketState.RECEIVED


def test_the_overdue_filter_and_the_red_cell_follow_the_current_deadline(client, shop, agent, warehouse):
    with time_machine.travel(START, tick=False):
        ticket = open_ticket(delivered_order(shop=shop), kind=TicketKind.RETURN_REFUND)
        unanswered = open_ticket(delivered_order(shop=shop), kind=TicketKind.RETURN_REFUND)
        ticket_agree_return(ticket=ticket, by=agent)
    # The answer deadline (48 h) has passed, the buyer's 7 days to send the return have not.
    client.force_login(agent)
    url = reverse("admin:aftersales_aftersalesticket_changelist")
    with time_machine.travel(START + timedelta(days=3), tick=False):
        page = client.get(url, {"overdue": "deadline"})
        listed = [row.pk for row in page.context["cl"].result_list]
        assert listed == [unanswered.pk]
        detail = client.get(reverse("admin:aftersales_aftersalesticket_change", args=[ticket.pk]))
    assert detail.status_code == 200
    assert "2026-03-09 09:00" in detail.content.decode()  # the return stage's deadline, in Shanghai time
    assert not detail.context["guidance"].deadline_passed


def test_a_connected_shops_deadline_comes_from_the_marketplace_and_the_stage_does_not_overwrite_it(shop, agent):
    with time_machine.travel(START, tick=False):
        ticket = open_ticket(delivered_order(shop=shop), kind=TicketKind.RETURN_REFUND)
    theirs = START + timedelta(hours=36)
    assert ticket_set_platform_deadline(ticket=ticket, deadline=theirs, by=system_user()) is True
    assert ticket_set_platform_deadline(ticket=ticket, deadline=theirs, by=system_user()) is False  # a replay

    ticket = reload(ticket)
    assert (ticket.deadline, ticket.deadline_source) == (theirs, DeadlineSource.PLATFORM)
    assert TicketEvent.objects.filter(ticket=ticket, action="deadline_set", deadline=theirs).count() == 1

    with time_machine.travel(START + timedelta(hours=1), tick=False):
        ticket_agree_return(ticket=ticket, by=agent)
    assert reload(ticket).deadline == theirs  # until the marketplace sends the next stage's
    nxt = START + timedelta(days=6)
    ticket_set_platform_deadline(ticket=ticket, deadline=nxt, by=system_user())
    assert reload(ticket).deadline == nxt


def test_a_connector_may_open_a_ticket_with_the_marketplaces_deadline(shop):
    theirs = START + timedelta(hours=20)
    with time_machine.travel(START, tick=False):
        ticket = open_ticket(delivered_order(shop=shop), requested_amount="20.00", platform_deadline=theirs)
    assert (ticket.deadline, ticket.deadline_source) == (theirs, DeadlineSource.PLATFORM)
    assert ticket.sla_due <= theirs


def test_a_deadline_without_a_time_zone_is_refused(shop):
    ticket = open_ticket(delivered_order(shop=shop), requested_amount="20.00")
    with pytest.raises(ActionRefused) as refusal:
        ticket_set_platform_deadline(ticket=ticket, deadline=datetime(2026, 3, 3, 9, 0), by=system_user())  # noqa: DTZ001
    assert refusal.value.code == "invalid_deadline"


def test_the_signature_learnt_later_restarts_the_receipt_clock(shop, agent, warehouse):
    with time_machine.travel(START, tick=False):
        ticket = open_ticket(delivered_order(shop=shop), kind=TicketKind.RETURN_REFUND)
        ticket_agree_return(ticket=ticket, by=agent)
        ticket_return_shipped(ticket=ticket, by=agent, courier_code="YTO", tracking_number="YT1234567892")
    assert reload(ticket).deadline == START + timedelta(days=10)
    signed_at = START + timedelta(days=2)

    assert ticket_restart_stage_deadline(ticket=ticket, since=signed_at, by=system_user(), note="签收") is True
    assert reload(ticket).deadline == signed_at + timedelta(days=10)
    assert last_event(ticket).action == "deadline_set"
    assert ticket_restart_stage_deadline(ticket=ticket, since=signed_at, by=system_user()) is False


def test_the_queue_orders_by_the_current_deadline(shop, agent):
    with time_machine.travel(START, tick=False):
        first = open_ticket(delivered_order(shop=shop), kind=TicketKind.RETURN_REFUND)
        second = open_ticket(delivered_order(shop=shop), kind=TicketKind.RETURN_REFUND)
    # Agreeing the first's return gives it 7 days: the second, still due in 48 h, comes first now.
    with time_machine.travel(START + timedelta(hours=1), tick=False):
        ticket_agree_return(ticket=first, by=agent)
    assert list(AfterSalesTicket.objects.filter(shop=shop).values_list("pk", flat=True)) == [second.pk, first.pk]


def test_a_ticket_under_platform_review_near_its_answer_deadline_goes_to_the_top(shop, agent):
    with time_machine.travel(START, tick=False):
        ticket = open_ticket(delivered_order(shop=shop), kind=TicketKind.RETURN_REFUND)
        ticket_escalate_to_platform(ticket=ticket, by=agent)
    answer_by = START + timedelta(hours=Platform.objects.get(code="tmall").platform_step_response_hours)
    assert reload(ticket).deadline == answer_by
    with time_machine.travel(answer_by - timedelta(hours=6, seconds=1), tick=False):
        assert refund_sweep_run().counts == {}
    with time_machine.travel(answer_by - timedelta(hours=6), tick=False):
        assert refund_sweep_run().counts == {"deadline_escalated": 1}


def test_ten_days_after_the_signature_the_return_is_due_and_one_second_later_it_is_overdue(
    client, shop, agent, warehouse
):
    with time_machine.travel(START, tick=False):
        ticket = open_ticket(delivered_order(shop=shop), kind=TicketKind.RETURN_REFUND)
        ticket_agree_return(ticket=ticket, by=agent)
        ticket_return_shipped(ticket=ticket, by=agent, courier_code="YTO", tracking_number="YT1234567893")
    signed_at = START + timedelta(days=2, hours=3)
    with time_machine.travel(signed_at, tick=False):
        ticket_return_received(ticket=ticket, by=warehouse, signed_at=signed_at)
    client.force_login(agent)
    queue = reverse("admin:aftersales_aftersalesticket_changelist")
    page = reverse("admin:aftersales_aftersalesticket_change", args=[ticket.pk])

    with time_machine.travel(signed_at + timedelta(days=10), tick=False):
        assert client.get(queue, {"overdue": "deadline"}).context["cl"].result_count == 0
        assert not client.get(page).context["guidance"].deadline_passed
    with time_machine.travel(signed_at + timedelta(days=10, seconds=1), tick=False):
        assert client.get(queue, {"overdue": "deadline"}).context["cl"].result_count == 1
        assert client.get(page).context["guidance"].deadline_passed
