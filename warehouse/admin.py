"""Admins for the warehouse's rows: return parcels, inspections (with their evidence), early exchanges and each
shop's early-exchange rule. All are limited to the user's shops.

Parcels, inspections and early exchanges are written only by the services: the receiving station writes receipts and
inspections; here agents match an unexpected parcel to its ticket, record the courier's first scan of a return and
send an exchange's replacement early (提前换出), each through its service.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales.selectors import tickets_for_user
from desk.access import WORK
from desk.admin.paging import IdsFirstAdminMixin
from desk.admin.rows import PlainActionCheckboxMixin
from desk.admin.scoping import ReadOnlyAdminMixin, ShopScopedAdminMixin
from desk.admin.search import ExactSearchMixin
from desk.errors import ActionRefused
from warehouse.models import EarlyExchange, EarlyExchangeRule, Evidence, Inspection, InspectionLine, ReturnParcel
from warehouse.services import (
    early_exchange_send,
    normalise_tracking_number,
    return_parcel_match,
    return_parcel_record_scan,
)


def _ticket_link(ticket_id, order_number=""):
    if not ticket_id:
        return "—"
    url = reverse("admin:aftersales_aftersalesticket_change", args=[ticket_id])
    return format_html('<a href="{}">#{} {}</a>', url, ticket_id, order_number)


class TicketNumberForm(forms.Form):
    ticket = forms.CharField(
        label=gettext_lazy("ticket number"),
        max_length=20,
        help_text=gettext_lazy("The number shown as #123 on the ticket."),
    )

    def clean_ticket(self):
        value = self.cleaned_data["ticket"].strip().lstrip("#")
        if not value.isdigit():
            raise forms.ValidationError(_("Enter the ticket's number, such as #123."))
        return int(value)


@admin.register(ReturnParcel)
class ReturnParcelAdmin(
    ExactSearchMixin,
    IdsFirstAdminMixin,
    PlainActionCheckboxMixin,
    ShopScopedAdminMixin,
    ReadOnlyAdminMixin,
    admin.ModelAdmin,
):
    list_display = [
        "tracking_number",
        "shop",
        "ticket_link",
        "status",
        "first_scan_at",
        "signed_at",
        "received_at",
        "received_by",
        "is_inspected",
    ]
    list_select_related = ["shop", "ticket__order", "received_by"]
    list_filter = ["status", "shop"]
    search_fields = ["=tracking_number"]
    ordering = ["-created_at", "-id"]
    show_full_result_count = False
    list_per_page = 50
    actions = ["record_first_scan", "send_early"]
    change_list_template = "warehouse/admin/returnparcel_change_list.html"
    change_form_template = "warehouse/admin/returnparcel_change_form.html"

    @admin.display(description=gettext_lazy("ticket"), ordering="ticket_id")
    def ticket_link(self, parcel):
        return _ticket_link(parcel.ticket_id, parcel.ticket.order.platform_order_id if parcel.ticket_id else "")

    @admin.display(description=gettext_lazy("inspected"), boolean=True)
    def is_inspected(self, parcel):
        return parcel.status == ReturnParcel.Status.INSPECTED

    def get_search_results(self, request, queryset, search_term):
        # Found the way the station finds it: a scanner's spaces or lower case letters do not matter.
        return super().get_search_results(request, queryset, normalise_tracking_number(search_term))

    def has_work_permission(self, request):
        return request.user.has_perm(WORK)

    # --- actions: one service call per row, each refusal reported with its parcel ---

    @admin.action(description=gettext_lazy("Record the courier's first scan"), permissions=["work"])
    def record_first_scan(self, request, queryset):
        self._each_ticket(request, queryset, lambda ticket: return_parcel_record_scan(ticket=ticket, by=request.user))

    @admin.action(description=gettext_lazy("Send the replacement early (提前换出)"), permissions=["work"])
    def send_early(self, request, queryset):
        self._each_ticket(request, queryset, lambda ticket: early_exchange_send(ticket=ticket, by=request.user))

    def _each_ticket(self, request, queryset, call):
        done = 0
        for parcel in queryset.select_related("ticket").order_by("id"):
            if parcel.ticket is None:
                self.message_user(
                    request,
                    f"{parcel.tracking_number}: {_('This parcel has no ticket yet; an agent must match it first.')}",
                    messages.ERROR,
                )
                continue
            try:
                call(parcel.ticket)
            except ActionRefused as refusal:
                self.message_user(request, f"{parcel.tracking_number}: {refusal.message}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, _("%(count)s parcels done.") % {"count": done}, messages.SUCCESS)

    # --- pages: match an unexpected parcel; record a courier scan for a ticket whose parcel is not listed yet ---

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:object_id>/match/", view(self.match_view), name="warehouse_returnparcel_match"),
            path("record-scan/", view(self.record_scan_view), name="warehouse_returnparcel_record_scan"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra = {"can_work": self.has_work_permission(request)}
        return super().changelist_view(request, {**(extra_context or {}), **extra})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        parcel = self.get_object(request, object_id)
        extra = {}
        if parcel is not None and parcel.ticket_id is None and self.has_work_permission(request):
            extra = {"match_form": TicketNumberForm(), "parcel": parcel}
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    def match_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_work_permission(request):
            raise PermissionDenied
        parcel = get_object_or_404(self.get_queryset(request), pk=object_id)
        back = HttpResponseRedirect(reverse("admin:warehouse_returnparcel_change", args=[parcel.pk]))
        form = TicketNumberForm(request.POST)
        if not form.is_valid():
            self.message_user(request, " ".join(form.errors["ticket"]), messages.ERROR)
            return back
        ticket = tickets_for_user(request.user).filter(pk=form.cleaned_data["ticket"]).first()
        if ticket is None:
            self.message_user(
                request, _("No ticket #%(id)s in your shops.") % {"id": form.cleaned_data["ticket"]}, messages.ERROR
            )
            return back
        try:
            return_parcel_match(parcel=parcel, ticket=ticket, by=request.user)
        except ActionRefused as refusal:
            self.message_user(request, str(refusal.message), messages.ERROR)
            return back
        self.message_user(
            request,
            _("%(number)s matched to ticket #%(ticket)s; the return counts as received.")
            % {"number": parcel.tracking_number, "ticket": ticket.pk},
            messages.SUCCESS,
        )
        return back

    def record_scan_view(self, request):
        if not self.has_work_permission(request):
            raise PermissionDenied
        form = TicketNumberForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            ticket = tickets_for_user(request.user).filter(pk=form.cleaned_data["ticket"]).first()
            if ticket is None:
                form.add_error("ticket", _("No ticket #%(id)s in your shops.") % {"id": form.cleaned_data["ticket"]})
            else:
                try:
                    parcel = return_parcel_record_scan(ticket=ticket, by=request.user)
                except ActionRefused as refusal:
                    form.add_error(None, str(refusal.message))
                else:
                    self.message_user(
                        request,
                        _("The courier's first scan of %(number)s is recorded.") % {"number": parcel.tracking_number},
                        messages.SUCCESS,
                    )
                    changelist = reverse("admin:warehouse_returnparcel_changelist")
                    return HttpResponseRedirect(f"{changelist}?q={parcel.tracking_number}")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Record the courier's first scan"),
            "form": form,
            "has_view_permission": self.has_view_permission(request),
        }
        return TemplateResponse(request, "warehouse/admin/record_scan.html", context)


class InspectionLineInline(admin.TabularInline):
    model = InspectionLine
    extra = 0
    can_delete = False
    fields = ["item", "sku", "quantity_sold", "quantity_received"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order_line")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("item"))
    def item(self, line):
        return line.order_line.item_name

    @admin.display(description=gettext_lazy("SKU"))
    def sku(self, line):
        return line.order_line.sku

    @admin.display(description=gettext_lazy("quantity sold"))
    def quantity_sold(self, line):
        return line.order_line.quantity


class EvidenceInline(admin.TabularInline):
    model = Evidence
    extra = 0
    can_delete = False
    fields = ["open_link", "kind", "content_type", "size", "original_name", "uploaded_by", "uploaded_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("uploaded_by")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("file"))
    def open_link(self, item):
        url = reverse("warehouse:evidence", args=[item.pk])
        if item.kind == Evidence.Kind.PHOTO and item.content_type != "image/heic":
            return format_html(
                '<a href="{}" target="_blank" rel="noopener"><img src="{}" alt="{}" height="80"></a>',
                url,
                url,
                item.original_name,
            )
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, item.get_kind_display())


@admin.register(Inspection)
class InspectionAdmin(ExactSearchMixin, IdsFirstAdminMixin, ShopScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    shop_path = "parcel__shop"
    list_display = [
        "parcel",
        "shop_name",
        "ticket_link",
        "result",
        "inspected_by",
        "inspected_at",
        "evidence_count",
    ]
    list_select_related = ["parcel__shop", "parcel__ticket__order", "inspected_by"]
    list_filter = ["result", "parcel__shop"]
    search_fields = ["=parcel__tracking_number"]
    ordering = ["-inspected_at", "-id"]
    show_full_result_count = False
    list_per_page = 50
    inlines = [InspectionLineInline, EvidenceInline]
    fields = ["parcel", "ticket_link", "result", "notes", "inspected_by", "inspected_at", "evidence_links"]

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def get_queryset(self, request):
        # A count per listed row, not a join and GROUP BY over every inspection: the page reads its rows from the
        # ordering's index and counts the evidence of those rows only.
        evidence = Evidence.objects.filter(inspection=OuterRef("pk")).order_by().values("inspection")
        evidence_total = Coalesce(Subquery(evidence.annotate(total=Count("pk")).values("total")), 0)
        return super().get_queryset(request).annotate(evidence_total=evidence_total)

    def get_search_results(self, request, queryset, search_term):
        return super().get_search_results(request, queryset, normalise_tracking_number(search_term))

    @admin.display(description=gettext_lazy("shop"), ordering="parcel__shop__name")
    def shop_name(self, inspection):
        return inspection.parcel.shop.name

    @admin.display(description=gettext_lazy("ticket"), ordering="parcel__ticket_id")
    def ticket_link(self, inspection):
        ticket = inspection.parcel.ticket
        return _ticket_link(ticket.pk, ticket.order.platform_order_id) if ticket else "—"

    @admin.display(description=gettext_lazy("evidence"), ordering="evidence_total")
    def evidence_count(self, inspection):
        return inspection.evidence_total

    @admin.display(description=gettext_lazy("evidence"))
    def evidence_links(self, inspection):
        items = list(inspection.evidence.all())
        if not items:
            return "—"
        return format_html_join(
            " ",
            '<a href="{}" target="_blank" rel="noopener">{} {}</a>',
            (
                (reverse("warehouse:evidence", args=[item.pk]), item.get_kind_display(), index)
                for index, item in enumerate(items, 1)
            ),
        )


@admin.register(EarlyExchangeRule)
class EarlyExchangeRuleAdmin(ShopScopedAdminMixin, admin.ModelAdmin):
    """提前换出: managers switch it on per shop and set the highest order price it applies to."""

    list_display = ["shop", "is_enabled", "max_price"]
    list_select_related = ["shop"]
    list_filter = ["is_enabled", "shop"]
    ordering = ["shop__name"]
    fields = ["shop", "is_enabled", "max_price"]

    def get_readonly_fields(self, request, obj=None):
        # A rule belongs to its shop for good; moving it to another shop would silently change two shops' rules.
        return ["shop"] if obj else []


@admin.register(EarlyExchange)
class EarlyExchangeAdmin(ExactSearchMixin, ShopScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Replacements sent before the return arrived; those whose return has not come are on the daily clearance."""

    list_display = [
        "ticket_link",
        "shop",
        "return_tracking_number",
        "return_status",
        "first_scan",
        "sent_by",
        "sent_at",
    ]
    list_select_related = ["shop", "ticket__order", "parcel", "sent_by"]
    list_filter = ["parcel__status", "shop"]
    search_fields = ["=parcel__tracking_number", "=ticket__order__platform_order_id"]
    ordering = ["-sent_at", "-id"]
    show_full_result_count = False
    list_per_page = 50

    @admin.display(description=gettext_lazy("ticket"), ordering="ticket_id")
    def ticket_link(self, exchange):
        return _ticket_link(exchange.ticket_id, exchange.ticket.order.platform_order_id)

    @admin.display(description=gettext_lazy("return tracking number"))
    def return_tracking_number(self, exchange):
        return exchange.parcel.tracking_number

    @admin.display(description=gettext_lazy("return"), ordering="parcel__status")
    def return_status(self, exchange):
        return exchange.parcel.get_status_display()

    @admin.display(description=gettext_lazy("first courier scan"), ordering="parcel__first_scan_at")
    def first_scan(self, exchange):
        return exchange.parcel.first_scan_at
