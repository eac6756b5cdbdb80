from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WarehouseConfig(AppConfig):
    """Returns received and inspected: ReturnParcel, Inspection, Evidence and the receiving station (issue 6)."""

    name = "warehouse"
    verbose_name = _("Warehouse")
