"""Admins for logistics: couriers and their agreements, intercepts by due time, parcels (lost ones first), the shops'
tracking accounts and no-scan rules, and the group-robot outbox. The claims ledger is in admin.claims.

Intercepts and parcels change only through the services: the batch actions here record the courier's answer or a
replacement's waybill, one service call per row, each refusal reported with its parcel.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales.selectors import shops_for_user
from desk.admin.paging import CappedCountAdminMixin, IdsFirstAdminMixin
from desk.admin.rows import PlainActionCheckboxMixin
from desk.admin.scoping import AccessibleShopFilter, ReadOnlyAdminMixin, ShopScopedAdminMixin
from desk.admin.search import ExactSearchMixin
from desk.errors import ActionRefused
from desk.input_checks import InputRejected, clean_text, echo
from logistics.admin.inlines import EventInline
from logistics.models import (
    Courier,
    CourierAgreement,
    InterceptChannel,
    InterceptRequest,
    Kuaidi100Intercept,
    LostParcelPolicy,
    RobotMessage,
    Shipment,
    TeamRobot,
    TrackingAccount,
    TrackingEvent,
)
from logistics.provinces import short_province
from logistics.robots import robot_message_send
from logistics.selectors import user_may_edit_courier
from logistics.services import (
    intercept_confirm,
    intercept_fail,
    intercept_mark_returned,
    shipment_dispatch,
)
from logistics.services.common import ANSWER_INTERCEPT, DISPATCH


def _ticket_link(ticket_id, label=""):
    if not ticket_id:
        return "—"
    url = reverse("admin:aftersales_aftersalesticket_change", args=[ticket_id])
    return format_html('<a href="{}">#{} {}</a>', url, ticket_id, label)


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "—"


@admin.register(Courier)
class CourierAdmin(admin.ModelAdmin):
    """A courier is every shop's row: only a superuser, or a user assigned to every shop using it, changes it; the
    others read it. What a shop agreed with the courier is on its own agreement (CourierAgreementAdmin)."""

    list_display = ["code", "name", "intercept_answer_minutes", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["code", "name"]
    fieldsets = [
        (None, {"fields": ["code", "name", "is_active"]}),
        (gettext_lazy("Tracking aggregators"), {"fields": ["kuaidi100_code", "kdniao_code"]}),
        (
            gettext_lazy("Defaults for shops without an agreement"),
            {
                "fields": ["intercept_answer_minutes", "claim_postage_multiple", "claim_max_amount", "claim_terms"],
                "description": gettext_lazy(
                    "A shop's contact (接口人), group robot, answer time and claim terms are set on its courier "
                    "agreement (快递协议)."
                ),
            },
        ),
    ]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and user_may_edit_courier(request.user)

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or user_may_edit_courier(request.user, obj)

    def has_delete_permission(self, request, obj=None):
        return False


class WriteOnly(forms.CharField):
    """A secret typed in and never shown back; empty keeps the stored one."""

    def __init__(self, **kwargs):
        super().__init__(
            required=False,
            strip=True,
            max_length=200,
            widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
            help_text=gettext_lazy("Leave empty to keep the stored one."),
            **kwargs,
        )


class CourierAgreementForm(forms.ModelForm):
    kuaidi100_secret = WriteOnly(label=gettext_lazy("Kuaidi100 secret"))
    kuaidi100_partner_key = WriteOnly(label=gettext_lazy("courier account key (partnerKey)"))

    class Meta:
        model = CourierAgreement
        exclude: list[str] = []

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("intercept_channel") == InterceptChannel.KUAIDI100 and not (
            cleaned.get("kuaidi100_secret") or self.instance.kuaidi100_secret_encrypted
        ):
            self.add_error("kuaidi100_secret", _("Give the Kuaidi100 secret to send intercepts through Kuaidi100."))
        return cleaned

    def save(self, commit=True):
        agreement = super().save(commit=False)
        if self.cleaned_data.get("kuaidi100_secret"):
            agreement.set_kuaidi100_secret(self.cleaned_data["kuaidi100_secret"])
        if self.cleaned_data.get("kuaidi100_partner_key"):
            agreement.set_kuaidi100_partner_key(self.cleaned_data["kuaidi100_partner_key"])
        if commit:
            agreement.save()
        return agreement


@admin.register(CourierAgreement)
class CourierAgreementAdmin(ShopScopedAdminMixin, admin.ModelAdmin):
    """快递协议: each shop's contact, group robot, answer time and claim terms with a courier; a user sees and edits
    only their shops' agreements. Kuaidi100's secrets are write-only: the page says only whether one is stored."""

    form = CourierAgreementForm
    readonly_fields = ["kuaidi100_secrets"]

    list_display = [
        "shop",
        "courier",
        "intercept_contact",
        "intercept_contact_phone",
        "robot_kind",
        "intercept_channel",
        "intercept_answer_minutes",
    ]
    list_select_related = ["shop", "courier"]
    list_filter = ["shop", "courier", "robot_kind", "intercept_channel"]
    search_fields = ["courier__code", "courier__name", "intercept_contact"]
    autocomplete_fields = ["courier"]
    fieldsets = [
        (None, {"fields": ["shop", "courier"]}),
        (
            gettext_lazy("Intercepts (拦截)"),
            {
                "fields": [
                    "intercept_contact",
                    "intercept_contact_phone",
                    "intercept_answer_minutes",
                    "intercept_channel",
                    "robot_kind",
                    "robot_webhook_url",
                    "robot_secret",
                ]
            },
        ),
        (
            gettext_lazy("Kuaidi100 intercept API"),
            {
                "fields": [
                    "kuaidi100_key",
                    "kuaidi100_secrets",
                    "kuaidi100_secret",
                    "kuaidi100_partner_id",
                    "kuaidi100_partner_key",
                    "kuaidi100_net",
                    "kuaidi100_intercept_type",
                    "kuaidi100_pay_type",
                ],
                "description": gettext_lazy(
                    "Used when the intercept channel is Kuaidi100. If Kuaidi100 refuses a request, the group robot "
                    "asks instead; the courier answers within the same time either way."
                ),
            },
        ),
        (
            gettext_lazy("Claim terms (理赔)"),
            {"fields": ["claim_postage_multiple", "claim_max_amount", "claim_terms"]},
        ),
    ]

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("stored secrets"))
    def kuaidi100_secrets(self, agreement):
        parts = [
            (_("Kuaidi100 secret"), agreement.kuaidi100_secret_encrypted),
            (_("courier account key (partnerKey)"), agreement.kuaidi100_partner_key_encrypted),
        ]
        return ", ".join(f"{name}: {_('set') if value else _('not set')}" for name, value in parts)


# --- intercepts -----------------------------------------------------------------------------------------------------


class OverdueFilter(admin.SimpleListFilter):
    title = gettext_lazy("answer due")
    parameter_name = "answer"

    def lookups(self, request, model_admin):
        return [("overdue", _("overdue")), ("waiting", _("waiting, in time"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "overdue":
            return queryset.filter(status=InterceptRequest.Status.REQUESTED, due_at__lte=now)
        if self.value() == "waiting":
            return queryset.filter(status=InterceptRequest.Status.REQUESTED, due_at__gt=now)
        return queryset


class InterceptEventInline(EventInline):
    fk_name = "intercept"


class Kuaidi100InterceptInline(admin.StackedInline):
    """What was sent to Kuaidi100 for the intercept and what it said; never the salt."""

    model = Kuaidi100Intercept
    fields = ["order_id", "status", "attempts", "sent_at", "last_error", "callbacks_received"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = gettext_lazy("Kuaidi100 intercept order")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("callbacks"))
    def callbacks_received(self, call):
        rows = call.callbacks.order_by("received_at", "id")
        return "; ".join(f"{_local(row.received_at)} {row.state} → {row.get_outcome_display()}" for row in rows) or "—"


@admin.register(InterceptRequest)
class InterceptRequestAdmin(
    ExactSearchMixin,
    IdsFirstAdminMixin,
    PlainActionCheckboxMixin,
    ShopScopedAdminMixin,
    ReadOnlyAdminMixin,
    admin.ModelAdmin,
):
    list_display = [
        "tracking_number",
        "courier",
        "ticket_link",
        "shop",
        "status",
        "channel",
        "courier_answer",
        "requested_at_local",
        "due",
        "answered_at_local",
    ]
    list_select_related = ["shipment", "courier", "ticket__order", "shop"]
    list_filter = [OverdueFilter, "status", "channel", "courier", "shop"]
    search_fields = ["=shipment__tracking_number", "=ticket__order__platform_order_id"]
    ordering = ["due_at", "id"]
    show_full_result_count = False
    list_per_page = 50
    actions = ["courier_confirmed", "courier_failed", "back_at_warehouse"]
    inlines = [InterceptEventInline, Kuaidi100InterceptInline]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("shipment", "courier", "ticket__order", "shop")

    @admin.display(description=gettext_lazy("tracking number"), ordering="shipment__tracking_number")
    def tracking_number(self, intercept):
        return intercept.shipment.tracking_number

    @admin.display(description=gettext_lazy("ticket"), ordering="ticket_id")
    def ticket_link(self, intercept):
        return _ticket_link(intercept.ticket_id, intercept.ticket.order.platform_order_id)

    @admin.display(description=gettext_lazy("requested at"), ordering="requested_at")
    def requested_at_local(self, intercept):
        return _local(intercept.requested_at)

    @admin.display(description=gettext_lazy("answered at"), ordering="answered_at")
    def answered_at_local(self, intercept):
        return _local(intercept.answered_at)

    @admin.display(description=gettext_lazy("answer due"), ordering="due_at")
    def due(self, intercept):
        text = _local(intercept.due_at)
        if intercept.status == InterceptRequest.Status.REQUESTED and intercept.due_at <= timezone.now():
            return format_html(
                '<strong class="desk-overdue" style="color:#ba2121">{} · {}</strong>', text, _("overdue")
            )
        return text

    def has_answer_permission(self, request):
        return request.user.has_perm(ANSWER_INTERCEPT)

    @admin.action(description=gettext_lazy("The courier stopped the parcel"), permissions=["answer"])
    def courier_confirmed(self, request, queryset):
        self._each(request, queryset, lambda i: intercept_confirm(intercept=i, by=request.user))

    @admin.action(description=gettext_lazy("The courier could not stop it"), permissions=["answer"])
    def courier_failed(self, request, queryset):
        self._each(request, queryset, lambda i: intercept_fail(intercept=i, by=request.user))

    @admin.action(description=gettext_lazy("The parcel is back at the warehouse"), permissions=["answer"])
    def back_at_warehouse(self, request, queryset):
        self._each(request, queryset, lambda i: intercept_mark_returned(intercept=i, by=request.user))

    def _each(self, request, queryset, call):
        done = 0
        for intercept in queryset.order_by("id"):
            try:
                call(intercept)
            except ActionRefused as refusal:
                self.message_user(request, f"{intercept.shipment.tracking_number}: {refusal.message}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, _("%(count)s intercepts recorded.") % {"count": done}, messages.SUCCESS)


# --- parcels --------------------------------------------------------------------------------------------------------


class LostParcelFilter(admin.SimpleListFilter):
    """丢件: declared lost, and those declared lost that were scanned again (someone must check their claim)."""

    title = gettext_lazy("lost parcels")
    parameter_name = "lost"

    def lookups(self, request, model_admin):
        return [("lost", _("declared lost")), ("reappeared", _("scanned again after lost"))]

    def queryset(self, request, queryset):
        if self.value() == "lost":
            return queryset.filter(status=Shipment.Status.LOST)
        if self.value() == "reappeared":
            return queryset.filter(reappeared_at__isnull=False)
        return queryset


class TrackingEventInline(admin.TabularInline):
    model = TrackingEvent
    fields = ["scanned_at", "status", "location", "text", "source"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-scanned_at"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ShipmentEventInline(EventInline):
    fk_name = "shipment"


class DispatchForm(forms.Form):
    courier = forms.ModelChoiceField(label=gettext_lazy("courier"), queryset=Courier.objects.filter(is_active=True))
    tracking_number = forms.CharField(label=gettext_lazy("tracking number"), max_length=40)


@admin.register(Shipment)
class ShipmentAdmin(
    ExactSearchMixin, CappedCountAdminMixin, ShopScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin
):
    list_display = [
        "__str__",
        "courier",
        "order",
        "direction",
        "status_marked",
        "destination_province",
        "last_scan_local",
        "last_scan_text",
    ]
    list_select_related = ["courier", "order"]
    list_filter = [LostParcelFilter, "status", "direction", "courier", "shop"]
    search_fields = ["=tracking_number", "=order__platform_order_id"]
    ordering = ["-id"]
    show_full_result_count = False
    list_per_page = 50
    inlines = [TrackingEventInline, ShipmentEventInline]
    change_form_template = "admin/logistics/shipment/change_form.html"

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_marked(self, shipment):
        label = shipment.get_status_display()
        if shipment.reappeared_at:
            return format_html('<strong style="color:#ba2121">{} · {}</strong>', label, _("scanned again after lost"))
        if shipment.status == Shipment.Status.LOST:
            return format_html('<strong style="color:#ba2121">{}</strong>', label)
        return label

    @admin.display(description=gettext_lazy("last scan at"), ordering="last_scan_at")
    def last_scan_local(self, shipment):
        return _local(shipment.last_scan_at)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:object_id>/dispatch/", view(self.dispatch_view), name="logistics_shipment_dispatch"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        shipment = self.get_object(request, object_id)
        extra = {}
        if shipment and shipment.status == Shipment.Status.CREATED and request.user.has_perm(DISPATCH):
            extra = {
                "dispatch_form": DispatchForm(),
                "dispatch_url": reverse("admin:logistics_shipment_dispatch", args=[shipment.pk]),
            }
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    def dispatch_view(self, request, object_id):
        """The warehouse gives a replacement its waybill (补发); from then on it ages like any parcel."""
        if not request.user.has_perm(DISPATCH):
            raise PermissionDenied
        shipment = get_object_or_404(self.get_queryset(request), pk=object_id)
        form = DispatchForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                shipment_dispatch(
                    shipment=shipment,
                    by=request.user,
                    courier=form.cleaned_data["courier"],
                    tracking_number=form.cleaned_data["tracking_number"],
                )
            except ActionRefused as refusal:
                form.add_error(None, str(refusal.message))
            else:
                self.message_user(request, _("The replacement is on its way."), messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:logistics_shipment_change", args=[shipment.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Send the replacement"),
            "form": form,
            "opts": self.model._meta,
            "shipment": shipment,
        }
        return TemplateResponse(request, "admin/logistics/shipment/dispatch.html", context)


# --- shop settings and the outbox -----------------------------------------------------------------------------------


class ProvinceListField(forms.CharField):
    """Provinces typed as 新疆、西藏, 青海 (any of 、，, or spaces); stored by their short names."""

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return "、".join(value)
        return value

    # A province's name is short; a longer word is a typo, and the list is shown in every policy's row.
    max_name_length = 20

    def to_python(self, value):
        try:
            text = clean_text(super().to_python(value) or "", max_length=2000, multiline=True)
        except InputRejected as rejected:
            raise forms.ValidationError(rejected.message, code="invalid") from None
        for separator in "，,、;；\n\r\t":
            text = text.replace(separator, " ")
        names = []
        for name in text.split():
            if len(name) > self.max_name_length:
                raise forms.ValidationError(_("“%(name)s” is not a province.") % {"name": echo(name)}, code="invalid")
            short = short_province(name)
            if short not in names:
                names.append(short)
        return names


class LostParcelPolicyForm(forms.ModelForm):
    remote_provinces = ProvinceListField(
        label=gettext_lazy("remote provinces"),
        required=False,
        help_text=gettext_lazy("Separate them with 、 or commas, for example 新疆、西藏、青海."),
    )

    class Meta:
        model = LostParcelPolicy
        fields = ["shop", "no_scan_hours", "remote_no_scan_hours", "remote_provinces"]

    def clean(self):
        cleaned = super().clean()
        hours, remote_hours = cleaned.get("no_scan_hours"), cleaned.get("remote_no_scan_hours")
        if hours and remote_hours and remote_hours < hours:
            self.add_error("remote_no_scan_hours", _("A remote province cannot have less time than the others."))
        return cleaned


@admin.register(LostParcelPolicy)
class LostParcelPolicyAdmin(ShopScopedAdminMixin, admin.ModelAdmin):
    form = LostParcelPolicyForm
    list_display = ["shop", "no_scan_hours", "remote_no_scan_hours", "provinces", "remedy"]
    list_select_related = ["shop"]

    # The remedy is the shop's setting (its page); shown here beside the hours it follows.
    @admin.display(description=gettext_lazy("remedy for a lost parcel"))
    def remedy(self, policy):
        return policy.shop.get_lost_parcel_remedy_display()

    @admin.display(description=gettext_lazy("remote provinces"))
    def provinces(self, policy):
        return "、".join(policy.remote_provinces or [])

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TrackingAccount)
class TrackingAccountAdmin(ShopScopedAdminMixin, admin.ModelAdmin):
    list_display = ["shop", "provider", "account_id", "is_active", "push_url"]
    list_select_related = ["shop"]
    list_filter = ["provider", "is_active"]

    @admin.display(description=gettext_lazy("push address"))
    def push_url(self, account):
        names = {"kuaidi100": "kuaidi100", "kdniao": "kdniao", "bulk": "tracking"}
        return f"/logistics/webhooks/{names[account.provider]}/{account.shop.code}/"

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RobotMessage)
class RobotMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "created_at_local",
        "shop",
        "courier",
        "purpose",
        "status",
        "attempts",
        "sent_at_local",
        "last_error",
    ]
    list_select_related = ["shop", "courier"]
    list_filter = ["status", "purpose", "courier", "shop"]
    ordering = ["-id"]
    show_full_result_count = False
    actions = ["send_again"]

    def get_queryset(self, request):
        # Each message is one shop's (its waybills, its robot); those written before messages had a shop are
        # matched through their intercept, and the shopless batch ones only a superuser sees.
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        shops = shops_for_user(request.user)
        return queryset.filter(Q(shop__in=shops) | Q(shop__isnull=True, intercept__shop__in=shops))

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))
        scoped = type("ScopedShopFilter", (AccessibleShopFilter,), {"shop_path": "shop"})
        return [scoped if name == "shop" else name for name in filters]

    @admin.display(description=gettext_lazy("created at"), ordering="created_at")
    def created_at_local(self, message):
        return _local(message.created_at)

    @admin.display(description=gettext_lazy("sent at"), ordering="sent_at")
    def sent_at_local(self, message):
        return _local(message.sent_at)

    def has_send_permission(self, request):
        return request.user.has_perm("logistics.view_robotmessage")

    @admin.action(description=gettext_lazy("Send again now"), permissions=["send"])
    def send_again(self, request, queryset):
        # Failed ones, and those that waited for their shop's robot to be set up on its agreement.
        RobotMessage.objects.filter(
            pk__in=queryset.values("pk"),
            status__in=[RobotMessage.Status.FAILED, RobotMessage.Status.NO_ROBOT],
            shop__isnull=False,
        ).update(status=RobotMessage.Status.PENDING, attempts=0)
        sent = sum(
            robot_message_send(message_id=pk) == RobotMessage.Status.SENT
            for pk in queryset.values_list("pk", flat=True)
        )
        self.message_user(request, _("%(count)s messages sent.") % {"count": sent}, messages.INFO)


@admin.register(TeamRobot)
class TeamRobotAdmin(ShopScopedAdminMixin, admin.ModelAdmin):
    """The group robot of the shop's own team: where the team lead hears of complaint risks (seed 004)."""

    list_display = ["shop", "robot_kind", "robot_webhook_url"]
    list_select_related = ["shop"]
    fields = ["shop", "robot_kind", "robot_webhook_url", "robot_secret"]
