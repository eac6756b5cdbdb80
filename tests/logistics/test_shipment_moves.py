"""A parcel's status moves only through its FSM transitions, each move writes its LogisticsEvent in the same
transaction (scans included), and the lost check's bulk move stays a fixed number of queries per batch."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_fsm import TransitionNotAllowed

from logistics.models import LogisticsEvent, Shipment
from logistics.services import (
    Scan,
    intercept_confirm,
    intercept_mark_returned,
    intercept_request,
    lost_parcel_remedy,
    shipment_dispatch,
    shipments_declare_lost,
    tracking_ingest,
)
from logistics.services.common import SHIPMENT_MOVE_ACTIONS, shipment_move
from tests.factories import make_staff, open_ticket, system_user
from tests.logistics.parcels import courier, lost_parcel_remedy_set, parcel

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


def scan(shipment, status, at):
    return tracking_ingest(
        shop=shipment.shop, scans=[Scan("SF", shipment.tracking_number, at, status, "签收")], source="bulk"
    )


def moves_of(shipment):
    return list(
        LogisticsEvent.objects.filter(shipment=shipment).order_by("id").values_list("action", "from_state", "to_state")
    )


def test_every_transition_of_a_parcel_names_the_event_its_move_writes():
    transitions = {t.name for t in Shipment._meta.get_field("status").get_all_transitions(Shipment)}

    assert transitions == set(SHIPMENT_MOVE_ACTIONS)
    assert transitions >= {"deliver", "declare_lost", "reappear", "mark_returned"}


def test_a_delivered_scan_delivers_the_parcel_through_its_transition_and_writes_the_event():
    shipment = parcel(quiet_for=timedelta(hours=5))
    signed = (timezone.now() - timedelta(minutes=10)).replace(microsecond=0)

    scan(shipment, "delivered", signed)

    shipment.refresh_from_db()
    assert (shipment.status, shipment.delivered_at) == (Shipment.Status.DELIVERED, signed)
    assert moves_of(shipment) == [("delivered", "in_transit", "delivered")]
    assert LogisticsEvent.objects.get(shipment=shipment).actor == system_user()
    shipment.order.refresh_from_db()
    assert shipment.order.delivered_at == signed


def test_a_returned_scan_returns_the_parcel_and_writes_the_event():
    shipment = parcel(quiet_for=timedelta(hours=5))

    scan(shipment, "returned", timezone.now().replace(microsecond=0))

    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.RETURNED
    assert moves_of(shipment) == [("returned", "in_transit", "returned")]


def test_a_scan_that_changes_no_status_writes_no_event():
    shipment = parcel(quiet_for=timedelta(hours=5))

    scan(shipment, "in_transit", timezone.now().replace(microsecond=0))

    assert moves_of(shipment) == []


def test_the_lost_check_declares_through_the_transition_and_a_scan_brings_the_parcel_back_then_delivers_it():
    shipment = parcel(quiet_for=timedelta(hours=49), now=NOW)

    shipments_declare_lost(now=NOW)
    shipment.refresh_from_db()
    assert (shipment.status, shipment.lost_at) == (Shipment.Status.LOST, NOW)

    scan(shipment, "delivered", timezone.now().replace(microsecond=0))

    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.DELIVERED
    assert shipment.reappeared_at is not None
    # Two moves, two events: lost → in transit (the parcel is seen again), in transit → delivered.
    assert moves_of(shipment) == [
        ("declared_lost", "in_transit", "lost"),
        ("reappeared", "lost", "in_transit"),
        ("delivered", "in_transit", "delivered"),
    ]


def test_an_intercept_confirmed_then_returned_moves_the_parcel_with_an_event_each():
    shipment = parcel(quiet_for=timedelta(hours=5))
    agent = make_staff("agent", role="Agent", shops=[shipment.shop])
    clerk = make_staff("clerk", role="Warehouse", shops=[shipment.shop])
    intercept = intercept_request(ticket=open_ticket(shipment.order, requested_amount="199.00"), by=agent)

    intercept_confirm(intercept=intercept, by=clerk)
    intercept_mark_returned(intercept=intercept, by=clerk)

    assert Shipment.objects.get(pk=shipment.pk).status == Shipment.Status.RETURNED
    assert moves_of(shipment) == [("intercepted", "in_transit", "intercepted"), ("returned", "intercepted", "returned")]


def test_a_replacement_dispatched_writes_its_event():
    lost = parcel(quiet_for=timedelta(hours=50))
    lost_parcel_remedy_set(lost.shop, "reship")
    shipments_declare_lost()
    lost_parcel_remedy(shipment_id=lost.pk)
    replacement = Shipment.objects.get(replaces=lost)
    clerk = make_staff("clerk", role="Warehouse", shops=[lost.shop])

    shipment_dispatch(shipment=replacement, by=clerk, courier=courier("SF"), tracking_number="SF90000001")

    assert moves_of(replacement)[-1] == ("dispatched", "created", "in_transit")


def test_an_illegal_move_is_refused_and_writes_nothing():
    shipment = parcel(quiet_for=timedelta(hours=5))
    scan(shipment, "delivered", timezone.now().replace(microsecond=0))
    shipment.refresh_from_db()
    before = moves_of(shipment)

    for transition, arguments in [("declare_lost", {"at": NOW}), ("reappear", {"at": NOW}), ("intercept", {})]:
        with pytest.raises(TransitionNotAllowed):
            shipment_move(shipment, transition, by=system_user(), at=NOW, arguments=arguments)

    assert shipment.status == Shipment.Status.DELIVERED
    with pytest.raises(AttributeError):
        shipment.status = Shipment.Status.LOST  # the field is protected: no write around the transitions
    assert moves_of(shipment) == before


def test_a_delivered_parcel_is_not_declared_lost_by_the_check():
    shipment = parcel(quiet_for=timedelta(hours=60), now=NOW)
    scan(shipment, "delivered", NOW - timedelta(hours=59))

    result = shipments_declare_lost(now=NOW)

    shipment.refresh_from_db()
    assert (result.declared, shipment.status) == (0, Shipment.Status.DELIVERED)


def test_the_lost_check_costs_the_same_queries_for_2_parcels_as_for_20(django_assert_num_queries):
    """Per batch: candidates, rules, one bulk update, claims read, agreements, one claim insert, one event insert, one
    message insert (and the batch's end); 2 and 20 parcels in one batch of 500 must cost the same."""
    for _ in range(2):
        parcel(quiet_for=timedelta(hours=60), now=NOW)
    with CaptureQueriesContext(connection) as two:
        assert shipments_declare_lost(now=NOW).declared == 2
    for _ in range(20):
        parcel(quiet_for=timedelta(hours=60), now=NOW)

    with django_assert_num_queries(len(two.captured_queries)):
        assert shipments_declare_lost(now=NOW).declared == 20

    assert LogisticsEvent.objects.filter(action="declared_lost", from_state="in_transit", to_state="lost").count() == 22


def test_the_lost_parcels_and_their_events_are_written_together_or_not_at_all(monkeypatch):
    parcel(quiet_for=timedelta(hours=60), now=NOW)

    def broken(messages):
        raise RuntimeError("the message insert failed")

    monkeypatch.setattr("logistics.services.lost.queue_robot_messages", broken)
    with pytest.raises(RuntimeError):
        shipments_declare_lost(now=NOW)

    assert not Shipment.objects.filter(status=Shipment.Status.LOST).exists()
    assert not LogisticsEvent.objects.exists()
