"""The API's base views: read-only resources of the caller's shops, newest first, behind the role's model permission
as in the admin. Every app's API builds on these; the error shape and idempotent writes are in desk.api.support."""

from rest_framework import mixins, permissions, viewsets
from rest_framework.pagination import CursorPagination

from desk.access import shops_for_user


class CanViewModel(permissions.BasePermission):
    """The role's model permission to read the view's model, as in the admin (a clerk reads orders, not refunds).
    A view may name the permissions its writes need in `write_permissions` ({action: [perm, ...]})."""

    def has_permission(self, request, view):
        meta = view.get_queryset().model._meta
        needed = getattr(view, "write_permissions", {}).get(getattr(view, "action", None))
        if needed is not None:
            return request.user.has_perms(needed)
        return request.user.has_perm(f"{meta.app_label}.view_{meta.model_name}")


class NewestFirst(CursorPagination):
    ordering = "-id"
    page_size = 100
    max_page_size = 500
    page_size_query_param = "page_size"


class ScopedReadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A read-only resource of the caller's shops: `scoped_queryset` filtered by `shop_path` in shops_for_user."""

    pagination_class = NewestFirst
    permission_classes = [permissions.IsAuthenticated, CanViewModel]
    shop_path = "shop"
    scoped_queryset = None

    def get_queryset(self):
        return self.scoped_queryset.filter(**{f"{self.shop_path}__in": shops_for_user(self.request.user)})
