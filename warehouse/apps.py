from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WarehouseConfig(AppConfig):
    """Returns received and inspected: ReturnParcel, Inspection, Evidence and the receiving station (issue 6)."""

    name = "warehouse"
    verbose_name = _("Warehouse")

    def ready(self):
        from aftersales import return_tracking, ticket_evidence, ticket_links
        from aftersales.models import SweepRun
        from desk.sweeps import register_sweep_step
        from warehouse.services import return_tracking_record
        from warehouse.sweeps import STEPS
        from warehouse.ticket_evidence import inspection_photos
        from warehouse.ticket_links import inspection_links, inspection_links_for_tickets

        ticket_links.register(inspection_links)
        ticket_links.register_for_lists(inspection_links_for_tickets)
        return_tracking.register(return_tracking_record)
        ticket_evidence.register(inspection_photos)
        for name, step in STEPS:
            register_sweep_step(SweepRun.Kind.REFUND, name, step)
