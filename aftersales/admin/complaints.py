"""Complaints (投诉) in the admin: an agent records one on an order of their shops (by the order number the buyer or
the platform quotes), and later whether it was judged the merchant's liability. Both go through
aftersales.services.complaints, which writes the OrderEvent; a complaint is never deleted (the figures count it)."""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales.models import AfterSalesTicket, Complaint, Order
from aftersales.selectors import shops_for_user
from aftersales.services.complaints import complaint_check, complaint_record, complaint_set_liability
from desk.admin.scoping import ShopScopedAdminMixin
from desk.admin.search import ExactSearchMixin
from desk.errors import ActionRefused


class ComplaintAddForm(forms.ModelForm):
    platform_order_id = forms.CharField(label=gettext_lazy("platform order id"), max_length=64)
    ticket_number = forms.IntegerField(
        label=gettext_lazy("ticket number"),
        required=False,
        min_value=1,
        help_text=gettext_lazy("The after-sales ticket the complaint is about, if any (its # in the ticket list)."),
    )

    class Meta:
        model = Complaint
        fields = ["shop", "platform_order_id", "ticket_number", "opened_at", "channel", "liability", "note"]

    def clean(self):
        data = super().clean()
        shop, number = data.get("shop"), (data.get("platform_order_id") or "").strip()
        if shop is None or not number or data.get("opened_at") is None:
            return data
        order = Order.objects.filter(shop=shop, platform_order_id=number).first()
        if order is None:
            raise forms.ValidationError({"platform_order_id": _("No such order in this shop.")})
        ticket = None
        if data.get("ticket_number"):
            ticket = AfterSalesTicket.objects.filter(pk=data["ticket_number"], shop=shop).first()
            if ticket is None:
                raise forms.ValidationError({"ticket_number": _("No such ticket in this shop.")})
        try:
            complaint_check(
                order=order,
                ticket=ticket,
                opened_at=data["opened_at"],
                channel=data.get("channel"),
                liability=data.get("liability"),
            )
        except ActionRefused as refusal:
            raise forms.ValidationError(str(refusal.message)) from None
        data["order"], data["ticket"] = order, ticket
        return data


@admin.register(Complaint)
class ComplaintAdmin(ExactSearchMixin, ShopScopedAdminMixin, admin.ModelAdmin):
    shop_path = "shop"
    list_display = ["opened_at", "shop", "order", "ticket", "channel", "liability", "recorded_by"]
    list_select_related = ["shop", "order", "ticket", "recorded_by"]
    list_filter = ["shop", "channel", "liability"]
    search_fields = ["=order__platform_order_id", "=platform_complaint_id"]
    date_hierarchy = None
    ordering = ["-opened_at", "-id"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ComplaintAddForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ComplaintAddForm.Meta.fields
        return [
            "shop",
            "order",
            "ticket",
            "platform_complaint_id",
            "opened_at",
            "channel",
            "liability",
            "note",
            "recorded_by",
            "recorded_at",
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [name for name in self.get_fields(request, obj) if name != "liability"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "shop":
            kwargs["queryset"] = shops_for_user(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        try:
            if change:
                complaint_set_liability(complaint=obj, by=request.user, liability=form.cleaned_data["liability"])
                return
            complaint, _created = complaint_record(
                order=form.cleaned_data["order"],
                ticket=form.cleaned_data["ticket"],
                by=request.user,
                opened_at=form.cleaned_data["opened_at"],
                channel=form.cleaned_data["channel"],
                liability=form.cleaned_data["liability"],
                note=form.cleaned_data.get("note", ""),
            )
        except ActionRefused as refusal:
            # The form checked the same rules; only a change of permissions meanwhile gets here.
            raise PermissionDenied(str(refusal.message)) from None
        obj.pk = complaint.pk

    def has_delete_permission(self, request, obj=None):
        return False
