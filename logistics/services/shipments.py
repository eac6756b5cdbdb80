"""Shipments and their scans: registering parcels, the tracking pushes, a replacement's dispatch."""

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales import services as aftersales
from aftersales.models import Order
from aftersales.selectors import system_user
from desk.access import require_in_shop
from desk.errors import ActionRefused
from desk.input_checks import normalise_tracking_number
from logistics.models import (
    Courier,
    CourierAgreement,
    InterceptRequest,
    LogisticsEvent,
    Shipment,
    TrackingEvent,
    TrackingStatus,
)
from logistics.provinces import short_province
from logistics.services.common import BATCH_SIZE, DISPATCH, couriers_by_code, record_event

logger = logging.getLogger(__name__)

# --- couriers and shop rules ----------------------------------------------------------------------------------------


def courier_upsert(*, code: str, name: str, **terms) -> Courier:
    courier, _created = Courier.objects.update_or_create(code=code, defaults={"name": name, **terms})
    return courier


def courier_agreement_upsert(*, shop, courier: Courier, **terms) -> CourierAgreement:
    """A shop's agreement (快递协议) with a courier: its contact, group robot, answer time and claim terms."""
    agreement, _created = CourierAgreement.objects.update_or_create(shop=shop, courier=courier, defaults=terms)
    return agreement


# --- shipments ------------------------------------------------------------------------------------------------------


def shipments_create_for_orders(orders) -> list[Shipment]:
    """The outbound parcels of shipped orders that have none yet (a bulk insert; a second call adds nothing)."""
    orders = [order for order in orders if order.shipped_at and order.tracking_number and order.courier_code]
    if not orders:
        return []
    couriers = couriers_by_code(order.courier_code for order in orders)
    Shipment.objects.bulk_create(
        [
            Shipment(
                shop_id=order.shop_id,
                order_id=order.pk,
                direction=Shipment.Direction.OUTBOUND,
                courier=couriers[order.courier_code],
                tracking_number=normalise_tracking_number(order.tracking_number),
                destination_province=short_province(order.province),
                status=Shipment.Status.DELIVERED if order.delivered_at else Shipment.Status.IN_TRANSIT,
                shipped_at=order.shipped_at,
                last_scan_at=order.delivered_at or order.shipped_at,
                delivered_at=order.delivered_at,
            )
            for order in orders
        ],
        ignore_conflicts=True,
    )
    numbers = [normalise_tracking_number(order.tracking_number) for order in orders]
    return list(Shipment.objects.filter(tracking_number__in=numbers, order__in=[order.pk for order in orders]))


def shipments_sync_from_orders(*, batch_size: int = BATCH_SIZE) -> int:
    """Register the outbound parcel of every shipped order that has none; a fixed number of queries per batch."""
    created = 0
    last_id = 0
    while True:
        orders = list(
            Order.objects.filter(pk__gt=last_id, shipped_at__isnull=False)
            .exclude(tracking_number="")
            .exclude(Exists(Shipment.objects.filter(order=OuterRef("pk"), direction=Shipment.Direction.OUTBOUND)))
            .order_by("pk")[:batch_size]
        )
        if not orders:
            return created
        with transaction.atomic():
            created += len(shipments_create_for_orders(orders))
        last_id = orders[-1].pk


def outbound_shipment_for(order: Order) -> Shipment | None:
    """The order's parcel to the buyer (the latest one if a replacement went out), registered on first need."""
    shipment = (
        Shipment.objects.filter(order=order, direction=Shipment.Direction.OUTBOUND)
        .exclude(status=Shipment.Status.CREATED)
        .order_by("-id")
        .first()
    )
    if shipment is None:
        created = shipments_create_for_orders([order])
        shipment = created[0] if created else None
    return shipment


