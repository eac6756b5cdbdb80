"""The shop side of after-sales: platforms, shops, orders. Tickets, refunds and approvals join here later.

This app imports no other app of ours (DESIGN §2): an order keeps its courier as a code, not a link into logistics.
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from aftersales.money import format_yuan
from aftersales.replies import PLACEHOLDERS, unknown_placeholders

ZERO = Decimal("0.00")
# The most a shop's hour and minute settings may say (30 days): beyond it a deadline is no longer a working target.
MAX_SETTING_HOURS = 720
MAX_SETTING_MINUTES = 24 * 60


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
    # 平台介入: once the platform steps in, the merchant must answer it (举证) within these, or it rules on what it has.
    platform_step_response_hours = models.PositiveIntegerField(
        _("hours to answer after the platform steps in"), default=72, db_default=72
    )

    class Meta:
        verbose_name = _("platform")
        verbose_name_plural = _("platforms")
        ordering = ["id"]

    def __str__(self):
        return self.get_code_display()


class LostParcelRemedy(models.TextChoices):
    """What the buyer of a lost parcel (丢件) gets when nobody asked yet; seeds 000 and 001 name 补发 first."""

    RESHIP = "reship", _("reship the goods (补发)")
    REFUND = "refund", _("refund the buyer")


class Shop(models.Model):
    """A store on one platform. Users are assigned to shops through guardian's `work_in_shop` object permission."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="shops", verbose_name=_("platform"))
    # The marketplace's own id for the shop (抖店 shop_id), by which its pushes name the shop.
    platform_shop_id = models.CharField(_("marketplace shop id"), max_length=40, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # The shop's after-sales policy: its manager changes these on the shop's page, through
    # services.shops.shop_update_settings (checked and audited as ShopEvent rows). The upper bounds keep every
    # deadline computed from them a real date.
    approval_due_hours = models.PositiveIntegerField(
        _("hours a supervisor has to decide an approval"),
        default=4,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_SETTING_HOURS)],
    )
    auto_refund_enabled = models.BooleanField(_("refund unshipped orders automatically"), default=True)
    auto_refund_max_amount = MoneyField(
        _("largest automatic refund (CNY)"), default=Decimal("300.00"), validators=[MinValueValidator(ZERO)]
    )
    path1_sla_minutes = models.PositiveIntegerField(
        _("minutes to answer a not-shipped refund"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_SETTING_MINUTES)],
    )
    # Seed 001: no request waits more than 4 hours for the merchant (确保…退款单停留不超过4小时).
    sla_hours = models.PositiveIntegerField(
        _("hours to answer other requests"),
        default=4,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_SETTING_HOURS)],
    )
    # 即将超时: a ticket waiting for the shop this close to its platform deadline goes to the top of the queue.
    deadline_warning_hours = models.PositiveIntegerField(
        _("hours before the platform deadline to move a ticket to the top"),
        default=6,
        db_default=6,  # rows written by an older migration's model state (a migration test) get it too
        validators=[MinValueValidator(1), MaxValueValidator(MAX_SETTING_HOURS)],
    )
    # 截单: seed 001 gives the warehouse 2 h to answer a cut-off; past it the cut-off shows red and is chased.
    cutoff_answer_hours = models.PositiveIntegerField(
        _("hours the warehouse has to answer a cut-off"),
        default=2,
        db_default=2,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_SETTING_HOURS)],
    )
    lost_parcel_remedy = models.CharField(
        _("remedy for a lost parcel"),
        max_length=20,
        choices=LostParcelRemedy.choices,
        default=LostParcelRemedy.RESHIP,
        db_default=LostParcelRemedy.RESHIP,
    )
    # Seed 000 (无法验货则直接退款): a return the clerk scans in is refunded at once, without waiting for inspection,
    # when the shop cannot inspect; limited to single-item orders up to an amount unless the limit is switched off.
    refund_on_receipt_enabled = models.BooleanField(
        _("refund a return as soon as it is scanned in (no inspection)"), default=False, db_default=False
    )
    refund_on_receipt_limited = models.BooleanField(
        _("refund on receipt only single-item orders up to the amount"), default=True, db_default=True
    )
    refund_on_receipt_max_amount = MoneyField(
        _("largest order refunded on receipt (CNY)"),
        default=Decimal("100.00"),
        db_default=Decimal("100.00"),
        validators=[MinValueValidator(ZERO)],
    )
    unconfirmed_refund_hours = models.PositiveIntegerField(
        _("hours a sent refund may wait for the marketplace's confirmation"),
        default=24,
        db_default=24,  # rows written by an older migration's model state (a migration test) get it too
        validators=[MinValueValidator(1)],
        help_text=_(
            "Sent refunds still unconfirmed after this many hours show in the daily clearance and the dashboard."
        ),
    )

    class Meta:
        verbose_name = _("shop")
        verbose_name_plural = _("shops")
        ordering = ["id"]
        permissions = [("work_in_shop", _("Can work on this shop's after-sales"))]
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "platform_shop_id"],
                condition=~Q(platform_shop_id=""),
                name="shop_unique_platform_shop_id",
            )
        ]

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


