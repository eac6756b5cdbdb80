from django.urls import path

from warehouse import views

app_name = "warehouse"

urlpatterns = [
    path("", views.station, name="station"),
    path("unexpected/", views.register_unexpected, name="register_unexpected"),
    path("parcels/<int:parcel_id>/inspect/", views.inspect, name="inspect"),
    path("evidence/<int:evidence_id>/", views.evidence, name="evidence"),
    path("cutoffs/", views.cutoffs, name="cutoffs"),
    path("cutoffs/<int:cutoff_id>/answer/", views.cutoff_answer, name="cutoff_answer"),
    path("clearance/", views.clearance, name="clearance"),
]
