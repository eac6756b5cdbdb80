from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConfigConfig(AppConfig):
    """The project itself: health check, beat heartbeat and the demo-data command. It may import every app."""

    name = "config"
    verbose_name = _("After-sales desk")
