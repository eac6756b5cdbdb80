"""The claims ledger (售后汇总表) in the admin: the claims of the user's shops with month, courier and status filters
and the filtered list's totals; a courier's month as the reconciliation sheet, and the courier's answered sheet
applied back.

Claims are read-only rows here: they change only through the claims services (submit, review, settlement).
"""

import re
from datetime import date
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpResponse
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from aftersales.money import YuanSum
from desk.admin.paging import IdsFirstAdminMixin
from desk.admin.rows import PlainActionCheckboxMixin
from desk.admin.scoping import ReadOnlyAdminMixin, ShopScopedAdminMixin
from desk.admin.search import ExactSearchMixin
from desk.errors import ActionRefused
from logistics.admin.inlines import EventInline
from logistics.claims_sheet import (
    MAX_BYTES,
    REFERENCE,
    SheetFileError,
    claims_for_sheet,
    claims_to_xlsx,
    read_settlement,
)
from logistics.models import Courier, CourierClaim
from logistics.services import (
    claim_review_done,
    claims_apply_settlement,
    claims_file_not_back,
    claims_not_back,
    claims_submit,
)

RECONCILE = "logistics.reconcile_courierclaim"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MONTH = re.compile(r"(\d{4})-(\d{1,2})")


def parse_month(value) -> date | None:
    """'2026-11' as the first day of that month; None for anything else."""
    match = MONTH.fullmatch(str(value or "").strip())
    if match is None or not 1 <= int(match[2]) <= 12 or int(match[1]) < 2000:
        return None
    return date(int(match[1]), int(match[2]), 1)


class MonthFilter(admin.SimpleListFilter):
    """The months the user's claims fall in, newest first (one query over the courier-month index)."""

    title = gettext_lazy("month")
    parameter_name = "month"

    def lookups(self, request, model_admin):
        months = model_admin.get_queryset(request).order_by("-month").values_list("month", flat=True).distinct()
        return [(f"{month:%Y-%m}", f"{month:%Y-%m}") for month in months]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        month = parse_month(self.value())
        return queryset.none() if month is None else queryset.filter(month=month)


