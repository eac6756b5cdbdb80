from django.urls import path

from metrics import views_dashboard, views_staffing

app_name = "metrics"

urlpatterns = [
    path("", views_dashboard.dashboard, name="dashboard"),
    path("staffing/", views_staffing.staffing_forecast, name="staffing"),
]
