"""Writes. Each service runs in one transaction and is the only door through which its change happens."""

from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.db import transaction
from guardian.shortcuts import assign_perm, remove_perm

from aftersales.models import Order, OrderLine, Platform, Shop
from aftersales.order_import import ORDER_FIELDS, ImportPlan
from aftersales.selectors import SHOP_PERMISSION


@transaction.atomic
def shop_set_members(*, shop: Shop, users, groups=()) -> None:
    """Make exactly these users and groups the ones assigned to the shop (guardian object permission)."""
    wanted_users = set(users)
    wanted_groups = set(groups)
    current_users = {p.user for p in shop.shopuserobjectpermission_set.select_related("user")}
    current_groups = {p.group for p in shop.shopgroupobjectpermission_set.select_related("group")}
    for user in wanted_users - current_users:
        assign_perm(SHOP_PERMISSION, user, shop)
    for user in current_users - wanted_users:
        remove_perm(SHOP_PERMISSION, user, shop)
    for group in wanted_groups - current_groups:
        assign_perm(SHOP_PERMISSION, group, shop)
    for group in current_groups - wanted_groups:
        remove_perm(SHOP_PERMISSION, group, shop)


def shop_assign_user(*, shop: Shop, user) -> None:
    assign_perm(SHOP_PERMISSION, user, shop)


def shop_assign_group(*, shop: Shop, group: Group) -> None:
    assign_perm(SHOP_PERMISSION, group, shop)


@dataclass(frozen=True)
class ImportSummary:
    created: int
    updated: int
    unchanged: int
    rejected_rows: int


@transaction.atomic
def order_import_apply(*, plan: ImportPlan) -> ImportSummary:
    """Write the valid orders of a checked plan; bad rows were already set aside by `plan_order_import`.

    Upserts on (shop, platform order id) and (order, SKU), so importing the same file twice creates nothing new
    and two imports racing each other cannot duplicate an order. Lines missing from a re-import are kept: a ticket
    may already refer to them. The number of queries grows with batches of 500, not with rows.
    """
    to_write = plan.orders_to_write
    if to_write:
        Order.objects.bulk_create(
            [
                Order(shop=plan.shop, platform_order_id=planned.platform_order_id, **planned.fields)
                for planned in to_write
            ],
            update_conflicts=True,
            unique_fields=["shop", "platform_order_id"],
            update_fields=[*ORDER_FIELDS, "updated_at"],
            batch_size=500,
        )
        order_ids = _order_ids_by_platform_id(plan.shop, [planned.platform_order_id for planned in to_write])
        OrderLine.objects.bulk_create(
            [
                OrderLine(order_id=order_ids[planned.platform_order_id], **line)
                for planned in to_write
                for line in planned.lines
            ],
            update_conflicts=True,
            unique_fields=["order", "sku"],
            update_fields=["item_name", "quantity", "paid_amount"],
            batch_size=500,
        )
    counts = plan.counts()
    return ImportSummary(
        created=counts["new"],
        updated=counts["updated"],
        unchanged=counts["unchanged"],
        rejected_rows=len(plan.errors),
    )


def _order_ids_by_platform_id(shop: Shop, platform_order_ids: list[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for start in range(0, len(platform_order_ids), 1000):
        chunk = platform_order_ids[start : start + 1000]
        ids.update(Order.objects.filter(shop=shop, platform_order_id__in=chunk).values_list("platform_order_id", "id"))
    return ids


def shop_upsert(*, code: str, name: str, platform_code: str) -> Shop:
    platform = Platform.objects.get(code=platform_code)
    shop, _created = Shop.objects.update_or_create(code=code, defaults={"name": name, "platform": platform})
    return shop


@transaction.atomic
def orders_record_delivery(*, delivered: dict[int, object]) -> int:
    """Record the courier's signature (签收) on shipped orders that lack it, from tracking: {order id: signed at}.
    One read and one bulk write, however many orders; an order already marked delivered keeps its own time."""
    orders = list(
        Order.objects.filter(pk__in=list(delivered), delivered_at__isnull=True, shipped_at__isnull=False)
        .select_for_update()
        .only("pk", "delivered_at", "shipped_at")
        .order_by("pk")
    )
    for order in orders:
        order.delivered_at = max(delivered[order.pk], order.shipped_at)
    Order.objects.bulk_update(orders, ["delivered_at"])
    return len(orders)
