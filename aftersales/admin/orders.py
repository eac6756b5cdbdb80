"""Admins for platforms, shops (settings, members, history) and orders (import, export, corrections)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminSplitDateTime, FilteredSelectMultiple
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core import signing
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales.forms import OrderImportForm
from aftersales.models import Order, OrderCorrection, OrderEvent, OrderLine, Platform, Shop, ShopEvent
from aftersales.order_export import orders_to_xlsx
from aftersales.order_import import ImportFileError, plan_order_import, read_rows
from aftersales.provinces import PROVINCES, province_spellings
from aftersales.selectors import shops_for_user, user_may_edit_platform
from aftersales.services import order_import_apply, shop_set_members
from aftersales.services.orders import (
    CORRECTABLE_FIELDS,
    DECIDE_CORRECTION,
    order_correct,
    order_correction_decide,
)
from aftersales.services.shops import (
    SHOP_SETTINGS_FIELDS,
    SettingRefused,
    shop_settings_check,
    shop_update_settings,
)
from desk.admin.paging import CappedCountAdminMixin
from desk.admin.scoping import ReadOnlyInline, ShopScopedAdminMixin
from desk.admin.search import ExactSearchMixin
from desk.errors import ActionRefused

IMPORT_TOKEN_SALT = "aftersales.order-import"  # noqa: S105 - a signing namespace, not a secret
IMPORT_TOKEN_MAX_AGE_SECONDS = 3600
PREVIEW_ORDER_LIMIT = 100
PREVIEW_ERROR_LIMIT = 500


@admin.register(Platform)
class PlatformAdmin(admin.ModelAdmin):
    """A platform's deadlines are those of every shop on it: only a superuser, or a user assigned to every one of
    those shops, changes them; the others read them."""

    list_display = [
        "__str__",
        "code",
        "refund_response_hours",
        "return_response_hours",
        "receipt_confirm_days",
    ]
    readonly_fields = ["code"]

    def has_add_permission(self, request):
        # The six marketplaces are seeded by a migration; a new one needs code (its API adapter) anyway.
        return False

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or user_may_edit_platform(request.user, obj)

    def has_delete_permission(self, request, obj=None):
        return False


class HoursWithSuggestions(forms.NumberInput):
    """A number field that offers common values in the browser's list, while any other value may still be typed."""

    def __init__(self, suggestions, attrs=None):
        super().__init__(attrs)
        self.suggestions = list(suggestions)

    def render(self, name, value, attrs=None, renderer=None):
        list_id = f"{(attrs or {}).get('id') or 'id_' + name}_suggestions"
        field = super().render(name, value, {**(attrs or {}), "list": list_id}, renderer)
        options = format_html_join("", '<option value="{}"></option>', ((value,) for value in self.suggestions))
        return field + format_html('<datalist id="{}">{}</datalist>', list_id, options)


# Shown under each setting on the shop's page; a setting added to SHOP_SETTINGS may add its help here.
SETTING_HELP = {
    "auto_refund_enabled": gettext_lazy(
        "Refund-only requests on orders not shipped yet are refunded at once, up to the amount below, as “system”."
    ),
    "auto_refund_max_amount": gettext_lazy("Above it, an agent decides. ¥0.00 refunds nothing automatically."),
    "approval_due_hours": gettext_lazy(
        "Default 4 hours. 12 hours suits a team whose supervisors are not on duty all day."
    ),
    "sla_hours": gettext_lazy(
        "Our own target for requests other than not-shipped refunds (default 4: no request waits longer for us)."
    ),
    "path1_sla_minutes": gettext_lazy("Our own target for refund-only requests on orders not shipped (default 30)."),
    "unconfirmed_refund_hours": gettext_lazy(
        "Sent refunds still unconfirmed after this many hours show in the daily clearance and the dashboard "
        "(default 24)."
    ),
    "deadline_warning_hours": gettext_lazy(
        "A ticket waiting for the shop this close to the platform's deadline goes to the top of the queue in the "
        "next refund sweep (default 6)."
    ),
    "cutoff_answer_hours": gettext_lazy(
        "The warehouse answers a cut-off (截单) within this many hours (default 2); past it the cut-off shows red and "
        "its ticket is flagged to the agent."
    ),
    "lost_parcel_remedy": gettext_lazy(
        "What the buyer of a parcel declared lost gets when nobody asked yet: 补发 (reship) by default, or a refund."
    ),
    "refund_on_receipt_enabled": gettext_lazy(
        "无法验货则直接退款: a return-and-refund is refunded as soon as the clerk scans the parcel in, before any "
        "inspection (through the automatic cap; above it a supervisor approves)."
    ),
    "refund_on_receipt_limited": gettext_lazy(
        "Refund on receipt only orders of one item whose paid amount is at most the amount below."
    ),
    "refund_on_receipt_max_amount": gettext_lazy("Default ¥100.00."),
}
SETTING_WIDGETS = {"approval_due_hours": HoursWithSuggestions([4, 12])}
# Set when the shop is created (by a superuser); a manager does not move a shop to another marketplace.
SHOP_IDENTITY_FIELDS = ["code", "name", "platform", "platform_shop_id", "is_active"]


