"""The warehouse's side of returns: the parcel a clerk scans, its inspection and the evidence that backs a rejection.

Depends on aftersales only (DESIGN §2). A ticket moves only through aftersales' services; these rows record what
the warehouse saw and did.
"""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from aftersales.models import ZERO, AfterSalesTicket, MoneyField, OrderLine, Shop
from aftersales.money import format_yuan


class ReturnParcel(ConcurrentTransitionMixin, models.Model):
    """A returned parcel: expected from its ticket, received when the clerk scans it, then inspected.

    A parcel nobody expected (no ticket has its tracking number) is registered as received without a ticket, for an
    agent to match.
    """

    class Status(models.TextChoices):
        EXPECTED = "expected", _("expected")
        RECEIVED = "received", _("received")
        INSPECTED = "inspected", _("inspected")

    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="return_parcels", verbose_name=_("shop"))
    ticket = models.OneToOneField(
        AfterSalesTicket,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="return_parcel",
        verbose_name=_("ticket"),
    )
    tracking_number = models.CharField(_("tracking number"), max_length=40)
    courier_code = models.CharField(_("courier"), max_length=20, blank=True)
    status = FSMField(_("status"), default=Status.EXPECTED, choices=Status.choices, protected=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # The courier's first scan of the buyer's parcel: from then on an early exchange (提前换出) may go out.
    first_scan_at = models.DateTimeField(_("first courier scan"), null=True, blank=True)
    # Signed for by the courier at our address (退货物流签收), from the return's tracking or the API: the moment the
    # return waits on the merchant (seed 004's 商家退货物流签收). The clerk's scan (received_at) may come later.
    signed_at = models.DateTimeField(_("signed for by the courier"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("received by"),
    )
    inspected_at = models.DateTimeField(_("inspected at"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("return parcel")
        verbose_name_plural = _("return parcels")
        ordering = ["-created_at", "-id"]
        constraints = [
            # One parcel per tracking number and shop: a second scan finds the first receipt.
            models.UniqueConstraint(fields=["shop", "tracking_number"], name="return_parcel_unique_tracking"),
            models.CheckConstraint(
                condition=Q(status="expected") | Q(received_at__isnull=False), name="return_parcel_received_has_time"
            ),
        ]
        indexes = [
            models.Index(fields=["tracking_number"], name="return_parcel_tracking_idx"),
            models.Index(fields=["shop", "status", "received_at"], name="return_parcel_clearance_idx"),
            # The parcel list's order (Meta.ordering), all shops' and a shop's: its first and deep pages read the
            # index instead of joining every parcel to its ticket and order and sorting them.
            models.Index(fields=["-created_at", "-id"], name="return_parcel_created_id_idx"),
            models.Index(fields=["shop", "-created_at", "-id"], name="return_parcel_shop_created_idx"),
        ]

    def __str__(self):
        return self.tracking_number

    @transition(field=status, source=Status.EXPECTED, target=Status.RECEIVED)
    def receive(self, *, by, at):
        self.received_by = by
        self.received_at = at

    @transition(field=status, source=Status.RECEIVED, target=Status.INSPECTED)
    def mark_inspected(self, *, at):
        self.inspected_at = at


class Inspection(models.Model):
    """验货: what came back, line by line, with photos and the unboxing video as evidence."""

    class Result(models.TextChoices):
        OK = "ok", _("ok")
        DAMAGED = "damaged", _("damaged")
        MISSING_ITEMS = "missing_items", _("missing items")
        SWAPPED = "swapped", _("swapped (调包)")
        USED = "used", _("used")

    parcel = models.OneToOneField(
        ReturnParcel, on_delete=models.PROTECT, related_name="inspection", verbose_name=_("return parcel")
    )
    result = models.CharField(_("result"), max_length=20, choices=Result.choices)
    notes = models.TextField(_("notes"), blank=True)
    inspected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("inspected by")
    )
    inspected_at = models.DateTimeField(_("inspected at"), default=timezone.now)

    class Meta:
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")
        ordering = ["-inspected_at", "-id"]
        indexes = [
            # The inspection list's order (Meta.ordering). The shop is the parcel's, so a manager's list reads this
            # index too and keeps the rows whose parcel is in their shops.
            models.Index(fields=["-inspected_at", "-id"], name="inspection_inspected_id_idx"),
        ]

    def __str__(self):
        return f"{self.parcel} {self.get_result_display()}"

    @property
    def is_clean(self) -> bool:
        return self.result == self.Result.OK


class InspectionLine(models.Model):
    inspection = models.ForeignKey(
        Inspection, on_delete=models.CASCADE, related_name="lines", verbose_name=_("inspection")
    )
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="+", verbose_name=_("order line"))
    quantity_received = models.PositiveIntegerField(_("quantity received"))

    class Meta:
        verbose_name = _("inspected line")
        verbose_name_plural = _("inspected lines")
        constraints = [
            models.UniqueConstraint(fields=["inspection", "order_line"], name="inspection_line_unique"),
        ]

    def __str__(self):
        return f"{self.order_line.sku} × {self.quantity_received}"


def evidence_path(evidence, filename: str) -> str:
    # The stored name is ours, not the uploader's: no path tricks, no guessing other files' names.
    return (
        f"evidence/{evidence.inspection.parcel.shop_id}/{timezone.now():%Y/%m}/{evidence.sha256}.{evidence.extension}"
    )


class Evidence(models.Model):
    """A photo or video of the opened parcel. Served only through a view that checks the shop, never as static."""

    class Kind(models.TextChoices):
        PHOTO = "photo", _("photo")
        VIDEO = "video", _("video")

    inspection = models.ForeignKey(
        Inspection, on_delete=models.CASCADE, related_name="evidence", verbose_name=_("inspection")
    )
    file = models.FileField(_("file"), upload_to=evidence_path, max_length=255)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    content_type = models.CharField(_("content type"), max_length=60)
    extension = models.CharField(_("extension"), max_length=8)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    original_name = models.CharField(_("original file name"), max_length=255, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("uploaded by")
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        ordering = ["uploaded_at", "id"]

    def __str__(self):
        return self.original_name or self.sha256[:12]


class EarlyExchangeRule(models.Model):
    """提前换出: a shop may send the replacement before the return arrives, for single-item orders up to a price,
    once the buyer's return parcel has a courier scan."""

    shop = models.OneToOneField(
        Shop, on_delete=models.CASCADE, related_name="early_exchange_rule", verbose_name=_("shop")
    )
    is_enabled = models.BooleanField(_("enabled"), default=False)
    max_price = MoneyField(_("highest order price (CNY)"), default=ZERO, validators=[MinValueValidator(ZERO)])

    class Meta:
        verbose_name = _("early exchange rule")
        verbose_name_plural = _("early exchange rules")

    def __str__(self):
        return f"{self.shop}: ≤ {format_yuan(self.max_price)}"


class EarlyExchange(models.Model):
    """A replacement sent before the return arrived (提前换出). Stays on the clearance view until its return comes."""

    ticket = models.OneToOneField(
        AfterSalesTicket, on_delete=models.PROTECT, related_name="early_exchange", verbose_name=_("ticket")
    )
    parcel = models.ForeignKey(
        ReturnParcel, on_delete=models.PROTECT, related_name="early_exchanges", verbose_name=_("return parcel")
    )
    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="early_exchanges", verbose_name=_("shop"))
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("sent by")
    )
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)

    class Meta:
        verbose_name = _("early exchange")
        verbose_name_plural = _("early exchanges")
        ordering = ["sent_at", "id"]

    def __str__(self):
        return f"#{self.ticket_id} {self.sent_at:%Y-%m-%d}"
