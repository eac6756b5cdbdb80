"""Admins for refunds (and the batch-refund file), reasons, escalation words and refund authorities.

Refunds are read-only here: they are made and settled only by the ticket services. The configuration models are
plain rows that supervisors and managers tune; who may change them is in migration 0007.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales.models import (
    AuthorityGrantEvent,
    EscalationWord,
    Refund,
    RefundAuthority,
    RefundBatch,
    ReturnReason,
    Shop,
    ShopGroupObjectPermission,
    ShopUserObjectPermission,
)
from aftersales.roles import role_label
from aftersales.selectors import SHOP_PERMISSION_CODENAME, shops_for_user, unconfirmed_refunds_q, user_works_in_shop
from aftersales.services.authority import ADD as ADD_AUTHORITY
from aftersales.services.authority import CHANGE as CHANGE_AUTHORITY
from aftersales.services.authority import refund_authority_check, refund_authority_grant, refund_authority_revoke
from aftersales.services.refunds import refund_batch_confirm, refund_batch_create, refund_batch_results_import
from desk.admin.paging import CappedCountAdminMixin
from desk.admin.scoping import ReadOnlyAdminMixin, ShopScopedAdminMixin
from desk.admin.search import ExactSearchMixin
from desk.errors import ActionRefused

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def batch_file_response(batch: RefundBatch) -> HttpResponse:
    response = HttpResponse(bytes(batch.content), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{batch.filename}"'
    return response


class UnconfirmedFilter(admin.SimpleListFilter):
    """Sent refunds the marketplace has not confirmed within the shop's hours (日清 and the dashboard link here)."""

    title = gettext_lazy("confirmation")
    parameter_name = "unconfirmed"

    def lookups(self, request, model_admin):
        return [("overdue", gettext_lazy("sent, unconfirmed past the shop's hours"))]

    def queryset(self, request, queryset):
        if self.value() == "overdue":
            return queryset.filter(unconfirmed_refunds_q(timezone.now()))
        return queryset


@admin.register(Refund)
class RefundAdmin(ExactSearchMixin, CappedCountAdminMixin, ShopScopedAdminMixin, admin.ModelAdmin):
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
        "sent_at",
        "confirmed_at",
        "batch_link",
        "gateway_reference",
    ]
    # The ticket column links to the ticket; the kind opens the refund itself (its key, gateway and failure).
    list_display_links = ["kind"]
    list_select_related = ["order", "shop", "requested_by"]
    list_filter = ["shop", "status", UnconfirmedFilter, "kind", ("confirmed_at", admin.DateFieldListFilter)]
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
        "send_attempts",
        "sent_at",
        "confirmed_at",
        "batch",
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
        description=gettext_lazy("Make the batch-refund file of the shop's refunds waiting for one"),
        permissions=["view"],
    )
    def download_batch_file(self, request, queryset):
        """The file a shop uploads to the marketplace's batch-refund tool (批量退款): the selection names the shop; the
        file holds every refund of that shop waiting for a batch, recorded as a RefundBatch (refund_batch_create)."""
        shop_ids = set(queryset.values_list("shop_id", flat=True).distinct())
        if len(shop_ids) > 1:
            self.message_user(
                request,
                _(
                    "The selected refunds belong to %(count)d shops, and each shop uploads its own file to its "
                    "marketplace. Filter the list by shop first."
                )
                % {"count": len(shop_ids)},
                messages.ERROR,
            )
            return None
        shop = Shop.objects.get(pk=shop_ids.pop())
        try:
            batch = refund_batch_create(shop=shop, by=request.user)
        except ActionRefused as refusal:
            self.message_user(request, refusal.message, messages.ERROR)
            return None
        if batch is None:
            self.message_user(
                request,
                _("No refund of this shop is waiting for a batch file. Earlier files are on the refund batches page."),
                messages.WARNING,
            )
            return None
        return batch_file_response(batch)

    @admin.display(description=gettext_lazy("batch"), ordering="batch_id")
    def batch_link(self, refund):
        if refund.batch_id is None:
            return "—"
        url = reverse("admin:aftersales_refundbatch_change", args=[refund.batch_id])
        return format_html('<a href="{}">#{}</a>', url, refund.batch_id)


class ResultFileForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("result file (xlsx or csv)"),
        help_text=gettext_lazy("The batch tool's result: a refund reference column (网关流水号) and a result column."),
    )


class BatchConfirmForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("note"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=1000,
        help_text=gettext_lazy("Why the batch is confirmed without the marketplace's result file."),
    )


@admin.register(RefundBatch)
class RefundBatchAdmin(ShopScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """批量退款文件: every batch file made, to download again, to import its result, or to confirm by hand."""

    list_display = ["number", "shop", "created_by", "created_at", "refund_count", "total", "confirmed_at"]
    list_display_links = ["number"]
    list_select_related = ["shop", "created_by"]
    list_filter = ["shop"]
    fields = [
        "shop",
        "number",
        "created_by",
        "created_at",
        "refund_count",
        "total",
        "confirmed_by",
        "confirmed_at",
        "confirmation_note",
        "links",
    ]

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    @admin.display(description=gettext_lazy("file and results"))
    def links(self, batch):
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a> · <a href="{}">{}</a> · <a href="{}">{}</a>',
            reverse("admin:aftersales_refundbatch_download", args=[batch.pk]),
            _("Download the file again"),
            reverse("admin:aftersales_refundbatch_results", args=[batch.pk]),
            _("Import the marketplace's result file"),
            reverse("admin:aftersales_refundbatch_confirm", args=[batch.pk]),
            _("Confirm the whole batch by hand"),
            reverse("admin:aftersales_refund_changelist") + f"?batch__id__exact={batch.pk}",
            _("Its refunds"),
        )

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:object_id>/download/", view(self.download_view), name="aftersales_refundbatch_download"),
            path("<int:object_id>/results/", view(self.results_view), name="aftersales_refundbatch_results"),
            path("<int:object_id>/confirm/", view(self.confirm_view), name="aftersales_refundbatch_confirm"),
            *super().get_urls(),
        ]

    def _batch(self, request, object_id) -> RefundBatch:
        batch = self.get_object(request, str(object_id))
        if batch is None or not self.has_view_permission(request, batch):
            raise Http404
        return batch

    def download_view(self, request, object_id):
        return batch_file_response(self._batch(request, object_id))

    def _page(self, request, batch, form, *, title, intro, submit_label, report=None):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "intro": intro,
            "form": form,
            "report": report,
            "submit_label": submit_label,
            "back_url": reverse("admin:aftersales_refundbatch_change", args=[batch.pk]),
        }
        return TemplateResponse(request, "admin/aftersales/refundbatch/form.html", context)

    def results_view(self, request, object_id):
        batch = self._batch(request, object_id)
        form = ResultFileForm(request.POST or None, request.FILES or None)
        report = None
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                report = refund_batch_results_import(shop=batch.shop, content=upload.read(), by=request.user)
            except ActionRefused as refusal:
                form.add_error("file", refusal.message)
        return self._page(
            request,
            batch,
            form,
            title=_("Import the result file of batch %(number)s") % {"number": batch.number},
            intro=_("Each row confirms or fails the refund it names; rows that match nothing are listed, not guessed."),
            submit_label=_("Import"),
            report=report,
        )

    def confirm_view(self, request, object_id):
        batch = self._batch(request, object_id)
        form = BatchConfirmForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                count = refund_batch_confirm(batch=batch, by=request.user, note=form.cleaned_data["note"])
            except ActionRefused as refusal:
                form.add_error(None, refusal.message)
            else:
                self.message_user(request, _("%(count)d refunds confirmed.") % {"count": count}, messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:aftersales_refundbatch_change", args=[batch.pk]))
        return self._page(
            request,
            batch,
            form,
            title=_("Confirm batch %(number)s by hand") % {"number": batch.number},
            intro=_("Only when no result file exists: every refund of the batch still waiting is confirmed."),
            submit_label=_("Confirm"),
        )


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


# Where a refusal of refund_authority_check shows on the authority form.
_AUTHORITY_ERROR_FIELDS = {"over_authority": "max_amount", "invalid_amount": "max_amount"}


class RefundAuthorityForm(forms.ModelForm):
    """Says in words what the table's constraints would refuse (a user or a group, once per shop) and what the
    grant rules refuse (services.authority.refund_authority_check: not oneself, supervisors only to agents and
    within their own authority). Shop, user and group are fixed once the row exists: only the amount changes."""

    class Meta:
        model = RefundAuthority
        fields = ["shop", "user", "group", "max_amount"]

    def __init__(self, *args, editor=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.editor = editor

    def clean(self):
        cleaned_data = super().clean()
        if "user" in self.fields:
            shop, user, group = cleaned_data.get("shop"), cleaned_data.get("user"), cleaned_data.get("group")
            if not self._check_new_row(shop, user, group):
                return cleaned_data
        else:
            shop, user, group = self.instance.shop, self.instance.user, self.instance.group
        max_amount = cleaned_data.get("max_amount")
        if self.editor is None or shop is None or max_amount is None or self.errors:
            return cleaned_data
        try:
            refund_authority_check(
                shop=shop,
                by=self.editor,
                user=user,
                group=group,
                max_amount=max_amount,
                permission=CHANGE_AUTHORITY if self.instance.pk else ADD_AUTHORITY,
            )
        except ActionRefused as refusal:
            field = _AUTHORITY_ERROR_FIELDS.get(refusal.code, "user" if user else "group")
            # On an existing row the user and group are shown, not fields: the refusal is the form's.
            self.add_error(field if field in self.fields else None, str(refusal.message))
        return cleaned_data

    def _check_new_row(self, shop, user, group) -> bool:
        # Errors go on the user or group field: the model's own constraint checks then skip that field instead of
        # adding a second, unreadable "constraint violated" message.
        if user and group:
            self.add_error("user", _("Choose a user or a group, not both; make a second entry for the other."))
            return False
        if not user and not group:
            if "user" not in self.errors and "group" not in self.errors:
                self.add_error("user", _("Choose the user or the group this authority is for."))
            return False
        if shop is None:
            return False
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
                % {"who": role_label(group.name), "shop": shop.name},
            )
        return not self.errors


class RoleGroupChoiceField(forms.ModelChoiceField):
    """The role groups under their labels in the user's language (客服, 主管, ...)."""

    def label_from_instance(self, obj):
        return role_label(obj.name)


@admin.register(RefundAuthority)
class RefundAuthorityAdmin(ShopScopedAdminMixin, admin.ModelAdmin):
    """Every grant, change and removal goes through services.authority, which checks who may set whose authority
    and writes the AuthorityGrantEvent."""

    shop_path = "shop"
    form = RefundAuthorityForm
    list_display = ["shop", "user", "group_label", "max_amount"]
    list_select_related = ["shop", "user", "group"]
    list_filter = ["shop", "group"]
    search_fields = ["user__username", "group__name"]
    ordering = ["shop_id", "group__name", "user__username"]
    fields = ["shop", "user", "group", "max_amount"]

    def get_fields(self, request, obj=None):
        return ["shop", "user", "group_label", "max_amount"] if obj is not None else self.fields

    def get_readonly_fields(self, request, obj=None):
        return ["shop", "user", "group_label"] if obj is not None else []

    @admin.display(description=gettext_lazy("group"), ordering="group__name")
    def group_label(self, authority):
        return role_label(authority.group.name) if authority.group_id else "-"

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
            kwargs["form_class"] = RoleGroupChoiceField
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        try:
            authority = refund_authority_grant(
                shop=obj.shop, by=request.user, user=obj.user, group=obj.group, max_amount=obj.max_amount
            )
        except ActionRefused as refusal:
            # The form checked the same rules; only a change made meanwhile by someone else gets here.
            raise PermissionDenied(str(refusal.message)) from None
        obj.pk = authority.pk

    def delete_model(self, request, obj):
        try:
            refund_authority_revoke(authority=obj, by=request.user)
        except ActionRefused as refusal:
            raise PermissionDenied(str(refusal.message)) from None

    def delete_queryset(self, request, queryset):
        for authority in queryset.select_related("shop", "user", "group"):
            self.delete_model(request, authority)


@admin.register(AuthorityGrantEvent)
class AuthorityGrantEventAdmin(ReadOnlyAdminMixin, ShopScopedAdminMixin, admin.ModelAdmin):
    """Who set whose refund authority, when, old → new."""

    shop_path = "shop"
    list_display = ["at", "shop", "actor", "user", "group_label", "action", "old_amount", "new_amount"]
    list_select_related = ["shop", "actor", "user", "group"]
    list_filter = ["shop", "action"]
    search_fields = ["user__username", "group__name", "actor__username"]
    list_per_page = 50
    show_full_result_count = False

    @admin.display(description=gettext_lazy("group"), ordering="group__name")
    def group_label(self, event):
        return role_label(event.group.name) if event.group_id else "-"
