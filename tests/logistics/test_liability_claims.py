"""宁可多登记不要少登记: every refund or reship on a ticket the courier is liable for gets its claim row, set-based."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aftersales.models import TicketKind
from aftersales.services import ticket_approve_refund, ticket_resolve_by_replacement
from logistics.models import ClaimCause, CourierClaim
from logistics.services import claims_register_for_courier_liability
from tests.factories import delivered_order, open_ticket, system_user
from tests.logistics.parcels import courier

pytestmark = pytest.mark.django_db


def damaged_and_refunded(amount="60.00"):
    courier("ZTO")
    order = delivered_order(courier_code="ZTO", tracking_number="7531000000001", paid_amount=Decimal("199.00"))
    ticket = open_ticket(order, kind=TicketKind.COMPENSATION, reason_code="damaged_in_transit", requested_amount=amount)
    ticket_approve_refund(ticket=ticket, by=system_user(), amount=amount)
    return ticket


def test_a_refund_for_damage_in_transit_gets_a_claim_once():
    ticket = damaged_and_refunded("60.00")
    merchant_fault = open_ticket(delivered_order(courier_code="ZTO"), reason_code="quality_defect")
    ticket_approve_refund(ticket=merchant_fault, by=system_user(), amount="20.00")

    assert claims_register_for_courier_liability() == 1
    assert claims_register_for_courier_liability() == 0

    claim = CourierClaim.objects.get()
    assert (claim.ticket, claim.courier.code, claim.cause, claim.remedy) == (
        ticket,
        "ZTO",
        ClaimCause.DAMAGED,
        "refund",
    )
    assert claim.loss_amount == Decimal("60.00")


def test_a_reship_for_a_lost_parcel_reported_by_the_buyer_gets_a_claim():
    courier("SF")
    order = delivered_order(courier_code="SF", paid_amount=Decimal("88.00"))
    ticket = open_ticket(order, kind=TicketKind.RESHIP, reason_code="lost_parcel")
    ticket_resolve_by_replacement(ticket=ticket, by=system_user(), kind=TicketKind.RESHIP)

    claims_register_for_courier_liability()

    claim = CourierClaim.objects.get()
    assert (claim.cause, claim.remedy, claim.loss_amount) == (ClaimCause.LOST, "reship", Decimal("88.00"))


def test_the_check_runs_a_fixed_number_of_queries_per_batch():
    def queries_for(count):
        for _ in range(count):
            damaged_and_refunded()
        with CaptureQueriesContext(connection) as queries:
            assert claims_register_for_courier_liability(batch_size=1000) == count
        return len(queries)

    assert queries_for(2) == queries_for(20)
