"""Tracking ingestion: the couriers' scans pushed by the aggregators, and the parcel moves they make.

This sits above the other logistics services: a scan registers a parcel (shipments), settles an open intercept
(intercepts) and brings a lost parcel back (the lost-parcel rule); none of those imports this."""

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales import return_tracking
from aftersales import services as aftersales
from aftersales.models import AfterSalesTicket, Order
from aftersales.selectors import system_user
from desk.errors import ActionRefused
from desk.input_checks import normalise_tracking_number
from logistics import lock_objects, selectors
from logistics.models import InterceptRequest, LogisticsEvent, Shipment, TrackingEvent, TrackingStatus
from logistics.services.common import shipment_move
from logistics.services.intercepts import intercept_fail, intercept_mark_returned
from logistics.services.lost import lost_parcels_reappeared
from logistics.services.shipments import return_shipments_for_numbers, shipments_create_for_orders

logger = logging.getLogger(__name__)


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


# The scans that decide a parcel's status, and the parcel's transition each makes; scans in between (in transit, out
# for delivery) only move its clock.
_FINAL_MOVE: dict[str, tuple[str, str]] = {
    TrackingStatus.DELIVERED: ("deliver", Shipment.Status.DELIVERED),
    TrackingStatus.RETURNED: ("mark_returned", Shipment.Status.RETURNED),
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
    seen = selectors.scan_keys_of({row.shipment_id for row in rows})
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
    _report_returns(new_rows)
    return result


def _report_returns(new_rows: list[TrackingEvent]) -> None:
    """The buyer's returns among the scans: their first scan (what 提前换出 waits for) and the courier's signature at
    our address (what the return's merchant time and the platform's receipt deadline count from), for the warehouse
    to record (aftersales.return_tracking). One call per return parcel in the push."""
    first: dict[int, TrackingEvent] = {}
    signed: dict[int, TrackingEvent] = {}
    for row in new_rows:
        if row.shipment.direction != Shipment.Direction.RETURN or row.shipment.ticket_id is None:
            continue
        if row.shipment_id not in first or row.scanned_at < first[row.shipment_id].scanned_at:
            first[row.shipment_id] = row
        if row.status == TrackingStatus.DELIVERED and (
            row.shipment_id not in signed or row.scanned_at < signed[row.shipment_id].scanned_at
        ):
            signed[row.shipment_id] = row
    for shipment_id, row in first.items():
        ticket = cast(AfterSalesTicket, row.shipment.ticket)  # only returns with a ticket were kept above
        return_tracking.return_parcel_scanned(ticket=ticket, at=row.scanned_at, signed=False)
        if shipment_id in signed:
            return_tracking.return_parcel_scanned(ticket=ticket, at=signed[shipment_id].scanned_at, signed=True)


def _shipments_for_numbers(shop, numbers) -> list[Shipment]:
    """The shop's parcels with these numbers, locked; outbound parcels of shipped orders are registered on the way."""
    found = lock_objects.shipments_by_number_for_update(shop=shop, numbers=numbers)
    missing = numbers - {shipment.tracking_number for shipment in found}
    if missing:
        orders = Order.objects.filter(shop=shop, tracking_number__in=missing, shipped_at__isnull=False)
        created = shipments_create_for_orders(list(orders))
        created += return_shipments_for_numbers(shop=shop, numbers=missing)
        if created:
            found = lock_objects.shipments_by_number_for_update(shop=shop, numbers=numbers)
    return found


def _apply_latest_scans(new_rows: list[TrackingEvent]) -> None:
    """Move each parcel to its latest new scan: its clock always, its status through its transitions (a lost parcel
    reappears first), each move with its event, all in one bulk update and one insert."""
    latest: dict[int, TrackingEvent] = {}
    for row in new_rows:
        current = latest.get(row.shipment_id)
        if current is None or row.scanned_at > current.scanned_at:
            latest[row.shipment_id] = row
    now = timezone.now()
    system = None
    changed, delivered_orders, reappeared, finished, moves = [], {}, [], [], []
    for row in latest.values():
        shipment = row.shipment
        if shipment.last_scan_at and row.scanned_at <= shipment.last_scan_at:
            continue  # an older scan arriving late: history only
        shipment.last_scan_at = row.scanned_at
        shipment.last_scan_text = f"{row.location} {row.text}".strip()[:300]
        changed.append(shipment)
        final = _FINAL_MOVE.get(row.status)
        was_lost = shipment.status == Shipment.Status.LOST
        if not was_lost and (final is None or shipment.status == final[1]):
            continue
        system = system or system_user()
        if was_lost:
            note = shipment.last_scan_text
            moves.append(shipment_move(shipment, "reappear", by=system, at=now, note=note, arguments={"at": now}))
            reappeared.append(shipment)
        if final and shipment.status != final[1]:
            transition = final[0]
            arguments = {"at": row.scanned_at} if transition == "deliver" else {}
            moves.append(
                shipment_move(
                    shipment, transition, by=system, at=now, note=shipment.last_scan_text, arguments=arguments
                )
            )
            if transition == "deliver" and shipment.direction == Shipment.Direction.OUTBOUND:
                delivered_orders[shipment.order_id] = row.scanned_at
            finished.append(shipment)
    # Most scans move only the parcel's clock: those parcels get a two-column update, the few that moved state the
    # full one (bulk_update writes a CASE per row and column; five columns for every parcel cost the push's time).
    moved = {id(shipment) for shipment in (*finished, *reappeared)}
    _clocks_update([shipment for shipment in changed if id(shipment) not in moved])
    Shipment.objects.bulk_update(
        [shipment for shipment in changed if id(shipment) in moved],
        ["last_scan_at", "last_scan_text", "status", "delivered_at", "reappeared_at"],
    )
    LogisticsEvent.objects.bulk_create(moves)
    if delivered_orders:
        aftersales.orders_record_delivery(delivered=delivered_orders)
    if reappeared:
        lost_parcels_reappeared(reappeared)
    if finished:
        _settle_intercepts_of(finished)


def _clocks_update(shipments: list[Shipment]) -> None:
    """The parcels' last scan, one statement. On PostgreSQL the rows go as three arrays (UPDATE … FROM unnest): a push's
    hundred parcels through bulk_update are a CASE per row and column that Django takes longer to build than the
    database to run (a quarter of a push's time)."""
    if not shipments:
        return
    if connection.vendor != "postgresql":
        Shipment.objects.bulk_update(shipments, ["last_scan_at", "last_scan_text"])
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE logistics_shipment AS s SET last_scan_at = v.at, last_scan_text = v.text"
            " FROM unnest(%s::bigint[], %s::timestamptz[], %s::text[]) AS v(id, at, text) WHERE s.id = v.id",
            [
                [shipment.pk for shipment in shipments],
                [shipment.last_scan_at for shipment in shipments],
                [shipment.last_scan_text for shipment in shipments],
            ],
        )


def _settle_intercepts_of(shipments: list[Shipment]) -> None:
    """A parcel delivered while an intercept was open means the intercept failed; one back at the sender means it
    came home. Rare, so one service call each."""
    status_of = {shipment.pk: shipment.status for shipment in shipments}
    system = system_user()
    for intercept in selectors.open_intercepts_of(shipments):
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
