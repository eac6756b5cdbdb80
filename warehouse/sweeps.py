"""Warehouse's part of the refund sweep: a return inspected clean whose ticket still waits is refunded (or, for an
exchange, resolved) through the same service the inspection calls. Registered with the refund sweep at start-up."""

from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _

from aftersales import services as aftersales
from aftersales.models import AfterSalesTicket, TicketState
from desk.sweeps import SweepContext, tickets_each
from warehouse.models import Inspection


def inspected_returns_refund(ctx: SweepContext) -> None:
    clean = Inspection.objects.filter(parcel__ticket_id=OuterRef("pk"), result=Inspection.Result.OK)
    waiting = AfterSalesTicket.objects.filter(state=TicketState.RECEIVED).filter(Exists(clean))
    note = _("The return was inspected clean; refunded by the refund sweep.")
    tickets_each(
        ctx,
        waiting,
        step="inspected_returns",
        counted_as="inspection_refund",
        service=aftersales.ticket_inspection_passed,
        note=note,
    )


STEPS = [("inspected_returns", inspected_returns_refund)]