class ShopEvent(models.Model):
    """The trail of a shop's settings: one row per changed field, who, when, old → new (values as text)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="events", verbose_name=_("shop"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    field = models.CharField(_("setting"), max_length=40)
    old_value = models.CharField(_("old value"), max_length=40)
    new_value = models.CharField(_("new value"), max_length=40)

    class Meta:
        verbose_name = _("shop setting change")
        verbose_name_plural = _("shop setting changes")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["shop", "-at"], name="shop_event_shop_at_idx")]

    def __str__(self):
        return f"{self.shop_id} {self.field}: {self.old_value} → {self.new_value}"


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
    # What the platforms' logistics metrics need to know (seed 004): only in-stock (现货) orders that need shipping
    # are due for pickup; a presale (预售) order's late-shipping feedback within 48 h of payment, and an in-stock
    # order's within its promised shipping time (承诺发货时间), are not counted.
    needs_shipping = models.BooleanField(_("needs shipping"), default=True, db_default=True)
    is_custom_made = models.BooleanField(_("custom-made (定制)"), default=False, db_default=False)
    is_presale = models.BooleanField(_("presale (预售)"), default=False, db_default=False)
    promised_ship_by = models.DateTimeField(_("promised shipping time (承诺发货时间)"), null=True, blank=True)
    # Running total of the order's non-failed refunds. Only the database writes it (a trigger on Refund, migration
    # 0005), and a check constraint keeps it within the paid amount: the last word on "never refund more than paid".
    refunded_amount = MoneyField(_("refunded (CNY)"), default=ZERO, editable=False)
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
                condition=Q(refunded_amount__gte=0, refunded_amount__lte=models.F("paid_amount")),
                name="order_refunded_within_paid",
            ),
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
            # The order list's order (Meta.ordering), a shop's and all shops': its first and deep pages read the
            # index instead of sorting a year of orders.
            models.Index(fields=["shop", "-paid_at", "-id"], name="order_shop_paid_id_idx"),
            models.Index(fields=["-paid_at", "-id"], name="order_paid_id_idx"),
            models.Index(fields=["tracking_number"], name="order_tracking_idx"),
            # The order list's searches by the buyer's nickname or phone, whatever the shop.
            models.Index(fields=["buyer_nick"], name="order_buyer_idx"),
            models.Index(fields=["receiver_phone"], name="order_phone_idx"),
            # Repurchases after after-sales (metrics): a buyer's later orders in the same shop.
            models.Index(fields=["shop", "buyer_nick", "paid_at"], name="order_shop_buyer_paid_idx"),
            # The agents look an order up by the number the buyer quotes, whatever the shop.
            models.Index(fields=["platform_order_id"], name="order_platform_id_idx"),
        ]

    def __str__(self):
        return self.platform_order_id

    @property
    def refundable_amount(self) -> Decimal:
        return self.paid_amount - self.refunded_amount

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


# ---------------------------------------------------------------------------------------------------------------------
# Tickets, refunds, approvals (DESIGN §3)
# ---------------------------------------------------------------------------------------------------------------------


class ReasonCategory(models.TextChoices):
    NON_QUALITY = "non_quality", _("non-quality")
    QUALITY = "quality", _("quality")
    OTHER = "other", _("other")


class Liability(models.TextChoices):
    """Who bears the cost (责任方); courier liability is what a claim (理赔) recovers."""

    MERCHANT = "merchant", _("merchant")
    COURIER = "courier", _("courier")
    BUYER = "buyer", _("buyer")
    PLATFORM = "platform", _("platform")


class MerchantLiability(models.TextChoices):
    """Whether a platform's ruling or a complaint (投诉) was judged the merchant's liability (商责): what the dispute
    rate and the platform help rate count."""

    MERCHANT = "merchant", _("the merchant's liability (商责)")
    NOT_MERCHANT = "not_merchant", _("not the merchant's liability (非商责)")
    UNKNOWN = "unknown", _("not known")


class ReturnReason(models.Model):
    """The reason taxonomy. Labels are kept in both languages because the platforms' reason lists are Chinese."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    category = models.CharField(_("category"), max_length=20, choices=ReasonCategory.choices)
    label_zh = models.CharField(_("Chinese label"), max_length=60)
    label_en = models.CharField(_("English label"), max_length=80)
    default_liability = models.CharField(
        _("default liability"), max_length=20, choices=Liability.choices, default=Liability.MERCHANT
    )
    is_active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=0)
    # 涉及赔付 (seeds 000 and 001): the platform may owe the buyer compensation on top of the refund (未按约定时间发货),
    # so the path-1 rule leaves such a request to an agent, who judges whether the compensation holds.
    may_owe_compensation = models.BooleanField(
        _("may involve compensation (涉及赔付)"),
        default=False,
        db_default=False,
        help_text=_("Not-shipped refunds with this reason go to an agent instead of the automatic rule."),
    )

    class Meta:
        verbose_name = _("return reason")
        verbose_name_plural = _("return reasons")
        ordering = ["sort_order", "id"]

    def __str__(self):
        return self.label

    @property
    def label(self) -> str:
        return self.label_zh if get_language_or_default().startswith("zh") else self.label_en


def get_language_or_default() -> str:
    return get_language() or settings.LANGUAGE_CODE


