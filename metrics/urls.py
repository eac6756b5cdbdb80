from django.urls import path

from metrics.views import dashboard, staffing

app_name = "metrics"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("staffing/", staffing.staffing_forecast, name="staffing"),
]
