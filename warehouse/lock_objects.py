"""Row locks of warehouse, in one place. A ticket is locked through aftersales' own helpers (aftersales.lock_objects),
never here; a return parcel is locked before its ticket, as the services do."""

from warehouse.models import ReturnParcel


def return_parcel_for_update(parcel_id: int) -> ReturnParcel:
    return ReturnParcel.objects.select_for_update().get(pk=parcel_id)


def return_parcel_with_ticket_for_update(parcel_id: int) -> ReturnParcel:
    """The parcel, with its ticket, the ticket's order and its shop (read, not locked)."""
    return (
        ReturnParcel.objects.select_for_update(of=("self",)).select_related("ticket__order", "shop").get(pk=parcel_id)
    )
