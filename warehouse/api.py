"""The warehouse over the REST API: return parcels and their inspections (验货), limited to the caller's shops and
read with the role's model permission, as in the admin."""

from rest_framework import serializers

from desk.api.views import ScopedReadViewSet
from warehouse.models import Inspection, ReturnParcel


class ReturnParcelSerializer(serializers.ModelSerializer):
    shop = serializers.SlugRelatedField(slug_field="code", read_only=True)
    received_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = ReturnParcel
        fields = [
            "id",
            "shop",
            "ticket",
            "tracking_number",
            "courier_code",
            "status",
            "created_at",
            "first_scan_at",
            "signed_at",
            "received_at",
            "received_by",
            "inspected_at",
            "note",
        ]


class InspectionLineSerializer(serializers.Serializer):
    sku = serializers.CharField(source="order_line.sku")
    quantity_received = serializers.IntegerField()


class InspectionSerializer(serializers.ModelSerializer):
    ticket = serializers.IntegerField(source="parcel.ticket_id")
    inspected_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    lines = InspectionLineSerializer(many=True, read_only=True)

    class Meta:
        model = Inspection
        fields = ["id", "parcel", "ticket", "result", "notes", "inspected_by", "inspected_at", "lines"]


class ReturnParcelViewSet(ScopedReadViewSet):
    """Returns the buyers sent back: expected, received at the station, inspected."""

    serializer_class = ReturnParcelSerializer
    scoped_queryset = ReturnParcel.objects.select_related("shop", "received_by")
    filterset_fields = {
        "shop__code": ["exact"],
        "status": ["exact", "in"],
        "tracking_number": ["exact"],
        "received_at": ["gte", "lt"],
    }


class InspectionViewSet(ScopedReadViewSet):
    """验货: what the warehouse found in each return, line by line."""

    serializer_class = InspectionSerializer
    scoped_queryset = Inspection.objects.select_related("parcel", "inspected_by").prefetch_related("lines__order_line")
    shop_path = "parcel__shop"
    filterset_fields = {"result": ["exact"], "inspected_at": ["gte", "lt"], "parcel__ticket": ["exact"]}
