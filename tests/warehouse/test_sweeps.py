"""Warehouse's step in the refund sweep: a return inspected clean whose ticket still waits is refunded once."""

from decimal import Decimal

import pytest

from aftersales.models import AfterSalesTicket, Refund, TicketState
from aftersales.selectors import system_user
from aftersales.services import ticket_agree_return, ticket_return_shipped
from aftersales.services.sweeps import refund_sweep_run
from tests.factories import ShopFactory, delivered_order, make_staff, open_ticket
from warehouse.models import Inspection
from warehouse.services import return_receive_scan

pytestmark = pytest.mark.django_db


def received(shop, clerk, tracking_number):
    order = delivered_order(shop=shop, paid_amount=Decimal("129.00"))
    ticket = open_ticket(order, kind="return_refund")
    ticket_agree_return(ticket=ticket, by=system_user())
    ticket_return_shipped(ticket=ticket, by=system_user(), courier_code="ZTO", tracking_number=tracking_number)
    return ticket, return_receive_scan(tracking_number=tracking_number, by=clerk).parcel


def test_a_return_inspected_clean_whose_refund_never_started_is_refunded_by_the_sweep():
    shop = ShopFactory()
    clerk = make_staff("clerk", role="Warehouse", shops=[shop])
    clean, clean_parcel = received(shop, clerk, "ZT75310001")
    damaged, damaged_parcel = received(shop, clerk, "ZT75310002")
    # Inspections whose effect on the ticket was lost (written by hand, or by an import of the warehouse system).
    Inspection.objects.create(parcel=clean_parcel, result=Inspection.Result.OK, inspected_by=clerk)
    Inspection.objects.create(parcel=damaged_parcel, result=Inspection.Result.DAMAGED, inspected_by=clerk)

    run = refund_sweep_run()

    assert run.counts == {"inspection_refund": 1}
    assert AfterSalesTicket.objects.get(pk=clean.pk).state == TicketState.REFUNDING
    assert Refund.objects.get(ticket=clean).amount == Decimal("129.00")
    assert AfterSalesTicket.objects.get(pk=damaged.pk).state == TicketState.RECEIVED  # an agent's decision
    assert refund_sweep_run().counts == {}
