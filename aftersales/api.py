"""The core's REST resources (/api/v1/): orders and tickets, read through the same per-shop selectors as the admin.

A list never shows another shop's rows (the selectors scope by the user's shops); lists page by cursor, newest first,
with a fixed number of queries whatever the page holds.
"""

from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.pagination import CursorPagination

from aftersales.models import AfterSalesTicket, Order
from aftersales.selectors import orders_for_user, tickets_for_user


class CanViewModel(permissions.BasePermission):
    """The role's model permission to read the view's model, as in the admin (a clerk reads orders, not refunds)."""

    def has_permission(self, request, view):
        meta = view.get_queryset().model._meta
        return request.user.has_perm(f"{meta.app_label}.view_{meta.model_name}")


class NewestFirst(CursorPagination):
    ordering = "-id"
    page_size = 100
    max_page_size = 500
    page_size_query_param = "page_size"


class OrderSerializer(serializers.ModelSerializer):
    shop = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "shop",
            "platform_order_id",
            "buyer_nick",
            "province",
            "paid_amount",
            "paid_at",
            "packed_at",
            "shipped_at",
            "courier_code",
            "tracking_number",
            "delivered_at",
            "refunded_amount",
        ]


class TicketSerializer(serializers.ModelSerializer):
    shop = serializers.SlugRelatedField(slug_field="code", read_only=True)
    order = serializers.SlugRelatedField(slug_field="platform_order_id", read_only=True)
    reason = serializers.SlugRelatedField(slug_field="code", read_only=True)
    first_reason = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = AfterSalesTicket
        fields = [
            "id",
            "shop",
            "order",
            "platform_ticket_id",
            "kind",
            "path",
            "state",
            "first_reason",
            "reason",
            "liability",
            "requested_amount",
            "escalation_risk",
            "opened_at",
            "deadline",
            "sla_due",
            "closed_at",
        ]


class OrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Orders of the shops the caller works in."""

    serializer_class = OrderSerializer
    pagination_class = NewestFirst
    permission_classes = [permissions.IsAuthenticated, CanViewModel]
    filterset_fields = {"shop__code": ["exact"], "paid_at": ["gte", "lt"], "tracking_number": ["exact"]}

    def get_queryset(self):
        return orders_for_user(self.request.user).select_related("shop")


class TicketViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """After-sales tickets (售后单) of the shops the caller works in."""

    serializer_class = TicketSerializer
    pagination_class = NewestFirst
    permission_classes = [permissions.IsAuthenticated, CanViewModel]
    filterset_fields = {
        "shop__code": ["exact"],
        "state": ["exact", "in"],
        "path": ["exact"],
        "kind": ["exact"],
        "reason__category": ["exact"],
        "opened_at": ["gte", "lt"],
    }

    def get_queryset(self):
        return tickets_for_user(self.request.user).select_related("shop", "order", "reason", "first_reason")
