"""The return's whole way through the warehouse: scanned, inspected with a photo, refunded."""

import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from aftersales.models import Refund, TicketState
from aftersales.selectors import system_user
from aftersales.services import ticket_agree_return, ticket_return_shipped
from tests.factories import delivered_order, make_staff, open_ticket
from warehouse.models import ReturnParcel
from warehouse.services import inspection_record, return_receive_scan

pytestmark = pytest.mark.django_db


def jpeg(name="photo.jpg"):
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, "JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def test_a_scanned_return_inspected_clean_is_refunded(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    order = delivered_order(paid_amount=Decimal("129.00"))
    ticket = open_ticket(order, kind="return_refund")
    ticket_agree_return(ticket=ticket, by=system_user())
    ticket_return_shipped(ticket=ticket, by=system_user(), courier_code="ZTO", tracking_number="zt 7531 0001")
    clerk = make_staff("clerk", role="Warehouse", shops=[order.shop])

    scan = return_receive_scan(tracking_number="ZT75310001", by=clerk)
    again = return_receive_scan(tracking_number="ZT75310001", by=clerk)
    inspection_record(parcel=scan.parcel, by=clerk, result="ok", files=[jpeg()])

    assert not scan.already_received
    assert again.already_received
    assert ReturnParcel.objects.get().status == "inspected"
    ticket.refresh_from_db()
    assert ticket.state == TicketState.REFUNDING
    assert Refund.objects.get(ticket=ticket).amount == Decimal("129.00")
    assert scan.parcel.inspection.evidence.get().content_type == "image/jpeg"
