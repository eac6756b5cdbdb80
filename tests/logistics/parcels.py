"""Test helpers for parcels: a courier, a shipped order and its registered outbound parcel."""

import itertools
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from aftersales.models import Shop
from logistics.models import Courier, Shipment
from logistics.services import courier_upsert, shipments_create_for_orders
from tests.factories import OrderFactory

_numbers = itertools.count(1)


def courier(code: str = "SF", **terms) -> Courier:
    names = {"SF": "顺丰速运", "ZTO": "中通快递", "YTO": "圆通速递"}
    return courier_upsert(code=code, name=names.get(code, code), **terms)


def parcel(
    *,
    quiet_for: timedelta = timedelta(hours=1),
    province: str = "浙江省",
    courier_code: str = "SF",
    paid_amount: Decimal = Decimal("199.00"),
    shop=None,
    now=None,
) -> Shipment:
    """A parcel in transit whose last scan (the handover) was `quiet_for` ago."""
    now = now or timezone.now()
    courier(courier_code)
    shipped_at = (now - quiet_for).replace(microsecond=0)
    extra = {"shop": shop} if shop else {}
    order = OrderFactory(
        paid_at=shipped_at - timedelta(hours=6),
        shipped_at=shipped_at,
        province=province,
        courier_code=courier_code,
        tracking_number=f"{courier_code}{next(_numbers):012d}",
        paid_amount=paid_amount,
        **extra,
    )
    [shipment] = shipments_create_for_orders([order])
    return shipment


def lost_parcel_remedy_set(shop, remedy: str) -> None:
    """The shop's choice for a lost parcel's buyer (Shop.lost_parcel_remedy; 补发 by default)."""
    Shop.objects.filter(pk=shop.pk).update(lost_parcel_remedy=remedy)
    shop.lost_parcel_remedy = remedy
