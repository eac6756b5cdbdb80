"""Paid amounts and fulfilment come from the platform: the admin shows them read-only, a correction goes through
order_correct with a reason and an event, and raising the paid amount of an order with after-sales waits for a
second supervisor, whichever door it comes through (the correction page, the import)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from aftersales import roles
from aftersales.models import Order, OrderCorrection, OrderEvent, OrderLine
from aftersales.order_export import spreadsheet_time
from aftersales.order_import import plan_order_import, read_rows
from aftersales.services.orders import order_correct, order_correction_decide, order_import_apply
from desk.errors import ActionRefused
from tests.aftersales.test_order_import import HEADER, csv_bytes
from tests.factories import OrderFactory, OrderLineFactory, ShopFactory, make_staff, open_ticket

pytestmark = pytest.mark.django_db

CORRECTIONS = reverse("admin:aftersales_ordercorrection_changelist")
IMPORT_URL = reverse("admin:aftersales_order_import")


@pytest.fixture
def shop():
    return ShopFactory(name="山野户外天猫旗舰店")


@pytest.fixture
def lead(shop):
    return make_staff("lead-a", role=roles.SUPERVISOR, shops=[shop])


@pytest.fixture
def other_lead(shop):
    return make_staff("lead-b", role=roles.SUPERVISOR, shops=[shop])


def refunded_order(shop, *, paid="100.00", refund="20.00") -> Order:
    """An unshipped order with a path-1 refund made by the shop's automatic rule (the refund trigger counts it)."""
    order = OrderFactory(shop=shop, paid_amount=Decimal(paid))
    OrderLineFactory(order=order, paid_amount=Decimal(paid))
    open_ticket(order, requested_amount=refund)
    order.refresh_from_db()
    assert order.refunded_amount == Decimal(refund)
    return order


def change_url(order):
    return reverse("admin:aftersales_order_change", args=[order.pk])


def correct_url(order):
    return reverse("admin:aftersales_order_correct", args=[order.pk])


def correction_form(order, **values):
    """The correction page's fields as the page prefills them, with `values` changed."""
    data = {
        "paid_amount": str(order.paid_amount),
        "packed_at_0": "",
        "packed_at_1": "",
        "shipped_at_0": "",
        "shipped_at_1": "",
        "delivered_at_0": "",
        "delivered_at_1": "",
        "courier_code": order.courier_code,
        "tracking_number": order.tracking_number,
        "reason": "",
    }
    return {**data, **values}


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# --- the order page ---------------------------------------------------------------------------------------------------


