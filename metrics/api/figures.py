"""Metrics over the REST API: every metric of DESIGN §5 for the caller's shops and a window, and the staffing
forecast. Same permission as the dashboard (metrics.view_dashboard)."""

from datetime import datetime, time
from decimal import Decimal

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from aftersales.selectors import shops_for_user
from metrics.definitions import CHINA, METRICS, Scope
from metrics.staffing import staffing_forecast
from metrics.views.staffing import VIEW_DASHBOARD


class CanReadMetrics(permissions.BasePermission):
    def has_permission(self, request, view):
        return request.user.has_perm(VIEW_DASHBOARD)


class MetricsQuerySerializer(serializers.Serializer):
    shop = serializers.SlugField(required=False, help_text="A shop code; all the caller's shops when left out.")
    start = serializers.DateField(help_text="First day (China time), YYYY-MM-DD.")
    end = serializers.DateField(help_text="Day after the last day (China time), YYYY-MM-DD.")

    def validate(self, data):
        if data["end"] <= data["start"]:
            raise ValidationError({"end": _("The end must be after the start.")})
        return data


class FigureSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    unit = serializers.CharField()
    value = serializers.DecimalField(max_digits=24, decimal_places=4, allow_null=True)
    numerator = serializers.DecimalField(max_digits=24, decimal_places=4)
    denominator = serializers.IntegerField()
    definition = serializers.CharField()


class MetricsView(APIView):
    """Every metric of DESIGN §5 by its code, computed by the database for the window [start, end)."""

    permission_classes = [permissions.IsAuthenticated, CanReadMetrics]

    @extend_schema(
        parameters=[MetricsQuerySerializer],
        responses=FigureSerializer(many=True),
    )
    def get(self, request):
        query = MetricsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        shops = shops_for_user(request.user)
        if query.validated_data.get("shop"):
            shops = shops.filter(code=query.validated_data["shop"])
            if not shops.exists():
                raise Http404
        start = datetime.combine(query.validated_data["start"], time(), tzinfo=CHINA)
        end = datetime.combine(query.validated_data["end"], time(), tzinfo=CHINA)
        scope = Scope(tuple(shops.values_list("pk", flat=True)), start, end)
        rows = []
        for metric in METRICS:
            figure = metric(scope)
            rows.append(
                {
                    "code": metric.code,
                    "name": str(metric.name),
                    "unit": metric.unit,
                    "value": figure.value,
                    "numerator": figure.numerator,
                    "denominator": figure.denominator,
                    "definition": f"{metric.numerator} ÷ {metric.denominator}",
                }
            )
        return Response(FigureSerializer(rows, many=True).data)


class StaffingInputSerializer(serializers.Serializer):
    gmv = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    refund_rate = serializers.DecimalField(
        max_digits=7, decimal_places=6, min_value=0, max_value=1, help_text="A fraction: 0.05 is 5 %."
    )
    average_order_value = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    daily_capacity = serializers.IntegerField(min_value=1, max_value=100000)
    days = serializers.IntegerField(min_value=1, max_value=365)


class StaffingOutputSerializer(serializers.Serializer):
    refunds = serializers.IntegerField()
    other_aftersales = serializers.IntegerField()
    total = serializers.IntegerField()
    agents = serializers.IntegerField()


class StaffingForecastView(APIView):
    """人员配备: refunds = GMV × refund rate ÷ average order value; other after-sales ≈ 40 % of refunds; agents =
    total ÷ daily capacity ÷ days, rounded up."""

    permission_classes = [permissions.IsAuthenticated, CanReadMetrics]

    @extend_schema(request=StaffingInputSerializer, responses=StaffingOutputSerializer)
    def post(self, request):
        data = StaffingInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        forecast = staffing_forecast(**data.validated_data)
        return Response(
            {
                "refunds": forecast.refunds,
                "other_aftersales": forecast.other_after_sales,
                "total": forecast.total,
                "agents": forecast.agents,
            }
        )
