"""A shop's link to its platform's open API, what the platform told us about each after-sales record, and the writes
waiting to go out to it."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.models import AfterSalesTicket, MoneyField, Shop
from marketplaces import crypto


class ShopConnection(models.Model):
    """One shop's connection to its platform (Taobao/Tmall TOP, 抖店). Secrets are stored encrypted (crypto.py) and
    only ever written, never shown back.

    `cursor`: every record the platform changed before it is stored here; the pull asks from just before it
    (overlap) and moves it only once a window's records are all stored.
    """

    class State(models.TextChoices):
        CONNECTED = "connected", _("connected")
        BROKEN = "broken", _("broken")

    shop = models.OneToOneField(
        Shop, on_delete=models.PROTECT, related_name="marketplace_connection", verbose_name=_("shop")
    )
    gateway_url = models.URLField(_("platform gateway URL"), max_length=300)
    app_key = models.CharField(_("app key"), max_length=64)
    app_secret_encrypted = models.TextField(_("app secret (encrypted)"), editable=False)
    access_token_encrypted = models.TextField(_("access token (encrypted)"), editable=False)
    refresh_token_encrypted = models.TextField(_("refresh token (encrypted)"), editable=False, blank=True)
    # Push secrets where a platform does not sign pushes with the app secret (WeChat's Token + EncodingAESKey, JSON).
    push_secret_encrypted = models.TextField(_("push secret (encrypted)"), editable=False, blank=True)
    token_expires_at = models.DateTimeField(_("token expires at"), null=True, blank=True)
    # The last refresh attempt and, when it did not renew the token, why (the platform's words, or that the platform
    # has no verified refresh call): the manager authorises the shop again before the token expires.
    token_refresh_tried_at = models.DateTimeField(_("token refresh last tried"), null=True, blank=True)
    token_refresh_message = models.TextField(_("token refresh problem"), blank=True)
    # The shop's return address at the platform (seller_address_id / receiver_address_id), sent with an agreed return.
    return_address_id = models.CharField(_("return address id at the platform"), max_length=40, blank=True)
    is_enabled = models.BooleanField(_("enabled"), default=True)
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.CONNECTED)
    broken_message = models.TextField(_("platform's message"), blank=True)
    broken_at = models.DateTimeField(_("broken at"), null=True, blank=True)
    last_synced_at = models.DateTimeField(_("last successful sync"), null=True, blank=True)
    cursor = models.DateTimeField(_("synced up to"), null=True, blank=True)
    # A rate-limit answer slows this connection alone: nothing is asked of the platform before this time.
    backoff_until = models.DateTimeField(_("paused until"), null=True, blank=True)
    backoff_failures = models.PositiveIntegerField(_("rate-limit answers in a row"), default=0)
    # A lease, not a lock: one pull per connection at a time, taken and released in short transactions.
    syncing_since = models.DateTimeField(_("sync running since"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("marketplace connection")
        verbose_name_plural = _("marketplace connections")
        ordering = ["shop__name", "id"]

    def __str__(self):
        return str(self.shop)

    # Secrets: written through these, read only by the adapters' credentials.
    def set_app_secret(self, plain: str) -> None:
        self.app_secret_encrypted = crypto.encrypt(plain)

    def set_access_token(self, plain: str) -> None:
        self.access_token_encrypted = crypto.encrypt(plain)

    def set_refresh_token(self, plain: str) -> None:
        self.refresh_token_encrypted = crypto.encrypt(plain)

    def set_push_secret(self, plain: str) -> None:
        self.push_secret_encrypted = crypto.encrypt(plain) if plain else ""

    @property
    def platform_code(self) -> str:
        return self.shop.platform.code

    @property
    def token_expiring(self) -> bool:
        if self.token_expires_at is None:
            return False
        return self.token_expires_at <= timezone.now() + timedelta(days=settings.MARKETPLACE_TOKEN_EXPIRING_DAYS)

    @property
    def health(self) -> str:
        """connected / expiring / broken, as the managers read it."""
        if self.state == self.State.BROKEN:
            return "broken"
        if self.token_expiring:
            return "expiring"
        return "connected"


class PlatformRecord(models.Model):
    """The newest version of one after-sales record the platform sent (pull or push), and the ticket it maps to.

    Idempotency lives here: a record is applied only when its (modified_at, version) is newer than the stored one.
    A record the desk cannot place yet (its order not imported, a type with no ticket kind) is kept with `problem`
    and shown in the admin, never dropped; the next sync tries it again.
    """

    connection = models.ForeignKey(
        ShopConnection, on_delete=models.PROTECT, related_name="records", verbose_name=_("connection")
    )
    platform_id = models.CharField(_("platform after-sales id"), max_length=64)
    order_id = models.CharField(_("platform order id"), max_length=64)
    sub_order_id = models.CharField(_("platform sub-order id"), max_length=64, blank=True)
    kind = models.CharField(_("type"), max_length=30)
    status = models.CharField(_("status"), max_length=30)
    platform_kind = models.CharField(_("platform's type"), max_length=40, blank=True)
    platform_status = models.CharField(_("platform's status"), max_length=60, blank=True)
    version = models.CharField(_("version"), max_length=64)
    modified_at = models.DateTimeField(_("modified at the platform"))
    applied_at = models.DateTimeField(_("applied at the platform"))
    amount = MoneyField(_("amount (CNY)"))
    reason = models.CharField(_("platform's reason"), max_length=200, blank=True)
    deadline = models.DateTimeField(_("platform deadline"), null=True, blank=True)
    return_courier = models.CharField(_("return courier"), max_length=60, blank=True)
    return_tracking_number = models.CharField(_("return tracking number"), max_length=60, blank=True)
    ruling = models.CharField(_("ruling"), max_length=20, blank=True)
    raw = models.JSONField(_("as the platform sent it"), default=dict)
    ticket = models.ForeignKey(
        AfterSalesTicket,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="platform_records",
        verbose_name=_("ticket"),
    )
    problem = models.TextField(_("not applied because"), blank=True)
    first_seen_at = models.DateTimeField(_("first seen"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("platform after-sales record")
        verbose_name_plural = _("platform after-sales records")
        ordering = ["-modified_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "platform_id"], name="platform_record_once"),
        ]
        indexes = [
            models.Index(fields=["connection", "modified_at"], name="platform_record_modified_idx"),
            models.Index(fields=["connection"], condition=~Q(problem=""), name="platform_record_problem_idx"),
        ]

    def __str__(self):
        return f"{self.platform_id} {self.platform_status}"


class OutboundAction(models.Model):
    """A write the platform must hear (agree a return, refuse, intercept, cut-off result, message), taken from the
    ticket's events by a sweep and sent outside any transaction. Refunds go by the refund gateway instead."""

    class Kind(models.TextChoices):
        AGREE_RETURN = "agree_return", _("agree the return")
        REFUSE = "refuse", _("refuse")
        INTERCEPT = "intercept", _("request an intercept")
        CUTOFF_RESULT = "cutoff_result", _("report the cut-off result")
        MESSAGE = "message", _("send a message")
        # JD's receive register / PDD's warehouse status, after the warehouse received a return (adapters whose
        # registers_returns_received is True).
        RETURN_RECEIVED = "return_received", _("register the return as received")

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting")
        DONE = "done", _("done")
        REFUSED = "refused", _("refused by the platform")

    connection = models.ForeignKey(
        ShopConnection, on_delete=models.PROTECT, related_name="outbound", verbose_name=_("connection")
    )
    ticket = models.ForeignKey(AfterSalesTicket, on_delete=models.PROTECT, related_name="+", verbose_name=_("ticket"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    # What made it (a ticket event): one action per source, however often the sweep runs.
    source_key = models.CharField(_("source"), max_length=80, unique=True)
    payload = models.JSONField(_("payload"), default=dict)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    sending_since = models.DateTimeField(_("sending since"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)

    class Meta:
        verbose_name = _("write to the platform")
        verbose_name_plural = _("writes to the platform")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "created_at"], condition=Q(status="pending"), name="outbound_pending_idx")
        ]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.ticket_id}"