@transaction.atomic
def shipment_dispatch(*, shipment: Shipment, by, courier: Courier, tracking_number: str) -> Shipment:
    """The warehouse handed a replacement to the courier: it now has a waybill and ages like any parcel."""
    shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
    require_in_shop(by, shipment.shop, DISPATCH)
    tracking_number = normalise_tracking_number(tracking_number)
    if not tracking_number:
        raise ActionRefused("tracking_required", _("Enter the tracking number."))
    if shipment.status != Shipment.Status.CREATED:
        raise ActionRefused("already_dispatched", _("This parcel already has a tracking number."))
    if Shipment.objects.filter(courier=courier, tracking_number=tracking_number).exists():
        raise ActionRefused("duplicate_waybill", _("Another parcel already has this tracking number."))
    now = timezone.now()
    shipment.dispatch(courier=courier, tracking_number=tracking_number, at=now)
    shipment.save()
    record_event(by=by, action=LogisticsEvent.Action.DISPATCHED, at=now, to_state=shipment.status, shipment=shipment)
    return shipment


# --- tracking ingestion ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scan:
    """One courier scan as a push format reads it: our courier code ("" if the push's code is not configured)."""

    courier_code: str
    tracking_number: str
    scanned_at: datetime
    status: str
    text: str = ""
    location: str = ""


@dataclass
class IngestResult:
    stored: int = 0
    duplicates: int = 0
    unknown: int = 0


# The scan that decides a parcel's status; scans in between (in transit, out for delivery) only move its clock.
_FINAL_STATUS: dict[str, str] = {
    TrackingStatus.DELIVERED: Shipment.Status.DELIVERED,
    TrackingStatus.RETURNED: Shipment.Status.RETURNED,
}


@transaction.atomic
def tracking_ingest(*, shop, scans: list[Scan], source: str) -> IngestResult:
    """Store a push's scans for this shop's parcels and move each parcel to its latest scan.

    A scan already stored (same courier, number, time and status) is absorbed; scans arriving out of order leave the
    parcel at its latest one. Queries grow with the push's parcels only where something rare happens (a delivery
    that fails an open intercept, a lost parcel scanned again); the common path is a fixed handful.
    """
    result = IngestResult()
    unique: dict[tuple[str, str, datetime, str], Scan] = {}
    for scan in scans:
        unique[(scan.courier_code, normalise_tracking_number(scan.tracking_number), scan.scanned_at, scan.status)] = (
            scan
        )
    if not unique:
        return result
    numbers = {key[1] for key in unique}
    shipments = _shipments_for_numbers(shop, numbers)
    by_number: dict[str, list[Shipment]] = defaultdict(list)
    for shipment in shipments:
        by_number[shipment.tracking_number].append(shipment)

    rows = []
    # A parcel with a tracking number has its courier: dispatching and registering set both together (and past
    # "created" the constraint shipment_dispatched_has_waybill holds them).
    for (code, number, scanned_at, status), scan in unique.items():
        candidates = [
            s
            for s in by_number.get(number, [])
            if not code or s.courier.code == code  # type: ignore[union-attr]
        ]
        if len(candidates) != 1:
            result.unknown += 1
            continue
        shipment = candidates[0]
        rows.append(
            TrackingEvent(
                shipment=shipment,
                courier_code=shipment.courier.code,  # type: ignore[union-attr]
                tracking_number=number,
                scanned_at=scanned_at,
                status=status,
                text=scan.text[:300],
                location=scan.location[:100],
                source=source,
            )
        )
    if not rows:
        return result
    # The parcels are locked, so what is stored now is what another push of them could have stored before.
    seen = set(
        TrackingEvent.objects.filter(shipment__in={row.shipment_id for row in rows}).values_list(
            "courier_code", "tracking_number", "scanned_at", "status"
        )
    )
    new_rows = []
    for row in rows:
        key = (row.courier_code, row.tracking_number, row.scanned_at, row.status)
        if key not in seen:
            seen.add(key)
            new_rows.append(row)
    TrackingEvent.objects.bulk_create(new_rows, ignore_conflicts=True)
    result.stored = len(new_rows)
    result.duplicates = len(rows) - len(new_rows)
    _apply_latest_scans(new_rows)
    return result


