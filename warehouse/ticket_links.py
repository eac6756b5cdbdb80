from django.db.models import Count
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

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


def inspection_links_for_tickets(ticket_ids, user) -> dict[int, list[tuple[str, str]]]:
    """The same link for a page of tickets in one query, with how many photos and videos the inspection holds."""
    if not user.has_perm("warehouse.view_inspection"):
        return {}
    inspections = (
        Inspection.objects.filter(parcel__ticket_id__in=ticket_ids)
        .annotate(files=Count("evidence"))
        .values_list("pk", "result", "files", "parcel__ticket_id")
    )
    results = dict(Inspection.Result.choices)
    links: dict[int, list[tuple[str, str]]] = {}
    for pk, result, files, ticket_id in inspections:
        label = ngettext(
            "Inspection: %(result)s, %(count)d file",
            "Inspection: %(result)s, %(count)d files",
            files,
        ) % {"result": results.get(result, result), "count": files}
        links.setdefault(ticket_id, []).append((label, reverse("admin:warehouse_inspection_change", args=[pk])))
    return links
