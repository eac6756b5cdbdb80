from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.defaults import page_not_found
from django.views.generic import RedirectView

from config.health import healthz
from config.start_pages import admin_home
from desk.api.support import api_not_found

admin.site.site_header = _("After-sales Desk")
admin.site.site_title = _("After-sales Desk")
admin.site.index_title = _("Work queues and settings")
# The admin is the product; there is no separate public site to link to.
admin.site.site_url = None

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("healthz", healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    # Before the admin's own URLs: its home sends each role to its own start page (config.start_pages).
    path("admin/", admin_home),
    path("admin/", admin.site.urls),
    # The receiving station, cut-offs and daily clearance. Evidence is streamed by its view after a shop check;
    # MEDIA_URL is deliberately not served.
    path("warehouse/", include("warehouse.urls")),
    path("logistics/", include("logistics.urls")),
    path("metrics/", include("metrics.urls")),
    # The marketplaces' after-sales pushes (signed per connection).
    path("marketplaces/", include("marketplaces.urls")),
    path("api/v1/", include("config.api")),
]


def not_found(request, exception=None):
    """A program calling /api/ gets JSON; a person gets the usual page."""
    if request.path.startswith("/api/"):
        return api_not_found(request, exception)
    return page_not_found(request, exception)


handler404 = not_found
