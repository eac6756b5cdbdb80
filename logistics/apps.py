from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LogisticsConfig(AppConfig):
    name = "logistics"
    verbose_name = _("Logistics")

    def ready(self):
        from aftersales import return_tracking, team_alerts, ticket_actions, ticket_links
        from aftersales.models import SweepRun
        from desk.sweeps import register_sweep_step
        from logistics.services import claims_withdraw_parcel_back, team_lead_alert_notify
        from logistics.sweeps import STEPS
        from logistics.ticket_hooks import ACTIONS, logistics_links, parcel_scan_panels

        for action in ACTIONS:
            ticket_actions.register(action)
        ticket_links.register(logistics_links)
        ticket_links.register_panel(parcel_scan_panels)
        return_tracking.register_parcel_back(claims_withdraw_parcel_back)
        team_alerts.register(team_lead_alert_notify)
        for name, step in STEPS:
            register_sweep_step(SweepRun.Kind.REFUND, name, step)
