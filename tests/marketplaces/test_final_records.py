"""Issue 19 point 3: a record already final when the desk first sees it opens its ticket with the platform's
application time and ends it (the platform's speed metrics count it, so the desk's do), and a refund the platform made
without the desk (its timeout agreed, its back office) is recorded as the platform's fact and flagged: nothing is paid
by the desk, in either case, and nobody can pay it again."""

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from aftersales.models import AfterSalesTicket, Refund, TicketEvent, TicketState
from marketplaces.adapters.base import AfterSaleRecord, RecordKind, RecordStatus
from marketplaces.services import record_apply, records_apply
from tests.factories import OrderFactory, delivered_order

pytestmark = pytest.mark.django_db

AGREE = "taobao.rp.refunds.agree"


def record_for(order, number: int, **changes) -> AfterSaleRecord:
    now = timezone.now()
    record = AfterSaleRecord(
        platform_id=f"RF{number:06d}",
        order_id=order.platform_order_id,
        kind=RecordKind.REFUND_ONLY,
        status=RecordStatus.WAITING_SELLER,
        version="1",
        modified_at=now - timedelta(minutes=1),
        applied_at=now - timedelta(hours=3),
        amount=Decimal("59.00"),
        reason="质量问题",
        platform_kind="REFUND",
        platform_status="WAIT_SELLER_AGREE",
    )
    return replace(record, **changes)


def succeeded(record: AfterSaleRecord, **changes) -> AfterSaleRecord:
    return replace(
        record,
        **{
            "status": RecordStatus.SUCCEEDED,
            "platform_status": "SUCCESS",
            "version": str(int(record.version) + 1),
            "modified_at": record.modified_at + timedelta(seconds=30),
            "refunded_amount": record.amount,
            **changes,
        },
    )


def actions(ticket) -> list[str]:
    return list(TicketEvent.objects.filter(ticket=ticket).order_by("pk").values_list("action", flat=True))


def assert_recorded_not_paid(ticket, amount, taobao):
    ticket.refresh_from_db()
    assert ticket.state == TicketState.REFUNDED
    [refund] = Refund.objects.filter(ticket=ticket)
    assert refund.status == Refund.Status.SUCCEEDED
    assert refund.amount == amount
    assert refund.gateway == "platform"
    assert refund.send_attempts == 0
    ticket.order.refresh_from_db()
    assert ticket.order.refunded_amount == amount  # nobody can pay it again: the order's total holds it
    assert taobao.calls_of(AGREE) == []


def test_a_refund_already_succeeded_when_first_seen_opens_its_ticket_and_ends_it_refunded(connection, taobao):
    order = delivered_order(shop=connection.shop, paid_amount=Decimal("199.00"))
    record = succeeded(record_for(order, 1), refunded_amount=Decimal("49.50"))

    assert record_apply(connection=connection, record=record) == "opened"

    ticket = AfterSalesTicket.objects.get(platform_ticket_id=record.platform_id)
    assert ticket.opened_at == record.applied_at
    assert ticket.closed_at is not None
    assert_recorded_not_paid(ticket, Decimal("49.50"), taobao)
    assert actions(ticket) == ["opened", "refund_succeeded"]
    assert ticket.attention_note == ""  # the desk never had it open: nothing for an agent to undo


def test_a_final_record_on_an_unshipped_order_is_not_refunded_again_by_the_automatic_rule(connection, taobao):
    order = OrderFactory(shop=connection.shop, paid_amount=Decimal("80.00"))  # path 1: the rule would pay it
    record = succeeded(record_for(order, 2, amount=Decimal("80.00")))

    assert record_apply(connection=connection, record=record) == "opened"

    ticket = AfterSalesTicket.objects.get(platform_ticket_id=record.platform_id)
    assert_recorded_not_paid(ticket, Decimal("80.00"), taobao)
    assert "auto_refund" not in actions(ticket)


def test_a_withdrawn_or_closed_record_first_seen_opens_a_cancelled_ticket(connection):
    order = delivered_order(shop=connection.shop)
    record = replace(record_for(order, 3), status=RecordStatus.CLOSED_BY_BUYER, platform_status="CLOSED")

    assert record_apply(connection=connection, record=record) == "opened"

    ticket = AfterSalesTicket.objects.get(platform_ticket_id=record.platform_id)
    assert ticket.state == TicketState.CANCELLED
    assert ticket.opened_at == record.applied_at
    assert actions(ticket) == ["opened", "withdrawn"]
    assert not Refund.objects.filter(ticket=ticket).exists()


def test_a_pulled_page_opens_and_ends_its_final_records_in_the_batch(connection, taobao):
    waiting = record_for(delivered_order(shop=connection.shop), 10)
    refunded = succeeded(record_for(delivered_order(shop=connection.shop), 11))
    withdrawn = replace(record_for(delivered_order(shop=connection.shop), 12), status=RecordStatus.CLOSED_BY_BUYER)

    assert records_apply(connection=connection, records=[waiting, refunded, withdrawn]) == ["opened"] * 3

    state = dict(AfterSalesTicket.objects.values_list("platform_ticket_id", "state"))
    assert state == {
        waiting.platform_id: TicketState.REQUESTED,
        refunded.platform_id: TicketState.REFUNDED,
        withdrawn.platform_id: TicketState.CANCELLED,
    }
    ticket = AfterSalesTicket.objects.get(platform_ticket_id=refunded.platform_id)
    assert ticket.opened_at == refunded.applied_at
    assert_recorded_not_paid(ticket, refunded.amount, taobao)
    assert actions(ticket) == ["opened", "refund_succeeded"]
    # Replayed, nothing changes.
    assert records_apply(connection=connection, records=[refunded, withdrawn]) == ["unchanged", "unchanged"]


def test_a_platform_refund_the_desk_never_sent_is_recorded_and_flagged_not_paid(connection, taobao):
    order = delivered_order(shop=connection.shop, paid_amount=Decimal("199.00"))
    waiting = record_for(order, 20)
    assert record_apply(connection=connection, record=waiting) == "opened"
    ticket = AfterSalesTicket.objects.get(platform_ticket_id=waiting.platform_id)
    assert ticket.state == TicketState.REQUESTED

    # The platform's timeout agreed it (or someone refunded in its back office): the desk sent nothing.
    assert record_apply(connection=connection, record=succeeded(waiting)) == "moved"

    assert_recorded_not_paid(ticket, Decimal("59.00"), taobao)
    ticket.refresh_from_db()
    assert "Do not pay it again" in ticket.attention_note or "不要再次" in ticket.attention_note
    assert actions(ticket)[-2:] == ["refund_succeeded", "flagged"]