class EscalationWord(models.Model):
    """A word in a buyer message or agent note that signals a complaint risk (投诉风险), e.g. 12315 or 差评."""

    word = models.CharField(_("word"), max_length=40, unique=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("escalation word")
        verbose_name_plural = _("escalation words")
        ordering = ["word"]

    def __str__(self):
        return self.word


class RefundAuthority(models.Model):
    """逐级授权: the most a user, or every member of a group, may refund or compensate on one order of one shop without
    a supervisor: everything they refunded on the order's tickets counts. A user's authority is the highest of their
    own and their groups'."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="refund_authorities", verbose_name=_("shop"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, verbose_name=_("user")
    )
    group = models.ForeignKey("auth.Group", on_delete=models.CASCADE, null=True, blank=True, verbose_name=_("group"))
    max_amount = MoneyField(_("authority per order (CNY)"), validators=[MinValueValidator(ZERO)])

    class Meta:
        verbose_name = _("refund authority")
        verbose_name_plural = _("refund authorities")
        ordering = ["shop_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, group__isnull=True) | Q(user__isnull=True, group__isnull=False),
                name="refund_authority_user_xor_group",
            ),
            models.CheckConstraint(condition=Q(max_amount__gte=0), name="refund_authority_not_negative"),
            models.UniqueConstraint(
                fields=["shop", "user"], condition=Q(user__isnull=False), name="refund_authority_unique_user"
            ),
            models.UniqueConstraint(
                fields=["shop", "group"], condition=Q(group__isnull=False), name="refund_authority_unique_group"
            ),
        ]

    def __str__(self):
        return f"{self.user or self.group} @ {self.shop}: {self.max_amount}"


class TicketKind(models.TextChoices):
    """What the buyer asked for. Every after-sales type a marketplace sends has a home here (the connectors map the
    platforms' types by value); a type that maps to none opens as UNKNOWN, with the platform's own code kept in
    AfterSalesTicket.platform_kind, and waits for an agent to decide (services.ticket_decide_kind)."""

    REFUND_ONLY = "refund_only", _("refund only")
    RETURN_REFUND = "return_refund", _("return and refund")
    EXCHANGE = "exchange", _("exchange")
    RESHIP = "reship", _("reship")
    COMPENSATION = "compensation", _("compensation (partial refund, no return)")
    # 维修: the goods come back, are repaired and shipped back to the buyer; nothing is refunded.
    REPAIR = "repair", _("repair")
    # 价保 / 退差价: the price fell within the promised period; the difference is refunded, nothing comes back.
    PRICE_PROTECTION = "price_protection", _("price protection (refund of a price difference)")
    # A platform's type the desk does not know: kept, never refunded by a rule, in front of an agent.
    UNKNOWN = "unknown", _("unknown platform type")


# The kinds a person or the API may open a ticket with; UNKNOWN only comes with a platform's own type code.
KNOWN_TICKET_KINDS = [kind for kind in TicketKind if kind != TicketKind.UNKNOWN]
KNOWN_TICKET_KIND_CHOICES = [(kind.value, kind.label) for kind in KNOWN_TICKET_KINDS]


class TicketPath(models.IntegerChoices):
    """The marketplace's four refund paths, by where the goods are when the buyer asks."""

    NOT_SHIPPED = 1, _("1 not shipped, refund only")
    NOT_RECEIVED = 2, _("2 shipped, not received, refund only")
    RECEIVED_NO_RETURN = 3, _("3 received, no return")
    RETURN = 4, _("4 return and refund")


class DeadlineSource(models.TextChoices):
    """Where a ticket's platform deadline comes from: the platform's defaults for the stage, or the marketplace's own
    word (a connector's push), which the stage computation then leaves alone."""

    DEFAULT = "default", _("the platform's default for the stage")
    PLATFORM = "platform", _("the marketplace's own deadline")


class ReturnProposal(models.TextChoices):
    """已收到货仅退款 (seed 004): a buyer who has the goods and asked for a refund only is asked to change the request
    to a return and refund; if they do not in time, the desk proposes the rejection for the agent to confirm."""

    NONE = "", _("none")
    PROPOSED = "proposed", _("return and refund proposed to the buyer")
    EXPIRED = "expired", _("buyer did not change the request: rejection to confirm")


class TicketState(models.TextChoices):
    REQUESTED = "requested", _("requested")
    INTERCEPTING = "intercepting", _("intercepting")
    AWAITING_APPROVAL = "awaiting_approval", _("awaiting approval")
    AWAITING_RETURN = "awaiting_return", _("awaiting return")
    RETURN_IN_TRANSIT = "return_in_transit", _("return in transit")
    RECEIVED = "received", _("return received")
    # 维修中: a repair's return passed inspection; the goods are ours until they are shipped back repaired.
    REPAIRING = "repairing", _("in repair")
    REFUNDING = "refunding", _("refunding")
    REJECTED = "rejected", _("rejected")
    PLATFORM_REVIEW = "platform_review", _("platform review")
    REFUNDED = "refunded", _("refunded")
    RESOLVED = "resolved", _("resolved")
    CANCELLED = "cancelled", _("cancelled")
    CLOSED = "closed", _("closed")


OPEN_TICKET_STATES = [
    TicketState.REQUESTED,
    TicketState.INTERCEPTING,
    TicketState.AWAITING_APPROVAL,
    TicketState.AWAITING_RETURN,
    TicketState.RETURN_IN_TRANSIT,
    TicketState.RECEIVED,
    TicketState.REPAIRING,
    TicketState.REFUNDING,
    TicketState.REJECTED,
    TicketState.PLATFORM_REVIEW,
]
S = TicketState


class AfterSalesTicket(ConcurrentTransitionMixin, models.Model):
    """售后单: one buyer request, worked along its path. Change it only through aftersales.services.

    The transitions below change this row's own fields and nothing else; the services lock the row, check who may
    act, call the transition, save and write the TicketEvent in one transaction. ConcurrentTransitionMixin makes a
    save fail if the state changed underneath, as a second guard behind the row lock.
    """

    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("shop"))
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("order"))
    # The marketplace's own refund id (退款编号), when the ticket came from it; replays of its push find this ticket.
    platform_ticket_id = models.CharField(_("platform refund id"), max_length=64, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=TicketKind.choices)
    # 平台售后类型: the marketplace's own type code as it sent it (e.g. 抖店 aftersale_type), kept whatever it mapped
    # to, so an UNKNOWN ticket shows the agent what the platform asked for.
    platform_kind = models.CharField(
        _("platform after-sales type"), max_length=40, blank=True, default="", db_default=""
    )
    path = models.PositiveSmallIntegerField(_("path"), choices=TicketPath.choices)
    state = FSMField(_("state"), default=S.REQUESTED, choices=TicketState.choices, protected=True)
    # The platforms judge "experience" metrics on the first reason, and the quality refund rate on the last.
    first_reason = models.ForeignKey(
        ReturnReason, on_delete=models.PROTECT, related_name="+", verbose_name=_("first reason")
    )
    reason = models.ForeignKey(
        ReturnReason, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("current reason")
    )
    liability = models.CharField(_("liability"), max_length=20, choices=Liability.choices)
    requested_amount = MoneyField(_("requested amount (CNY)"), default=ZERO, validators=[MinValueValidator(ZERO)])
    buyer_message = models.TextField(_("buyer message"), blank=True)
    escalation_risk = models.BooleanField(_("escalation risk"), default=False)
    opened_at = models.DateTimeField(_("opened at"))
    # 超售后期平台代开: the platform opened it for the buyer after the after-sales period; unless it goes to arbitration
    # it does not count in the rejection rate (售后拒绝率).
    platform_opened_late = models.BooleanField(_("opened by the platform after the after-sales period"), default=False)
    # When the platform decides by itself if the ticket's stage is not answered in time (平台超时自动同意,
    # 超时自动退款): it moves with the stage (services/deadlines.py), from the platform's defaults or, for a
    # connected shop, as the marketplace said (deadline_source).
    deadline = models.DateTimeField(_("platform deadline"))
    deadline_source = models.CharField(
        _("deadline from"),
        max_length=10,
        choices=DeadlineSource.choices,
        default=DeadlineSource.DEFAULT,
        db_default=DeadlineSource.DEFAULT,
    )
    # Our own, tighter target (path 1: answered within 30 minutes).
    sla_due = models.DateTimeField(_("SLA due"))
    return_proposal = models.CharField(
        _("return proposal (已收到货仅退款)"),
        max_length=10,
        choices=ReturnProposal.choices,
        blank=True,
        default=ReturnProposal.NONE,
        db_default=ReturnProposal.NONE,
    )
    # By when the buyer should change the request; past it the sweep proposes the rejection to the agent.
    return_proposal_due = models.DateTimeField(_("buyer to change the request by"), null=True, blank=True)
    # What the agent must know when the ticket comes back: a supervisor's decline, a gateway's failure.
    attention_note = models.TextField(_("needs attention"), blank=True)
    # 接单: the agent who owns the ticket (took it, or a supervisor gave it); set only by ticket_assign, with an event.
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assignee"),
    )
    # Numbers refund attempts so a retry after a failed refund gets a fresh idempotency key and a replay does not.
    refund_attempt = models.PositiveIntegerField(_("refund attempt"), default=0)
    return_courier_code = models.CharField(_("return courier"), max_length=20, blank=True)
    return_tracking_number = models.CharField(_("return tracking number"), max_length=40, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("after-sales ticket")
        verbose_name_plural = _("after-sales tickets")
        ordering = ["-escalation_risk", "deadline", "id"]
        permissions = [
            ("work_ticket", _("Can work tickets (decide, refund within authority, reject)")),
            ("handle_returns", _("Can receive and inspect returned parcels")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "platform_ticket_id"],
                condition=~Q(platform_ticket_id=""),
                name="ticket_unique_platform_id",
            ),
            models.CheckConstraint(condition=Q(requested_amount__gte=0), name="ticket_requested_not_negative"),
            models.CheckConstraint(condition=Q(path__gte=1, path__lte=4), name="ticket_path_1_to_4"),
        ]
        indexes = [
            # The queue: open tickets of a shop, escalations first, by deadline.
            models.Index(fields=["shop", "state", "-escalation_risk", "deadline"], name="ticket_queue_idx"),
            models.Index(fields=["state", "deadline"], name="ticket_state_deadline_idx"),
            models.Index(fields=["order"], name="ticket_order_idx"),
            models.Index(fields=["shop", "opened_at"], name="ticket_shop_opened_idx"),
            models.Index(fields=["return_tracking_number"], name="ticket_return_tracking_idx"),
            models.Index(fields=["platform_ticket_id"], name="ticket_platform_id_idx"),
            # The admin's lists in their default order (escalations first, then the nearest deadline) read 50 rows
            # off these instead of sorting a million: the open queue from the partial one, "all" from the other.
            models.Index(
                fields=["-escalation_risk", "deadline", "id"],
                condition=Q(state__in=OPEN_TICKET_STATES),
                name="ticket_open_list_order_idx",
            ),
            models.Index(fields=["-escalation_risk", "deadline", "id"], name="ticket_list_order_idx"),
            # "Mine and unassigned": an agent's open tickets, in the queue's order.
            models.Index(
                fields=["assignee", "-escalation_risk", "deadline", "id"],
                condition=Q(state__in=OPEN_TICKET_STATES),
                name="ticket_open_assignee_idx",
            ),
        ]

    def __str__(self):
        return f"#{self.pk} {self.order.platform_order_id}" if self.pk else "new ticket"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_TICKET_STATES

    # Transitions: pure, only this row's fields. The services name the actor and write the events.
    #
    # Each move is its own transition, and its `source` is the one place that says where the move may start: the
    # services check it (can_proceed), the action catalogue (ticket_actions), the admin's buttons and the API's
    # description read it. A refund starts through one of the refund gate's doors (services/refund_gate.py), each
    # a move of its own. A door that may ask a supervisor instead (above the payer's authority) has two outcomes:
    # refunding when paid, awaiting approval when not.

    def _refund_or_approval(self, paid: bool) -> str:
        if paid:
            self.attention_note = ""
            return S.REFUNDING
        return S.AWAITING_APPROVAL

    # An agent decides (the admin's refund, full refund and "ask a supervisor", batch refunds, the API): while the
    # buyer's request waits, once the return is in the warehouse, or when a repair cannot be made after all.
    @transition(
        field=state,
        source=[S.REQUESTED, S.RECEIVED, S.REPAIRING],
        target=RETURN_VALUE(S.REFUNDING, S.AWAITING_APPROVAL),
    )
    def refund_by_agent(self, *, paid: bool = True):
        return self._refund_or_approval(paid)

    # The path-1 rule (未发货仅退款) pays within the shop's cap, or does nothing.
    @transition(field=state, source=S.REQUESTED, target=RETURN_VALUE(S.REFUNDING))
    def refund_automatically(self, *, paid: bool = True):
        return self._refund_or_approval(paid)

    # A supervisor approved the request.
    @transition(field=state, source=S.AWAITING_APPROVAL, target=RETURN_VALUE(S.REFUNDING))
    def refund_on_approval(self, *, paid: bool = True):
        return self._refund_or_approval(paid)

    # The platform ruled for the buyer (recorded by a supervisor).
    @transition(field=state, source=S.PLATFORM_REVIEW, target=RETURN_VALUE(S.REFUNDING, S.AWAITING_APPROVAL))
    def refund_on_ruling(self, *, paid: bool = True):
        return self._refund_or_approval(paid)

    # The goods are safe: the warehouse held the cut-off, or the courier confirmed the intercept.
    @transition(field=state, source=S.INTERCEPTING, target=RETURN_VALUE(S.REFUNDING, S.AWAITING_APPROVAL))
    def refund_goods_held(self, *, paid: bool = True):
        return self._refund_or_approval(paid)

    # An agent refunds before the courier answers (先退款后拦截), within their own authority only.
    @transition(field=state, source=S.INTERCEPTING, target=RETURN_VALUE(S.REFUNDING))
    def refund_before_intercept_answer(self, *, paid: bool = True):
        return self._refund_or_approval(paid)

    # The parcel was declared lost, before or during an intercept.
    @transition(
        field=state, source=[S.REQUESTED, S.INTERCEPTING], target=RETURN_VALUE(S.REFUNDING, S.AWAITING_APPROVAL)
    )
    def refund_lost_parcel(self, *, paid: bool = True):
        return self._refund_or_approval(paid)

    # The returned goods passed inspection.
    @transition(field=state, source=S.RECEIVED, target=RETURN_VALUE(S.REFUNDING, S.AWAITING_APPROVAL))
    def refund_after_inspection(self, *, paid: bool = True):
        return self._refund_or_approval(paid)

    @transition(field=state, source=S.REFUNDING, target=S.REFUNDED)
    def confirm_refund(self, at):
        self.closed_at = at

    @transition(field=state, source=S.REFUNDING, target=S.REQUESTED)
    def fail_refund(self, error):
        self.attention_note = error
        self.refund_attempt += 1

    @transition(field=state, source=S.REQUESTED, target=S.INTERCEPTING)
    def start_intercept(self):
        pass

    @transition(field=state, source=S.INTERCEPTING, target=S.REQUESTED)
    def fail_intercept(self, *, path, message):
        self.path = path
        self.attention_note = message

    @transition(field=state, source=S.AWAITING_APPROVAL, target=S.REQUESTED)
    def decline_approval(self, message):
        self.attention_note = message

    @transition(field=state, source=S.REQUESTED, target=S.AWAITING_RETURN)
    def agree_return(self):
        # An exchange or a repair stays one: after a clean inspection the replacement or the repaired goods go out
        # instead of a refund. Anything else (an unknown type included) becomes a return and refund.
        if self.kind not in (TicketKind.EXCHANGE, TicketKind.REPAIR):
            self.kind = TicketKind.RETURN_REFUND
        self.path = TicketPath.RETURN
        # The buyer took the proposed return and refund (已收到货仅退款): nothing is left to reject.
        self.return_proposal = ReturnProposal.NONE
        self.return_proposal_due = None

    @transition(field=state, source=S.AWAITING_RETURN, target=S.RETURN_IN_TRANSIT)
    def ship_return(self, *, courier_code, tracking_number):
        self.return_courier_code = courier_code
        self.return_tracking_number = tracking_number

    @transition(field=state, source=S.RETURN_IN_TRANSIT, target=S.RECEIVED)
    def receive_return(self):
        pass

    # 退货重拍 (seed 001): the buyer of an exchange sends the goods back for a refund and orders again; the ticket
    # stays where it is on its way, but a clean return now refunds instead of sending a replacement.
    @transition(
        field=state,
        source=[S.REQUESTED, S.AWAITING_RETURN, S.RETURN_IN_TRANSIT, S.RECEIVED],
        target=RETURN_VALUE(S.REQUESTED, S.AWAITING_RETURN, S.RETURN_IN_TRANSIT, S.RECEIVED),
    )
    def return_and_reorder(self):
        self.kind = TicketKind.RETURN_REFUND
        return self.state

    def _resolved(self, *, kind, at) -> None:
        self.kind = kind
        self.closed_at = at
        self.attention_note = ""

    # Reship or exchange instead of a refund (能换不退), while the request waits.
    @transition(field=state, source=S.REQUESTED, target=S.RESOLVED)
    def resolve_by_replacement(self, *, kind, at):
        self._resolved(kind=kind, at=at)

    # An exchange's return passed inspection: the replacement goes out.
    @transition(field=state, source=S.RECEIVED, target=S.RESOLVED)
    def resolve_exchange(self, *, at):
        self._resolved(kind=self.kind, at=at)

    # A repair's return passed inspection: the goods go to be repaired.
    @transition(field=state, source=S.RECEIVED, target=S.REPAIRING)
    def start_repair(self):
        self.attention_note = ""

    # The repaired goods were shipped back to the buyer (the outbound waybill is in the event).
    @transition(field=state, source=S.REPAIRING, target=S.RESOLVED)
    def resolve_repair(self, *, at):
        self._resolved(kind=self.kind, at=at)

    @transition(field=state, source=[S.REQUESTED, S.RECEIVED], target=S.REJECTED)
    def reject(self):
        self.attention_note = ""

    @transition(field=state, source=[S.REQUESTED, S.AWAITING_RETURN], target=S.CANCELLED)
    def withdraw(self, at):
        self.closed_at = at

    @transition(field=state, source=[S.REQUESTED, S.REJECTED], target=S.PLATFORM_REVIEW)
    def escalate_to_platform(self):
        pass

    # The buyer accepted the rejection.
    @transition(field=state, source=S.REJECTED, target=S.CLOSED)
    def close(self, at):
        self.closed_at = at

    # The platform ruled for the merchant.
    @transition(field=state, source=S.PLATFORM_REVIEW, target=S.CLOSED)
    def close_on_ruling(self, at):
        self.closed_at = at

    # The marketplace refunded the buyer itself (its timeout agreed, someone refunded in its back office, or the
    # record was already final when the desk first saw it): the desk records the fact. Nothing is paid, so it is no
    # refund door; not from refunding or awaiting approval, where the desk's own refund or request answers for it.
    @transition(
        field=state,
        source=[
            S.REQUESTED,
            S.INTERCEPTING,
            S.AWAITING_RETURN,
            S.RETURN_IN_TRANSIT,
            S.RECEIVED,
            S.REPAIRING,
            S.REJECTED,
            S.PLATFORM_REVIEW,
        ],
        target=S.REFUNDED,
    )
    def record_platform_refund(self, at):
        self.closed_at = at
        self.attention_note = ""


