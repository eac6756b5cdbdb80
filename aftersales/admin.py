from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales.admin_paging import CappedCountAdminMixin
from aftersales.admin_scoping import ShopScopedAdminMixin
from aftersales.forms import OrderImportForm
from aftersales.models import Order, OrderLine, Platform, Shop
from aftersales.order_export import orders_to_xlsx
from aftersales.order_import import ImportFileError, plan_order_import, read_rows
from aftersales.selectors import shops_for_user, user_may_edit_platform
from aftersales.services import order_import_apply, shop_set_members

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


class ShopMembersForm(forms.ModelForm):
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

    class Meta:
        model = Shop
        fields = ["code", "name", "platform", "platform_shop_id", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and "members" in self.fields:
            self.initial["members"] = [p.user_id for p in self.instance.shopuserobjectpermission_set.all()]
            self.initial["member_groups"] = [p.group_id for p in self.instance.shopgroupobjectpermission_set.all()]


@admin.register(Shop)
class ShopAdmin(ShopScopedAdminMixin, admin.ModelAdmin):
    shop_path = ""
    list_display = ["name", "code", "platform", "is_active"]
    list_select_related = ["platform"]
    list_filter = ["platform", "is_active"]
    search_fields = ["name", "code"]

    def get_fields(self, request, obj=None):
        fields = ["code", "name", "platform", "platform_shop_id", "is_active"]
        return [*fields, "members", "member_groups"] if request.user.is_superuser else fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = ShopMembersForm if request.user.is_superuser else forms.ModelForm
        return super().get_form(request, obj, change, **kwargs)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if request.user.is_superuser:
            shop_set_members(
                shop=form.instance,
                users=form.cleaned_data["members"],
                groups=form.cleaned_data["member_groups"],
            )


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    fields = ["sku", "item_name", "quantity", "paid_amount"]


@admin.register(Order)
class OrderAdmin(CappedCountAdminMixin, ShopScopedAdminMixin, admin.ModelAdmin):
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
    list_filter = ["shop", "province"]
    # Exact matches only: they hit the unique and tracking-number indexes on a year of orders.
    search_fields = ["=platform_order_id", "=tracking_number", "=buyer_nick", "=receiver_phone"]
    # A full COUNT(*) over a year of orders on every page load is the slowest part of a changelist: neither the
    # total nor the filtered count is taken in full (CappedCountAdminMixin).
    list_per_page = 50
    inlines = [OrderLineInline]
    actions = ["export_xlsx"]
    fieldsets = [
        (None, {"fields": ["shop", "platform_order_id", "paid_amount", "paid_at"]}),
        (
            gettext_lazy("buyer"),
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

    def get_urls(self):
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name="aftersales_order_import"),
            *super().get_urls(),
        ]

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
                        "preview_orders": plan.orders[:PREVIEW_ORDER_LIMIT],
                        "preview_errors": plan.errors[:PREVIEW_ERROR_LIMIT],
                        "hidden_errors": max(0, len(plan.errors) - PREVIEW_ERROR_LIMIT),
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
        summary = order_import_apply(plan=plan)
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


# The ticket desk and its configuration live in their own modules; importing them registers their admins.
from aftersales import admin_config, admin_sweeps, admin_tickets  # noqa: E402, F401
