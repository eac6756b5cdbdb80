from django.urls import path

from logistics import webhooks

app_name = "logistics"

urlpatterns = [
    # The shop code is checked by the views, so an unknown one gets the sender's own answer format (404), too.
    path("webhooks/kuaidi100/<str:shop_code>/", webhooks.kuaidi100_push, name="kuaidi100_push"),
    path(
        "webhooks/kuaidi100-intercept/<str:order_id>/",
        webhooks.kuaidi100_intercept_callback,
        name="kuaidi100_intercept_callback",
    ),
    path("webhooks/kdniao/<str:shop_code>/", webhooks.kdniao_push, name="kdniao_push"),
    path("webhooks/tracking/<str:shop_code>/", webhooks.bulk_push, name="tracking_push"),
]
