"""Logistics over the REST API: parcels with their scans, intercepts (拦截) with the courier's answer, and the
claims ledger (售后汇总表), each limited to the caller's shops and read with the role's model permission, as in the
admin. Recording a courier's answer calls the same service as the admin's intercept queue."""

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from aftersales.ticket_actions import NOTE_MAX_LENGTH
from desk.api.support import TextField, idempotent
from desk.api.views import ScopedReadViewSet
from logistics.models import CourierClaim, InterceptRequest, Shipment, TrackingEvent
from logistics.services import intercepts
from logistics.services.common import ANSWER_INTERCEPT


class ShipmentSerializer(serializers.ModelSerializer):
    shop = serializers.SlugRelatedField(slug_field="code", read_only=True)
    order = serializers.SlugRelatedField(slug_field="platform_order_id", read_only=True)
    courier = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = Shipment
        fields = [
            "id",
            "shop",
            "order",
            "ticket",
            "direction",
            "courier",
            "tracking_number",
            "destination_province",
            "status",
            "shipped_at",
            "last_scan_at",
            "last_scan_text",
            "delivered_at",
            "lost_at",
            "reappeared_at",
            "replaces",
        ]


class TrackingEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = TrackingEvent
        fields = [
            "id",
            "shipment",
            "courier_code",
            "tracking_number",
            "scanned_at",
            "status",
            "text",
            "location",
            "source",
            "received_at",
        ]


class InterceptSerializer(serializers.ModelSerializer):
    shop = serializers.SlugRelatedField(slug_field="code", read_only=True)
    courier = serializers.SlugRelatedField(slug_field="code", read_only=True)
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = InterceptRequest
        fields = [
            "id",
            "shop",
            "ticket",
            "shipment",
            "courier",
            "status",
            "requested_by",
            "requested_at",
            "due_at",
            "answered_at",
            "overdue_flagged_at",
            "note",
        ]


class ClaimSerializer(serializers.ModelSerializer):
    shop = serializers.SlugRelatedField(slug_field="code", read_only=True)
    courier = serializers.SlugRelatedField(slug_field="code", read_only=True)
    order = serializers.SlugRelatedField(slug_field="platform_order_id", read_only=True)

    class Meta:
        model = CourierClaim
        fields = [
            "id",
            "shop",
            "courier",
            "order",
            "shipment",
            "ticket",
            "refund",
            "cause",
            "remedy",
            "loss_amount",
            "claim_amount",
            "settled_amount",
            "month",
            "status",
            "review_note",
            "courier_note",
            "created_at",
            "decided_at",
        ]


class ShipmentViewSet(ScopedReadViewSet):
    """Parcels: outbound deliveries, returns and replacements, with the latest scan."""

    serializer_class = ShipmentSerializer
    scoped_queryset = Shipment.objects.select_related("shop", "order", "courier")
    filterset_fields = {
        "shop__code": ["exact"],
        "status": ["exact", "in"],
        "direction": ["exact"],
        "courier__code": ["exact"],
        "tracking_number": ["exact"],
        "ticket": ["exact"],
        "last_scan_at": ["gte", "lt"],
    }


class TrackingEventViewSet(ScopedReadViewSet):
    """Courier scans as the tracking pushes delivered them (duplicates were absorbed on the way in)."""

    serializer_class = TrackingEventSerializer
    scoped_queryset = TrackingEvent.objects.all()
    shop_path = "shipment__shop"
    filterset_fields = {"shipment": ["exact"], "tracking_number": ["exact"], "scanned_at": ["gte", "lt"]}


class InterceptAnswerSerializer(serializers.Serializer):
    answer = serializers.ChoiceField(
        choices=[("confirmed", "confirmed"), ("failed", "failed"), ("returned", "returned")],
        help_text=gettext_lazy(
            "confirmed: the courier stopped the parcel; failed: it could not; returned: it is back at the warehouse."
        ),
    )
    note = TextField(max_length=NOTE_MAX_LENGTH, multiline=True, required=False, allow_blank=True)


ANSWERS = {
    "confirmed": intercepts.intercept_confirm,
    "failed": intercepts.intercept_fail,
    "returned": intercepts.intercept_mark_returned,
}


class InterceptViewSet(ScopedReadViewSet):
    """拦截: requests to the courier to stop a parcel, with their answer deadline."""

    serializer_class = InterceptSerializer
    scoped_queryset = InterceptRequest.objects.select_related("shop", "courier", "requested_by")
    write_permissions = {"answer": [ANSWER_INTERCEPT]}
    filterset_fields = {
        "shop__code": ["exact"],
        "status": ["exact", "in"],
        "due_at": ["gte", "lt"],
        "ticket": ["exact"],
    }

    @extend_schema(request=InterceptAnswerSerializer, responses=InterceptSerializer)
    @action(detail=True, methods=["post"])
    @idempotent
    def answer(self, request, pk=None):
        """Record the courier's answer, as the admin's intercept queue does; the ticket moves with it."""
        intercept = self.get_object()
        incoming = InterceptAnswerSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        ANSWERS[incoming.validated_data["answer"]](
            intercept=intercept, by=request.user, note=incoming.validated_data.get("note", "")
        )
        return Response(InterceptSerializer(self.get_queryset().get(pk=intercept.pk)).data)


class ClaimViewSet(ScopedReadViewSet):
    """理赔: the courier claims ledger (售后汇总表), one row per lost or damaged parcel."""

    serializer_class = ClaimSerializer
    scoped_queryset = CourierClaim.objects.select_related("shop", "courier", "order")
    filterset_fields = {
        "shop__code": ["exact"],
        "status": ["exact", "in"],
        "courier__code": ["exact"],
        "cause": ["exact"],
        "month": ["exact", "gte", "lt"],
    }
