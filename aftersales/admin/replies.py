"""Reply templates (快捷短语): supervisors and managers keep their shops' own; the house defaults (no shop) are shown
to everyone and changed only by a superuser. No role deletes one: an inactive template is hidden, and a shop's
template with a default's title replaces or, inactive, hides that default for the shop."""

from django import forms
from django.contrib import admin
from django.db.models import Q
from django.utils.translation import gettext_lazy

from aftersales.models import ReplyTemplate
from aftersales.replies import placeholder_help
from desk.access import shops_for_user
from desk.admin.scoping import ShopScopedAdminMixin


@admin.register(ReplyTemplate)
class ReplyTemplateAdmin(ShopScopedAdminMixin, admin.ModelAdmin):
    list_display = ["title", "shop_or_default", "reason", "path", "state", "complaint_risk_only", "is_active"]
    list_display_links = ["title"]
    list_select_related = ["shop", "reason"]
    list_filter = ["is_active", "shop", "path", "state", "complaint_risk_only"]
    search_fields = ["title", "text"]
    ordering = ["sort_order", "id"]
    fields = ["shop", "title", ("reason", "path", "state"), "complaint_risk_only", "text", ("is_active", "sort_order")]

    def get_queryset(self, request):
        # The scoping mixin would drop the defaults (no shop); they are every shop's.
        queryset = super(ShopScopedAdminMixin, self).get_queryset(request)
        return queryset.filter(Q(shop__in=shops_for_user(request.user)) | Q(shop__isnull=True))

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if "shop" in form.base_fields and not request.user.is_superuser:
            form.base_fields["shop"].required = True
        if "text" in form.base_fields:
            form.base_fields["text"].help_text = gettext_lazy("Placeholders: %(list)s.") % {"list": placeholder_help()}
            form.base_fields["text"].widget = forms.Textarea(attrs={"rows": 5, "cols": 80})
        return form

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.shop_id is None and not request.user.is_superuser:
            return False  # a house default: a shop overrides it with its own template of the same title
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    @admin.display(description=gettext_lazy("shop"), ordering="shop__name")
    def shop_or_default(self, template):
        return template.shop.name if template.shop_id else gettext_lazy("every shop (default)")