def test_the_order_page_shows_money_and_fulfilment_read_only_and_a_posted_paid_amount_changes_nothing(
    client, shop, lead
):
    order = refunded_order(shop)
    line = order.lines.get()
    client.force_login(lead)

    page = client.get(change_url(order))
    form_fields = set(page.context["adminform"].form.fields)
    assert form_fields.isdisjoint(
        {"paid_amount", "paid_at", "packed_at", "shipped_at", "delivered_at", "courier_code", "tracking_number"}
    )
    assert "receiver_name" in form_fields
    lines_formset = next(f for f in page.context["inline_admin_formsets"] if f.formset.prefix == "lines")
    assert not lines_formset.has_change_permission
    assert 'id="correct-order"' in page.content.decode()

    response = client.post(
        change_url(order),
        {
            "shop": order.shop_id,
            "platform_order_id": order.platform_order_id,
            "paid_amount": "5100.00",
            "receiver_name": "王芳",
            "province": "浙江省",
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "1",
            "lines-0-id": line.pk,
            "lines-0-order": order.pk,
            "lines-0-paid_amount": "5100.00",
            "corrections-TOTAL_FORMS": "0",
            "corrections-INITIAL_FORMS": "0",
            "events-TOTAL_FORMS": "0",
            "events-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.paid_amount == Decimal("100.00")
    assert OrderLine.objects.get(pk=line.pk).paid_amount == Decimal("100.00")


def test_a_correction_writes_one_event_with_old_and_new_values_and_the_reason(client, shop, lead):
    order = OrderFactory(shop=shop, paid_amount=Decimal("100.00"))
    client.force_login(lead)
    shipped = timezone.localtime(order.paid_at + timedelta(hours=5))

    response = client.post(
        correct_url(order),
        correction_form(
            order,
            paid_amount="120.00",
            shipped_at_0=shipped.strftime("%Y-%m-%d"),
            shipped_at_1=shipped.strftime("%H:%M:%S"),
            courier_code=" sf ",
            tracking_number="SF1234567890",
            reason="平台改价后实付 120 元，见工单截图",
        ),
    )

    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.paid_amount, order.courier_code, order.tracking_number) == (Decimal("120.00"), "SF", "SF1234567890")
    event = OrderEvent.objects.get(order=order)
    assert (event.action, event.actor, event.reason) == ("corrected", lead, "平台改价后实付 120 元，见工单截图")
    assert event.changes["paid_amount"] == {"old": "100.00", "new": "120.00"}
    assert event.changes["courier_code"] == {"old": "", "new": "SF"}
    assert event.changes["shipped_at"]["old"] is None
    assert set(event.changes) == {"paid_amount", "shipped_at", "courier_code", "tracking_number"}
    page = client.get(change_url(order)).content.decode()
    assert "100.00 → 120.00" in page


def test_a_correction_without_a_reason_is_refused_and_writes_nothing(client, shop, lead):
    order = OrderFactory(shop=shop, paid_amount=Decimal("100.00"))

    with pytest.raises(ActionRefused) as refused:
        order_correct(order=order, by=lead, changes={"paid_amount": Decimal("90.00")}, reason="  ")
    client.force_login(lead)
    page = client.post(correct_url(order), correction_form(order, paid_amount="90.00"))

    assert refused.value.code == "reason_required"
    assert page.status_code == 200
    assert "reason" in page.context["form"].errors
    order.refresh_from_db()
    assert order.paid_amount == Decimal("100.00")
    assert not OrderEvent.objects.exists()


def test_lowering_the_paid_amount_below_what_was_refunded_is_refused_in_words_and_writes_nothing(client, shop, lead):
    order = refunded_order(shop, paid="100.00", refund="60.00")

    with pytest.raises(ActionRefused) as refused:
        order_correct(order=order, by=lead, changes={"paid_amount": Decimal("50.00")}, reason="平台退差价")
    client.force_login(lead)
    page = client.post(correct_url(order), correction_form(order, paid_amount="50.00", reason="平台退差价"))

    assert refused.value.code == "below_refunded"
    assert page.status_code == 200
    assert page.context["form"].errors["paid_amount"] == ["实付金额低于该订单已退的 ¥60.00。"]
    order.refresh_from_db()
    assert order.paid_amount == Decimal("100.00")
    assert not OrderEvent.objects.exists()


# --- raising the paid amount of an order with after-sales -------------------------------------------------------------


def test_a_raise_on_an_order_with_a_refund_waits_until_another_supervisor_confirms_it(client, shop, lead, other_lead):
    order = refunded_order(shop)
    client.force_login(lead)

    response = client.post(
        correct_url(order),
        correction_form(order, paid_amount="5100.00", courier_code="ZTO", reason="买家补款"),
    )

    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.paid_amount, order.courier_code) == (Decimal("100.00"), "ZTO")  # the rest applies at once
    correction = OrderCorrection.objects.get(order=order)
    assert (correction.status, correction.requested_by, correction.reason) == ("pending", lead, "买家补款")
    assert correction.changes == {"paid_amount": {"old": "100.00", "new": "5100.00"}}
    assert any("5100.00" in message for message in messages_of(response))
    page = client.get(change_url(order)).content.decode()
    assert reverse("admin:aftersales_ordercorrection_change", args=[correction.pk]) in page
    assert "100.00 → 5100.00" in page

    # Their own confirmation is refused, by the service and from the list's action.
    with pytest.raises(ActionRefused) as own:
        order_correction_decide(correction=correction, by=lead, confirm=True)
    assert own.value.code == "own_request"
    refused = client.post(CORRECTIONS, {"action": "confirm_selected", "_selected_action": [correction.pk]}, follow=True)
    assert any("不能确认自己" in message for message in messages_of(refused))
    order.refresh_from_db()
    correction.refresh_from_db()
    assert (order.paid_amount, correction.status) == (Decimal("100.00"), "pending")

    client.force_login(other_lead)
    client.post(CORRECTIONS, {"action": "confirm_selected", "_selected_action": [correction.pk]})

    order.refresh_from_db()
    correction.refresh_from_db()
    assert order.paid_amount == Decimal("5100.00")
    assert (correction.status, correction.decided_by) == ("confirmed", other_lead)
    applied = OrderEvent.objects.get(order=order, action="corrected", changes__has_key="paid_amount")
    assert (applied.actor, applied.confirmed_by, applied.reason) == (lead, other_lead, "买家补款")
    assert applied.changes == {"paid_amount": {"old": "100.00", "new": "5100.00"}}


def test_an_agent_cannot_confirm_a_correction_and_a_declined_one_changes_nothing(shop, lead, other_lead):
    order = refunded_order(shop)
    pending = order_correct(order=order, by=lead, changes={"paid_amount": Decimal("300.00")}, reason="买家补款").pending
    agent = make_staff("agent-a", role=roles.AGENT, shops=[shop])

    with pytest.raises(ActionRefused) as refused:
        order_correction_decide(correction=pending, by=agent, confirm=True)
    order_correction_decide(correction=pending, by=other_lead, confirm=False, note="平台未改价")

    assert refused.value.code == "not_permitted"
    order.refresh_from_db()
    pending.refresh_from_db()
    assert (order.paid_amount, pending.status) == (Decimal("100.00"), "declined")
    assert OrderEvent.objects.filter(order=order, action="correction_declined", actor=other_lead).exists()