def ticket_move_sources(move: str) -> tuple[str, ...]:
    """The states the ticket's transition `move` may start from, read from the transition itself (in the order of
    TicketState): what the services check, the action catalogue offers and the API documents."""
    sources = getattr(AfterSalesTicket, move)._django_fsm.transitions
    return tuple(state for state in TicketState.values if state in sources)


class RefundBatch(models.Model):
    """批量退款文件: one batch-refund file a shop uploads to its marketplace's batch tool, as it was downloaded.

    Made by refund_batch_create, which moves every waiting refund of the shop into it (each refund is in one batch
    at most); downloading it again gives the same bytes. The tool's result file (refund_batch_results_import) or a
    supervisor's word (refund_batch_confirm) confirms or fails its refunds."""

    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="refund_batches", verbose_name=_("shop"))
    number = models.PositiveIntegerField(_("number"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("made by")
    )
    created_at = models.DateTimeField(_("made at"), default=timezone.now)
    filename = models.CharField(_("file name"), max_length=120)
    content = models.BinaryField(_("file"))
    refund_count = models.PositiveIntegerField(_("refunds"), default=0)
    total = MoneyField(_("total (CNY)"), default=Decimal("0"))
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("confirmed by hand by"),
    )
    confirmed_at = models.DateTimeField(_("confirmed by hand at"), null=True, blank=True)
    confirmation_note = models.TextField(_("confirmation note"), blank=True)

    class Meta:
        verbose_name = _("refund batch")
        verbose_name_plural = _("refund batches")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "number"], name="refund_batch_number_per_shop"),
        ]

    def __str__(self):
        return f"{self.shop.code} #{self.number}"


