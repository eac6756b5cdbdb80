"""Reads. Every list a user sees starts from `shops_for_user`, so no door shows another shop's rows."""

from django.db.models import Exists, OuterRef, QuerySet

from aftersales.models import Order, Shop, ShopGroupObjectPermission, ShopUserObjectPermission

SHOP_PERMISSION_CODENAME = "work_in_shop"
SHOP_PERMISSION = f"aftersales.{SHOP_PERMISSION_CODENAME}"


def shops_for_user(user) -> QuerySet[Shop]:
    """The shops a user is assigned to, directly or through a group, as one lazy query.

    Superusers see every shop. The result is meant to be used as a subquery (`shop__in=`), so a list costs no
    extra query per row and no guardian lookups.
    """
    if not user.is_authenticated or not user.is_active:
        return Shop.objects.none()
    if user.is_superuser:
        return Shop.objects.all()
    permission = {
        "permission__codename": SHOP_PERMISSION_CODENAME,
        "permission__content_type__app_label": "aftersales",
    }
    assigned_directly = ShopUserObjectPermission.objects.filter(content_object=OuterRef("pk"), user=user, **permission)
    assigned_through_group = ShopGroupObjectPermission.objects.filter(
        content_object=OuterRef("pk"), group__user=user, **permission
    )
    return Shop.objects.filter(Exists(assigned_directly) | Exists(assigned_through_group))


def user_works_in_shop(user, shop_id: int) -> bool:
    return shops_for_user(user).filter(pk=shop_id).exists()


def orders_for_user(user) -> QuerySet[Order]:
    return Order.objects.filter(shop__in=shops_for_user(user)).select_related("shop__platform")
