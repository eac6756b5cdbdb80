"""Row locks of logistics, in one place. Logistics' one order is parcel → ticket (aftersales' lock) → intercept →
its Kuaidi100 order → claims, so the services, the tracking push and the checks never wait on each other in a circle;
several rows of one kind are always locked in pk order. Nothing here calls the network, and no caller may while it
holds these."""

from django.db.models import Q, QuerySet

from logistics.models import (
    ClaimCause,
    CourierAgreement,
    CourierClaim,
    InterceptRequest,
    Kuaidi100Intercept,
    RobotMessage,
    Shipment,
)

# --- parcels --------------------------------------------------------------------------------------------------------


def shipment_for_update(shipment_id: int) -> Shipment:
    """One parcel, with its courier (read, not locked)."""
    return Shipment.objects.select_for_update(of=("self",)).select_related("courier").get(pk=shipment_id)


def shipments_by_number_for_update(*, shop, numbers) -> list[Shipment]:
    """The shop's parcels with these tracking numbers, with their couriers."""
    return list(
        Shipment.objects.filter(shop=shop, tracking_number__in=numbers)
        .select_related("courier")
        .select_for_update(of=("self",))
        .order_by("pk")
    )


def free_shipments_for_update(shipments: QuerySet[Shipment], *, limit: int) -> list[Shipment]:
    """The first `limit` of these parcels nobody else holds (SKIP LOCKED), with courier and order, for a batch."""
    return list(
        shipments.select_related("courier", "order")
        .select_for_update(of=("self",), skip_locked=True)
        .order_by("pk")[:limit]
    )


def lost_shipment_awaiting_remedy_for_update(shipment_id: int) -> Shipment | None:
    """The lost parcel whose buyer still waits for a remedy, unless another worker holds it (then None)."""
    return (
        Shipment.objects.select_for_update(of=("self",), skip_locked=True)
        .select_related("order", "shop", "courier")
        .filter(pk=shipment_id, status=Shipment.Status.LOST, lost_remedy_done_at__isnull=True)
        .first()
    )


# --- intercepts -----------------------------------------------------------------------------------------------------


def intercept_for_update(intercept_id: int) -> InterceptRequest:
    """One intercept, with its ticket, shop and courier (read, not locked)."""
    return (
        InterceptRequest.objects.select_for_update(of=("self",))
        .select_related("ticket", "shop", "courier")
        .get(pk=intercept_id)
    )


def open_intercepts_of_ticket_for_update(ticket_id: int) -> list[InterceptRequest]:
    return list(
        InterceptRequest.objects.select_for_update()
        .filter(ticket_id=ticket_id, status=InterceptRequest.Status.REQUESTED)
        .order_by("pk")
    )


def free_intercepts_for_update(intercepts: QuerySet[InterceptRequest]) -> list[InterceptRequest]:
    """These intercepts nobody else holds (SKIP LOCKED), with courier and parcel, for a batch."""
    return list(
        intercepts.select_related("courier", "shipment")
        .select_for_update(of=("self",), skip_locked=True)
        .order_by("pk")
    )


# --- claims ---------------------------------------------------------------------------------------------------------


def claim_for_update(claim_id: int) -> CourierClaim:
    return CourierClaim.objects.select_for_update(of=("self",)).select_related("shop").get(pk=claim_id)


def claims_for_update(claim_ids, *, status: str | None = None) -> list[CourierClaim]:
    """These claims (only those in `status`, if given), with their shops."""
    claims = CourierClaim.objects.filter(pk__in=list(claim_ids))
    if status is not None:
        claims = claims.filter(status=status)
    return list(claims.select_for_update(of=("self",)).select_related("shop").order_by("pk"))


def open_intercept_claims_of_ticket_for_update(ticket_id: int) -> list[CourierClaim]:
    """The ticket's open claims made while its intercept waited (先退款后拦截)."""
    return list(
        CourierClaim.objects.select_for_update()
        .filter(ticket_id=ticket_id, cause=ClaimCause.INTERCEPT, status=CourierClaim.Status.OPEN)
        .order_by("pk")
    )


def lost_claim_for_update(shipment: Shipment) -> CourierClaim | None:
    """The parcel's live lost-parcel claim (at most one: claim_one_per_shipment_cause)."""
    return (
        CourierClaim.objects.select_for_update()
        .filter(shipment=shipment, cause=ClaimCause.LOST)
        .exclude(status=CourierClaim.Status.WITHDRAWN)
        .order_by("pk")
        .first()
    )


def live_claims_of_shipments_for_update(shipments) -> list[CourierClaim]:
    """The parcels' claims not withdrawn or rejected."""
    return list(
        CourierClaim.objects.select_for_update()
        .filter(shipment__in=shipments)
        .exclude(status__in=[CourierClaim.Status.WITHDRAWN, CourierClaim.Status.REJECTED])
        .order_by("pk")
    )


# --- the robot outbox -----------------------------------------------------------------------------------------------


def pending_robot_message_for_update(message_id: int, *, taken_before) -> RobotMessage | None:
    """The pending message, with courier and shop, unless another worker holds its row or took it to send after
    `taken_before` (then None)."""
    return (
        RobotMessage.objects.select_for_update(of=("self",), skip_locked=True)
        .select_related("courier", "shop")
        .filter(Q(sending_since__isnull=True) | Q(sending_since__lte=taken_before))
        .filter(pk=message_id, status=RobotMessage.Status.PENDING)
        .first()
    )


# --- Kuaidi100 intercept orders -------------------------------------------------------------------------------------


def kuaidi100_intercept_for_update(call_id: int) -> Kuaidi100Intercept:
    """After its intercept (and the intercept's parcel and ticket) are locked."""
    return Kuaidi100Intercept.objects.select_for_update(of=("self",)).get(pk=call_id)


def courier_agreement_for_update(agreement_id: int) -> CourierAgreement:
    return CourierAgreement.objects.select_for_update(of=("self",)).get(pk=agreement_id)