class Refund(ConcurrentTransitionMixin, models.Model):
    """退款单. The database keeps Order.refunded_amount as the running total of non-failed refunds (a trigger, see
    migration 0005) and refuses any refund that would take it above the paid amount (a check constraint).

    pending → sent → succeeded | failed; a definite refusal may fail it from pending or sent. "Succeeded" means the
    marketplace confirmed it. While pending, `send_started_at` marks a call to the gateway in flight (claimed by
    refund_execute, cleared when its answer is recorded): a claim with no answer is settled by asking the gateway.
    """

    class Kind(models.TextChoices):
        FULL = "full", _("full refund")
        PARTIAL = "partial", _("partial refund")
        COMPENSATION = "compensation", _("compensation")
        SHIPPING_FEE = "shipping_fee", _("shipping fee")
        # 退差价: a price-protection (价保) ticket's refund of the difference.
        PRICE_DIFFERENCE = "price_difference", _("price difference")

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SENT = "sent", _("sent, awaiting the marketplace")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")

    ticket = models.ForeignKey(
        AfterSalesTicket, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("ticket")
    )
    # Denormalised from the ticket: the running-total trigger and the shop-scoped lists need them without a join.
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("order"))
    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("shop"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    amount = MoneyField(_("amount (CNY)"))
    status = FSMField(_("status"), default=Status.PENDING, choices=Status.choices, protected=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=120, unique=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    send_started_at = models.DateTimeField(_("send started at"), null=True, blank=True)
    send_attempts = models.PositiveIntegerField(_("send attempts"), default=0, db_default=0)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    batch = models.ForeignKey(
        RefundBatch,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="refunds",
        verbose_name=_("batch"),
    )
    gateway = models.CharField(_("gateway"), max_length=40, blank=True)
    gateway_reference = models.CharField(_("gateway reference"), max_length=120, blank=True)
    failure_reason = models.TextField(_("failure reason"), blank=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            # A refund is sent before it is confirmed, and one in a batch was sent with it.
            models.CheckConstraint(
                condition=Q(confirmed_at__isnull=True) | Q(sent_at__isnull=False), name="refund_confirmed_after_sent"
            ),
            models.CheckConstraint(
                condition=Q(batch__isnull=True) | Q(sent_at__isnull=False), name="refund_batched_is_sent"
            ),
        ]
        indexes = [
            models.Index(fields=["shop", "status", "confirmed_at"], name="refund_shop_status_idx"),
            # The dashboard's compensation per agent (赔偿单价): paid compensations of a shop in a window.
            models.Index(
                fields=["shop", "kind", "confirmed_at"],
                condition=Q(status="succeeded"),
                name="refund_paid_kind_idx",
            ),
            models.Index(fields=["status", "created_at"], name="refund_status_created_idx"),
            # 日清 and the dashboard: sent refunds still waiting for the marketplace, oldest first.
            models.Index(fields=["shop", "sent_at"], condition=Q(status="sent"), name="refund_unconfirmed_idx"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {format_yuan(self.amount)}"

    @transition(field=status, source=Status.PENDING, target=Status.SENT)
    def mark_sent(self, *, at, gateway, reference, batch=None):
        self.sent_at = at
        self.send_started_at = None
        self.gateway = gateway
        self.gateway_reference = reference or self.gateway_reference
        if batch is not None:
            self.batch = batch

    @transition(field=status, source=Status.SENT, target=Status.SUCCEEDED)
    def confirm(self, *, at, reference=""):
        self.confirmed_at = at
        if reference:
            self.gateway_reference = reference

    @transition(field=status, source=[Status.PENDING, Status.SENT], target=Status.FAILED)
    def fail(self, *, gateway, reason):
        self.send_started_at = None
        self.gateway = gateway or self.gateway
        self.failure_reason = reason


class ApprovalRequest(ConcurrentTransitionMixin, models.Model):
    """审批: a refund or compensation above the requesting agent's authority, for a supervisor of the shop."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        APPROVED = "approved", _("approved")
        DECLINED = "declined", _("declined")

    ticket = models.ForeignKey(
        AfterSalesTicket, on_delete=models.PROTECT, related_name="approvals", verbose_name=_("ticket")
    )
    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="approvals", verbose_name=_("shop"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by")
    )
    amount = MoneyField(_("amount (CNY)"))
    refund_kind = models.CharField(_("refund kind"), max_length=20, choices=Refund.Kind.choices)
    reason = models.TextField(_("why"), blank=True)
    status = FSMField(_("status"), default=Status.PENDING, choices=Status.choices, protected=True)
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    due_at = models.DateTimeField(_("due at"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    # The requesting agent read the decline (shown at the top of their queue until then); approval_acknowledge_decline.
    acknowledged_at = models.DateTimeField(_("decline read by the agent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("approval request")
        verbose_name_plural = _("approval requests")
        ordering = ["due_at", "id"]
        permissions = [("decide_approvalrequest", _("Can decide approval requests"))]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="approval_amount_positive"),
            # Nobody approves their own request (逐级授权 means someone else looks at it).
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=models.F("requested_by")),
                name="approval_not_decided_by_requester",
            ),
            models.UniqueConstraint(
                fields=["ticket"], condition=Q(status="pending"), name="approval_one_pending_per_ticket"
            ),
        ]
        indexes = [
            models.Index(fields=["shop", "status", "due_at"], name="approval_queue_idx"),
            # The declines an agent has not read yet, shown at the top of their queue.
            models.Index(
                fields=["requested_by", "-decided_at"],
                condition=Q(status="declined", acknowledged_at__isnull=True),
                name="approval_unread_decline_idx",
            ),
        ]

    def __str__(self):
        return f"#{self.pk} {format_yuan(self.amount)}"

    @transition(field=status, source=Status.PENDING, target=Status.APPROVED)
    def approve(self, *, by, at, note):
        self.decided_by = by
        self.decided_at = at
        self.decision_note = note

    @transition(field=status, source=Status.PENDING, target=Status.DECLINED)
    def decline(self, *, by, at, note):
        self.decided_by = by
        self.decided_at = at
        self.decision_note = note


class PlatformRuling(models.Model):
    """平台判定: the platform's ruling on a ticket it arbitrated, recorded by a supervisor with the platform's case
    number and the evidence, so a refund it implies can be traced to the platform's own decision."""

    ticket = models.ForeignKey(
        AfterSalesTicket, on_delete=models.PROTECT, related_name="rulings", verbose_name=_("ticket")
    )
    CASE_NUMBER_LENGTH = 64

    for_buyer = models.BooleanField(_("ruled for the buyer"))
    # 商责: whether the platform held the merchant liable. Unknown (rulings recorded before it was asked, or when the
    # platform did not say): the ticket's own liability decides (metrics/definitions.py `merchant_liable_rulings`).
    liability = models.CharField(
        _("liability"),
        max_length=20,
        choices=MerchantLiability.choices,
        default=MerchantLiability.UNKNOWN,
        db_default=MerchantLiability.UNKNOWN,
    )
    case_number = models.CharField(_("platform case number"), max_length=CASE_NUMBER_LENGTH)
    evidence = models.TextField(_("evidence"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        verbose_name = _("platform ruling")
        verbose_name_plural = _("platform rulings")
        ordering = ["-recorded_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(case_number=""), name="ruling_has_case_number"),
            models.CheckConstraint(condition=~Q(evidence=""), name="ruling_has_evidence"),
        ]

    def __str__(self):
        return self.case_number


class CutOffRequest(ConcurrentTransitionMixin, models.Model):
    """截单: a path-1 refund whose order the warehouse has already packed; the warehouse holds it or says it left."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("requested")
        HELD = "held", _("held in the warehouse")
        GONE = "gone", _("already shipped")

    ticket = models.ForeignKey(
        AfterSalesTicket, on_delete=models.PROTECT, related_name="cutoffs", verbose_name=_("ticket")
    )
    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="cutoffs", verbose_name=_("shop"))
    status = FSMField(_("status"), default=Status.REQUESTED, choices=Status.choices, protected=True)
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    # The warehouse's answer time (the shop's cutoff_answer_hours after the request, 2 h by default).
    due_at = models.DateTimeField(_("answer due at"))
    # Set by the follow-up check when the warehouse let the answer time pass; chased once per cut-off.
    overdue_flagged_at = models.DateTimeField(_("overdue flagged at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )

    class Meta:
        verbose_name = _("cut-off request")
        verbose_name_plural = _("cut-off requests")
        ordering = ["requested_at", "id"]
        permissions = [("confirm_cutoffrequest", _("Can confirm cut-offs in the warehouse"))]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket"], condition=Q(status="requested"), name="cutoff_one_open_per_ticket"
            ),
        ]
        indexes = [
            models.Index(fields=["shop", "status", "requested_at"], name="cutoff_queue_idx"),
            models.Index(fields=["status", "due_at"], name="cutoff_status_due_idx"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.get_status_display()}"

    def is_overdue(self, now=None) -> bool:
        """Still unanswered at or after its due time (exactly 2 h after the request is overdue)."""
        return self.status == self.Status.REQUESTED and self.due_at <= (now or timezone.now())

    @transition(field=status, source=Status.REQUESTED, target=Status.HELD)
    def hold(self, *, by, at):
        self.decided_by = by
        self.decided_at = at

    @transition(field=status, source=Status.REQUESTED, target=Status.GONE)
    def mark_gone(self, *, by, at):
        self.decided_by = by
        self.decided_at = at


class TicketEventAction(models.TextChoices):
    """Every action a ticket's history records (the database refuses any other), with what it means to a person
    reading the history. Metrics read decisions by these codes (metrics/definitions.py). Code names it
    TicketEvent.Action (a type hint names this class); it is out here so that the model's constraint can list it."""

    OPENED = "opened", _("ticket opened")
    NOTE = "note", _("note added")
    REASON_CHANGED = "reason_changed", _("reason corrected")
    FLAGGED = "flagged", _("flagged for the agent")
    DEADLINE_NEAR = "deadline_near", _("platform deadline near: moved to the top of the queue")
    DEADLINE_SET = "deadline_set", _("platform deadline set")
    # 已收到货仅退款 (seed 004): the proposal of a return and refund, and its end without an answer.
    RETURN_PROPOSED = "return_proposed", _("return and refund proposed to the buyer")
    PROPOSAL_EXPIRED = "proposal_expired", _("buyer did not change the request: rejection proposed to the agent")
    # Escalation words (seed 004): the shop's team lead is told through the group robot.
    TEAM_LEAD_ALERTED = "team_lead_alerted", _("team lead alerted: complaint risk")
    # Refunds: the moves that start one (each names why it is owed) and the gateway's answers.
    AUTO_REFUND = "auto_refund", _("refunded by the automatic rule")
    REFUND_APPROVED = "refund_approved", _("refund approved")
    REFUND_BEFORE_INTERCEPT = "refund_before_intercept", _("refunded before the courier answered the intercept")
    PARCEL_LOST = "parcel_lost", _("refunded: the parcel was lost")
    REFUND_QUEUED = "refund_queued", _("refund waiting for the next batch file")
    REFUND_SENT = "refund_sent", _("refund sent, awaiting the marketplace")
    REFUND_SEND_LOST = "refund_send_lost", _("refund never reached the marketplace; sent again")
    REFUND_SUCCEEDED = "refund_succeeded", _("refund confirmed by the marketplace")
    # The same answer for a refund that does not move the ticket (another is still open, or it left 退款中).
    REFUND_CONFIRMED = "refund_confirmed", _("refund confirmed by the marketplace")
    REFUND_FAILED = "refund_failed", _("refund failed")
    # A supervisor's approval.
    APPROVAL_REQUESTED = "approval_requested", _("approval requested")
    APPROVAL_APPROVED = "approval_approved", _("approved by a supervisor")
    APPROVAL_DECLINED = "approval_declined", _("declined by a supervisor")
    APPROVAL_OVERDUE = "approval_overdue", _("approval overdue: escalated to the supervisors")
    # The merchant's other answers and the ticket's end.
    REJECTED = "rejected", _("request rejected")
    RETURN_AGREED = "return_agreed", _("return agreed")
    RESOLVED_RESHIP = "resolved_reship", _("reshipped")
    RESOLVED_EXCHANGE = "resolved_exchange", _("exchanged")
    WITHDRAWN = "withdrawn", _("withdrawn by the buyer")
    CLOSED = "closed", _("ticket closed")
    # The platform steps in.
    PLATFORM_REVIEW = "platform_review", _("platform stepped in")
    RULED_FOR_BUYER = "ruled_for_buyer", _("platform ruled for the buyer")
    RULED_FOR_MERCHANT = "ruled_for_merchant", _("platform ruled for us")
    # The warehouse's cut-off (截单) and the courier's intercept (拦截).
    CUTOFF_REQUESTED = "cutoff_requested", _("cut-off requested")
    CUTOFF_HELD = "cutoff_held", _("held in the warehouse")
    CUTOFF_FAILED = "cutoff_failed", _("already shipped")
    CUTOFF_OVERDUE = "cutoff_overdue", _("the warehouse's cut-off answer is overdue")
    INTERCEPT_REQUESTED = "intercept_requested", _("intercept requested")
    INTERCEPT_CONFIRMED = "intercept_confirmed", _("intercept confirmed")
    INTERCEPT_FAILED = "intercept_failed", _("intercept failed")
    # The buyer's return and the warehouse.
    RETURN_SHIPPED = "return_shipped", _("return sent")
    RETURN_SIGNED = "return_signed", _("return signed for at our address")
    RETURN_RECEIVED = "return_received", _("return received")
    REFUND_ON_RECEIPT = "refund_on_receipt", _("refunded on receipt, without inspection")
    EXCHANGE_TO_RETURN = "exchange_to_return", _("exchange turned into a return and refund (退货重拍)")
    INSPECTION_PASSED = "inspection_passed", _("inspection passed")
    EARLY_REPLACEMENT = "early_replacement", _("early replacement sent")
    # Who owns the ticket (接单/派单), and an agent reading a supervisor's decline.
    TAKEN = "taken", _("taken by an agent")
    ASSIGNED = "assigned", _("assigned by a supervisor")
    DECLINE_READ = "decline_read", _("decline read by the agent")
    # A repair (维修): the clean inspection sends the goods to be repaired; they go back with their own waybill.
    REPAIR_STARTED = "repair_started", _("inspection passed: in repair")
    RESOLVED_REPAIR = "resolved_repair", _("repaired and shipped back")
    # An agent decided what an unknown platform type is.
    KIND_DECIDED = "kind_decided", _("kind of request decided")


class EscalationAlert(models.Model):
    """投诉风险 (seed 004): a buyer wrote an escalation word (投诉, 12315, 曝光, 差评) on a ticket, and the shop's team
    lead (小组长) is to be told through the team's group robot. One per ticket, written in the transaction that marked
    the ticket; the robot's app (logistics) takes it after commit (`taken_at`) and sends it outside any transaction.
    Pending ones are taken again by its sweep step if that hand-over was lost."""

    ticket = models.OneToOneField(
        AfterSalesTicket, on_delete=models.CASCADE, related_name="escalation_alert", verbose_name=_("ticket")
    )
    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="+", verbose_name=_("shop"))
    word = models.CharField(_("word"), max_length=40)
    text = models.TextField(_("text"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    taken_at = models.DateTimeField(_("handed to the group robot at"), null=True, blank=True)

    class Meta:
        verbose_name = _("team lead alert")
        verbose_name_plural = _("team lead alerts")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["id"], condition=Q(taken_at__isnull=True), name="escalation_alert_pending_idx")]

    def __str__(self):
        return f"#{self.ticket_id} {self.word}"


class TicketEvent(models.Model):
    """The audit trail: every state change and decision on a ticket, written in the transaction that made it."""

    Action = TicketEventAction

    ticket = models.ForeignKey(
        AfterSalesTicket, on_delete=models.CASCADE, related_name="events", verbose_name=_("ticket")
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    action = models.CharField(_("action"), max_length=40, choices=Action.choices)
    from_state = models.CharField(_("from"), max_length=20, blank=True)
    to_state = models.CharField(_("to"), max_length=20, blank=True)
    amount = MoneyField(_("amount (CNY)"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    # The platform deadline this event set (a new stage's, or the marketplace's own); empty when it did not move.
    deadline = models.DateTimeField(_("platform deadline set"), null=True, blank=True)

    class Meta:
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["ticket", "at"], name="ticket_event_ticket_at_idx"),
            # The metrics read decisions by kind and time (who decided what, when).
            models.Index(fields=["action", "at"], name="ticket_event_action_at_idx"),
        ]
        constraints = [
            # An action outside the vocabulary is refused however it is written (bulk_create and raw SQL included).
            models.CheckConstraint(condition=Q(action__in=TicketEventAction.values), name="ticket_event_action_known"),
        ]

    def __str__(self):
        return f"{self.action} {self.from_state}→{self.to_state}"


class SweepRun(models.Model):
    """One run of a scheduled sweep (日清: 早/中/晚 refund sweeps and the others): what it did and what failed.

    `counts` maps each action to how many tickets it moved; `errors` lists {"ticket": id, "step": name, "error": text}
    for the tickets it could not move, which stay where they were for the next run or a person.
    """

    class Kind(models.TextChoices):
        REFUND = "refund", _("refund sweep")
        APPROVAL_SLA = "approval_sla", _("approval SLA check")
        NO_SCAN = "no_scan", _("no-scan check")
        INTERCEPT_FOLLOW_UP = "intercept_follow_up", _("intercept follow-up")

    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        FINISHED = "finished", _("finished")
        FAILED = "failed", _("failed")

    kind = models.CharField(_("sweep"), max_length=20, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    batch_size = models.PositiveIntegerField(_("batch size"))
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    errors = models.JSONField(_("errors"), default=list, blank=True)

    class Meta:
        verbose_name = _("sweep run")
        verbose_name_plural = _("sweep runs")
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["kind", "-started_at"], name="sweep_run_kind_started_idx")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class ApiIdempotencyKey(models.Model):
    """An API write and the answer it got, by the caller's Idempotency-Key, so that a retried call gets the first
    answer and does not act twice (desk.api.support.idempotent). Written in the write's own transaction."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    # sha256 of the method, path and body: the same key with another request is refused, not replayed.
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("API idempotency key")
        verbose_name_plural = _("API idempotency keys")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="api_idempotency_key_unique_per_user")]

    def __str__(self):
        return self.key


# ---------------------------------------------------------------------------------------------------------------------
# Order corrections and authority grants: who changed money, from what to what, and why
# ---------------------------------------------------------------------------------------------------------------------


class OrderCorrection(ConcurrentTransitionMixin, models.Model):
    """A correction of an order that waits for a second supervisor: raising the paid amount of an order that already
    has tickets or refunds (more paid is more that can be refunded). Made by the admin's correction page, the order
    import or the API; confirmed or declined by another person holding `decide_approvalrequest`.

    `changes` holds {field: {"old": ..., "new": ...}} as text, as seen when it was requested.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        CONFIRMED = "confirmed", _("confirmed")
        DECLINED = "declined", _("declined")
        # A newer request for the same order replaced it before anyone decided.
        SUPERSEDED = "superseded", _("superseded")

    class Source(models.TextChoices):
        ADMIN = "admin", _("correction page")
        IMPORT = "import", _("order import")
        API = "api", _("API")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="corrections", verbose_name=_("order"))
    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="+", verbose_name=_("shop"))
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    changes = models.JSONField(_("changes"), default=dict)
    reason = models.TextField(_("reason"))
    status = FSMField(_("status"), default=Status.PENDING, choices=Status.choices, protected=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by")
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)

    class Meta:
        verbose_name = _("order correction")
        verbose_name_plural = _("order corrections")
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=models.F("requested_by")),
                name="order_correction_not_decided_by_requester",
            ),
            models.UniqueConstraint(
                fields=["order"], condition=Q(status="pending"), name="order_correction_one_pending_per_order"
            ),
        ]
        indexes = [models.Index(fields=["shop", "status", "requested_at"], name="order_correction_queue_idx")]

    def __str__(self):
        return f"#{self.pk} {self.order_id}"

    @transition(field=status, source=Status.PENDING, target=Status.CONFIRMED)
    def confirm(self, *, by, at, note):
        self.decided_by = by
        self.decided_at = at
        self.decision_note = note

    @transition(field=status, source=Status.PENDING, target=Status.DECLINED)
    def decline(self, *, by, at, note):
        self.decided_by = by
        self.decided_at = at
        self.decision_note = note

    @transition(field=status, source=Status.PENDING, target=Status.SUPERSEDED)
    def supersede(self, *, at, note):
        self.decided_at = at
        self.decision_note = note


class OrderEvent(models.Model):
    """The audit trail of an order's corrections: each field's old and new value, who, why, and who confirmed."""

    class Action(models.TextChoices):
        CORRECTED = "corrected", _("corrected")
        UPDATED_BY_PLATFORM = "updated_by_platform", _("updated by import or API")
        CORRECTION_REQUESTED = "correction_requested", _("correction awaits confirmation")
        CORRECTION_DECLINED = "correction_declined", _("correction declined")
        COMPLAINT_RECORDED = "complaint_recorded", _("complaint recorded")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events", verbose_name=_("order"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    action = models.CharField(_("action"), max_length=40, choices=Action.choices)
    # {field: {"old": text, "new": text}}
    changes = models.JSONField(_("changes"), default=dict)
    reason = models.TextField(_("reason"), blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("confirmed by"),
    )
    correction = models.ForeignKey(
        OrderCorrection,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("correction"),
    )

    class Meta:
        verbose_name = _("order event")
        verbose_name_plural = _("order events")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["order", "at"], name="order_event_order_at_idx")]

    def __str__(self):
        return f"{self.action} {self.order_id}"


