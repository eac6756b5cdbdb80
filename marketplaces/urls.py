from django.urls import path

from marketplaces import views

app_name = "marketplaces"

urlpatterns = [
    path("push/<int:connection_id>/", views.push, name="push"),
    path("tickets/<int:ticket_id>/message/", views.message_buyer, name="message_buyer"),
]
