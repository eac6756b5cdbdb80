"""Admins for refunds (and the batch-refund file), reasons, escalation words and refund authorities.

Refunds are read-only here: they are made and settled only by the ticket services. The configuration models are
plain rows that supervisors and managers tune; who may change them is in migration 0007.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Exists, OuterRef
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales.admin_scoping import ShopScopedAdminMixin
from aftersales.models import (
    EscalationWord,
    Refund,
    RefundAuthority,
    ReturnReason,
    ShopGroupObjectPermission,
    ShopUserObjectPermission,
)
from aftersales.refund_batch import refunds_to_batch_xlsx
from aftersales.selectors import SHOP_PERMISSION_CODENAME, shops_for_user, user_works_in_shop

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@admin.register(Refund)
class RefundAdmin(ShopScopedAdminMixin, admin.ModelAdmin):
    """Every refund of the user's shops, for reconciliation and the day's batch-refund file."""

    list_display = [
        "ticket_link",
        "order",
        "shop",
        "kind",
        "amount",
        "status",
        "requested_by",
        "created_at",
        "executed_at",
        "gateway_reference",
    ]
    # The ticket column links to the ticket; the kind opens the refund itself (its key, gateway and failure).
    list_display_links = ["kind"]
    list_select_related = ["order", "shop", "requested_by"]
    list_filter = ["shop", "status", "kind", ("executed_at", admin.DateFieldListFilter)]
    # Exact matches only: the order id and the idempotency key are both indexed.
    search_fields = ["=order__platform_order_id", "=idempotency_key"]
    show_full_result_count = False
    list_per_page = 50
    actions = ["download_batch_file"]
    fields = [
        "ticket",
        "order",
        "shop",
        "kind",
        "amount",
        "status",
        "idempotency_key",
        "requested_by",
        "created_at",
        "executed_at",
        "gateway",
        "gateway_reference",
        "failure_reason",
    ]
    readonly_fields = fields

    # Refunds are written only by the ticket services; nobody adds, edits or deletes one as a row.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("ticket"), ordering="ticket_id")
    def ticket_link(self, refund):
        url = reverse("admin:aftersales_aftersalesticket_change", args=[refund.ticket_id])
        return format_html('<a href="{}">#{}</a>', url, refund.ticket_id)

    @admin.action(
        description=gettext_lazy("Download the batch-refund file of the selected refunds (succeeded ones only)"),
        permissions=["view"],
    )
    def download_batch_file(self, request, queryset):
        """The file a shop uploads to the marketplace's batch-refund tool (批量退款): one shop per file."""
        refunds = list(
            queryset.filter(status=Refund.Status.SUCCEEDED)
            .select_related("order", "ticket__reason")
            .order_by("executed_at", "id")
        )
        if not refunds:
            self.message_user(
                request,
                _("None of the selected refunds has succeeded; the batch-refund file lists succeeded refunds only."),
                messages.WARNING,
            )
            return None
        shop_count = len({refund.shop_id for refund in refunds})
        if shop_count > 1:
            self.message_user(
                request,
                _(
                    "The selected refunds belong to %(count)d shops, and each shop uploads its own file to its "
                    "marketplace. Filter the list by shop first."
                )
                % {"count": shop_count},
                messages.ERROR,
            )
            return None
        response = HttpResponse(refunds_to_batch_xlsx(refunds), content_type=XLSX_CONTENT_TYPE)
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="refunds-{stamp}.xlsx"'
        return response


@admin.register(ReturnReason)
class ReturnReasonAdmin(admin.ModelAdmin):
    list_display = ["code", "label_zh", "label_en", "category", "default_liability", "is_active", "sort_order"]
    list_display_links = ["code"]
    list_editable = ["is_active", "sort_order"]
    list_filter = ["category", "is_active"]
    search_fields = ["code", "label_zh", "label_en"]
    fields = ["code", "category", "label_zh", "label_en", "default_liability", "is_active", "sort_order"]

    def get_readonly_fields(self, request, obj=None):
        # Ticket events and reports name reasons by code; a code, once used, keeps its meaning.
        return ["code"] if obj else []

    def has_delete_permission(self, request, obj=None):
        # Tickets keep their reasons (PROTECT); a reason that is no longer used is deactivated instead.
        return False