class ShopSettingsForm(forms.ModelForm):
    """The shop's page: the settings are checked by the rules of services.shops (who, which values) before the
    page saves them through shop_update_settings; a refusal shows on its field in the user's language."""

    class Meta:
        model = Shop
        fields = [*SHOP_IDENTITY_FIELDS, *SHOP_SETTINGS_FIELDS]

    def __init__(self, *args, editor=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.editor = editor

    def settings_changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in SHOP_SETTINGS_FIELDS if name in self.cleaned_data}

    def clean(self):
        cleaned_data = super().clean()
        if self.editor is None or self.instance.pk is None:
            return cleaned_data
        try:
            shop_settings_check(shop=self.instance, by=self.editor, changes=self.settings_changes())
        except SettingRefused as refusal:
            self.add_error(refusal.field if refusal.field in self.fields else None, str(refusal.message))
        except ActionRefused as refusal:
            self.add_error(None, str(refusal.message))
        return cleaned_data


class ShopMembersForm(ShopSettingsForm):
    """The shop form for superusers: only they decide who works on which shop (a manager must not widen their reach)."""

    members = forms.ModelMultipleChoiceField(
        label=gettext_lazy("assigned users"),
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        required=False,
        widget=FilteredSelectMultiple(gettext_lazy("users"), is_stacked=False),
    )
    member_groups = forms.ModelMultipleChoiceField(
        label=gettext_lazy("assigned groups"),
        queryset=Group.objects.order_by("name"),
        required=False,
        widget=FilteredSelectMultiple(gettext_lazy("groups"), is_stacked=False),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and "members" in self.fields:
            self.initial["members"] = [p.user_id for p in self.instance.shopuserobjectpermission_set.all()]
            self.initial["member_groups"] = [p.group_id for p in self.instance.shopgroupobjectpermission_set.all()]


def setting_value_display(field: str, text: str) -> str:
    """A ShopEvent's stored value as people read it: on/off, ¥ with two decimals, or the number."""
    if text in {"true", "false"}:
        return _("on") if text == "true" else _("off")
    if field.endswith("_amount"):
        return f"¥{text}"
    return text


class ShopEventInline(ReadOnlyInline):
    """The shop's settings history: who changed which setting when, old → new."""

    model = ShopEvent
    fields = ["at", "actor", "setting", "old", "new"]
    readonly_fields = fields
    verbose_name_plural = gettext_lazy("settings history")

    @admin.display(description=gettext_lazy("setting"))
    def setting(self, event):
        try:
            return Shop._meta.get_field(event.field).verbose_name
        except FieldDoesNotExist:
            return event.field

    @admin.display(description=gettext_lazy("old value"))
    def old(self, event):
        return setting_value_display(event.field, event.old_value)

    @admin.display(description=gettext_lazy("new value"))
    def new(self, event):
        return setting_value_display(event.field, event.new_value)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


@admin.register(Shop)
class ShopAdmin(ShopScopedAdminMixin, admin.ModelAdmin):
    """A shop's identity (set by a superuser when it is created) and its after-sales settings, which its manager
    changes here: every change goes through services.shops.shop_update_settings and shows in the history below."""

    shop_path = ""
    list_display = ["name", "code", "platform", "is_active"]
    list_select_related = ["platform"]
    list_filter = ["platform", "is_active"]
    search_fields = ["name", "code"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (None, {"fields": SHOP_IDENTITY_FIELDS}),
            (gettext_lazy("after-sales settings"), {"fields": list(SHOP_SETTINGS_FIELDS)}),
        ]
        if request.user.is_superuser:
            fieldsets.append((gettext_lazy("assigned users"), {"fields": ["members", "member_groups"]}))
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        return [] if request.user.is_superuser else ["platform"]

    def get_inlines(self, request, obj):
        return [ShopEventInline] if obj is not None else []

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name in SETTING_WIDGETS:
            kwargs["widget"] = SETTING_WIDGETS[db_field.name]
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if formfield is not None and db_field.name in SETTING_HELP:
            formfield.help_text = SETTING_HELP[db_field.name]
        return formfield

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = ShopMembersForm if request.user.is_superuser else ShopSettingsForm
        form_class = super().get_form(request, obj, change, **kwargs)

        class FormForEditor(form_class):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, editor=request.user, **kwargs)

        return FormForEditor

    def save_model(self, request, obj, form, change):
        if not change:
            obj.save()
            return
        try:
            shop_update_settings(shop=obj, by=request.user, changes=form.settings_changes())
        except ActionRefused as refusal:
            # The form checked the same rules; only a change of roles made meanwhile gets here.
            raise PermissionDenied(str(refusal.message)) from None
        model_fields = {field.name for field in Shop._meta.concrete_fields}
        identity = [name for name in form.changed_data if name in model_fields and name not in SHOP_SETTINGS_FIELDS]
        if identity:
            obj.save(update_fields=identity)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if request.user.is_superuser:
            shop_set_members(
                shop=form.instance,
                users=form.cleaned_data["members"],
                groups=form.cleaned_data["member_groups"],
            )


