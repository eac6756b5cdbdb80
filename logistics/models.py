"""Parcels and couriers: shipments and their scans, intercepts (拦截), lost parcels (丢件) and the claims ledger (理赔,
售后汇总表). This app imports aftersales; aftersales imports nothing from here (DESIGN §2)."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from aftersales.models import ZERO, AfterSalesTicket, MoneyField, Order, Refund, Shop
from desk import crypto

# The seeds' list (偏远地区) as the platforms' notices name them; a shop extends it in the admin.
DEFAULT_REMOTE_PROVINCES = ["新疆", "西藏", "青海", "内蒙古", "甘肃", "宁夏"]
DEFAULT_NO_SCAN_HOURS = 48
DEFAULT_REMOTE_NO_SCAN_HOURS = 72


def default_remote_provinces() -> list[str]:
    return list(DEFAULT_REMOTE_PROVINCES)


class RobotKind(models.TextChoices):
    """The group chats couriers' contacts (接口人) sit in; each has its own webhook format."""

    WECOM = "wecom", _("WeCom group robot")
    DINGTALK = "dingtalk", _("DingTalk group robot")
    FEISHU = "feishu", _("Feishu group robot")


class InterceptChannel(models.TextChoices):
    """How the courier is asked to stop a parcel (拦截): by its group robot, or by Kuaidi100's intercept order."""

    ROBOT = "robot", _("group robot")
    KUAIDI100 = "kuaidi100", _("Kuaidi100 intercept API")
    # Kuaidi100 refused the request (bad account, bad waybill…): the group robot asked instead.
    ROBOT_FALLBACK = "robot_fallback", _("group robot (Kuaidi100 refused)")


class Kuaidi100InterceptType(models.TextChoices):
    """Kuaidi100's interceptType (MARKETPLACES.md §6)."""

    RETURN_SEND_STATION = "RETURN_SEND_STATION", _("return to the sending depot (退回寄件网点)")
    RETURN_SEND_ADDR = "RETURN_SEND_ADDR", _("return to the sender's address (退回寄件地址)")
    MODIFY_ADDR = "MODIFY_ADDR", _("change the address (改地址)")


class Kuaidi100PayType(models.TextChoices):
    """Kuaidi100's interceptPayType: who pays the intercept's fee."""

    SHIPPER = "SHIPPER", _("the sender")
    CONSIGNEE = "CONSIGNEE", _("the recipient")
    THIRDPARTY = "THIRDPARTY", _("a third party")
    MONTHLY = "MONTHLY", _("monthly account (月结)")


