"""The no-scan rule (丢件): 48 h, 72 h to a remote province, the buyer's remedy, the claim, and a parcel seen again."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from aftersales.models import Refund, ReturnReason, TicketKind, TicketState
from aftersales.services import ticket_approve_refund
from logistics.models import (
    ClaimCause,
    ClaimRemedy,
    CourierClaim,
    LogisticsEvent,
    LostParcelPolicy,
    RobotMessage,
    Shipment,
)
from logistics.services import (
    Scan,
    intercept_refund_early,
    intercept_request,
    lost_parcel_remedy,
    lost_parcels_remedy_pending,
    shipments_declare_lost,
    tracking_ingest,
)
from tests.factories import open_ticket, system_user
from tests.logistics.parcels import courier, lost_parcel_remedy_set, parcel

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


def declare(now=NOW, **kwargs):
    return shipments_declare_lost(now=now, **kwargs)


def test_a_parcel_quiet_for_47_hours_59_minutes_is_still_in_transit():
    shipment = parcel(quiet_for=timedelta(hours=47, minutes=59), now=NOW)

    result = declare()

    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.IN_TRANSIT
    assert result.declared == 0
    assert not CourierClaim.objects.exists()


def test_a_parcel_quiet_for_exactly_48_hours_is_declared_lost_with_its_claim():
    shipment = parcel(quiet_for=timedelta(hours=48), now=NOW, paid_amount=Decimal("259.00"))

    result = declare()

    shipment.refresh_from_db()
    assert (shipment.status, shipment.lost_at) == (Shipment.Status.LOST, NOW)
    assert (result.checked, result.declared, result.claims) == (1, 1, 1)
    claim = CourierClaim.objects.get()
    assert (claim.shipment, claim.courier.code, claim.cause) == (shipment, "SF", ClaimCause.LOST)
    assert (claim.loss_amount, claim.claim_amount, claim.status) == (Decimal("259.00"), Decimal("259.00"), "open")
    assert claim.month == timezone.localtime(NOW).date().replace(day=1)
    assert LogisticsEvent.objects.filter(shipment=shipment, action="declared_lost", to_state="lost").count() == 1
    assert LogisticsEvent.objects.filter(claim=claim, action="opened").count() == 1
    message = RobotMessage.objects.get(purpose="lost_parcels")
    assert shipment.tracking_number in message.text


@pytest.mark.parametrize("province", ["新疆维吾尔自治区", "西藏", "青海省", "内蒙古自治区", "甘肃省", "宁夏回族自治区"])
def test_a_parcel_to_a_remote_province_has_72_hours(province):
    at_71h59 = parcel(quiet_for=timedelta(hours=71, minutes=59), province=province, now=NOW)
    at_72h = parcel(quiet_for=timedelta(hours=72), province=province, now=NOW)

    declare()

    assert Shipment.objects.get(pk=at_71h59.pk).status == Shipment.Status.IN_TRANSIT
    assert Shipment.objects.get(pk=at_72h.pk).status == Shipment.Status.LOST


def test_the_shops_own_policy_decides_hours_and_remote_provinces():
    shipment = parcel(quiet_for=timedelta(hours=50), province="云南省", now=NOW)
    # Douyin's list adds 云南; this shop also gives every parcel 96 h (a holiday notice).
    LostParcelPolicy.objects.create(
        shop=shipment.shop, no_scan_hours=96, remote_no_scan_hours=120, remote_provinces=["新疆", "云南"]
    )
    to_yunnan_100h = parcel(quiet_for=timedelta(hours=100), province="云南省", shop=shipment.shop, now=NOW)
    to_zhejiang_100h = parcel(quiet_for=timedelta(hours=100), province="浙江省", shop=shipment.shop, now=NOW)

    declare()

    statuses = dict(Shipment.objects.values_list("pk", "status"))
    assert statuses[shipment.pk] == Shipment.Status.IN_TRANSIT
    assert statuses[to_yunnan_100h.pk] == Shipment.Status.IN_TRANSIT
    assert statuses[to_zhejiang_100h.pk] == Shipment.Status.LOST


def test_running_the_check_twice_declares_and_claims_once():
    parcel(quiet_for=timedelta(hours=49), now=NOW)

    first = declare()
    second = declare(now=NOW + timedelta(hours=1))

    assert (first.declared, second.declared) == (1, 0)
    assert CourierClaim.objects.count() == 1


def test_the_check_runs_a_fixed_number_of_queries_per_batch():
    def queries_for(count):
        for _ in range(count):
            parcel(quiet_for=timedelta(hours=60), now=NOW)
        with CaptureQueriesContext(connection) as queries:
            result = declare(batch_size=1000)
        assert result.declared == count
        return len(queries)

    few = queries_for(3)
    Shipment.objects.filter(status="lost").update(status="delivered")
    many = queries_for(40)

    assert few == many


def test_batches_cover_every_parcel():
    for _ in range(7):
        parcel(quiet_for=timedelta(hours=60), now=NOW)

    result = declare(batch_size=3)

    assert (result.checked, result.declared) == (7, 7)
    assert not Shipment.objects.filter(status=Shipment.Status.IN_TRANSIT).exists()


# --- the buyer's remedy --------------------------------------------------------------------------------------------


def test_with_no_request_a_shop_that_chose_refund_refunds_the_buyer_and_the_claim_records_it():
    shipment = parcel(quiet_for=timedelta(hours=49), now=NOW, paid_amount=Decimal("120.00"))
    lost_parcel_remedy_set(shipment.shop, "refund")
    declare()

    assert lost_parcel_remedy(shipment_id=shipment.pk) is True

    refund = Refund.objects.get(order=shipment.order)
    assert refund.amount == Decimal("120.00")
    ticket = refund.ticket
    assert (ticket.kind, ticket.state, ticket.reason.code) == (
        TicketKind.REFUND_ONLY,
        TicketState.REFUNDING,
        "lost_parcel",
    )
    claim = CourierClaim.objects.get()
    assert (claim.ticket, claim.refund, claim.remedy, claim.loss_amount) == (
        ticket,
        refund,
        "refund",
        Decimal("120.00"),
    )
    assert ticket.events.filter(action="parcel_lost", actor=system_user()).exists()
    # A second call (a retried task, the safety-net sweep) does nothing more.
    assert lost_parcel_remedy(shipment_id=shipment.pk) is False
    assert lost_parcels_remedy_pending() == 0
    assert Refund.objects.count() == 1


@pytest.mark.parametrize("chosen", [None, "reship"])
def test_a_new_shop_and_a_shop_that_chose_reship_send_a_replacement_补发_and_claim_the_goods(chosen):
    shipment = parcel(quiet_for=timedelta(hours=49), now=NOW, paid_amount=Decimal("88.00"))
    if chosen:
        lost_parcel_remedy_set(shipment.shop, chosen)
    else:  # seeds 000 and 001 name 补发 first: a shop that chose nothing reships
        assert shipment.shop.lost_parcel_remedy == "reship"
    declare()

    lost_parcel_remedy(shipment_id=shipment.pk)

    replacement = Shipment.objects.get(replaces=shipment)
    assert (replacement.status, replacement.tracking_number, replacement.order) == ("created", "", shipment.order)
    assert replacement.ticket.state == TicketState.RESOLVED
    assert replacement.ticket.kind == TicketKind.RESHIP
    assert not Refund.objects.exists()
    claim = CourierClaim.objects.get()
    assert (claim.remedy, claim.loss_amount, claim.ticket) == (ClaimRemedy.RESHIP, Decimal("88.00"), replacement.ticket)


def test_a_waiting_refund_request_is_refunded_and_its_intercept_closed():
    shipment = parcel(quiet_for=timedelta(hours=10))
    ticket = open_ticket(shipment.order)
    intercept = intercept_request(ticket=ticket, by=system_user())

    with_lost = shipments_declare_lost(now=timezone.now() + timedelta(hours=40))
    lost_parcel_remedy(shipment_id=shipment.pk)

    assert with_lost.declared == 1
    ticket.refresh_from_db()
    intercept.refresh_from_db()
    assert ticket.state == TicketState.REFUNDING
    assert intercept.status == "failed"
    assert CourierClaim.objects.get().ticket == ticket


def test_the_safety_net_finds_a_lost_parcel_whose_remedy_message_was_lost():
    shipment = parcel(quiet_for=timedelta(hours=49), now=NOW)
    lost_parcel_remedy_set(shipment.shop, "refund")
    declare()  # in a test the on-commit message is never sent: exactly the lost-message case

    assert lost_parcels_remedy_pending() == 1

    assert Refund.objects.filter(order=shipment.order).count() == 1


# --- a lost parcel scanned again ------------------------------------------------------------------------------------


def scan_again(shipment, status="in_transit", at=None):
    return tracking_ingest(
        shop=shipment.shop,
        scans=[
            Scan("SF", shipment.tracking_number, at or timezone.now().replace(microsecond=0), status, "杭州转运中心")
        ],
        source="bulk",
    )


def test_a_lost_parcel_scanned_before_any_remedy_withdraws_its_claim():
    shipment = parcel(quiet_for=timedelta(hours=49))
    shipments_declare_lost()

    scan_again(shipment)

    shipment.refresh_from_db()
    claim = CourierClaim.objects.get()
    assert shipment.status == Shipment.Status.IN_TRANSIT
    assert shipment.reappeared_at is not None
    assert claim.status == CourierClaim.Status.WITHDRAWN
    assert claim.review_note
    assert LogisticsEvent.objects.filter(claim=claim, action="withdrawn").exists()
    # No refund follows for a parcel that moves again.
    assert lost_parcel_remedy(shipment_id=shipment.pk) is False
    assert not Refund.objects.exists()


def test_a_lost_parcel_scanned_after_the_refund_keeps_its_claim_for_review_and_tells_the_agent():
    shipment = parcel(quiet_for=timedelta(hours=49))
    shipments_declare_lost()
    lost_parcel_remedy(shipment_id=shipment.pk)

    scan_again(shipment)

    claim = CourierClaim.objects.get()
    assert claim.status == CourierClaim.Status.OPEN
    assert claim.review_note
    ticket = claim.ticket
    ticket.refresh_from_db()
    assert ticket.attention_note
    assert ticket.events.filter(action="flagged").exists()


def test_a_lost_parcel_returned_to_sender_after_the_refund_withdraws_its_claim():
    shipment = parcel(quiet_for=timedelta(hours=49))
    shipments_declare_lost()
    lost_parcel_remedy(shipment_id=shipment.pk)

    scan_again(shipment, status="returned")

    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.RETURNED
    assert CourierClaim.objects.get().status == CourierClaim.Status.WITHDRAWN


def test_a_parcel_that_goes_quiet_again_is_declared_lost_again_with_a_new_claim():
    shipment = parcel(quiet_for=timedelta(hours=49))
    shipments_declare_lost()
    scan_again(shipment, at=timezone.now().replace(microsecond=0) - timedelta(hours=1))

    again = shipments_declare_lost(now=timezone.now() + timedelta(hours=48))

    assert again.declared == 1
    assert CourierClaim.objects.filter(status="open").count() == 1
    assert CourierClaim.objects.filter(status="withdrawn").count() == 1


def test_the_courier_cap_limits_the_claim():
    courier("SF", claim_max_amount=Decimal("100.00"))
    shipment = parcel(quiet_for=timedelta(hours=49), paid_amount=Decimal("300.00"))

    shipments_declare_lost()

    claim = CourierClaim.objects.get(shipment=shipment)
    assert (claim.loss_amount, claim.claim_amount) == (Decimal("300.00"), Decimal("100.00"))


def test_a_buyer_already_refunded_by_an_agent_is_not_refunded_again_and_the_claim_links_that_refund():
    shipment = parcel(quiet_for=timedelta(hours=49), paid_amount=Decimal("150.00"))
    ticket = open_ticket(shipment.order, requested_amount="150.00")
    ticket_approve_refund(ticket=ticket, by=system_user())
    shipments_declare_lost()

    lost_parcel_remedy(shipment_id=shipment.pk)

    claim = CourierClaim.objects.get()
    assert Refund.objects.count() == 1
    assert (claim.ticket, claim.refund, claim.remedy) == (ticket, Refund.objects.get(), "refund")


def test_a_loss_already_claimed_during_the_intercept_is_not_claimed_twice():
    shipment = parcel(quiet_for=timedelta(hours=10))
    ticket = open_ticket(shipment.order)
    intercept_request(ticket=ticket, by=system_user())
    early = intercept_refund_early(ticket=ticket, by=system_user())
    shipments_declare_lost(now=timezone.now() + timedelta(hours=40))

    lost_parcel_remedy(shipment_id=shipment.pk)

    assert Refund.objects.count() == 1
    lost_claim = CourierClaim.objects.get(cause=ClaimCause.LOST)
    assert lost_claim.status == CourierClaim.Status.WITHDRAWN
    assert early.reference in lost_claim.review_note
    assert CourierClaim.objects.get(pk=early.pk).status == CourierClaim.Status.OPEN


def test_a_remedy_the_rules_refuse_marks_the_claim_for_review_instead_of_failing_every_run():
    shipment = parcel(quiet_for=timedelta(hours=49))
    ReturnReason.objects.filter(code="lost_parcel").update(is_active=False)
    shipments_declare_lost()

    assert lost_parcels_remedy_pending() == 1
    assert lost_parcels_remedy_pending() == 0

    claim = CourierClaim.objects.get(shipment=shipment)
    assert claim.review_note
    assert (claim.remedy, claim.status) == ("pending", "open")
    assert not Refund.objects.exists()