class OrderLineInline(admin.TabularInline):
    """The lines as the platform sent them: entered with a new order, read-only afterwards (their amounts are money,
    changed only by the platform's import or push)."""

    model = OrderLine
    extra = 0
    fields = ["sku", "item_name", "quantity", "paid_amount"]

    def get_readonly_fields(self, request, obj=None):
        return self.fields if obj is not None else []

    def has_add_permission(self, request, obj=None):
        return obj is None and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False


def _changes_table(changes: dict):
    """{field: {"old", "new"}} as "field: old → new" lines, with the fields' names in the user's language."""
    rows = []
    for name, values in (changes or {}).items():
        try:
            if name.startswith("lines."):
                # "lines.<sku>.<field>": a line the import changed or added
                sku, _dot, line_field = name.removeprefix("lines.").rpartition(".")
                label = _("line %(sku)s: %(field)s") % {
                    "sku": sku,
                    "field": OrderLine._meta.get_field(line_field).verbose_name,
                }
            else:
                label = Order._meta.get_field(name).verbose_name
        except FieldDoesNotExist:
            label = name
        rows.append((label, values.get("old") or "—", values.get("new") or "—"))
    return format_html_join(mark_safe("<br>"), "{}: {} → {}", rows)  # noqa: S308 - a constant separator


class OrderEventInline(ReadOnlyInline):
    """The order's trail: every correction, old → new, with its reason and who confirmed it."""

    model = OrderEvent
    fk_name = "order"
    fields = ["at", "actor", "action", "changes_display", "reason", "confirmed_by"]
    readonly_fields = fields
    verbose_name_plural = gettext_lazy("corrections and updates")

    @admin.display(description=gettext_lazy("old → new"))
    def changes_display(self, event):
        return _changes_table(event.changes)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor", "confirmed_by")


class OrderCorrectionInline(OrderEventInline):
    """Corrections that waited, or wait, for a second supervisor; each links to its page to confirm or decline."""

    model = OrderCorrection
    fields = ["correction_link", "status", "requested_by", "requested_at", "changes_display", "reason", "decided_by"]
    readonly_fields = fields
    verbose_name_plural = gettext_lazy("corrections awaiting a supervisor")

    @admin.display(description=gettext_lazy("correction"))
    def correction_link(self, correction):
        url = reverse("admin:aftersales_ordercorrection_change", args=[correction.pk])
        return format_html('<a href="{}">#{}</a>', url, correction.pk)

    def get_queryset(self, request):
        return OrderCorrection.objects.select_related("requested_by", "decided_by").order_by("-requested_at", "-id")