class ClaimTermsMixin(models.Model):
    """Claim terms (理赔条款). Without a declared value the Postal Law (art. 47) caps a lost parcel at 3× the postage,
    unless the contract says more; `claim_max_amount` is the contract's own cap, empty when it has none."""

    claim_postage_multiple = models.DecimalField(
        _("claim cap as a multiple of postage"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Empty when the contract pays the actual loss."),
    )
    claim_max_amount = MoneyField(_("claim cap per parcel (CNY)"), null=True, blank=True)
    claim_terms = models.TextField(_("claim terms"), blank=True)

    class Meta:
        abstract = True

    def claimable(self, loss: Decimal, postage: Decimal | None) -> Decimal:
        """What the courier owes for `loss` under these terms."""
        amount = loss
        if self.claim_postage_multiple is not None and postage:
            amount = min(amount, (postage * self.claim_postage_multiple).quantize(Decimal("0.01")))
        if self.claim_max_amount is not None:
            amount = min(amount, self.claim_max_amount)
        return amount


class Courier(ClaimTermsMixin, models.Model):
    """A courier company, the same for every shop. Orders refer to it by `code`.

    Its answer time and claim terms are the defaults for a shop without its own agreement (CourierAgreement); what a
    shop agreed (its contact, its group robot, its times and terms) is on that shop's agreement, never here, because
    this row is every shop's."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=50)
    is_active = models.BooleanField(_("active"), default=True)
    # The aggregators name couriers their own way (Kuaidi100 "shunfeng", Kdniao "SF"); pushes are matched by these.
    kuaidi100_code = models.CharField(_("Kuaidi100 company code"), max_length=30, blank=True)
    kdniao_code = models.CharField(_("Kdniao shipper code"), max_length=30, blank=True)
    intercept_answer_minutes = models.PositiveIntegerField(
        _("minutes the courier has to answer an intercept"), default=120, validators=[MinValueValidator(1)]
    )

    class Meta:
        verbose_name = _("courier")
        verbose_name_plural = _("couriers")
        ordering = ["code"]

    def __str__(self):
        return self.name


class CourierAgreement(ClaimTermsMixin, models.Model):
    """快递协议: what one shop agreed with one courier: the courier's person who answers its intercepts (接口人) and the
    group robot that reaches them, the time they have to answer, and the claim terms.

    Intercepts, robot messages and claims of the shop read this row. A shop without one uses the courier's default
    answer time and claim terms, and its robot messages go nowhere (they wait as “no robot configured”)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="courier_agreements", verbose_name=_("shop"))
    courier = models.ForeignKey(Courier, on_delete=models.PROTECT, related_name="agreements", verbose_name=_("courier"))
    intercept_contact = models.CharField(_("intercept contact (接口人)"), max_length=50, blank=True)
    intercept_contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    intercept_answer_minutes = models.PositiveIntegerField(
        _("minutes the courier has to answer an intercept"), default=120, validators=[MinValueValidator(1)]
    )
    robot_kind = models.CharField(_("group robot"), max_length=20, choices=RobotKind.choices, blank=True)
    robot_webhook_url = models.URLField(_("group robot webhook URL"), max_length=500, blank=True)
    robot_secret = models.CharField(
        _("group robot signing secret"), max_length=200, blank=True, help_text=_("DingTalk and Feishu “sign” secret.")
    )
    # Kuaidi100's intercept order (interceptOrder) asks the courier instead of the group robot; the robot stays the
    # fallback when Kuaidi100 refuses the request.
    intercept_channel = models.CharField(
        _("intercept channel"), max_length=20, choices=InterceptChannel.choices[:2], default=InterceptChannel.ROBOT
    )
    kuaidi100_key = models.CharField(_("Kuaidi100 key"), max_length=100, blank=True)
    # Secrets at rest are encrypted (desk.crypto); the admin writes them and never shows them back.
    kuaidi100_secret_encrypted = models.TextField(_("Kuaidi100 secret (encrypted)"), editable=False, blank=True)
    # The shop's account with the courier (电子面单账号) that Kuaidi100 passes on: partnerId, partnerKey, net.
    kuaidi100_partner_id = models.CharField(_("courier account id (partnerId)"), max_length=100, blank=True)
    kuaidi100_partner_key_encrypted = models.TextField(
        _("courier account key (partnerKey, encrypted)"), editable=False, blank=True
    )
    kuaidi100_net = models.CharField(_("courier outlet (net)"), max_length=100, blank=True)
    kuaidi100_intercept_type = models.CharField(
        _("Kuaidi100 intercept type"),
        max_length=30,
        choices=Kuaidi100InterceptType.choices,
        default=Kuaidi100InterceptType.RETURN_SEND_ADDR,
    )
    kuaidi100_pay_type = models.CharField(
        _("who pays the intercept"), max_length=20, choices=Kuaidi100PayType.choices, default=Kuaidi100PayType.MONTHLY
    )

    class Meta:
        verbose_name = _("courier agreement")
        verbose_name_plural = _("courier agreements (快递协议)")
        ordering = ["shop_id", "courier_id"]
        constraints = [models.UniqueConstraint(fields=["shop", "courier"], name="courier_agreement_unique")]

    def __str__(self):
        return f"{self.shop} · {self.courier}"

    def clean(self):
        super().clean()
        # Half a robot would leave every message unsent with no one noticing why.
        if self.robot_webhook_url and not self.robot_kind:
            raise ValidationError({"robot_kind": _("Choose which kind of group robot the webhook URL is.")})
        if self.robot_kind and not self.robot_webhook_url:
            raise ValidationError({"robot_webhook_url": _("Give the group robot's webhook URL.")})
        if self.intercept_channel == InterceptChannel.KUAIDI100 and not self.kuaidi100_key:
            raise ValidationError({"kuaidi100_key": _("Give the Kuaidi100 key to send intercepts through Kuaidi100.")})
        # 改地址 needs the new address (recManInfo); an after-sales intercept only ever sends the parcel back.
        if self.kuaidi100_intercept_type == Kuaidi100InterceptType.MODIFY_ADDR:
            raise ValidationError(
                {
                    "kuaidi100_intercept_type": _(
                        "Changing the address needs a new address, which an after-sales intercept does not have: "
                        "choose a return."
                    )
                }
            )

    @classmethod
    def defaults_for(cls, *, shop_id: int, courier: Courier) -> "CourierAgreement":
        """The terms a shop without an agreement works under (never saved): the courier's default answer time and
        claim terms, and no contact or robot."""
        return cls(
            shop_id=shop_id,
            courier=courier,
            intercept_answer_minutes=courier.intercept_answer_minutes,
            claim_postage_multiple=courier.claim_postage_multiple,
            claim_max_amount=courier.claim_max_amount,
            claim_terms=courier.claim_terms,
        )

    @property
    def has_robot(self) -> bool:
        return bool(self.pk and self.robot_kind and self.robot_webhook_url)

    def set_kuaidi100_secret(self, plain: str) -> None:
        self.kuaidi100_secret_encrypted = crypto.encrypt(plain)

    def set_kuaidi100_partner_key(self, plain: str) -> None:
        self.kuaidi100_partner_key_encrypted = crypto.encrypt(plain)

    @property
    def uses_kuaidi100(self) -> bool:
        """Intercepts go through Kuaidi100: chosen, and with the key and secret to sign the request."""
        return bool(
            self.pk
            and self.intercept_channel == InterceptChannel.KUAIDI100
            and self.kuaidi100_key
            and self.kuaidi100_secret_encrypted
        )


