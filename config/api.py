"""The REST API's routes (/api/v1/): each app's resources, token auth, and the OpenAPI schema and docs served
offline (drf-spectacular's sidecar static files)."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import obtain_auth_token
from rest_framework.routers import DefaultRouter

from aftersales.api import OrderViewSet, TicketViewSet
from metrics.api import MetricsView, StaffingForecastView
from metrics.api_platform_data import ChatSessionsPushView, ProductReviewsPushView

router = DefaultRouter()
router.register("orders", OrderViewSet, basename="order")
router.register("tickets", TicketViewSet, basename="ticket")

urlpatterns = [
    path("auth/token/", obtain_auth_token, name="api-token"),
    path("metrics/", MetricsView.as_view(), name="api-metrics"),
    path("staffing-forecast/", StaffingForecastView.as_view(), name="api-staffing"),
    path("platform-data/chats/", ChatSessionsPushView.as_view(), name="api-platform-chats"),
    path("platform-data/reviews/", ProductReviewsPushView.as_view(), name="api-platform-reviews"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include(router.urls)),
]