class OrderCorrectionForm(forms.Form):
    """The correctable fields, prefilled with the order's values, and why."""

    paid_amount = forms.DecimalField(
        label=gettext_lazy("paid amount (CNY)"), max_digits=12, decimal_places=2, min_value=0
    )
    packed_at = forms.SplitDateTimeField(label=gettext_lazy("packed at"), required=False, widget=AdminSplitDateTime)
    shipped_at = forms.SplitDateTimeField(label=gettext_lazy("shipped at"), required=False, widget=AdminSplitDateTime)
    delivered_at = forms.SplitDateTimeField(
        label=gettext_lazy("delivered at"), required=False, widget=AdminSplitDateTime
    )
    courier_code = forms.CharField(label=gettext_lazy("courier code"), max_length=20, required=False)
    tracking_number = forms.CharField(label=gettext_lazy("tracking number"), max_length=40, required=False)
    reason = forms.CharField(
        label=gettext_lazy("reason"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Why the platform's figures are wrong, and where the right ones come from."),
    )


# Where a service's refusal of a correction shows on the form.
_CORRECTION_ERROR_FIELDS = {
    "reason_required": "reason",
    "below_refunded": "paid_amount",
    "below_lines": "paid_amount",
    "invalid_amount": "paid_amount",
}


class ProvinceFilter(admin.SimpleListFilter):
    """The order's province, from the fixed list of provinces (short or full name as the order wrote it)."""

    title = gettext_lazy("province")
    parameter_name = "province"

    def lookups(self, request, model_admin):
        return [(short, short) for short in PROVINCES]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        return queryset.filter(province__in=province_spellings(self.value()))


@admin.register(Order)
class OrderAdmin(ExactSearchMixin, CappedCountAdminMixin, ShopScopedAdminMixin, admin.ModelAdmin):
    list_display = [
        "platform_order_id",
        "shop",
        "receiver_name",
        "province",
        "paid_amount",
        "paid_at",
        "shipped_at",
        "courier_code",
        "tracking_number",
        "delivered_at",
    ]
    list_select_related = ["shop"]
    # Provinces from a fixed list: Django's own filter would run SELECT DISTINCT province over a year of orders.
    list_filter = ["shop", ProvinceFilter]
    # Searched as written (ExactSearchMixin, not Django's case-insensitive `=`, which compares UPPER(column) and so
    # scans every order): each field reads its own index (order_platform_id_idx, order_tracking_idx,
    # order_buyer_idx, order_phone_idx).
    search_fields = ["=platform_order_id", "=tracking_number", "=buyer_nick", "=receiver_phone"]
    # A full COUNT(*) over a year of orders on every page load is the slowest part of a changelist: neither the
    # total nor the filtered count is taken in full (CappedCountAdminMixin).
    list_per_page = 50
    inlines = [OrderLineInline]
    actions = ["export_xlsx"]
    # Money and fulfilment come from the platform; once the order exists they change only through the import, the
    # API, or the "Correct this order" page (order_correct: a reason, an event, a second supervisor for a raise).
    locked_fields = [
        "shop",
        "platform_order_id",
        "paid_amount",
        "refunded_amount",
        "paid_at",
        "packed_at",
        "shipped_at",
        "courier_code",
        "tracking_number",
        "delivered_at",
    ]
    fieldsets = [
        (None, {"fields": ["shop", "platform_order_id", "paid_amount", "refunded_amount", "paid_at"]}),
        (
            gettext_lazy("buyer and receiver"),
            {
                "fields": [
                    "buyer_nick",
                    "receiver_name",
                    "receiver_phone",
                    "province",
                    "city",
                    "district",
                    "address",
                ]
            },
        ),
        (
            gettext_lazy("fulfilment"),
            {
                "fields": [
                    "packed_at",
                    "shipped_at",
                    "courier_code",
                    "tracking_number",
                    "delivered_at",
                ]
            },
        ),
    ]

    def get_readonly_fields(self, request, obj=None):
        return self.locked_fields if obj is not None else []

    def get_fieldsets(self, request, obj=None):
        if obj is not None:
            return self.fieldsets
        # A new order has nothing refunded yet.
        first, *rest = self.fieldsets
        return [(None, {"fields": ["shop", "platform_order_id", "paid_amount", "paid_at"]}), *rest]

    def get_inlines(self, request, obj):
        return [OrderLineInline, OrderCorrectionInline, OrderEventInline] if obj is not None else [OrderLineInline]

    def get_urls(self):
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name="aftersales_order_import"),
            path(
                "<path:object_id>/correct/",
                self.admin_site.admin_view(self.correct_view),
                name="aftersales_order_correct",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        order = self.get_object(request, object_id)
        can_correct = order is not None and self.has_change_permission(request, order)
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "can_correct": can_correct})

    def correct_view(self, request, object_id):
        """Correct this order: the correctable fields prefilled, a reason, one service (order_correct)."""
        order = self.get_object(request, object_id)
        if order is None or not self.has_change_permission(request, order):
            raise PermissionDenied
        initial = {name: getattr(order, name) for name in CORRECTABLE_FIELDS}
        form = OrderCorrectionForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            changes = {name: form.cleaned_data[name] for name in CORRECTABLE_FIELDS}
            try:
                outcome = order_correct(
                    order=order, by=request.user, changes=changes, reason=form.cleaned_data["reason"]
                )
            except ActionRefused as refusal:
                form.add_error(_CORRECTION_ERROR_FIELDS.get(refusal.code), str(refusal.message))
            else:
                if outcome.event is not None:
                    self.message_user(request, _("The order was corrected."), messages.SUCCESS)
                if outcome.pending is not None:
                    self.message_user(
                        request,
                        _(
                            "The order has tickets or refunds, so raising its paid amount to ¥%(amount)s waits for "
                            "another supervisor to confirm it."
                        )
                        % {"amount": outcome.pending.changes["paid_amount"]["new"]},
                        messages.WARNING,
                    )
                return redirect("admin:aftersales_order_change", order.pk)
        return self._render_import(
            request,
            "admin/aftersales/order/correct.html",
            {"form": form, "original": order, "title": _("Correct order %(order)s") % {"order": order}},
        )

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_import": self._can_import(request)}
        return super().changelist_view(request, extra_context)

    @admin.action(description=gettext_lazy("Export selected orders to Excel"), permissions=["view"])
    def export_xlsx(self, request, queryset):
        content = orders_to_xlsx(queryset.prefetch_related("lines").order_by("shop_id", "platform_order_id"))
        response = HttpResponse(
            content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="orders-{stamp}.xlsx"'
        return response

    def _can_import(self, request) -> bool:
        return self.has_add_permission(request) and self.has_change_permission(request)

    def import_view(self, request):
        """Upload → preview (counts, row errors) → confirm. Nothing is written before the confirmation."""
        if not self._can_import(request):
            raise PermissionDenied
        if request.method == "POST" and "token" in request.POST:
            return self._import_confirm(request)
        form = OrderImportForm(request.POST or None, request.FILES or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            content = upload.read()
            try:
                rows = read_rows(content)
            except ImportFileError as error:
                form.add_error("file", str(error))
            else:
                shop = form.cleaned_data["shop"]
                plan = plan_order_import(shop=shop, rows=rows)
                open_ticket, row_errors = plan.open_ticket_orders, plan.row_errors
                stored_name = default_storage.save("order-imports/upload", ContentFile(content))
                token = signing.dumps(
                    {"stored": stored_name, "shop": shop.pk, "user": request.user.pk, "name": upload.name},
                    salt=IMPORT_TOKEN_SALT,
                )
                return self._render_import(
                    request,
                    "admin/aftersales/order/import_preview.html",
                    {
                        "plan": plan,
                        "shop": shop,
                        "file_name": upload.name,
                        "counts": plan.counts(),
                        "importable": bool(plan.orders_to_write),
                        # Updates of orders with an open ticket are listed apart, and confirmed apart.
                        "preview_orders": [
                            planned for planned in plan.orders if not planned.awaits_open_ticket_confirmation
                        ][:PREVIEW_ORDER_LIMIT],
                        "open_ticket_orders": open_ticket[:PREVIEW_ORDER_LIMIT],
                        "open_ticket_count": len(open_ticket),
                        "duplicates": plan.duplicates[:PREVIEW_ERROR_LIMIT],
                        "preview_errors": row_errors[:PREVIEW_ERROR_LIMIT],
                        "held": plan.held_orders[:PREVIEW_ORDER_LIMIT],
                        "held_count": len(plan.held_orders),
                        "hidden_errors": max(0, len(row_errors) - PREVIEW_ERROR_LIMIT),
                        "token": token,
                    },
                )
        return self._render_import(request, "admin/aftersales/order/import.html", {"form": form})

    def _import_confirm(self, request):
        try:
            ticket = signing.loads(request.POST["token"], salt=IMPORT_TOKEN_SALT, max_age=IMPORT_TOKEN_MAX_AGE_SECONDS)
        except signing.BadSignature:
            self.message_user(request, _("This preview has expired; please upload the file again."), messages.ERROR)
            return redirect("admin:aftersales_order_import")
        if ticket["user"] != request.user.pk:
            raise PermissionDenied
        shop = shops_for_user(request.user).filter(pk=ticket["shop"]).first()
        if shop is None or not default_storage.exists(ticket["stored"]):
            self.message_user(request, _("This preview has expired; please upload the file again."), messages.ERROR)
            return redirect("admin:aftersales_order_import")
        with default_storage.open(ticket["stored"], "rb") as stored:
            content = stored.read()
        # Checked again: the database may have changed since the preview.
        plan = plan_order_import(shop=shop, rows=read_rows(content))
        summary = order_import_apply(
            plan=plan,
            by=request.user,
            reason=_("Order import of %(name)s") % {"name": ticket["name"]},
            apply_to_open_tickets=request.POST.get("apply_open_ticket_updates") == "on",
        )
        default_storage.delete(ticket["stored"])
        self.message_user(
            request,
            _(
                "Imported %(name)s into %(shop)s: %(created)d new, %(updated)d updated, %(unchanged)d unchanged "
                "orders; %(rejected)d rows rejected."
            )
            % {
                "name": ticket["name"],
                "shop": shop.name,
                "created": summary.created,
                "updated": summary.updated,
                "unchanged": summary.unchanged,
                "rejected": summary.rejected_rows,
            },
            messages.WARNING if summary.rejected_rows else messages.SUCCESS,
        )
        for error in summary.refused:
            self.message_user(
                request,
                _("Row %(row)d: %(message)s") % {"row": error.row_number, "message": error.message},
                messages.ERROR,
            )
        for held in summary.held:
            self.message_user(request, held_message(held), messages.WARNING)
        if summary.skipped:
            self.message_user(
                request,
                _(
                    "Skipped %(count)d orders with an open ticket, whose update was not confirmed: %(orders)s. "
                    "Import the file again and tick their confirmation to update them."
                )
                % {"count": len(summary.skipped), "orders": ", ".join(summary.skipped)},
                messages.WARNING,
            )
        return redirect(f"{reverse('admin:aftersales_order_changelist')}?shop={shop.pk}")

    def _render_import(self, request, template, context):
        return TemplateResponse(
            request,
            template,
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": _("Import orders"),
                **context,
            },
        )


def held_message(held) -> str:
    return _(
        "Order %(order)s has tickets or refunds: its paid amount stays ¥%(current)s until another supervisor confirms "
        "the raise to ¥%(requested)s (correction #%(correction)d)."
    ) % {
        "order": held.platform_order_id,
        "current": held.current,
        "requested": held.requested,
        "correction": held.correction.pk,
    }


@admin.register(OrderCorrection)
class OrderCorrectionAdmin(ExactSearchMixin, ShopScopedAdminMixin, admin.ModelAdmin):
    """The corrections waiting for a second supervisor (raised paid amounts of orders with after-sales): confirm or
    decline from the list, never one's own."""

    list_display = ["__str__", "order", "shop", "status", "changes_display", "reason", "requested_by", "requested_at"]
    list_select_related = ["order", "shop", "requested_by"]
    list_filter = ["status", "shop"]
    search_fields = ["=order__platform_order_id"]
    list_per_page = 50
    show_full_result_count = False
    actions = ["confirm_selected", "decline_selected"]
    fields = [
        "order",
        "shop",
        "source",
        "status",
        "changes_display",
        "reason",
        "requested_by",
        "requested_at",
        "decided_by",
        "decided_at",
        "decision_note",
    ]
    readonly_fields = fields

    @admin.display(description=gettext_lazy("old → new"))
    def changes_display(self, correction):
        return _changes_table(correction.changes)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.has_perm(DECIDE_CORRECTION):
            actions.pop("confirm_selected", None)
            actions.pop("decline_selected", None)
        return actions

    @admin.action(description=gettext_lazy("Confirm the selected corrections"), permissions=["view"])
    def confirm_selected(self, request, queryset):
        self._decide(request, queryset, confirm=True)

    @admin.action(description=gettext_lazy("Decline the selected corrections"), permissions=["view"])
    def decline_selected(self, request, queryset):
        self._decide(request, queryset, confirm=False)

    def _decide(self, request, queryset, *, confirm: bool):
        done = 0
        for correction in queryset.filter(status=OrderCorrection.Status.PENDING).select_related("shop", "requested_by"):
            try:
                order_correction_decide(correction=correction, by=request.user, confirm=confirm)
            except ActionRefused as refusal:
                self.message_user(request, f"#{correction.pk}: {refusal.message}", messages.ERROR)
            else:
                done += 1
        if done:
            message = (
                _("%(count)d corrections confirmed and applied.") if confirm else _("%(count)d corrections declined.")
            )
            self.message_user(request, message % {"count": done}, messages.SUCCESS)