class Complaint(models.Model):
    """投诉: a buyer's complaint about an order to the platform (or a regulator such as 12315), recorded by an agent,
    the API or a marketplace connector (aftersales.services.complaint_record), with whether it was judged the
    merchant's liability. The platform help rate (平台求助率) counts the paid orders that have one."""

    class Channel(models.TextChoices):
        PLATFORM = "platform", _("the platform (平台投诉)")
        REGULATOR = "regulator", _("a regulator (12315 and the like)")
        OTHER = "other", _("other")

    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="complaints", verbose_name=_("shop"))
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="complaints", verbose_name=_("order"))
    ticket = models.ForeignKey(
        "AfterSalesTicket",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="complaints",
        verbose_name=_("ticket"),
    )
    # The platform's own complaint id, when a connector or the API knows it: a replay finds the same complaint.
    PLATFORM_ID_LENGTH = 64
    platform_complaint_id = models.CharField(_("platform complaint id"), max_length=PLATFORM_ID_LENGTH, blank=True)
    opened_at = models.DateTimeField(_("opened at"))
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, default=Channel.PLATFORM)
    liability = models.CharField(
        _("liability"), max_length=20, choices=MerchantLiability.choices, default=MerchantLiability.UNKNOWN
    )
    note = models.TextField(_("note"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "platform_complaint_id"],
                condition=~Q(platform_complaint_id=""),
                name="complaint_unique_platform_id",
            ),
        ]
        indexes = [models.Index(fields=["shop", "opened_at"], name="complaint_shop_opened_idx")]

    def __str__(self):
        return f"#{self.pk} {self.get_channel_display()}"


