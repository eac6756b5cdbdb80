"""Warehouse reads, each limited to the user's shops and shaped for one page."""

from datetime import datetime, time

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from aftersales.models import AfterSalesTicket, CutOffRequest, TicketState
from aftersales.selectors import shops_for_user
from warehouse.models import EarlyExchange, ReturnParcel

# The ticket states in which a scanned return is expected: the buyer sent it, or at least was told to.
RETURN_EXPECTED_STATES = [TicketState.AWAITING_RETURN, TicketState.RETURN_IN_TRANSIT]
# Once refunded, resolved or rejected, an inspected return needs nothing more from the warehouse.
SETTLED_STATES = [TicketState.REFUNDED, TicketState.RESOLVED, TicketState.REJECTED, TicketState.CLOSED]


def return_tickets_awaiting_scan(*, user, tracking_number: str) -> QuerySet[AfterSalesTicket]:
    return (
        AfterSalesTicket.objects.filter(
            shop__in=shops_for_user(user), return_tracking_number=tracking_number, state__in=RETURN_EXPECTED_STATES
        )
        .select_related("order", "shop")
        .order_by("id")
    )


def parcels_for_user(user) -> QuerySet[ReturnParcel]:
    return ReturnParcel.objects.filter(shop__in=shops_for_user(user)).select_related(
        "shop", "ticket__order", "received_by"
    )


def cutoffs_waiting(user) -> QuerySet[CutOffRequest]:
    """截单 the warehouse still has to answer: packed path-1 orders whose buyer asked for a refund."""
    return (
        CutOffRequest.objects.filter(shop__in=shops_for_user(user), status=CutOffRequest.Status.REQUESTED)
        .select_related("shop", "ticket__order")
        .order_by("requested_at", "id")
    )


def start_of_today():
    return timezone.make_aware(datetime.combine(timezone.localdate(), time.min))


def clearance_received_not_inspected(user) -> QuerySet[ReturnParcel]:
    """日清: parcels received before today and still not inspected."""
    return parcels_for_user(user).filter(status=ReturnParcel.Status.RECEIVED, received_at__lt=start_of_today())


def clearance_inspected_not_refunded(user) -> QuerySet[ReturnParcel]:
    """日清: clean inspections before today whose ticket is still not refunded."""
    return (
        parcels_for_user(user)
        .filter(status=ReturnParcel.Status.INSPECTED, inspected_at__lt=start_of_today(), inspection__result="ok")
        .exclude(ticket__state__in=SETTLED_STATES)
    )


def early_exchanges_without_return(user) -> QuerySet[EarlyExchange]:
    """Replacements sent early whose return has not arrived: they stay visible until it does."""
    return (
        EarlyExchange.objects.filter(shop__in=shops_for_user(user), parcel__status=ReturnParcel.Status.EXPECTED)
        .select_related("shop", "ticket__order", "parcel", "sent_by")
        .order_by("sent_at", "id")
    )


def clearance_counts(user) -> dict[str, int]:
    """The three numbers the dashboard shows, in one query over the parcels and one over early exchanges."""
    today = start_of_today()
    counts = parcels_for_user(user).aggregate(
        received_not_inspected=Count("pk", filter=Q(status=ReturnParcel.Status.RECEIVED, received_at__lt=today)),
        inspected_not_refunded=Count(
            "pk",
            filter=Q(status=ReturnParcel.Status.INSPECTED, inspected_at__lt=today, inspection__result="ok")
            & ~Q(ticket__state__in=SETTLED_STATES),
        ),
    )
    counts["early_exchanges_without_return"] = early_exchanges_without_return(user).count()
    return counts
