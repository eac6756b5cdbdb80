"""Logistics reads: which shops use a courier, the agreement (快递协议) a shop works under with a courier, a shop's
no-scan rule, and the parcel, scan and intercept lookups the services make."""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Exists, OuterRef, QuerySet

from aftersales.models import Order, Shop
from aftersales.selectors import user_covers_all_shops
from logistics.models import (
    DEFAULT_NO_SCAN_HOURS,
    DEFAULT_REMOTE_NO_SCAN_HOURS,
    DEFAULT_REMOTE_PROVINCES,
    Courier,
    CourierAgreement,
    CourierClaim,
    InterceptRequest,
    Kuaidi100Intercept,
    LostParcelPolicy,
    Shipment,
    TrackingEvent,
)
from logistics.provinces import short_province


def shops_using_courier(courier: Courier) -> QuerySet[Shop]:
    """The shops a change to the courier's row would reach: those with an agreement with it, a parcel sent with it or a
    claim against it (an intercept always has its parcel). A courier no shop uses yet (a new one included) becomes
    the courier of any shop whose orders name its code, so it counts as used by every shop."""
    if courier.pk is None:
        return Shop.objects.all()
    shops = Shop.objects.filter(
        Exists(CourierAgreement.objects.filter(shop=OuterRef("pk"), courier=courier))
        | Exists(Shipment.objects.filter(shop=OuterRef("pk"), courier=courier))
        | Exists(CourierClaim.objects.filter(shop=OuterRef("pk"), courier=courier))
    )
    return shops if shops.exists() else Shop.objects.all()


def user_may_edit_courier(user, courier: Courier | None = None) -> bool:
    """Superusers, and users assigned to every shop using the courier (every shop, for a new courier)."""
    shops = shops_using_courier(courier) if courier is not None else Shop.objects.all()
    return user_covers_all_shops(user, shops.values("pk"))


def agreement_for(*, shop_id: int, courier: Courier) -> CourierAgreement:
    """The shop's agreement with the courier, or (unsaved) the courier's defaults when the shop has none."""
    agreement = CourierAgreement.objects.filter(shop_id=shop_id, courier=courier).first()
    if agreement is None:
        return CourierAgreement.defaults_for(shop_id=shop_id, courier=courier)
    agreement.courier = courier
    return agreement


def agreements_for(pairs) -> dict[tuple[int, int], CourierAgreement]:
    """`agreement_for` of many (shop id, courier) pairs in one query, keyed by (shop id, courier id)."""
    pairs = {(shop_id, courier.pk): courier for shop_id, courier in pairs}
    if not pairs:
        return {}
    found = {
        (agreement.shop_id, agreement.courier_id): agreement
        for agreement in CourierAgreement.objects.filter(
            shop_id__in={shop_id for shop_id, _courier_id in pairs},
            courier_id__in={courier_id for _shop_id, courier_id in pairs},
        )
    }
    result = {}
    for (shop_id, courier_id), courier in pairs.items():
        agreement = found.get((shop_id, courier_id))
        if agreement is None:
            agreement = CourierAgreement.defaults_for(shop_id=shop_id, courier=courier)
        else:
            agreement.courier = courier
        result[shop_id, courier_id] = agreement
    return result


@dataclass(frozen=True)
class NoScanRule:
    hours: int = DEFAULT_NO_SCAN_HOURS
    remote_hours: int = DEFAULT_REMOTE_NO_SCAN_HOURS
    remote_provinces: frozenset = frozenset(DEFAULT_REMOTE_PROVINCES)

    def quiet_limit(self, province: str) -> timedelta:
        return timedelta(hours=self.remote_hours if province in self.remote_provinces else self.hours)


def no_scan_rules_for(shop_ids) -> dict[int, NoScanRule]:
    """Each shop's no-scan rule (one query); a shop without a policy row has the seeds' 48 h / 72 h and provinces."""
    rows = LostParcelPolicy.objects.filter(shop_id__in=shop_ids).values_list(
        "shop_id", "no_scan_hours", "remote_no_scan_hours", "remote_provinces"
    )
    rules = {
        shop_id: NoScanRule(hours, remote_hours, frozenset(short_province(p) for p in provinces or ()))
        for shop_id, hours, remote_hours, provinces in rows
    }
    return {shop_id: rules.get(shop_id, NoScanRule()) for shop_id in shop_ids}


def outbound_shipment_of(order: Order) -> Shipment | None:
    """The order's dispatched parcel to the buyer (the latest one if a replacement went out), if registered."""
    return (
        Shipment.objects.filter(order=order, direction=Shipment.Direction.OUTBOUND)
        .exclude(status=Shipment.Status.CREATED)
        .order_by("-id")
        .first()
    )


def scan_keys_of(shipment_ids) -> set[tuple]:
    """The (courier code, number, time, status) of every scan stored for these parcels: what a push repeats."""
    return set(
        TrackingEvent.objects.filter(shipment__in=shipment_ids).values_list(
            "courier_code", "tracking_number", "scanned_at", "status"
        )
    )


def open_intercepts_of(shipments) -> QuerySet[InterceptRequest]:
    """The parcels' intercepts still waiting for, or confirmed by, the courier."""
    return InterceptRequest.objects.filter(
        shipment__in=shipments,
        status__in=[InterceptRequest.Status.REQUESTED, InterceptRequest.Status.CONFIRMED],
    )


def kuaidi100_intercept_by_order_id(order_id: str) -> Kuaidi100Intercept | None:
    """The intercept order a callback's URL names, with what checking the callback needs (its waybill)."""
    return Kuaidi100Intercept.objects.select_related("intercept__shipment").filter(order_id=order_id).first()
