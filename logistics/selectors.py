"""Logistics reads: which shops use a courier, and the agreement (快递协议) a shop works under with a courier."""

from django.db.models import Exists, OuterRef, QuerySet

from aftersales.models import Shop
from aftersales.selectors import user_covers_all_shops
from logistics.models import Courier, CourierAgreement, CourierClaim, Shipment


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
