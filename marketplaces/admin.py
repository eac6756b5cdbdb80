"""Managers see each shop's platform connection: its state (connected / token expiring / broken with the platform's
message), its last successful sync, and they enter its secrets. Secrets are write-only: the form never shows them
back, an empty field keeps the stored one, and the list shows only whether one is set."""

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from marketplaces.adapters.base import SignatureInvalid
from marketplaces.adapters.wechat import aes_key, push_keys
from marketplaces.models import OutboundAction, PlatformRecord, ShopConnection
from marketplaces.services import connection_connect, connection_rotate_secrets


class WriteOnly(forms.CharField):
    def __init__(self, **kwargs):
        super().__init__(
            required=False,
            strip=True,
            widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
            **kwargs,
        )


class ShopConnectionForm(forms.ModelForm):
    app_secret = WriteOnly(label=_("app secret"), help_text=_("Leave empty to keep the stored one."))
    access_token = WriteOnly(label=_("access token (session)"), help_text=_("Leave empty to keep the stored one."))
    refresh_token = WriteOnly(label=_("refresh token"), help_text=_("Leave empty to keep the stored one."))
    push_secret = WriteOnly(
        label=_("push secret"),
        help_text=_(
            'WeChat shop: the message push Token and EncodingAESKey, as {"token": "…", "encoding_aes_key": "…"}. '
            "Leave empty to keep the stored one."
        ),
    )

    class Meta:
        model = ShopConnection
        fields = ["shop", "gateway_url", "app_key", "token_expires_at", "return_address_id", "is_enabled"]

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is None:
            for name in ("app_secret", "access_token"):
                if not cleaned.get(name):
                    self.add_error(name, _("A new connection needs this."))
        shop = cleaned.get("shop")
        if cleaned.get("push_secret") and shop is not None and shop.platform.code == "wechat":
            try:
                _token, encoding_aes_key = push_keys(cleaned["push_secret"])
                if encoding_aes_key:
                    aes_key(encoding_aes_key)
            except SignatureInvalid:
                self.add_error(
                    "push_secret",
                    _('Give {"token": "…", "encoding_aes_key": "…"} with the 43-character EncodingAESKey.'),
                )
        return cleaned


HEALTH_LABELS = {
    "connected": (_("connected"), "#1a7f37"),
    "expiring": (_("token expiring"), "#9a6700"),
    "broken": (_("broken"), "#cf222e"),
}


@admin.register(ShopConnection)
class ShopConnectionAdmin(admin.ModelAdmin):
    form = ShopConnectionForm
    list_display = ["shop", "platform", "health_badge", "broken_message", "token_expires_at", "last_synced_at"]
    list_select_related = ["shop__platform"]
    list_filter = ["state", "shop__platform"]
    search_fields = ["shop__name", "shop__code", "app_key"]
    readonly_fields = [
        "state",
        "broken_message",
        "broken_at",
        "token_refresh_message",
        "token_refresh_tried_at",
        "last_synced_at",
        "cursor",
        "backoff_until",
        "secrets",
    ]
    actions = ["rotate_secrets"]
    fieldsets = [
        (None, {"fields": ["shop", "gateway_url", "app_key", "return_address_id", "is_enabled"]}),
        (
            _("Secrets"),
            {
                "fields": [
                    "secrets",
                    "app_secret",
                    "access_token",
                    "refresh_token",
                    "push_secret",
                    "token_expires_at",
                    "token_refresh_message",
                    "token_refresh_tried_at",
                ]
            },
        ),
        (_("State"), {"fields": ["state", "broken_message", "broken_at", "last_synced_at", "cursor", "backoff_until"]}),
    ]

    @admin.display(description=_("platform"), ordering="shop__platform__code")
    def platform(self, connection):
        return connection.shop.platform

    @admin.display(description=_("state"))
    def health_badge(self, connection):
        label, colour = HEALTH_LABELS[connection.health]
        return format_html(
            '<strong class="connection-{}" style="color:{}">{}</strong>', connection.health, colour, label
        )

    @admin.display(description=_("stored secrets"))
    def secrets(self, connection):
        parts = [
            (_("app secret"), connection.app_secret_encrypted),
            (_("access token"), connection.access_token_encrypted),
            (_("refresh token"), connection.refresh_token_encrypted),
            (_("push secret"), connection.push_secret_encrypted),
        ]
        return ", ".join(f"{name}: {_('set') if value else _('not set')}" for name, value in parts)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        saved = connection_connect(
            shop=data["shop"],
            gateway_url=data["gateway_url"],
            app_key=data["app_key"],
            app_secret=data.get("app_secret", ""),
            access_token=data.get("access_token", ""),
            token_expires_at=data.get("token_expires_at"),
            refresh_token=data.get("refresh_token", ""),
            push_secret=data.get("push_secret", ""),
        )
        ShopConnection.objects.filter(pk=saved.pk).update(
            return_address_id=data.get("return_address_id", ""),
            is_enabled=data.get("is_enabled", True),
            token_expires_at=data.get("token_expires_at"),
        )
        obj.pk = saved.pk

    @admin.action(description=_("Re-encrypt every connection's secrets with the newest key"))
    def rotate_secrets(self, request, queryset):
        count = connection_rotate_secrets()
        self.message_user(request, _("%(count)s connections re-encrypted.") % {"count": count}, messages.SUCCESS)


@admin.register(PlatformRecord)
class PlatformRecordAdmin(admin.ModelAdmin):
    """What the platforms sent, read-only; a record the desk could not place (unknown type, order not imported)
    shows here with its problem, so nothing the platform sent is lost from sight."""

    list_display = [
        "platform_id",
        "connection",
        "platform_kind",
        "platform_status",
        "amount",
        "modified_at",
        "ticket",
        "problem",
    ]
    list_select_related = ["connection__shop", "ticket__order"]
    list_filter = ["kind", "status"]
    search_fields = ["platform_id", "order_id"]
    readonly_fields = [field.name for field in PlatformRecord._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OutboundAction)
class OutboundActionAdmin(admin.ModelAdmin):
    list_display = ["kind", "ticket", "connection", "status", "attempts", "last_error", "created_at", "done_at"]
    list_select_related = ["connection__shop", "ticket__order"]
    list_filter = ["status", "kind"]
    readonly_fields = [field.name for field in OutboundAction._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
