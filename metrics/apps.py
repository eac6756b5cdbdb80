from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MetricsConfig(AppConfig):
    """KPI definitions, rollups, dashboards and the staffing calculator (issue 8). Reads every app, writes none."""

    name = "metrics"
    verbose_name = _("Metrics")
