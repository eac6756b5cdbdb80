"""Many rows of every resource the API lists, for one shop, in a few bulk inserts.

Read routes are tested for what they show and how many queries they cost, not for how the rows came to be (the
services' own tests cover that), so the rows are inserted directly, each satisfying the database's constraints.
"""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from aftersales.models import AfterSalesTicket, ApprovalRequest, Complaint, Order, ReturnReason
from logistics.models import Courier, CourierClaim, InterceptRequest, Shipment, TrackingEvent
from tests.factories import OrderLineFactory
from warehouse.models import Inspection, InspectionLine, ReturnParcel


def fill_shop(shop, count: int, *, user) -> None:
    now = timezone.now().replace(microsecond=0)
    courier = Courier.objects.get_or_create(code="SF", defaults={"name": "顺丰"})[0]
    reason = ReturnReason.objects.get(code="quality_defect")
    start = Order.objects.count()
    orders = Order.objects.bulk_create(
        Order(
            shop=shop,
            platform_order_id=f"{shop.code}-{start + n}",
            paid_amount=Decimal("99.00"),
            paid_at=now - timedelta(days=5),
            shipped_at=now - timedelta(days=4),
            courier_code="SF",
            tracking_number=f"SF{shop.pk:03d}{start + n:07d}",
        )
        for n in range(count)
    )
    lines = [OrderLineFactory.build(order=order, sku="A1", paid_amount=Decimal("99.00")) for order in orders]
    lines = type(lines[0]).objects.bulk_create(lines)
    tickets = AfterSalesTicket.objects.bulk_create(
        AfterSalesTicket(
            shop=shop,
            order=order,
            kind="return_refund",
            path=4,
            state="received",
            first_reason=reason,
            reason=reason,
            liability="merchant",
            requested_amount=Decimal("99.00"),
            opened_at=now - timedelta(days=1),
            deadline=now + timedelta(days=1),
            sla_due=now + timedelta(hours=12),
            return_courier_code="SF",
            return_tracking_number=f"R{order.tracking_number}",
        )
        for order in orders
    )
    Complaint.objects.bulk_create(
        Complaint(shop=shop, order=ticket.order, ticket=ticket, opened_at=now, recorded_by=user) for ticket in tickets
    )
    ApprovalRequest.objects.bulk_create(
        ApprovalRequest(
            ticket=ticket, shop=shop, requested_by=user, amount=Decimal("99.00"), refund_kind="full", due_at=now
        )
        for ticket in tickets
    )
    shipments = Shipment.objects.bulk_create(
        Shipment(
            shop=shop,
            order=order,
            courier=courier,
            tracking_number=order.tracking_number,
            status="in_transit",
            shipped_at=order.shipped_at,
        )
        for order in orders
    )
    TrackingEvent.objects.bulk_create(
        TrackingEvent(
            shipment=shipment,
            courier_code="SF",
            tracking_number=shipment.tracking_number,
            scanned_at=now - timedelta(days=3),
            status="in_transit",
            source="kuaidi100",
        )
        for shipment in shipments
    )
    InterceptRequest.objects.bulk_create(
        InterceptRequest(
            shop=shop,
            ticket=ticket,
            shipment=shipment,
            courier=courier,
            requested_by=user,
            requested_at=now,
            due_at=now + timedelta(hours=2),
        )
        for ticket, shipment in zip(tickets, shipments, strict=True)
    )
    CourierClaim.objects.bulk_create(
        CourierClaim(
            shop=shop,
            courier=courier,
            order=shipment.order,
            shipment=shipment,
            ticket=ticket,
            cause="lost",
            loss_amount=Decimal("99.00"),
            claim_amount=Decimal("99.00"),
            month=now.date().replace(day=1),
            created_at=now,
        )
        for ticket, shipment in zip(tickets, shipments, strict=True)
    )
    parcels = ReturnParcel.objects.bulk_create(
        ReturnParcel(
            shop=shop,
            ticket=ticket,
            tracking_number=ticket.return_tracking_number,
            courier_code="SF",
            status="inspected",
            received_at=now,
            received_by=user,
            inspected_at=now,
        )
        for ticket in tickets
    )
    inspections = Inspection.objects.bulk_create(
        Inspection(parcel=parcel, result="ok", inspected_by=user) for parcel in parcels
    )
    InspectionLine.objects.bulk_create(
        InspectionLine(inspection=inspection, order_line=line, quantity_received=1)
        for inspection, line in zip(inspections, lines, strict=True)
    )
