"""The inspection's photos of a ticket's return, for aftersales.ticket_evidence (registered in apps.py)."""

from warehouse.models import Evidence


def inspection_photos(ticket_id: int) -> list[bytes]:
    images = []
    for evidence in Evidence.objects.filter(inspection__parcel__ticket_id=ticket_id, kind=Evidence.Kind.PHOTO).order_by(
        "uploaded_at", "pk"
    ):
        with evidence.file.open("rb") as stored:
            images.append(stored.read())
    return images
