"""Complaints (投诉) over the REST API (/api/v1/complaints/): the caller's shops' complaints, and recording one on an
order of those shops through aftersales.services.complaint_record, the door the admin and the connectors use.
Idempotent by the platform's complaint id (and the Idempotency-Key header)."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from aftersales import services
from aftersales.api.views import CallerShopField, caller_order
from aftersales.models import AfterSalesTicket, Complaint, MerchantLiability, Order
from aftersales.selectors import shops_for_user
from desk.api.support import TextField, idempotent
from desk.api.views import CanViewModel, NewestFirst
from desk.input_checks import max_length_of

NOTE_MAX_LENGTH = 2000


class ComplaintSerializer(serializers.ModelSerializer):
    shop = serializers.SlugRelatedField(slug_field="code", read_only=True)
    order = serializers.SlugRelatedField(slug_field="platform_order_id", read_only=True)
    recorded_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Complaint
        fields = [
            "id",
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


class ComplaintCreateSerializer(serializers.Serializer):
    shop = CallerShopField()
    platform_order_id = TextField(max_length=max_length_of(Order, "platform_order_id"))
    ticket = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text=gettext_lazy("The ticket's id, if it is about one.")
    )
    opened_at = serializers.DateTimeField(help_text=gettext_lazy("When the buyer complained (ISO 8601 with offset)."))
    channel = serializers.ChoiceField(choices=Complaint.Channel.choices, default=Complaint.Channel.PLATFORM)
    liability = serializers.ChoiceField(choices=MerchantLiability.choices, default=MerchantLiability.UNKNOWN)
    note = TextField(max_length=NOTE_MAX_LENGTH, multiline=True, required=False, allow_blank=True)
    platform_complaint_id = TextField(
        max_length=max_length_of(Complaint, "platform_complaint_id"),
        required=False,
        allow_blank=True,
        help_text=gettext_lazy("The platform's complaint id: a second push with it returns the same complaint."),
    )


class ComplaintViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Complaints (投诉) about orders of the shops the caller works in."""

    serializer_class = ComplaintSerializer
    pagination_class = NewestFirst
    permission_classes = [permissions.IsAuthenticated, CanViewModel]
    # The service checks the role and the shop again, with the same rule the admin meets.
    write_permissions = {"create": ["aftersales.add_complaint"]}
    filterset_fields = {"shop__code": ["exact"], "opened_at": ["gte", "lt"], "liability": ["exact"]}

    def get_queryset(self):
        return Complaint.objects.filter(shop__in=shops_for_user(self.request.user)).select_related(
            "shop", "order", "recorded_by"
        )

    @extend_schema(
        request=ComplaintCreateSerializer,
        responses={201: ComplaintSerializer, 200: ComplaintSerializer},
        description=gettext_lazy(
            "Record a complaint (投诉) on an order of one of the caller's shops, with whether it was the merchant's "
            "liability. 201 when recorded; 200 when a complaint with the same platform_complaint_id already "
            "existed. The platform help rate (平台求助率) counts the paid orders with one."
        ),
    )
    @idempotent
    def create(self, request):
        incoming = ComplaintCreateSerializer(data=request.data, context={"request": request})
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        order = caller_order(request, data)
        ticket = None
        if data.get("ticket"):
            ticket = AfterSalesTicket.objects.filter(pk=data["ticket"], shop=data["shop"]).first()
            if ticket is None:
                raise ValidationError({"ticket": [_("No such ticket in this shop.")]})
        complaint, created = services.complaint_record(
            order=order,
            ticket=ticket,
            by=request.user,
            opened_at=data["opened_at"],
            channel=data["channel"],
            liability=data["liability"],
            note=data.get("note", ""),
            platform_complaint_id=data.get("platform_complaint_id", ""),
        )
        complaint = self.get_queryset().get(pk=complaint.pk)
        return Response(
            ComplaintSerializer(complaint).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )
