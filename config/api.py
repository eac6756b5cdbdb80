"""The REST API's routes (/api/v1/): each app's resources, expiring tokens (config.api_auth), and the OpenAPI
schema and docs served offline (drf-spectacular's sidecar static files)."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from aftersales.api.complaints import ComplaintViewSet
from aftersales.api.views import ApprovalViewSet, OrderViewSet, ReasonViewSet, TicketViewSet
from config.api_auth import ApiTokenView
from logistics.api import ClaimViewSet, InterceptViewSet, ShipmentViewSet, TrackingEventViewSet
from marketplaces.api import DouyinPushView
from metrics.api.figures import MetricsView, StaffingForecastView
from metrics.api.platform_data import ChatSessionsPushView, ProductReviewsPushView, ProductScoresPushView
from warehouse.api import InspectionViewSet, ReturnParcelViewSet

router = DefaultRouter()
router.register("orders", OrderViewSet, basename="order")
router.register("tickets", TicketViewSet, basename="ticket")
router.register("approvals", ApprovalViewSet, basename="approval")
router.register("complaints", ComplaintViewSet, basename="complaint")
router.register("reasons", ReasonViewSet, basename="reason")
router.register("shipments", ShipmentViewSet, basename="shipment")
router.register("tracking-events", TrackingEventViewSet, basename="tracking-event")
router.register("intercepts", InterceptViewSet, basename="intercept")
router.register("claims", ClaimViewSet, basename="claim")
router.register("return-parcels", ReturnParcelViewSet, basename="return-parcel")
router.register("inspections", InspectionViewSet, basename="inspection")

urlpatterns = [
    path("auth/token/", ApiTokenView.as_view(), name="api-token"),
    path("marketplaces/douyin/push/", DouyinPushView.as_view(), name="api-douyin-push"),
    path("metrics/", MetricsView.as_view(), name="api-metrics"),
    path("staffing-forecast/", StaffingForecastView.as_view(), name="api-staffing"),
    path("platform-data/chats/", ChatSessionsPushView.as_view(), name="api-platform-chats"),
    path("platform-data/reviews/", ProductReviewsPushView.as_view(), name="api-platform-reviews"),
    path("platform-data/product-scores/", ProductScoresPushView.as_view(), name="api-platform-product-scores"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include(router.urls)),
]