class LostParcelPolicy(models.Model):
    """A shop's no-scan rule (DESIGN §5): how long a parcel may go without a scan before it counts as lost (丢件).
    A shop without a row uses the seeds' 48 h / 72 h. What the buyer gets then is the shop's own setting
    (Shop.lost_parcel_remedy, 补发 by default), on the shop's page with its other after-sales choices."""

    shop = models.OneToOneField(
        Shop, on_delete=models.CASCADE, related_name="lost_parcel_policy", verbose_name=_("shop")
    )
    no_scan_hours = models.PositiveIntegerField(
        _("hours without a scan before a parcel is lost"),
        default=DEFAULT_NO_SCAN_HOURS,
        validators=[MinValueValidator(1)],
    )
    remote_no_scan_hours = models.PositiveIntegerField(
        _("the same, to a remote province"), default=DEFAULT_REMOTE_NO_SCAN_HOURS, validators=[MinValueValidator(1)]
    )
    # 偏远地区, by short name (新疆, not 新疆维吾尔自治区): parcels to these get `remote_no_scan_hours`.
    remote_provinces = models.JSONField(_("remote provinces"), default=default_remote_provinces, blank=True)

    class Meta:
        verbose_name = _("lost-parcel policy")
        verbose_name_plural = _("lost-parcel policies")

    def __str__(self):
        return str(self.shop)


class TrackingProvider(models.TextChoices):
    KUAIDI100 = "kuaidi100", _("Kuaidi100")
    KDNIAO = "kdniao", _("Kdniao")
    BULK = "bulk", _("bulk JSON")


