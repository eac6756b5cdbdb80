"""Issue 22 §7: before the path-1 rule refunds, it checks whether the reason may involve compensation (涉及赔付,
seeds 000 and 001: 未按约定时间发货). Such a ticket goes to an agent with the reason shown; the rule and its sweep
pay nothing on it, and the other reasons are refunded as before."""

from decimal import Decimal

import pytest
from django.utils import translation

from aftersales.models import AfterSalesTicket, Refund, ReturnReason, TicketEvent, TicketState
from aftersales.services import ticket_apply_auto_rules
from aftersales.services.refund_gate import AutoRuleOutcome, automatic_candidates
from aftersales.services.sweeps import refund_sweep_run
from tests.factories import OrderFactory, ShopFactory, open_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return ShopFactory(auto_refund_enabled=True, auto_refund_max_amount=Decimal("300.00"))


def test_the_seeded_late_shipping_reason_is_marked_and_the_others_are_not():
    marked = set(ReturnReason.objects.filter(may_owe_compensation=True).values_list("code", flat=True))
    assert marked == {"late_shipping"}


def test_a_late_shipping_refund_goes_to_an_agent_with_its_reason_and_is_not_refunded(shop):
    with translation.override("zh-hans"):
        ticket = open_ticket(OrderFactory(shop=shop), reason_code="late_shipping", requested_amount="59.00")

    assert ticket.state == TicketState.REQUESTED
    assert not Refund.objects.filter(ticket=ticket).exists()
    assert "未按约定时间发货" in ticket.attention_note
    assert "涉及赔付" in ticket.attention_note
    flagged = TicketEvent.objects.filter(ticket=ticket, action="flagged")
    assert [event.note for event in flagged] == [ticket.attention_note]


def test_the_rule_applied_again_flags_the_ticket_only_once(shop):
    ticket = open_ticket(OrderFactory(shop=shop), reason_code="late_shipping", requested_amount="59.00")
    assert ticket_apply_auto_rules(ticket=ticket) == AutoRuleOutcome.TO_AGENT
    assert TicketEvent.objects.filter(ticket=ticket, action="flagged").count() == 1


def test_another_reason_is_still_refunded_at_once(shop):
    ticket = open_ticket(OrderFactory(shop=shop), reason_code="changed_mind", requested_amount="59.00")
    assert ticket.state == TicketState.REFUNDING
    assert ticket.attention_note == ""


def test_the_sweep_does_not_pick_the_ticket_up_and_pays_nothing_on_it(shop):
    shop.auto_refund_enabled = False
    shop.save()
    late = open_ticket(OrderFactory(shop=shop), reason_code="late_shipping", requested_amount="59.00")
    other = open_ticket(OrderFactory(shop=shop), reason_code="changed_mind", requested_amount="59.00")
    shop.auto_refund_enabled = True
    shop.save()
    assert set(AfterSalesTicket.objects.filter(automatic_candidates()).values_list("pk", flat=True)) == {other.pk}

    run = refund_sweep_run()

    assert run.counts == {"auto_refund": 1}
    assert AfterSalesTicket.objects.get(pk=late.pk).state == TicketState.REQUESTED
    assert AfterSalesTicket.objects.get(pk=other.pk).state == TicketState.REFUNDING


def test_a_reason_unmarked_by_the_shop_goes_back_to_the_rule(shop):
    ReturnReason.objects.filter(code="late_shipping").update(may_owe_compensation=False)
    ticket = open_ticket(OrderFactory(shop=shop), reason_code="late_shipping", requested_amount="59.00")
    assert ticket.state == TicketState.REFUNDING
