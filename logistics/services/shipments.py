"""Shipments: couriers and agreements, registering parcels, a replacement's dispatch. The tracking pushes that move
them are logistics.services.tracking, above this, the intercepts and the lost-parcel rule."""

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.models import AfterSalesTicket, Order
from desk import crypto
from desk.access import require_in_shop
from desk.errors import ActionRefused
from desk.input_checks import normalise_tracking_number
from logistics import lock_objects, selectors
from logistics.models import Courier, CourierAgreement, Shipment
from logistics.provinces import short_province
from logistics.services.common import BATCH_SIZE, DISPATCH, couriers_by_code, shipment_move

# --- couriers and shop rules ----------------------------------------------------------------------------------------


def courier_upsert(*, code: str, name: str, **terms) -> Courier:
    courier, _created = Courier.objects.update_or_create(code=code, defaults={"name": name, **terms})
    return courier


def courier_agreement_upsert(*, shop, courier: Courier, **terms) -> CourierAgreement:
    """A shop's agreement (快递协议) with a courier: its contact, group robot, answer time and claim terms."""
    agreement, _created = CourierAgreement.objects.update_or_create(shop=shop, courier=courier, defaults=terms)
    return agreement


def courier_agreements_rotate_secrets() -> int:
    """Re-encrypt the stored Kuaidi100 secrets with the newest key (desk.crypto); how many agreements hold one."""
    count = 0
    holding = CourierAgreement.objects.exclude(kuaidi100_secret_encrypted="", kuaidi100_partner_key_encrypted="")
    for pk in holding.order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            agreement = lock_objects.courier_agreement_for_update(pk)
            agreement.kuaidi100_secret_encrypted = crypto.rotate(agreement.kuaidi100_secret_encrypted)
            agreement.kuaidi100_partner_key_encrypted = crypto.rotate(agreement.kuaidi100_partner_key_encrypted)
            agreement.save(update_fields=["kuaidi100_secret_encrypted", "kuaidi100_partner_key_encrypted"])
            count += 1
    return count


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


def return_shipments_create_for_tickets(tickets) -> list[Shipment]:
    """The buyer's return parcels (direction return) of tickets that have a return waybill and none yet, so that
    tracking pushes move them like any parcel; a bulk insert, a second call adds nothing. A waybill already
    registered as another parcel is left alone (the unique waybill says which parcel it is)."""
    tickets = [ticket for ticket in tickets if ticket.return_tracking_number and ticket.return_courier_code]
    if not tickets:
        return []
    couriers = couriers_by_code(ticket.return_courier_code for ticket in tickets)
    Shipment.objects.bulk_create(
        [
            Shipment(
                shop_id=ticket.shop_id,
                order_id=ticket.order_id,
                ticket_id=ticket.pk,
                direction=Shipment.Direction.RETURN,
                courier=couriers[ticket.return_courier_code],
                tracking_number=normalise_tracking_number(ticket.return_tracking_number),
                # No clock until the courier's first scan: the buyer may enter the waybill before or after the pickup,
                # and a return nobody has scanned yet is not ours to declare lost.
                status=Shipment.Status.IN_TRANSIT,
            )
            for ticket in tickets
        ],
        ignore_conflicts=True,
    )
    return list(
        Shipment.objects.filter(direction=Shipment.Direction.RETURN, ticket__in=[ticket.pk for ticket in tickets])
    )


def _tickets_missing_return_shipment():
    has_one = Shipment.objects.filter(ticket=OuterRef("pk"), direction=Shipment.Direction.RETURN)
    return (
        AfterSalesTicket.objects.exclude(return_tracking_number="")
        .exclude(return_courier_code="")
        .exclude(Exists(has_one))
    )


def return_shipments_sync_from_tickets(*, batch_size: int = BATCH_SIZE) -> int:
    """Register the return parcel of every ticket whose buyer's waybill was recorded (the ticket's page, the API, a
    connector: aftersales writes it and imports nothing of logistics, so this check picks it up)."""
    created = 0
    last_id = 0
    while True:
        tickets = list(_tickets_missing_return_shipment().filter(pk__gt=last_id).order_by("pk")[:batch_size])
        if not tickets:
            return created
        with transaction.atomic():
            created += len(return_shipments_create_for_tickets(tickets))
        last_id = tickets[-1].pk


def return_shipments_for_numbers(*, shop, numbers) -> list[Shipment]:
    """The return parcels of the shop's tickets waiting with these return waybills, registered now (a push about a
    return that the hourly check has not registered yet)."""
    tickets = _tickets_missing_return_shipment().filter(shop=shop, return_tracking_number__in=list(numbers))
    return return_shipments_create_for_tickets(list(tickets))


def outbound_shipment_for(order: Order) -> Shipment | None:
    """The order's parcel to the buyer (the latest one if a replacement went out), registered on first need."""
    shipment = selectors.outbound_shipment_of(order)
    if shipment is None:
        created = shipments_create_for_orders([order])
        shipment = created[0] if created else None
    return shipment


@transaction.atomic
def shipment_dispatch(*, shipment: Shipment, by, courier: Courier, tracking_number: str) -> Shipment:
    """The warehouse handed a replacement to the courier: it now has a waybill and ages like any parcel."""
    shipment = lock_objects.shipment_for_update(shipment.pk)
    require_in_shop(by, shipment.shop, DISPATCH)
    tracking_number = normalise_tracking_number(tracking_number)
    if not tracking_number:
        raise ActionRefused("tracking_required", _("Enter the tracking number."))
    if shipment.status != Shipment.Status.CREATED:
        raise ActionRefused("already_dispatched", _("This parcel already has a tracking number."))
    if Shipment.objects.filter(courier=courier, tracking_number=tracking_number).exists():
        raise ActionRefused("duplicate_waybill", _("Another parcel already has this tracking number."))
    now = timezone.now()
    event = shipment_move(
        shipment,
        "dispatch",
        by=by,
        at=now,
        arguments={"courier": courier, "tracking_number": tracking_number, "at": now},
    )
    shipment.save()
    event.save()
    return shipment