class TrackingAccount(models.Model):
    """A shop's account with a tracking aggregator: the key its pushes are signed with."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="tracking_accounts", verbose_name=_("shop"))
    provider = models.CharField(_("provider"), max_length=20, choices=TrackingProvider.choices)
    # Kdniao's EBusinessID; Kuaidi100's customer id. Pushes naming another account are refused.
    account_id = models.CharField(_("account id"), max_length=64, blank=True)
    # Kuaidi100: the salt given when subscribing; Kdniao: the AppKey; bulk: the HMAC key.
    signing_key = models.CharField(_("signing key"), max_length=200)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("tracking account")
        verbose_name_plural = _("tracking accounts")
        ordering = ["shop_id", "provider"]
        constraints = [models.UniqueConstraint(fields=["shop", "provider"], name="tracking_account_unique")]

    def __str__(self):
        return f"{self.shop} · {self.get_provider_display()}"


class Shipment(ConcurrentTransitionMixin, models.Model):
    """A parcel: the order's outbound parcel, a replacement sent after a loss, or a buyer's return."""

    class Direction(models.TextChoices):
        OUTBOUND = "outbound", _("to the buyer")
        RETURN = "return", _("return to us")

    class Status(models.TextChoices):
        # 待揽收: a replacement waiting for the warehouse to hand it to the courier.
        CREATED = "created", _("awaiting pickup")
        IN_TRANSIT = "in_transit", _("in transit")
        DELIVERED = "delivered", _("delivered")
        LOST = "lost", _("lost")
        INTERCEPTED = "intercepted", _("intercepted")
        RETURNED = "returned", _("returned to sender")

    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="shipments", verbose_name=_("shop"))
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="shipments", verbose_name=_("order"))
    ticket = models.ForeignKey(
        AfterSalesTicket,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="shipments",
        verbose_name=_("ticket"),
    )
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices, default="outbound")
    courier = models.ForeignKey(
        Courier, on_delete=models.PROTECT, null=True, blank=True, related_name="shipments", verbose_name=_("courier")
    )
    tracking_number = models.CharField(_("tracking number"), max_length=40, blank=True)
    # Stored by its short name (新疆, not 新疆维吾尔自治区) so the remote-province rule is an exact match.
    destination_province = models.CharField(_("destination province"), max_length=20, blank=True)
    postage = MoneyField(_("postage (CNY)"), null=True, blank=True, validators=[MinValueValidator(ZERO)])
    # The replacement of a lost parcel points at it.
    replaces = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="replacements", verbose_name=_("replaces")
    )
    status = FSMField(_("status"), default=Status.IN_TRANSIT, choices=Status.choices, protected=True)
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    # The courier's handover counts as the first scan, so a parcel never scanned again still ages from it.
    last_scan_at = models.DateTimeField(_("last scan at"), null=True, blank=True)
    last_scan_text = models.CharField(_("last scan"), max_length=300, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    lost_at = models.DateTimeField(_("declared lost at"), null=True, blank=True)
    # Scanned again after it was declared lost: someone must look at its claim and the buyer's remedy.
    reappeared_at = models.DateTimeField(_("scanned again after lost at"), null=True, blank=True)
    # Set once the buyer's refund or replacement for the loss is made (or found unnecessary).
    lost_remedy_done_at = models.DateTimeField(_("lost-parcel remedy done at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["courier", "tracking_number"],
                condition=~Q(tracking_number=""),
                name="shipment_unique_waybill",
            ),
            models.CheckConstraint(
                condition=Q(status="created") | (~Q(tracking_number="") & Q(courier__isnull=False)),
                name="shipment_dispatched_has_waybill",
            ),
            models.CheckConstraint(
                condition=Q(postage__isnull=True) | Q(postage__gte=0), name="shipment_postage_not_negative"
            ),
        ]
        indexes = [
            # The no-scan check: parcels in transit, oldest last scan first.
            models.Index(fields=["status", "last_scan_at"], name="shipment_status_scan_idx"),
            models.Index(fields=["tracking_number"], name="shipment_tracking_idx"),
        ]

    def __str__(self):
        return self.tracking_number or _("replacement of order %(order)s") % {"order": self.order_id}

    @transition(field=status, source=Status.CREATED, target=Status.IN_TRANSIT)
    def dispatch(self, *, courier, tracking_number, at):
        self.courier = courier
        self.tracking_number = tracking_number
        self.shipped_at = at
        self.last_scan_at = at

    @transition(field=status, source=[Status.IN_TRANSIT, Status.LOST], target=Status.INTERCEPTED)
    def intercept(self):
        pass

    # A scan may return a parcel already delivered (the buyer refused it at the door); an intercept's answer may
    # return one still on its way, stopped or lost.
    @transition(
        field=status,
        source=[Status.IN_TRANSIT, Status.INTERCEPTED, Status.LOST, Status.DELIVERED],
        target=Status.RETURNED,
    )
    def mark_returned(self):
        pass

    # The courier's delivered scan: also after a failed intercept, or for a parcel that came back and went out again.
    @transition(field=status, source=[Status.IN_TRANSIT, Status.INTERCEPTED, Status.RETURNED], target=Status.DELIVERED)
    def deliver(self, *, at):
        self.delivered_at = at

    # No scan within the shop's limit (丢件); the buyer's remedy is owed again until it is given.
    @transition(field=status, source=Status.IN_TRANSIT, target=Status.LOST)
    def declare_lost(self, *, at):
        self.lost_at = at
        self.lost_remedy_done_at = None

    # A lost parcel scanned again is back on its way (a later scan of the same push may deliver or return it).
    @transition(field=status, source=Status.LOST, target=Status.IN_TRANSIT)
    def reappear(self, *, at):
        self.reappeared_at = at


class TrackingStatus(models.TextChoices):
    """One scan's meaning, mapped from each aggregator's own codes (see logistics/tracking_formats.py)."""

    COLLECTED = "collected", _("collected")
    IN_TRANSIT = "in_transit", _("in transit")
    DELIVERING = "delivering", _("out for delivery")
    PROBLEM = "problem", _("problem")
    DELIVERED = "delivered", _("delivered")
    RETURNING = "returning", _("returning to sender")
    RETURNED = "returned", _("returned to sender")


class TrackingEvent(models.Model):
    """One courier scan. The same scan pushed again (or by the other aggregator) is stored once."""

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="events", verbose_name=_("shipment"))
    courier_code = models.CharField(_("courier code"), max_length=20)
    tracking_number = models.CharField(_("tracking number"), max_length=40)
    scanned_at = models.DateTimeField(_("scanned at"))
    status = models.CharField(_("status"), max_length=20, choices=TrackingStatus.choices)
    text = models.CharField(_("text"), max_length=300, blank=True)
    location = models.CharField(_("location"), max_length=100, blank=True)
    source = models.CharField(_("source"), max_length=20, choices=TrackingProvider.choices)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)

    class Meta:
        verbose_name = _("tracking event")
        verbose_name_plural = _("tracking events")
        ordering = ["-scanned_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["courier_code", "tracking_number", "scanned_at", "status"], name="tracking_event_unique_scan"
            )
        ]
        indexes = [models.Index(fields=["shipment", "-scanned_at"], name="tracking_event_latest_idx")]

    def __str__(self):
        return f"{self.tracking_number} {self.scanned_at:%Y-%m-%d %H:%M} {self.status}"


class InterceptRequest(ConcurrentTransitionMixin, models.Model):
    """拦截: the shop asks the courier to stop a parcel and send it back. The courier's contact must answer within
    the courier's time (2 h by default); an answer not given in time is flagged and chased."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("requested")
        CONFIRMED = "confirmed", _("confirmed")
        FAILED = "failed", _("failed")
        RETURNED_TO_WAREHOUSE = "returned_to_warehouse", _("returned to warehouse")

    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="intercepts", verbose_name=_("shop"))
    ticket = models.ForeignKey(
        AfterSalesTicket, on_delete=models.PROTECT, related_name="intercepts", verbose_name=_("ticket")
    )
    shipment = models.ForeignKey(
        Shipment, on_delete=models.PROTECT, related_name="intercepts", verbose_name=_("shipment")
    )
    courier = models.ForeignKey(Courier, on_delete=models.PROTECT, related_name="intercepts", verbose_name=_("courier"))
    status = FSMField(_("status"), default=Status.REQUESTED, choices=Status.choices, protected=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by")
    )
    requested_at = models.DateTimeField(_("requested at"))
    due_at = models.DateTimeField(_("answer due at"))
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    # Set by the follow-up check when the courier let the answer time pass; chased once per intercept.
    overdue_flagged_at = models.DateTimeField(_("overdue flagged at"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    channel = models.CharField(
        _("asked by"), max_length=20, choices=InterceptChannel.choices, default=InterceptChannel.ROBOT
    )
    # The courier's own words for its latest answer (Kuaidi100's callback state), shown beside our status.
    courier_answer = models.CharField(_("courier's answer"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("intercept request")
        verbose_name_plural = _("intercept requests")
        ordering = ["due_at", "id"]
        permissions = [("answer_interceptrequest", _("Can record the courier's answer to an intercept"))]
        constraints = [
            # SF and most couriers take one intercept per waybill: never two open ones for the same parcel.
            models.UniqueConstraint(
                fields=["shipment"], condition=Q(status="requested"), name="intercept_one_open_per_shipment"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "due_at"], name="intercept_status_due_idx"),
            # The intercept list's order (Meta.ordering), all shops' and a shop's: its first and deep pages read the
            # index instead of joining and sorting every intercept.
            models.Index(fields=["due_at", "id"], name="intercept_due_id_idx"),
            models.Index(fields=["shop", "due_at", "id"], name="intercept_shop_due_id_idx"),
        ]

    def __str__(self):
        return f"{self.shipment.tracking_number} ({self.get_status_display()})"

    @transition(field=status, source=Status.REQUESTED, target=Status.CONFIRMED)
    def confirm(self, *, at):
        self.answered_at = at

    @transition(field=status, source=Status.REQUESTED, target=Status.FAILED)
    def fail(self, *, at):
        self.answered_at = at

    @transition(field=status, source=[Status.REQUESTED, Status.CONFIRMED], target=Status.RETURNED_TO_WAREHOUSE)
    def mark_returned(self, *, at):
        self.answered_at = self.answered_at or at


class Kuaidi100Intercept(ConcurrentTransitionMixin, models.Model):
    """One intercept asked through Kuaidi100's interceptOrder: what was sent, what Kuaidi100 said, and the salt its
    callbacks are signed with.

    The request is a write at the courier: once it may have reached Kuaidi100 (a timeout, a 5xx, a worker that died
    mid-call) it is never sent again by the machine; its outcome is `unknown` and the agent and the 2-hour follow-up
    take it from there."""

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting to be sent")
        ACCEPTED = "accepted", _("accepted by Kuaidi100")
        UNKNOWN = "unknown", _("outcome unknown (no clear answer)")
        REFUSED = "refused", _("refused by Kuaidi100 (asked by group robot)")
        # Answered through another channel before it was sent: nothing to send.
        CANCELLED = "cancelled", _("not sent: already answered")

    intercept = models.OneToOneField(
        InterceptRequest, on_delete=models.CASCADE, related_name="kuaidi100", verbose_name=_("intercept request")
    )
    # Our orderId in the request; also in the callback's URL.
    order_id = models.CharField(_("order id sent"), max_length=40, unique=True)
    salt = models.CharField(_("callback salt"), max_length=64)
    status = FSMField(_("status"), default=Status.PENDING, choices=Status.choices, protected=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    # A worker took the request to send it (Kuaidi100 is called with no row locked).
    sending_since = models.DateTimeField(_("being sent since"), null=True, blank=True)
    sent_at = models.DateTimeField(_("answered by Kuaidi100 at"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("Kuaidi100 intercept order")
        verbose_name_plural = _("Kuaidi100 intercept orders")
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "id"], name="kuaidi100_intercept_status_idx")]

    def __str__(self):
        return self.order_id

    @transition(field=status, source=[Status.PENDING, Status.UNKNOWN], target=Status.ACCEPTED)
    def accept(self, *, at):
        self.sent_at = self.sent_at or at

    @transition(field=status, source=Status.PENDING, target=Status.UNKNOWN)
    def outcome_unknown(self, *, error):
        self.last_error = error[:300]

    @transition(field=status, source=Status.PENDING, target=Status.REFUSED)
    def refuse(self, *, at, error):
        self.sent_at = at
        self.last_error = error[:300]

    @transition(field=status, source=Status.PENDING, target=Status.CANCELLED)
    def cancel(self, *, reason):
        self.last_error = reason[:300]


class Kuaidi100InterceptCallback(models.Model):
    """One signed callback about a Kuaidi100 intercept, kept as received; the same callback again (same signature)
    is a replay and changes nothing."""

    class Outcome(models.TextChoices):
        CONFIRMED = "confirmed", _("confirmed")
        FAILED = "failed", _("failed")
        RETURNED = "returned", _("returned to sender")
        PROGRESS = "progress", _("in progress")
        # A state we do not know, or an answer that contradicts the one recorded: an agent reads it.
        UNKNOWN = "unknown", _("not understood: left to an agent")

    call = models.ForeignKey(
        Kuaidi100Intercept, on_delete=models.CASCADE, related_name="callbacks", verbose_name=_("intercept order")
    )
    sign = models.CharField(_("signature"), max_length=32)
    state = models.CharField(_("courier's state"), max_length=100, blank=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices)
    param = models.TextField(_("payload"))
    received_at = models.DateTimeField(_("received at"))

    class Meta:
        verbose_name = _("Kuaidi100 intercept callback")
        verbose_name_plural = _("Kuaidi100 intercept callbacks")
        ordering = ["received_at", "id"]
        constraints = [models.UniqueConstraint(fields=["call", "sign"], name="kuaidi100_callback_once")]

    def __str__(self):
        return f"{self.call} {self.state}"


class ClaimCause(models.TextChoices):
    LOST = "lost", _("lost parcel")
    DAMAGED = "damaged", _("damaged in transit")
    # Refunded before the courier answered an intercept (先退款后拦截): the courier pays if the parcel is not stopped.
    INTERCEPT = "intercept", _("refunded during an intercept")


class ClaimRemedy(models.TextChoices):
    PENDING = "pending", _("not yet decided")
    REFUND = "refund", _("refund")
    RESHIP = "reship", _("reship")


class CourierClaim(ConcurrentTransitionMixin, models.Model):
    """理赔 (one row of the 售后汇总表): money the shop paid out, or goods it sent again, because the courier lost or
    damaged a parcel. Every such refund or reship has a row; month-end reconciliation settles it with the courier."""

    class Status(models.TextChoices):
        # Refunded after a confirmed intercept (宁可多登记): the parcel should come back; a warehouse scan of it
        # withdraws the claim, and the month-end check (月底仓库核对) files it with the courier (open) if it did not.
        WAITING_RETURN = "waiting_return", _("waiting for the parcel to come back")
        OPEN = "open", _("open")
        SUBMITTED = "submitted", _("submitted to the courier")
        SETTLED = "settled", _("settled")
        REJECTED = "rejected", _("rejected")
        # The parcel turned up before anything was paid or sent: nothing to claim.
        WITHDRAWN = "withdrawn", _("withdrawn")

    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="courier_claims", verbose_name=_("shop"))
    courier = models.ForeignKey(Courier, on_delete=models.PROTECT, related_name="claims", verbose_name=_("courier"))
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="courier_claims", verbose_name=_("order"))
    shipment = models.ForeignKey(
        Shipment, on_delete=models.PROTECT, null=True, blank=True, related_name="claims", verbose_name=_("shipment")
    )
    ticket = models.ForeignKey(
        AfterSalesTicket,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="courier_claims",
        verbose_name=_("ticket"),
    )
    refund = models.ForeignKey(
        Refund, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("refund")
    )
    cause = models.CharField(_("cause"), max_length=20, choices=ClaimCause.choices)
    remedy = models.CharField(_("remedy"), max_length=20, choices=ClaimRemedy.choices, default="pending")
    # What the shop lost (the refund, or the value of the goods sent again) and what the courier's terms make of it.
    loss_amount = MoneyField(_("loss (CNY)"), validators=[MinValueValidator(ZERO)])
    claim_amount = MoneyField(_("claimed (CNY)"), validators=[MinValueValidator(ZERO)])
    settled_amount = MoneyField(_("settled (CNY)"), null=True, blank=True, validators=[MinValueValidator(ZERO)])
    # The reconciliation month (first day, Asia/Shanghai) the row belongs to.
    month = models.DateField(_("month"))
    status = FSMField(_("status"), default=Status.OPEN, choices=Status.choices, protected=True)
    # Why someone must look again (the parcel reappeared after it was declared lost, …); cleared when reviewed.
    review_note = models.TextField(_("needs review"), blank=True)
    courier_note = models.TextField(_("courier's answer"), blank=True)
    created_at = models.DateTimeField(_("created at"))
    decided_at = models.DateTimeField(_("settled or rejected at"), null=True, blank=True)

    class Meta:
        verbose_name = _("courier claim")
        verbose_name_plural = _("courier claims (售后汇总表)")
        ordering = ["-month", "courier_id", "id"]
        permissions = [("reconcile_courierclaim", _("Can export and reconcile courier claims"))]
        constraints = [
            # One claim per lost parcel and one per ticket, however often the checks run.
            models.UniqueConstraint(
                fields=["shipment", "cause"],
                condition=Q(shipment__isnull=False) & ~Q(status="withdrawn"),
                name="claim_one_per_shipment_cause",
            ),
            models.UniqueConstraint(
                fields=["ticket"],
                condition=Q(ticket__isnull=False) & ~Q(status="withdrawn"),
                name="claim_one_per_ticket",
            ),
            models.CheckConstraint(
                condition=Q(loss_amount__gte=0, claim_amount__gte=0, claim_amount__lte=models.F("loss_amount")),
                name="claim_amounts_valid",
            ),
            models.CheckConstraint(
                condition=Q(settled_amount__isnull=True)
                | Q(settled_amount__gte=0, settled_amount__lte=models.F("claim_amount")),
                name="claim_settled_within_claimed",
            ),
        ]
        indexes = [
            models.Index(fields=["courier", "month", "status"], name="claim_courier_month_idx"),
            # The claims ledger's order (Meta.ordering), all shops' and a shop's: its pages read the index instead of
            # joining and sorting every claim.
            models.Index(fields=["-month", "courier", "id"], name="claim_month_courier_id_idx"),
            models.Index(fields=["shop", "-month", "courier", "id"], name="claim_shop_month_id_idx"),
        ]

    def __str__(self):
        return f"CL{self.pk:06d}" if self.pk else "new claim"

    @property
    def reference(self) -> str:
        return str(self)

    @transition(field=status, source=Status.OPEN, target=Status.SUBMITTED)
    def submit(self):
        pass

    @transition(field=status, source=[Status.OPEN, Status.SUBMITTED], target=Status.SETTLED)
    def settle(self, *, amount, at, note=""):
        self.settled_amount = amount
        self.decided_at = at
        self.courier_note = note

    @transition(field=status, source=[Status.OPEN, Status.SUBMITTED], target=Status.REJECTED)
    def reject(self, *, at, note):
        self.settled_amount = ZERO
        self.decided_at = at
        self.courier_note = note

    @transition(field=status, source=[Status.WAITING_RETURN, Status.OPEN, Status.SUBMITTED], target=Status.WITHDRAWN)
    def withdraw(self, *, note):
        self.review_note = note

    # Not back at the warehouse by the month-end check: the courier owes it; filed with the month's others.
    @transition(field=status, source=Status.WAITING_RETURN, target=Status.OPEN)
    def file_not_back(self):
        pass


class LogisticsEventAction(models.TextChoices):
    """Every action a logistics history records (the database refuses any other), by the subject it is about.
    Code names it LogisticsEvent.Action (a type hint names this class); it is out here so that the model's
    constraint can list it."""

    # An intercept (拦截).
    REQUESTED = "requested", _("intercept requested")
    CONFIRMED = "confirmed", _("the courier stopped the parcel")
    FAILED = "failed", _("the courier could not stop the parcel")
    RETURNED = "returned", _("the parcel is back at the warehouse")
    OVERDUE = "overdue", _("the courier's answer is overdue")
    SENT_KUAIDI100 = "sent_kuaidi100", _("intercept order accepted by Kuaidi100")
    OUTCOME_UNKNOWN = "outcome_unknown", _("Kuaidi100 gave no clear answer: not sent again, left to an agent")
    FELL_BACK = "fell_back", _("Kuaidi100 refused the intercept order: asked by group robot instead")
    COURIER_PROGRESS = "courier_progress", _("the courier reported progress")
    ANSWER_UNKNOWN = "answer_unknown", _("the courier's answer is not understood: left to an agent")
    # A parcel.
    DISPATCHED = "dispatched", _("parcel dispatched")
    INTERCEPTED = "intercepted", _("parcel stopped on its way by an intercept")
    DELIVERED = "delivered", _("parcel delivered")
    DECLARED_LOST = "declared_lost", _("declared lost")
    REAPPEARED = "reappeared", _("scanned again after it was declared lost")
    REPLACEMENT_CREATED = "replacement_created", _("replacement parcel created")
    REMEDY_PENDING = "remedy_pending", _("lost parcel: the buyer's remedy is left to an agent")
    REMEDY_REFUND = "remedy_refund", _("lost parcel: the buyer was refunded")
    REMEDY_RESHIP = "remedy_reship", _("lost parcel: a replacement was sent")
    # A claim (理赔).
    OPENED = "opened", _("claim opened")
    REGISTERED = "registered", _("claim registered: refunded before the courier answered")
    REGISTERED_WAITING = (
        "registered_waiting",
        _("claim registered: refunded after the intercept, waiting for the parcel"),
    )
    NOT_BACK = "not_back", _("parcel not back by the month-end check: to be filed with the courier")
    SUBMITTED = "submitted", _("claim submitted to the courier")
    SETTLED = "settled", _("claim settled by the courier")
    REJECTED = "rejected", _("claim rejected by the courier")
    WITHDRAWN = "withdrawn", _("claim withdrawn")
    NEEDS_REVIEW = "needs_review", _("claim needs a review")
    REVIEWED = "reviewed", _("claim reviewed")


class LogisticsEvent(models.Model):
    """The history of intercepts, claims and lost parcels: who, when, from, to, note (DESIGN §2)."""

    Action = LogisticsEventAction

    intercept = models.ForeignKey(
        InterceptRequest, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    claim = models.ForeignKey(CourierClaim, on_delete=models.CASCADE, null=True, blank=True, related_name="events")
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, null=True, blank=True, related_name="history")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    action = models.CharField(_("action"), max_length=40, choices=Action.choices)
    from_state = models.CharField(_("from"), max_length=30, blank=True)
    to_state = models.CharField(_("to"), max_length=30, blank=True)
    note = models.TextField(_("note"), blank=True)
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("logistics event")
        verbose_name_plural = _("logistics events")
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(intercept__isnull=False) | Q(claim__isnull=False) | Q(shipment__isnull=False),
                name="logistics_event_has_subject",
            ),
            # An action outside the vocabulary is refused however it is written (bulk_create and raw SQL included).
            models.CheckConstraint(
                condition=Q(action__in=LogisticsEventAction.values), name="logistics_event_action_known"
            ),
        ]

    def __str__(self):
        return f"{self.action} {self.from_state}→{self.to_state}"


