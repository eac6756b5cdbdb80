"""截单 within 2 h (seed 001): a cut-off gets a due time from the shop's setting, shows red from that moment on the
warehouse's page and the admin list, and the 15-minute follow-up flags it to the agent once."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from aftersales.models import AfterSalesTicket, CutOffRequest, SweepRun, TicketEvent
from aftersales.services import cutoff_confirm_hold, cutoffs_flag_overdue
from logistics.sweeps import intercept_follow_up_run
from tests.factories import OrderFactory, OrderLineFactory, ShopFactory, make_staff, open_ticket

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
ASKED = datetime(2026, 3, 10, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def shop():
    return ShopFactory(name="A店")


def packed_refund(shop, number, asked=ASKED) -> CutOffRequest:
    order = OrderFactory(shop=shop, platform_order_id=number, packed_at=ASKED - timedelta(hours=1))
    OrderLineFactory(order=order, sku=f"SKU-{number}", quantity=1, paid_amount=order.paid_amount)
    with time_machine.travel(asked, tick=False):
        ticket = open_ticket(order)
    return CutOffRequest.objects.get(ticket=ticket)


def test_a_cutoff_is_due_two_hours_after_the_request_by_default_and_the_shops_hours_otherwise(shop):
    other = ShopFactory(name="B店", cutoff_answer_hours=3)

    default = packed_refund(shop, "4100000000000000001")
    longer = packed_refund(other, "4100000000000000002")

    assert default.requested_at == ASKED
    assert default.due_at == ASKED + timedelta(hours=2)
    assert longer.due_at == ASKED + timedelta(hours=3)


def test_exactly_two_hours_after_the_request_the_cutoff_is_overdue_and_flagged_once(shop):
    cutoff = packed_refund(shop, "4100000000000000001")
    due = ASKED + timedelta(hours=2)

    with time_machine.travel(due - timedelta(seconds=1), tick=False):
        assert not cutoff.is_overdue()
        early = cutoffs_flag_overdue()
    with time_machine.travel(due, tick=False):
        assert cutoff.is_overdue()
        on_time = cutoffs_flag_overdue()
    with time_machine.travel(due + timedelta(hours=1), tick=False):
        again = cutoffs_flag_overdue()

    assert (early, on_time, again) == (0, 1, 0)
    cutoff.refresh_from_db()
    assert cutoff.overdue_flagged_at == due
    ticket = AfterSalesTicket.objects.get(pk=cutoff.ticket_id)
    assert "截单" in ticket.attention_note
    (event,) = TicketEvent.objects.filter(ticket=ticket, action=TicketEvent.Action.CUTOFF_OVERDUE)
    assert (event.at, event.from_state, event.to_state) == (due, "intercepting", "intercepting")


def test_an_answered_cutoff_is_never_chased(shop):
    cutoff = packed_refund(shop, "4100000000000000001")
    clerk = make_staff("clerk", role="Warehouse", shops=[shop])
    with time_machine.travel(ASKED + timedelta(minutes=30), tick=False):
        cutoff_confirm_hold(cutoff=cutoff, by=clerk)

    with time_machine.travel(ASKED + timedelta(hours=3), tick=False):
        assert cutoffs_flag_overdue() == 0

    assert not TicketEvent.objects.filter(action=TicketEvent.Action.CUTOFF_OVERDUE).exists()


def test_the_intercept_follow_up_run_chases_overdue_cutoffs_and_counts_them(shop):
    packed_refund(shop, "4100000000000000001")
    packed_refund(shop, "4100000000000000002")

    run = intercept_follow_up_run(now=ASKED + timedelta(hours=2))
    second = intercept_follow_up_run(now=ASKED + timedelta(hours=2, minutes=15))

    assert run.status == SweepRun.Status.FINISHED
    assert run.counts.get("cutoffs_overdue") == 2
    assert second.counts.get("cutoffs_overdue", 0) == 0


def test_the_warehouse_page_and_the_admin_list_show_an_overdue_cutoff_in_red(client, shop):
    late = packed_refund(shop, "4100000000000000001")
    fresh = packed_refund(shop, "4100000000000000002", asked=ASKED + timedelta(hours=1))  # due 13:00
    clerk = make_staff("clerk", role="Warehouse", shops=[shop])
    client.force_login(clerk)

    with time_machine.travel(ASKED + timedelta(hours=2), tick=False):  # 12:00: the first is due now
        page = client.get(reverse("warehouse:cutoffs")).content.decode()
        admin_page = client.get(reverse("admin:aftersales_cutoffrequest_changelist")).content.decode()

    late_row = page.split(f'id="cutoff-{late.pk}"')[1].split("</tr>")[0]
    fresh_row = page.split(f'id="cutoff-{fresh.pk}"')[1].split("</tr>")[0]
    assert "desk-overdue" in late_row
    assert "desk-overdue" not in fresh_row
    assert admin_page.count("desk-overdue") == 1
