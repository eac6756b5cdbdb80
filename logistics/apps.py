from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LogisticsConfig(AppConfig):
    name = "logistics"
    verbose_name = _("Logistics")

    def ready(self):
        from aftersales import team_alerts, ticket_actions, ticket_links
        from aftersales.models import SweepRun
        from desk.sweeps import register_sweep_step
        from logistics.services import team_lead_alert_notify
        from logistics.sweeps import STEPS
        from logistics.ticket_hooks import ACTIONS, logistics_links

        for action in ACTIONS:
            ticket_actions.register(action)
        ticket_links.register(logistics_links)
        team_alerts.register(team_lead_alert_notify)
        for name, step in STEPS:
            register_sweep_step(SweepRun.Kind.REFUND, name, step)
