"""Opening a ticket: the path from the goods state, the clocks, escalation words and the path-1 rule (DESIGN §3)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from aftersales.models import (
    AfterSalesTicket,
    CutOffRequest,
    Refund,
    ReturnReason,
    TicketEvent,
    TicketKind,
    TicketState,
)
from aftersales.selectors import system_user
from aftersales.services import ticket_add_note, ticket_open
from desk.errors import ActionRefused
from tests.factories import (
    OrderFactory,
    confirm_refund,
    delivered_order,
    make_staff,
    open_ticket,
    reason,
    shipped_order,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("make_order", "kind", "path"),
    [
        (OrderFactory, TicketKind.REFUND_ONLY, 1),
        (shipped_order, TicketKind.REFUND_ONLY, 2),
        (delivered_order, TicketKind.REFUND_ONLY, 3),
        (delivered_order, TicketKind.COMPENSATION, 3),
        (delivered_order, TicketKind.RETURN_REFUND, 4),
        (delivered_order, TicketKind.EXCHANGE, 4),
    ],
)
def test_the_path_comes_from_the_goods_state_when_the_ticket_opens(make_order, kind, path):
    order = make_order()
    order.shop.auto_refund_enabled = False
    order.shop.save()

    ticket = open_ticket(order, kind=kind, requested_amount="10.00")

    assert ticket.path == path
    assert ticket.get_path_display().startswith(f"路径{'一二三四'[path - 1]}")


def test_a_ticket_keeps_its_first_reason_its_liability_and_both_clocks():
    order = delivered_order()
    before = timezone.now()

    ticket = open_ticket(order, kind=TicketKind.RETURN_REFUND, reason_code="damaged_in_transit")

    assert ticket.first_reason.code == ticket.reason.code == "damaged_in_transit"
    assert ticket.liability == "courier"
    platform = order.shop.platform
    assert before + timedelta(hours=platform.return_response_hours) <= ticket.deadline
    assert ticket.sla_due == ticket.opened_at + timedelta(hours=order.shop.sla_hours)
    assert ticket.requested_amount == order.paid_amount


def test_opening_writes_an_opened_event_by_whoever_opened_it():
    order = delivered_order()
    agent = make_staff("agent", role="Agent", shops=[order.shop])

    ticket = open_ticket(order, by=agent, buyer_message="衣服有线头")

    event = TicketEvent.objects.filter(ticket=ticket).first()
    assert (event.action, event.actor, event.to_state, event.note) == ("opened", agent, "requested", "衣服有线头")


def test_an_escalation_word_in_the_buyer_message_marks_the_ticket():
    calm = open_ticket(buyer_message="请尽快处理")
    angry = open_ticket(buyer_message="再不处理我就打12315投诉")

    assert not calm.escalation_risk
    assert angry.escalation_risk


def test_an_escalation_word_in_a_later_note_marks_the_ticket():
    ticket = open_ticket()
    agent = make_staff("agent", role="Agent", shops=[ticket.shop])

    ticket_add_note(ticket=ticket, by=agent, note="买家说要给差评")

    ticket.refresh_from_db()
    assert ticket.escalation_risk
    assert ticket.events.filter(action="note", actor=agent).exists()


def test_escalation_risks_sort_to_the_top_then_by_deadline():
    late = open_ticket(buyer_message="普通", opened_at=timezone.now() - timedelta(hours=10))
    early = open_ticket(buyer_message="普通")
    risky = open_ticket(buyer_message="我要曝光你们")

    ordered = list(AfterSalesTicket.objects.filter(pk__in=[late.pk, early.pk, risky.pk]))

    assert ordered == [risky, late, early]


def test_a_platform_push_replayed_returns_the_first_ticket():
    order = delivered_order()
    first = open_ticket(order, platform_ticket_id="RF-1")
    again = open_ticket(order, platform_ticket_id="RF-1")

    assert again.pk == first.pk
    assert AfterSalesTicket.objects.filter(order=order).count() == 1


def test_path_one_within_the_cap_is_refunded_on_arrival_as_the_system_user():
    order = OrderFactory(paid_amount=Decimal("99.00"))

    ticket = open_ticket(order, requested_amount="99.00")

    assert ticket.state == TicketState.REFUNDING
    refund = Refund.objects.get(ticket=ticket)
    assert (refund.amount, refund.kind, refund.requested_by) == (Decimal("99.00"), "full", system_user())
    assert ticket.events.get(action="auto_refund").actor == system_user()
    confirm_refund(refund)
    ticket.refresh_from_db()
    assert ticket.state == TicketState.REFUNDED


def test_path_one_above_the_cap_waits_for_an_agent():
    order = OrderFactory(paid_amount=Decimal("1200.00"))

    ticket = open_ticket(order, requested_amount="1200.00")

    assert ticket.state == TicketState.REQUESTED
    assert not Refund.objects.filter(ticket=ticket).exists()


def test_path_one_on_a_packed_order_asks_the_warehouse_to_cut_it_off():
    order = OrderFactory(packed_at=timezone.now())

    ticket = open_ticket(order)

    assert ticket.state == TicketState.INTERCEPTING
    assert CutOffRequest.objects.get(ticket=ticket).status == "requested"
    assert not Refund.objects.filter(ticket=ticket).exists()


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("-1", "金额必须大于零"),
        ("0", "金额必须大于零"),
        ("abc", "例如 12.50"),
        ("1.234", "最多两位小数"),
        ("200.01", "最多还可退 ¥200.00"),
    ],
)
def test_bad_requested_amounts_are_refused_in_chinese_and_nothing_is_written(amount, message):
    order = delivered_order(paid_amount=Decimal("200.00"))

    with pytest.raises(ActionRefused, match=message):
        ticket_open(
            order=order, kind=TicketKind.COMPENSATION, reason=reason(), by=system_user(), requested_amount=amount
        )

    assert not AfterSalesTicket.objects.exists()
    assert not TicketEvent.objects.exists()


def test_a_replayed_push_finds_its_ticket_even_after_the_reason_was_retired():
    order = delivered_order()
    first = open_ticket(order, platform_ticket_id="RF-9", reason_code="wrong_item")
    ReturnReason.objects.filter(code="wrong_item").update(is_active=False)

    again = open_ticket(order, platform_ticket_id="RF-9", reason_code="wrong_item")

    assert again.pk == first.pk
