from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MetricsConfig(AppConfig):
    """KPI definitions, rollups, dashboards and the staffing calculator (issue 8). Reads every app, writes none."""

    name = "metrics"
    verbose_name = _("Metrics")

    def ready(self):
        from aftersales.signals import orders_changed
        from metrics.dirty import on_orders_changed

        # The rolled-up days a change of orders, tickets, refunds, rulings or complaints moves (metrics/dirty.py).
        orders_changed.connect(on_orders_changed, dispatch_uid="metrics_dirty_days")