def test_a_newer_raise_replaces_the_one_waiting_so_the_latest_figure_is_confirmed(shop, lead, other_lead):
    order = refunded_order(shop)
    first = order_correct(order=order, by=lead, changes={"paid_amount": Decimal("150.00")}, reason="补款").pending
    second = order_correct(order=order, by=lead, changes={"paid_amount": Decimal("180.00")}, reason="再补款").pending

    first.refresh_from_db()
    assert first.status == "superseded"
    with pytest.raises(ActionRefused) as refused:
        order_correction_decide(correction=first, by=other_lead, confirm=True)
    assert refused.value.code == "already_decided"
    order_correction_decide(correction=second, by=other_lead, confirm=True)
    order.refresh_from_db()
    assert order.paid_amount == Decimal("180.00")


def test_an_order_without_tickets_is_still_corrected_at_once(shop, lead):
    order = OrderFactory(shop=shop, paid_amount=Decimal("100.00"))

    outcome = order_correct(order=order, by=lead, changes={"paid_amount": Decimal("5100.00")}, reason="平台改价")

    order.refresh_from_db()
    assert outcome.pending is None
    assert order.paid_amount == Decimal("5100.00")


# --- the import -------------------------------------------------------------------------------------------------------


def import_row(order, *, paid: str, receiver="王芳", line_paid: str | None = None):
    return [
        order.platform_order_id,
        receiver,
        "浙江省",
        paid,
        spreadsheet_time(order.paid_at),
        "",
        "",
        "",
        order.lines.get().sku,
        "速干T恤",
        "1",
        line_paid or paid,
    ]


def test_an_import_that_raises_a_refunded_orders_paid_amount_holds_the_raise_for_another_supervisor(
    client, shop, lead, other_lead
):
    order = refunded_order(shop)
    client.force_login(lead)
    content = csv_bytes([import_row(order, paid="100000.00", receiver="王芳芳", line_paid="100.00")], header=HEADER)

    preview = client.post(IMPORT_URL, {"shop": shop.pk, "file": SimpleUploadedFile("orders.csv", content)})
    assert preview.status_code == 200
    assert [planned.platform_order_id for planned in preview.context["held"]] == [order.platform_order_id]
    assert 'data-count="held">1<' in preview.content.decode()
    # The order's ticket is still open: its update is confirmed apart (tests/aftersales/test_order_import.py).
    assert [planned.platform_order_id for planned in preview.context["open_ticket_orders"]] == [order.platform_order_id]
    confirmed = client.post(
        IMPORT_URL, {"token": preview.context["token"], "apply_open_ticket_updates": "on"}, follow=True
    )

    order.refresh_from_db()
    assert (order.paid_amount, order.receiver_name) == (Decimal("100.00"), "王芳芳")
    correction = OrderCorrection.objects.get(order=order, status="pending")
    assert (correction.source, correction.requested_by) == ("import", lead)
    assert correction.changes == {"paid_amount": {"old": "100.00", "new": "100000.00"}}
    assert any("100000.00" in message for message in messages_of(confirmed))
    assert OrderEvent.objects.get(order=order, action="updated_by_platform").changes == {
        "receiver_name": {"old": "王芳", "new": "王芳芳"}
    }

    # The same file again finds the correction already waiting.
    plan = plan_order_import(shop=shop, rows=read_rows(content))
    again = order_import_apply(plan=plan, by=lead, reason="again")
    assert (again.created, again.updated, again.unchanged, len(again.held)) == (0, 0, 1, 1)
    assert OrderCorrection.objects.filter(order=order).count() == 1

    order_correction_decide(correction=correction, by=other_lead, confirm=True)
    order.refresh_from_db()
    assert order.paid_amount == Decimal("100000.00")


def test_an_import_that_lowers_the_paid_amount_below_the_refunded_is_a_row_error_even_after_the_preview(shop, lead):
    order = refunded_order(shop, paid="100.00", refund="20.00")
    plan = plan_order_import(shop=shop, rows=read_rows(csv_bytes([import_row(order, paid="50.00")])))
    assert plan.errors == []  # at the preview 50 was above the 20 refunded ...
    Order.objects.filter(pk=order.pk).update(refunded_amount=Decimal("60.00"))  # ... then more was refunded

    summary = order_import_apply(plan=plan, by=lead, reason="import")

    assert [error.code for error in summary.refused] == ["below_refunded"]
    assert summary.rejected_rows == 1
    order.refresh_from_db()
    assert order.paid_amount == Decimal("100.00")
