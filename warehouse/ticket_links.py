from django.urls import reverse
from django.utils.translation import gettext as _

from warehouse.models import Inspection


def inspection_links(ticket, user) -> list[tuple[str, str]]:
    """The ticket's inspection, with its photos and video, for the agent who decides on a rejection."""
    if not user.has_perm("warehouse.view_inspection"):
        return []
    inspection = Inspection.objects.filter(parcel__ticket=ticket).only("pk", "result").first()
    if inspection is None:
        return []
    label = _("Inspection: %(result)s (photos and video)") % {"result": inspection.get_result_display()}
    return [(label, reverse("admin:warehouse_inspection_change", args=[inspection.pk]))]
