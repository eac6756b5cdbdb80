"""Per-shop scoping for every admin of every app: lists, change pages, filters, foreign-key choices, batch actions.

A model admin names the path from its model to Shop (`shop_path`); everything a user can reach through that admin
is then limited to the shops assigned to them. Batch actions are covered too: Django applies them to the
changelist's queryset, which is this scoped `get_queryset`.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from aftersales.models import Shop
from desk.access import shops_for_user


class AccessibleShopFilter(admin.SimpleListFilter):
    """The shop filter of a list, offering only the user's shops (the default would list every shop's name)."""

    title = _("shop")
    parameter_name = "shop"
    shop_path = "shop"

    def lookups(self, request, model_admin):
        return [(shop.pk, shop.name) for shop in shops_for_user(request.user).only("pk", "name")]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        try:
            shop_id = int(self.value())
        except ValueError:
            return queryset.none()
        return queryset.filter(**{f"{self.shop_path}__pk" if self.shop_path else "pk": shop_id})


class ShopScopedAdminMixin:
    """Limit an admin to the user's shops. Set `shop_path` to the lookup from the model to Shop ("" for Shop)."""

    shop_path = "shop"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset.filter(**{self._shop_lookup(): shops_for_user(request.user)})

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))
        if self.shop_path and self.shop_path in filters:
            # Bind the path to this admin's filter class so AccessibleShopFilter knows where the shop is.
            scoped_filter = type("ScopedShopFilter", (AccessibleShopFilter,), {"shop_path": self.shop_path})
            filters[filters.index(self.shop_path)] = scoped_filter
        return filters

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Shop:
            kwargs["queryset"] = shops_for_user(request.user).select_related("platform")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and self._in_user_shops(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._in_user_shops(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._in_user_shops(request, obj)

    def _shop_lookup(self) -> str:
        return f"{self.shop_path}__in" if self.shop_path else "pk__in"

    def _in_user_shops(self, request, obj) -> bool:
        if obj is None or request.user.is_superuser:
            return True
        return self.get_queryset(request).filter(pk=obj.pk).exists()


class ReadOnlyInline(admin.TabularInline):
    """Related rows (a ticket's, an order's, a shop's), shown and never edited: only the services change them."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReadOnlyAdminMixin:
    """Rows that only services write: nobody adds, edits or deletes them here."""

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