class NotBackFilter(admin.SimpleListFilter):
    """月底仓库核对: the intercepted and lost parcels never back at the warehouse (services.claims_not_back)."""

    title = gettext_lazy("month-end check")
    parameter_name = "not_back"

    def lookups(self, request, model_admin):
        return [("yes", gettext_lazy("parcels not back at the warehouse"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(pk__in=claims_not_back().values("pk"))
        return queryset


class MonthField(forms.DateField):
    """A reconciliation month typed as 2026-11 (a browser's month picker sends that), kept as its first day."""

    input_formats = ["%Y-%m", "%Y/%m", "%Y-%m-%d"]
    widget = forms.DateInput(format="%Y-%m", attrs={"type": "month", "placeholder": "2026-11"})

    def to_python(self, value):
        month = super().to_python(value)
        return month.replace(day=1) if month else month


class ClaimSheetForm(forms.Form):
    courier = forms.ModelChoiceField(label=gettext_lazy("courier"), queryset=Courier.objects.order_by("code"))
    month = MonthField(label=gettext_lazy("month"), help_text=gettext_lazy("The reconciliation month, e.g. 2026-11."))


class SettlementUploadForm(ClaimSheetForm):
    file = forms.FileField(
        label=gettext_lazy("settlement sheet"),
        help_text=gettext_lazy(
            "The month's sheet as the courier returned it (.xlsx), with 快递结果 (赔付 or 拒赔), 赔付金额 and 说明 "
            "filled in. Rows left without a result are skipped."
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(
                _("The file is %(size)s; at most %(max)s can be read at once."),
                params={"size": filesizeformat(upload.size), "max": filesizeformat(MAX_BYTES)},
            )
        return upload


class ClaimEventInline(EventInline):
    fk_name = "claim"


@admin.register(CourierClaim)
class CourierClaimAdmin(
    ExactSearchMixin,
    IdsFirstAdminMixin,
    PlainActionCheckboxMixin,
    ShopScopedAdminMixin,
    ReadOnlyAdminMixin,
    admin.ModelAdmin,
):
    """Read-only rows: claims change only through the claims services (submit, review, settlement)."""

    list_display = [
        "reference",
        "month_label",
        "courier",
        "shop",
        "order",
        "tracking_number",
        "cause",
        "remedy",
        "loss_amount",
        "claim_amount",
        "settled_amount",
        "status",
        "needs_review",
    ]
    list_select_related = ["courier", "shop", "order", "shipment"]
    list_filter = [NotBackFilter, MonthFilter, "courier", "status", "cause", "shop"]
    # Exact matches only (indexed); a claim reference such as CL000123 is found too.
    search_fields = ["=order__platform_order_id", "=shipment__tracking_number"]
    show_full_result_count = False
    # 50 rows like every daily list: Django renders each of the 14 cells of a row on its own, and at 100 rows that
    # rendering alone put a page over its 300 ms. The totals above the list still cover every filtered claim, and a
    # courier's month goes whole into the sheet.
    list_per_page = 50
    actions = ["file_not_back", "mark_submitted", "mark_reviewed"]
    inlines = [ClaimEventInline]
    fields = [
        "shop",
        "courier",
        "month",
        "status",
        "order",
        "shipment",
        "ticket",
        "refund",
        "cause",
        "remedy",
        "loss_amount",
        "claim_amount",
        "settled_amount",
        "review_note",
        "courier_note",
        "created_at",
        "decided_at",
    ]

    def has_reconcile_permission(self, request):
        return request.user.has_perm(RECONCILE)

    # --- the list ---

    @admin.display(description=gettext_lazy("reference"), ordering="id")
    def reference(self, claim):
        return claim.reference

    @admin.display(description=gettext_lazy("month"), ordering="month")
    def month_label(self, claim):
        return f"{claim.month:%Y-%m}"

    @admin.display(description=gettext_lazy("tracking number"))
    def tracking_number(self, claim):
        return claim.shipment.tracking_number if claim.shipment_id else claim.order.tracking_number

    @admin.display(description=gettext_lazy("review"))
    def needs_review(self, claim):
        if not claim.review_note:
            return ""
        return format_html(
            '<strong class="claim-needs-review" style="color: var(--error-fg)" title="{}">{}</strong>',
            claim.review_note,
            _("needs review"),
        )

    def get_search_results(self, request, queryset, search_term):
        match = REFERENCE.fullmatch("".join(search_term.split()))
        if match:
            return queryset.filter(pk=int(match[1])), False
        return super().get_search_results(request, queryset, search_term)

    def changelist_view(self, request, extra_context=None):
        extra = {
            "can_reconcile": self.has_reconcile_permission(request),
            "sheet_query": self._sheet_query(request),
        }
        response = super().changelist_view(request, {**(extra_context or {}), **extra})
        context = getattr(response, "context_data", None)
        if context and "cl" in context:
            # The filtered list's totals in one aggregate, whatever page is shown.
            context["claim_totals"] = context["cl"].queryset.aggregate(
                count=Count("id"),
                loss=YuanSum("loss_amount"),
                claimed=YuanSum("claim_amount"),
                settled=YuanSum("settled_amount"),
            )
        return response

    def _sheet_query(self, request) -> str:
        """The list's courier and month filters, carried to the sheet pages as their form's initial values."""
        chosen = {"courier": request.GET.get("courier__id__exact"), "month": request.GET.get("month")}
        chosen = {name: value for name, value in chosen.items() if value}
        return f"?{urlencode(chosen)}" if chosen else ""

    # --- batch actions: one service call, its refusal shown ---

    @admin.action(
        description=gettext_lazy("Not back by the month-end check: file with the courier"), permissions=["reconcile"]
    )
    def file_not_back(self, request, queryset):
        selected = list(queryset.values_list("pk", flat=True))
        try:
            filed = claims_file_not_back(by=request.user, claim_ids=selected)
        except ActionRefused as refusal:
            self.message_user(request, refusal.message, messages.ERROR)
            return
        self.message_user(
            request,
            _(
                "%(filed)d of the %(selected)d selected claims filed with the courier; only claims still waiting for "
                "their parcel after their month are."
            )
            % {"filed": filed, "selected": len(selected)},
            messages.SUCCESS if filed == len(selected) else messages.WARNING,
        )

    @admin.action(description=gettext_lazy("Mark as submitted to the courier"), permissions=["reconcile"])
    def mark_submitted(self, request, queryset):
        selected = list(queryset.select_related(None).only("pk"))
        try:
            submitted = claims_submit(claims=selected, by=request.user)
        except ActionRefused as refusal:
            self.message_user(request, refusal.message, messages.ERROR)
            return
        self.message_user(
            request,
            _("%(submitted)d of the %(selected)d selected claims marked as submitted; only open claims can be.")
            % {"submitted": submitted, "selected": len(selected)},
            messages.SUCCESS if submitted == len(selected) else messages.WARNING,
        )

    @admin.action(description=gettext_lazy("Mark as reviewed"), permissions=["reconcile"])
    def mark_reviewed(self, request, queryset):
        reviewed = 0
        for claim in queryset.exclude(review_note="").order_by("id"):
            try:
                claim_review_done(claim=claim, by=request.user)
            except ActionRefused as refusal:
                self.message_user(request, f"{claim.reference}: {refusal.message}", messages.ERROR)
            else:
                reviewed += 1
        self.message_user(
            request,
            ngettext("%(count)d claim marked as reviewed.", "%(count)d claims marked as reviewed.", reviewed)
            % {"count": reviewed},
            messages.SUCCESS if reviewed else messages.WARNING,
        )

    # --- the sheet pages ---

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("export-sheet/", view(self.export_sheet_view), name="logistics_courierclaim_export_sheet"),
            path("not-back.xlsx", view(self.export_not_back_view), name="logistics_courierclaim_export_not_back"),
            path("import-settlement/", view(self.import_settlement_view), name="logistics_courierclaim_import"),
            *super().get_urls(),
        ]

    def export_not_back_view(self, request):
        """The month-end list (月底仓库核对) as a sheet: every parcel of the user's shops still claimed as intercepted
        or lost and never back at the warehouse, for the warehouse to check its shelves against."""
        if not self.has_reconcile_permission(request):
            raise PermissionDenied
        claims = claims_not_back(user=request.user).select_related("shop", "order", "shipment").order_by("month", "id")
        response = HttpResponse(claims_to_xlsx(claims), content_type=XLSX_CONTENT_TYPE)
        response["Content-Disposition"] = 'attachment; filename="parcels-not-back.xlsx"'
        return response

    def export_sheet_view(self, request):
        """A courier's month as the reconciliation sheet (.xlsx), for the claims of the user's shops."""
        if not self.has_reconcile_permission(request):
            raise PermissionDenied
        form = ClaimSheetForm(request.POST or None, initial=self._sheet_initial(request))
        if request.method == "POST" and form.is_valid():
            courier, month = form.cleaned_data["courier"], form.cleaned_data["month"]
            claims = list(claims_for_sheet(courier=courier, month=month, user=request.user))
            if claims:
                response = HttpResponse(claims_to_xlsx(claims), content_type=XLSX_CONTENT_TYPE)
                code = re.sub(r"[^A-Za-z0-9_-]", "", courier.code) or courier.pk
                response["Content-Disposition"] = f'attachment; filename="claims-{code}-{month:%Y-%m}.xlsx"'
                return response
            form.add_error(
                None,
                _("%(courier)s has no claims for %(month)s in your shops.")
                % {"courier": courier.name, "month": f"{month:%Y-%m}"},
            )
        return self._render(request, "admin/logistics/claims_export.html", _("Export a courier's month"), form=form)

    def import_settlement_view(self, request):
        """The courier's answered sheet: every answered row settled or rejected, or nothing when any row is wrong."""
        if not self.has_reconcile_permission(request):
            raise PermissionDenied
        form = SettlementUploadForm(request.POST or None, request.FILES or None, initial=self._sheet_initial(request))
        title = _("Import the courier's settlement sheet")
        row_errors = []
        if request.method == "POST" and form.is_valid():
            courier, month = form.cleaned_data["courier"], form.cleaned_data["month"]
            try:
                sheet = read_settlement(
                    form.cleaned_data["file"].read(), courier=courier, month=month, user=request.user
                )
            except SheetFileError as error:
                form.add_error("file", str(error))
            else:
                row_errors = sheet.errors
                if row_errors:
                    form.add_error(
                        None,
                        ngettext(
                            "%(count)d row has an error; nothing was applied. Correct it and upload the sheet again.",
                            "%(count)d rows have errors; nothing was applied. Correct them and upload the sheet again.",
                            len(row_errors),
                        )
                        % {"count": len(row_errors)},
                    )
                elif not sheet.rows:
                    form.add_error("file", _("No row has a result (快递结果); nothing to apply."))
                else:
                    try:
                        summary = claims_apply_settlement(
                            courier=courier, month=month, rows=sheet.rows, by=request.user
                        )
                    except ActionRefused as refusal:
                        form.add_error(None, str(refusal.message))
                    else:
                        changelist = reverse("admin:logistics_courierclaim_changelist")
                        query = urlencode({"courier__id__exact": courier.pk, "month": f"{month:%Y-%m}"})
                        return self._render(
                            request,
                            "admin/logistics/claims_import_done.html",
                            title,
                            summary=summary,
                            courier=courier,
                            month=f"{month:%Y-%m}",
                            unanswered=sheet.unanswered,
                            ledger_url=f"{changelist}?{query}",
                        )
        return self._render(request, "admin/logistics/claims_import.html", title, form=form, row_errors=row_errors)

    def _sheet_initial(self, request) -> dict:
        initial = {}
        if request.GET.get("courier", "").isdigit():
            initial["courier"] = int(request.GET["courier"])
        if parse_month(request.GET.get("month")):
            initial["month"] = parse_month(request.GET["month"])
        return initial

    def _render(self, request, template, title, **context):
        return TemplateResponse(
            request,
            template,
            {**self.admin_site.each_context(request), "opts": self.model._meta, "title": title, **context},
        )
