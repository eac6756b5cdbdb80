"""Logistics' scheduled work: its steps in the refund sweep, the hourly no-scan check and the intercept follow-up,
each recorded as a SweepRun and changing nothing when run again."""

from datetime import timedelta

import pytest
from django.utils import timezone

from aftersales.models import AfterSalesTicket, Refund, SweepRun, TicketState
from aftersales.services.sweeps import refund_sweep_run
from logistics.models import ClaimCause, CourierClaim, InterceptRequest, Shipment
from logistics.services import intercept_request
from logistics.sweeps import intercept_follow_up_run, no_scan_check_run
from tests.factories import open_ticket, system_user
from tests.logistics.parcels import parcel

pytestmark = pytest.mark.django_db
S = TicketState


def intercepting(*, shipped_hours_ago: float):
    """A refund-only request on a parcel still moving (scanned an hour ago) with an intercept waiting."""
    shipment = parcel(quiet_for=timedelta(hours=shipped_hours_ago))
    Shipment.objects.filter(pk=shipment.pk).update(last_scan_at=timezone.now() - timedelta(hours=1))
    ticket = open_ticket(shipment.order, requested_amount="199.00")
    intercept = intercept_request(ticket=ticket, by=system_user())
    return ticket, intercept


def test_the_sweep_asks_for_an_intercept_on_every_refund_only_parcel_still_on_its_way():
    shipment = parcel(quiet_for=timedelta(hours=5))
    ticket = open_ticket(shipment.order, requested_amount="199.00")
    assert ticket.state == S.REQUESTED

    run = refund_sweep_run()

    assert run.counts == {"intercept_requested": 1}
    assert AfterSalesTicket.objects.get(pk=ticket.pk).state == S.INTERCEPTING
    assert refund_sweep_run().counts == {}


def test_a_refund_only_parcel_in_transit_over_48_hours_is_refunded_first_and_claimed():
    late, _intercept = intercepting(shipped_hours_ago=48.1)
    recent, _other = intercepting(shipped_hours_ago=47.9)

    run = refund_sweep_run()

    assert run.counts == {"refund_first_claimed": 1}
    assert AfterSalesTicket.objects.get(pk=late.pk).state == S.REFUNDING
    assert AfterSalesTicket.objects.get(pk=recent.pk).state == S.INTERCEPTING
    claim = CourierClaim.objects.get()
    assert (claim.ticket_id, claim.cause, claim.refund.amount) == (late.pk, ClaimCause.INTERCEPT, claim.loss_amount)
    assert refund_sweep_run().counts == {}
    assert Refund.objects.filter(ticket=late).count() == 1


def test_a_confirmed_intercept_whose_ticket_still_waits_is_refunded():
    ticket, intercept = intercepting(shipped_hours_ago=5)
    # The confirmation's move of the ticket was lost (as if written by a version without it, or by hand).
    InterceptRequest.objects.filter(pk=intercept.pk).update(status=InterceptRequest.Status.CONFIRMED)

    run = refund_sweep_run()

    assert run.counts == {"intercept_confirmed_refund": 1}
    assert AfterSalesTicket.objects.get(pk=ticket.pk).state == S.REFUNDING
    assert refund_sweep_run().counts == {}


def test_a_ticket_the_step_cannot_move_is_reported_with_its_id_and_left_as_it_was():
    ticket, _intercept = intercepting(shipped_hours_ago=49)
    ticket.order.refunded_amount = ticket.order.paid_amount  # nothing left: refunded elsewhere
    ticket.order.save()

    run = refund_sweep_run()

    assert run.counts == {}
    assert [(error["step"], error["ticket"]) for error in run.errors] == [("refund_first", ticket.pk)]
    assert AfterSalesTicket.objects.get(pk=ticket.pk).state == S.INTERCEPTING
    assert not CourierClaim.objects.exists()


def test_the_hourly_check_declares_quiet_parcels_lost_and_records_its_run():
    quiet = parcel(quiet_for=timedelta(hours=48, minutes=1))
    parcel(quiet_for=timedelta(hours=47))

    run = no_scan_check_run()

    assert (run.kind, run.status) == (SweepRun.Kind.NO_SCAN, "finished")
    assert run.counts["declared_lost"] == 1
    assert run.counts["lost_claims"] == 1
    assert Shipment.objects.get(pk=quiet.pk).status == Shipment.Status.LOST
    second = no_scan_check_run()
    assert "declared_lost" not in second.counts


def test_the_follow_up_chases_overdue_intercepts_once():
    _ticket, intercept = intercepting(shipped_hours_ago=5)
    InterceptRequest.objects.filter(pk=intercept.pk).update(due_at=timezone.now() - timedelta(minutes=1))

    run = intercept_follow_up_run()

    assert (run.kind, run.counts.get("intercepts_overdue")) == (SweepRun.Kind.INTERCEPT_FOLLOW_UP, 1)
    assert InterceptRequest.objects.get(pk=intercept.pk).overdue_flagged_at is not None
    assert "intercepts_overdue" not in intercept_follow_up_run().counts
