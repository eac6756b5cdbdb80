"""The courier's signature of a return at our address (ReturnParcel.signed_at): where 退货退款自主完结时长's second leg
starts (seed 004). Recorded by the return's tracking; the first signature stands and the clerk's scan keeps its own
time."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.warehouse.test_services_receiving import agent, clerk, return_on_its_way, shop
from warehouse.models import ReturnParcel
from warehouse.services import return_parcel_record_signature, return_receive_scan

pytestmark = pytest.mark.django_db
__all__ = ["agent", "clerk", "shop"]  # fixtures
CHINA = ZoneInfo("Asia/Shanghai")


def test_the_signature_is_kept_beside_the_clerks_scan(shop, clerk, agent):
    ticket = return_on_its_way(shop, "ZT75310001")
    signed = datetime(2026, 11, 5, 8, tzinfo=CHINA)

    return_parcel_record_signature(ticket=ticket, by=agent, signed_at=signed)
    return_parcel_record_signature(ticket=ticket, by=agent, signed_at=datetime(2026, 11, 6, 8, tzinfo=CHINA))
    return_receive_scan(tracking_number="ZT75310001", by=clerk)

    parcel = ReturnParcel.objects.get()
    assert parcel.signed_at == signed
    assert parcel.first_scan_at == signed
    assert parcel.received_at > signed