@admin.register(EscalationWord)
class EscalationWordAdmin(admin.ModelAdmin):
    list_display = ["word", "is_active"]
    list_display_links = ["word"]
    list_editable = ["is_active"]
    list_filter = ["is_active"]
    search_fields = ["word"]
    fields = ["word", "is_active"]


def users_working_in(shops):
    """Active users assigned to any of `shops`, directly or through a group."""
    permission = {
        "permission__codename": SHOP_PERMISSION_CODENAME,
        "permission__content_type__app_label": "aftersales",
    }
    directly = ShopUserObjectPermission.objects.filter(user=OuterRef("pk"), content_object__in=shops, **permission)
    through_group = ShopGroupObjectPermission.objects.filter(
        group__user=OuterRef("pk"), content_object__in=shops, **permission
    )
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Exists(directly) | Exists(through_group))
        .order_by("username")
    )


class RefundAuthorityForm(forms.ModelForm):
    """Says in words what the table's constraints would refuse: a user or a group, once per shop, not oneself."""

    class Meta:
        model = RefundAuthority
        fields = ["shop", "user", "group", "max_amount"]

    def __init__(self, *args, editor=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.editor = editor

    def clean(self):
        cleaned_data = super().clean()
        shop, user, group = cleaned_data.get("shop"), cleaned_data.get("user"), cleaned_data.get("group")
        # Errors go on the user or group field: the model's own constraint checks then skip that field instead of
        # adding a second, unreadable "constraint violated" message.
        if user and group:
            self.add_error("user", _("Choose a user or a group, not both; make a second entry for the other."))
            return cleaned_data
        if not user and not group and "user" not in self.errors and "group" not in self.errors:
            self.add_error("user", _("Choose the user or the group this authority is for."))
            return cleaned_data
        if shop is None:
            return cleaned_data
        others = RefundAuthority.objects.filter(shop=shop).exclude(pk=self.instance.pk)
        if user and others.filter(user=user).exists():
            self.add_error(
                "user",
                _("%(who)s already has an authority in %(shop)s; change that one instead.")
                % {"who": user.get_username(), "shop": shop.name},
            )
        elif user and not user_works_in_shop(user, shop.pk):
            self.add_error(
                "user",
                _("%(who)s is not assigned to %(shop)s.") % {"who": user.get_username(), "shop": shop.name},
            )
        if group and others.filter(group=group).exists():
            self.add_error(
                "group",
                _("The group %(who)s already has an authority in %(shop)s; change that one instead.")
                % {"who": group.name, "shop": shop.name},
            )
        self._refuse_own_authority(user, group)
        return cleaned_data

    def _refuse_own_authority(self, user, group):
        # 逐级授权: a limit is set by someone above it, so nobody raises their own, directly or through a group.
        editor = self.editor
        if editor is None or editor.is_superuser:
            return
        if user and user.pk == editor.pk:
            self.add_error("user", _("You cannot set your own authority; ask a manager or the shop owner."))
        if group and editor.groups.filter(pk=group.pk).exists():
            self.add_error(
                "group", _("You cannot set the authority of a group you belong to; ask a manager or the shop owner.")
            )


@admin.register(RefundAuthority)
class RefundAuthorityAdmin(ShopScopedAdminMixin, admin.ModelAdmin):
    shop_path = "shop"
    form = RefundAuthorityForm
    list_display = ["shop", "user", "group", "max_amount"]
    list_select_related = ["shop", "user", "group"]
    list_filter = ["shop", "group"]
    search_fields = ["user__username", "group__name"]
    ordering = ["shop_id", "group__name", "user__username"]
    fields = ["shop", "user", "group", "max_amount"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change, **kwargs)

        class FormForEditor(form_class):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, editor=request.user, **kwargs)

        return FormForEditor

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Plain selects with short lists rather than autocomplete: the roles may not browse the user list, and only
        # people working in the editor's shops can be given an authority there.
        if db_field.name == "user":
            kwargs["queryset"] = users_working_in(shops_for_user(request.user))
        elif db_field.name == "group":
            kwargs["queryset"] = Group.objects.order_by("name")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