class RobotMessage(models.Model):
    """A message for a courier's group chat, kept until it is sent (an outbox): a worker that dies or a robot
    that is down leaves it pending for the next try instead of losing it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")
        # The shop's agreement with the courier names no group robot: it was sent to nobody; someone must set the
        # robot up on the agreement (then send it again) or phone the contact.
        NO_ROBOT = "no_robot", _("no robot configured")

    # The shop whose agreement's robot the message goes to. Empty only on messages written before agreements were
    # per shop (they are never sent again).
    shop = models.ForeignKey(
        Shop, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("shop")
    )
    # Empty for a message to the shop's own team (TeamRobot): a complaint risk for the team lead.
    courier = models.ForeignKey(Courier, on_delete=models.PROTECT, null=True, blank=True, related_name="robot_messages")
    intercept = models.ForeignKey(
        InterceptRequest, on_delete=models.CASCADE, null=True, blank=True, related_name="robot_messages"
    )
    purpose = models.CharField(_("purpose"), max_length=30)
    text = models.TextField(_("text"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default="pending")
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    # A worker took the message to send it (the robot is called with no row locked): another worker leaves it alone
    # until the worker records the answer, or until the take is too old to be alive (robots.SEND_LEASE).
    sending_since = models.DateTimeField(_("being sent since"), null=True, blank=True)

    class Meta:
        verbose_name = _("group robot message")
        verbose_name_plural = _("group robot messages")
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "id"], name="robot_message_status_idx")]

    def __str__(self):
        target = str(self.courier) if self.courier_id else str(_("team"))
        return f"{target} · {self.purpose} · {self.get_status_display()}"


class TeamRobot(models.Model):
    """The group robot of a shop's own after-sales team, where its team lead (小组长) hears of a buyer who wrote an
    escalation word (seed 004: 投诉, 12315, 曝光, 差评 → 联系小组长). Messages to it are RobotMessages without a
    courier; a shop without one leaves them waiting as “no robot configured”."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="team_robot", verbose_name=_("shop"))
    robot_kind = models.CharField(_("group robot"), max_length=20, choices=RobotKind.choices)
    robot_webhook_url = models.URLField(_("group robot webhook URL"), max_length=500)
    robot_secret = models.CharField(
        _("group robot signing secret"), max_length=200, blank=True, help_text=_("DingTalk and Feishu “sign” secret.")
    )

    class Meta:
        verbose_name = _("team robot (team lead's group)")
        verbose_name_plural = _("team robots (team lead's group)")
        ordering = ["shop_id"]

    def __str__(self):
        return str(self.shop)

    @property
    def has_robot(self) -> bool:
        return bool(self.pk and self.robot_kind and self.robot_webhook_url)
