from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from aftersales.models import Order, OrderLine, Platform, Refund, RefundAuthority, ReturnReason, Shop, TicketKind
from aftersales.selectors import system_user
from aftersales.services import shop_assign_user, ticket_open
from config.services import api_token_issue


class ShopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shop

    code = factory.Sequence(lambda n: f"shop-{n}")
    name = factory.Sequence(lambda n: f"测试店铺{n}")
    platform = factory.LazyFunction(lambda: Platform.objects.get(code="tmall"))


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    shop = factory.SubFactory(ShopFactory)
    platform_order_id = factory.Sequence(lambda n: f"4{n:018d}")
    receiver_name = "王芳"
    province = "浙江省"
    paid_amount = Decimal("199.00")
    # Platforms give times to the second.
    paid_at = factory.LazyFunction(lambda: (timezone.now() - timedelta(days=2)).replace(microsecond=0))


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n}")
    item_name = "速干T恤"
    quantity = 1
    paid_amount = Decimal("199.00")


def make_staff(username: str, *, role: str | None = None, shops=(), password: str = "pw") -> object:
    """A staff user in a role group (as the data migration created it), assigned to `shops`."""
    user = get_user_model().objects.create_user(username=username, password=password, is_staff=True)
    if role:
        user.groups.add(Group.objects.get(name=role))
    for shop in shops:
        shop_assign_user(shop=shop, user=user)
    return user


def api_token_for(user) -> str:
    """A fresh API token's key for `user` (the key itself is not stored, only its hash)."""
    _token, key = api_token_issue(user=user)
    return key


def reason(code: str = "changed_mind") -> ReturnReason:
    """One of the reasons migration 0006 seeded."""
    return ReturnReason.objects.get(code=code)


def shipped_order(**kwargs) -> Order:
    paid_at = (timezone.now() - timedelta(days=3)).replace(microsecond=0)
    return OrderFactory(paid_at=paid_at, shipped_at=paid_at + timedelta(hours=6), **kwargs)


def delivered_order(**kwargs) -> Order:
    paid_at = (timezone.now() - timedelta(days=5)).replace(microsecond=0)
    return OrderFactory(
        paid_at=paid_at, shipped_at=paid_at + timedelta(hours=6), delivered_at=paid_at + timedelta(days=2), **kwargs
    )


def open_ticket(
    order: Order | None = None,
    *,
    kind: str = TicketKind.REFUND_ONLY,
    reason_code: str = "changed_mind",
    by=None,
    **kwargs,
):
    """A ticket opened through the real service (so path, clocks and the path-1 rule apply), as the system user."""
    order = order or delivered_order()
    return ticket_open(order=order, kind=kind, reason=reason(reason_code), by=by or system_user(), **kwargs)


def grant_authority(user_or_group, shop: Shop, amount) -> RefundAuthority:
    field = "group" if isinstance(user_or_group, Group) else "user"
    return RefundAuthority.objects.create(shop=shop, max_amount=Decimal(amount), **{field: user_or_group})


def confirm_refund(refund) -> Refund:
    """Take `refund` to the marketplace's confirmation through the real services, as a shop on the batch-file
    gateway does: sent (it is sent if it never was; the shop's next batch file takes it) and confirmed by one row of
    the batch tool's result file. Returns the refund as it is now."""
    from aftersales.gateways import BatchFileGateway
    from aftersales.services import refund_batch_create, refund_batch_results_import, refund_execute

    refund.refresh_from_db()
    if refund.status == Refund.Status.PENDING and refund.gateway == "":
        refund = refund_execute(refund_id=refund.pk)
    if refund.status == Refund.Status.PENDING and refund.gateway == BatchFileGateway.name:
        refund_batch_create(shop=refund.shop, by=system_user())
        refund.refresh_from_db()
    if refund.status == Refund.Status.SENT:
        result = f"网关流水号,退款结果\n{refund.gateway_reference},成功\n".encode()
        refund_batch_results_import(shop=refund.shop, content=result, by=system_user())
        refund.refresh_from_db()
    return refund
