"""What logistics adds to a ticket's page: the intercept moves and links to the parcel, intercept and claim.
Registered at start-up (LogisticsConfig.ready); aftersales imports none of this."""

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales.models import GoodsState, TicketKind
from aftersales.services import DOOR_MOVES, RefundDoor
from aftersales.ticket_actions import TicketAction, action_text
from aftersales.ticket_links import TicketPanel
from logistics import services
from logistics.models import CourierClaim, InterceptRequest, Shipment, TrackingEvent
from logistics.services.common import REQUEST_INTERCEPT


def _request_intercept(ticket, by, data, idempotency_key=None) -> str:
    intercept = services.intercept_request(ticket=ticket, by=by, note=action_text(data, "note"))
    return _("Intercept requested from %(courier)s; answer due %(due)s.") % {
        "courier": intercept.courier.name,
        "due": timezone.localtime(intercept.due_at).strftime("%Y-%m-%d %H:%M"),
    }


def _refund_early(ticket, by, data, idempotency_key=None) -> str:
    claim = services.intercept_refund_early(ticket=ticket, by=by, note=action_text(data, "note"))
    return _("Refund started; the parcel is registered in the claims ledger as %(claim)s.") % {"claim": claim}


ACTIONS = [
    TicketAction(
        "request_intercept",
        gettext_lazy("Ask the courier to intercept (拦截)"),
        "start_intercept",
        REQUEST_INTERCEPT,
        _request_intercept,
        ("note",),
        offered_when=lambda ticket: (
            ticket.kind == TicketKind.REFUND_ONLY and ticket.order.goods_state == GoodsState.SHIPPED
        ),
    ),
    TicketAction(
        "refund_before_intercept_answer",
        gettext_lazy("Refund now and register a claim (先退款后拦截)"),
        DOOR_MOVES[RefundDoor.REFUND_BEFORE_INTERCEPT],
        "aftersales.work_ticket",
        _refund_early,
        ("note",),
        offered_when=lambda ticket: ticket.intercepts.filter(status=InterceptRequest.Status.REQUESTED).exists(),
    ),
]


def logistics_links(ticket, user) -> list[tuple[str, str]]:
    """The ticket's parcel, intercept and claim, for those who may see them."""
    links = []
    if user.has_perm("logistics.view_interceptrequest"):
        for intercept in (
            InterceptRequest.objects.filter(ticket=ticket).only("pk", "status", "due_at").order_by("-pk")[:1]
        ):
            links.append(
                (
                    _("Intercept: %(status)s") % {"status": intercept.get_status_display()},
                    reverse("admin:logistics_interceptrequest_change", args=[intercept.pk]),
                )
            )
    if user.has_perm("logistics.view_shipment"):
        shipment = Shipment.objects.filter(order_id=ticket.order_id).exclude(status="created").order_by("-pk").first()
        if shipment:
            links.append(
                (
                    _("Parcel %(number)s: %(status)s")
                    % {"number": shipment.tracking_number, "status": shipment.get_status_display()},
                    reverse("admin:logistics_shipment_change", args=[shipment.pk]),
                )
            )
    if user.has_perm("logistics.view_courierclaim"):
        for claim in CourierClaim.objects.filter(ticket=ticket).only("pk", "status"):
            links.append(
                (
                    _("Courier claim %(claim)s: %(status)s") % {"claim": claim, "status": claim.get_status_display()},
                    reverse("admin:logistics_courierclaim_change", args=[claim.pk]),
                )
            )
    return links


# The last scans an agent reads to the buyer on the phone ("where is my parcel?"): enough to answer, not the trail.
LAST_SCANS = 5


def parcel_scan_panels(ticket, user) -> list[TicketPanel]:
    """The order's parcel to the buyer and the ticket's return, each with its last courier scans, newest first."""
    if not user.has_perm("logistics.view_trackingevent"):
        return []
    shipments = list(
        Shipment.objects.filter(order_id=ticket.order_id)
        .filter(Q(direction=Shipment.Direction.OUTBOUND) | Q(ticket_id=ticket.pk))
        .exclude(status=Shipment.Status.CREATED)
        .select_related("courier")
        .order_by("-id")[:3]
    )
    panels = []
    for shipment in shipments:
        scans = TrackingEvent.objects.filter(shipment=shipment).order_by("-scanned_at", "-id")[:LAST_SCANS]
        title = _("%(direction)s: %(courier)s %(number)s, %(status)s") % {
            "direction": shipment.get_direction_display(),
            "courier": shipment.courier.name if shipment.courier else "",
            "number": shipment.tracking_number,
            "status": shipment.get_status_display(),
        }
        rows = [
            (
                timezone.localtime(scan.scanned_at).strftime("%m-%d %H:%M"),
                scan.get_status_display(),
                scan.location,
                scan.text,
            )
            for scan in scans
        ]
        panels.append(
            TicketPanel(
                title,
                [_("scanned at"), _("status"), _("location"), _("text")],
                rows,
                empty=_("No courier scan yet."),
            )
        )
    return panels