class AuthorityGrantEvent(models.Model):
    """Every grant, change and revocation of a refund authority: who set whose authority in which shop, old → new."""

    class Action(models.TextChoices):
        GRANTED = "granted", _("granted")
        CHANGED = "changed", _("changed")
        REVOKED = "revoked", _("revoked")

    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="+", verbose_name=_("shop"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    # PROTECT: the trail must outlive nobody it names (deactivate a user instead of deleting them).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    group = models.ForeignKey(
        "auth.Group", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("group")
    )
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    old_amount = MoneyField(_("old authority (CNY)"), null=True, blank=True)
    new_amount = MoneyField(_("new authority (CNY)"), null=True, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("authority grant event")
        verbose_name_plural = _("authority grant events")
        ordering = ["-at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, group__isnull=True) | Q(user__isnull=True, group__isnull=False),
                name="authority_grant_event_user_xor_group",
            ),
        ]
        indexes = [models.Index(fields=["shop", "-at"], name="authority_grant_event_shop_idx")]

    def __str__(self):
        return f"{self.user or self.group} @ {self.shop_id}: {self.old_amount} → {self.new_amount}"


class ReplyTemplate(models.Model):
    """快捷短语/话术: a reply an agent copies to the buyer, offered on the tickets it fits, with the ticket's figures
    filled in (aftersales.replies). Blank conditions fit any ticket. A template without a shop is the house default
    for every shop, new shops included; a shop's own template with the same title takes its place there (an inactive
    one hides it)."""

    shop = models.ForeignKey(
        Shop,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="reply_templates",
        verbose_name=_("shop"),
        help_text=_("Empty: a default for every shop."),
    )
    title = models.CharField(_("title"), max_length=60)
    reason = models.ForeignKey(
        ReturnReason, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("reason")
    )
    path = models.PositiveSmallIntegerField(_("path"), choices=TicketPath.choices, null=True, blank=True)
    state = models.CharField(_("state"), max_length=20, choices=TicketState.choices, blank=True)
    # The next rung of the remedy ladder for a buyer who wrote an escalation word (投诉风险).
    complaint_risk_only = models.BooleanField(_("only for tickets at complaint risk"), default=False)
    text = models.TextField(_("text"))
    is_active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=0)

    class Meta:
        verbose_name = _("reply template")
        verbose_name_plural = _("reply templates")
        ordering = ["sort_order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "title"], name="reply_template_title_per_shop"),
            models.UniqueConstraint(
                fields=["title"], condition=Q(shop__isnull=True), name="reply_template_default_title"
            ),
        ]
        indexes = [models.Index(fields=["shop", "sort_order"], name="reply_template_shop_idx")]

    def __str__(self):
        return self.title

    def clean(self):
        unknown = unknown_placeholders(self.text)
        if unknown:
            raise ValidationError(
                {
                    "text": _("Unknown placeholders: %(names)s. Use only %(allowed)s.")
                    % {"names": ", ".join(unknown), "allowed": ", ".join(f"{{{name}}}" for name in PLACEHOLDERS)}
                }
            )

    def fits(self, ticket) -> bool:
        return (
            (self.reason_id is None or self.reason_id == ticket.reason_id)
            and (self.path is None or self.path == ticket.path)
            and (not self.state or self.state == ticket.state)
            and (not self.complaint_risk_only or ticket.escalation_risk)
        )