def _shipments_for_numbers(shop, numbers) -> list[Shipment]:
    """The shop's parcels with these numbers, locked; outbound parcels of shipped orders are registered on the way."""
    found = list(
        Shipment.objects.filter(shop=shop, tracking_number__in=numbers)
        .select_related("courier")
        .select_for_update(of=("self",))
        .order_by("pk")
    )
    missing = numbers - {shipment.tracking_number for shipment in found}
    if missing:
        orders = Order.objects.filter(shop=shop, tracking_number__in=missing, shipped_at__isnull=False)
        if shipments_create_for_orders(list(orders)):
            found = list(
                Shipment.objects.filter(shop=shop, tracking_number__in=numbers)
                .select_related("courier")
                .select_for_update(of=("self",))
                .order_by("pk")
            )
    return found


def _apply_latest_scans(new_rows: list[TrackingEvent]) -> None:
    latest: dict[int, TrackingEvent] = {}
    for row in new_rows:
        current = latest.get(row.shipment_id)
        if current is None or row.scanned_at > current.scanned_at:
            latest[row.shipment_id] = row
    changed, delivered_orders, reappeared, finished = [], {}, [], []
    for row in latest.values():
        shipment = row.shipment
        if shipment.last_scan_at and row.scanned_at <= shipment.last_scan_at:
            continue  # an older scan arriving late: history only
        was_lost = shipment.status == Shipment.Status.LOST
        shipment.last_scan_at = row.scanned_at
        shipment.last_scan_text = f"{row.location} {row.text}".strip()[:300]
        final = _FINAL_STATUS.get(row.status)
        if final and shipment.status != final:
            # Bulk writes bypass the FSM's instance guard; these moves are the FSM's own (see Shipment).
            shipment.__dict__["status"] = final
            if final == Shipment.Status.DELIVERED:
                shipment.delivered_at = row.scanned_at
                if shipment.direction == Shipment.Direction.OUTBOUND:
                    delivered_orders[shipment.order_id] = row.scanned_at
            finished.append(shipment)
        elif was_lost:
            shipment.__dict__["status"] = Shipment.Status.IN_TRANSIT
        if was_lost:
            shipment.reappeared_at = timezone.now()
            reappeared.append(shipment)
        changed.append(shipment)
    Shipment.objects.bulk_update(changed, ["last_scan_at", "last_scan_text", "status", "delivered_at", "reappeared_at"])
    if delivered_orders:
        aftersales.orders_record_delivery(delivered=delivered_orders)
    if reappeared:
        from logistics.services.lost import lost_parcels_reappeared

        lost_parcels_reappeared(reappeared)
    if finished:
        _settle_intercepts_of(finished)


def _settle_intercepts_of(shipments: list[Shipment]) -> None:
    """A parcel delivered while an intercept was open means the intercept failed; one back at the sender means it
    came home. Rare, so one service call each."""
    from logistics.services.intercepts import intercept_fail, intercept_mark_returned

    intercepts = InterceptRequest.objects.filter(
        shipment__in=shipments,
        status__in=[InterceptRequest.Status.REQUESTED, InterceptRequest.Status.CONFIRMED],
    )
    status_of = {shipment.pk: shipment.status for shipment in shipments}
    system = system_user()
    for intercept in intercepts:
        try:
            with transaction.atomic():
                if status_of[intercept.shipment_id] == Shipment.Status.RETURNED:
                    intercept_mark_returned(intercept=intercept, by=system)
                elif intercept.status == InterceptRequest.Status.REQUESTED:
                    intercept_fail(
                        intercept=intercept, by=system, note=_("The courier's scan shows the parcel delivered.")
                    )
        except ActionRefused as refusal:
            logger.warning("intercept %s not settled from tracking: %s", intercept.pk, refusal.code)
