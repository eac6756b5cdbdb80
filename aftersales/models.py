"""The shop side of after-sales: platforms, shops, orders. Tickets, refunds and approvals join here later.

This app imports no other app of ours (DESIGN §2): an order keeps its courier as a code, not a link into logistics.
"""

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

ZERO = Decimal("0.00")


class MoneyField(models.DecimalField):
    """CNY in Decimal with two places; the one place money's precision is decided."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", 12)
        kwargs.setdefault("decimal_places", 2)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        return name, "django.db.models.DecimalField", args, kwargs


class Platform(models.Model):
    """A marketplace. Its deadlines are defaults a ticket's platform deadline is computed from (DESIGN §5)."""

    class Code(models.TextChoices):
        TMALL = "tmall", _("Tmall")
        TAOBAO = "taobao", _("Taobao")
        DOUYIN = "douyin", _("Douyin")
        JD = "jd", _("JD")
        PINDUODUO = "pinduoduo", _("Pinduoduo")
        WECHAT = "wechat", _("WeChat shop")

    code = models.CharField(_("code"), max_length=20, choices=Code.choices, unique=True)
    # If the merchant does not answer within these, the platform accepts the buyer's request by itself.
    refund_response_hours = models.PositiveIntegerField(_("hours to answer a refund request"), default=48)
    return_response_hours = models.PositiveIntegerField(_("hours to answer a return request"), default=48)
    receipt_confirm_days = models.PositiveIntegerField(_("days to confirm a returned parcel"), default=10)
    buyer_return_upload_days = models.PositiveIntegerField(_("days for the buyer to send the return"), default=7)

    class Meta:
        verbose_name = _("platform")
        verbose_name_plural = _("platforms")
        ordering = ["id"]

    def __str__(self):
        return self.get_code_display()


class Shop(models.Model):
    """A store on one platform. Users are assigned to shops through guardian's `work_in_shop` object permission."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="shops", verbose_name=_("platform"))
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("shop")
        verbose_name_plural = _("shops")
        ordering = ["id"]
        permissions = [("work_in_shop", _("Can work on this shop's after-sales"))]

    def __str__(self):
        return self.name


class ShopUserObjectPermission(UserObjectPermissionBase):
    """guardian's direct foreign key to Shop: lists join on it instead of a generic object id string."""

    content_object = models.ForeignKey(Shop, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        verbose_name = _("shop permission of a user")
        verbose_name_plural = _("shop permissions of users")


class ShopGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Shop, on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        verbose_name = _("shop permission of a group")
        verbose_name_plural = _("shop permissions of groups")


class GoodsState(models.TextChoices):
    """Where the goods are; decides a new ticket's path (DESIGN §3)."""

    NOT_SHIPPED = "not_shipped", _("not shipped")
    SHIPPED = "shipped", _("shipped, not delivered")
    DELIVERED = "delivered", _("delivered")


class Order(models.Model):
    """An order as the platform or ERP sent it. Unique per shop and platform order id, so re-imports update."""

    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="orders", verbose_name=_("shop"))
    platform_order_id = models.CharField(_("platform order id"), max_length=64)
    buyer_nick = models.CharField(_("buyer nickname"), max_length=100, blank=True)
    receiver_name = models.CharField(_("receiver"), max_length=100, blank=True)
    receiver_phone = models.CharField(_("receiver phone"), max_length=32, blank=True)
    province = models.CharField(_("province"), max_length=20, blank=True, db_index=True)
    city = models.CharField(_("city"), max_length=40, blank=True)
    district = models.CharField(_("district"), max_length=40, blank=True)
    address = models.CharField(_("street address"), max_length=255, blank=True)
    paid_amount = MoneyField(_("paid amount (CNY)"), validators=[MinValueValidator(ZERO)])
    paid_at = models.DateTimeField(_("paid at"))
    # 打包: the warehouse has packed it; a refund-only request must then be cut off (截单) before it leaves.
    packed_at = models.DateTimeField(_("packed at"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    courier_code = models.CharField(_("courier code"), max_length=20, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=40, blank=True)
    # 签收: signed for by the buyer.
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-paid_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "platform_order_id"], name="order_unique_per_shop"),
            models.CheckConstraint(condition=Q(paid_amount__gte=0), name="order_paid_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(shipped_at__isnull=True) | Q(shipped_at__gte=models.F("paid_at")),
                name="order_shipped_after_paid",
            ),
            models.CheckConstraint(
                condition=Q(delivered_at__isnull=True) | Q(shipped_at__isnull=False),
                name="order_delivered_only_if_shipped",
            ),
        ]
        indexes = [
            models.Index(fields=["shop", "-paid_at"], name="order_shop_paid_idx"),
            models.Index(fields=["tracking_number"], name="order_tracking_idx"),
        ]

    def __str__(self):
        return self.platform_order_id

    @property
    def goods_state(self) -> GoodsState:
        if self.delivered_at:
            return GoodsState.DELIVERED
        if self.shipped_at:
            return GoodsState.SHIPPED
        return GoodsState.NOT_SHIPPED


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", verbose_name=_("order"))
    sku = models.CharField(_("SKU"), max_length=64)
    item_name = models.CharField(_("item"), max_length=200)
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    paid_amount = MoneyField(_("paid amount (CNY)"), validators=[MinValueValidator(ZERO)])

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "sku"], name="order_line_unique_sku"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="order_line_quantity_positive"),
            models.CheckConstraint(condition=Q(paid_amount__gte=0), name="order_line_paid_not_negative"),
        ]

    def __str__(self):
        return f"{self.item_name} × {self.quantity}"
