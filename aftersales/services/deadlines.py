"""The platform deadline of a ticket's stage: when the marketplace decides by itself if the stage is not answered.

Each stage has its own clock, from the platform's defaults (Platform's fields, editable on its page):

- answering the request: refund_response_hours or return_response_hours from the buyer's request (平台超时自动同意);
- the buyer sending the return once it is agreed: buyer_return_upload_days;
- confirming a returned parcel: receipt_confirm_days, counted from the courier's signature at our address or, until
  one is known, from the return's dispatch (the earliest the platform's clock can start). Past it the platform refunds
  by itself and the goods are lost with it (超时自动退款, seeds 001 and 004);
- answering after the platform steps in (平台介入, 举证): platform_step_response_hours.

Every move writes its stage's deadline with its own event (ticket_events.ticket_move); the other stages (an intercept,
an approval, a refund under way, a rejection) keep the deadline they entered with. A connected shop's ticket takes
the marketplace's own deadline instead (tickets.ticket_set_platform_deadline, called by its connector), which no stage
computation overwrites; the queue, the ticket page and the near-deadline sweep all read the ticket's one `deadline`.
"""

from datetime import datetime, timedelta

from aftersales.models import AfterSalesTicket, DeadlineSource, Platform, TicketKind, TicketState

# The kinds whose goods come back (path 4 once delivered, the platform's return deadline): a repair's too.
RETURN_KINDS = {TicketKind.RETURN_REFUND, TicketKind.EXCHANGE, TicketKind.REPAIR}
# The stages whose clock starts when the ticket enters them; the others keep the deadline they came with.
STAGE_STATES = {
    TicketState.AWAITING_RETURN,
    TicketState.RETURN_IN_TRANSIT,
    TicketState.RECEIVED,
    TicketState.PLATFORM_REVIEW,
}


def response_deadline(platform: Platform, kind: str, since: datetime) -> datetime:
    """The first stage's: answering the buyer's request."""
    hours = platform.return_response_hours if kind in RETURN_KINDS else platform.refund_response_hours
    return since + timedelta(hours=hours)


def stage_deadline(ticket: AfterSalesTicket, *, since: datetime) -> datetime | None:
    """The platform's default deadline of the stage `ticket` is in, counted from `since` (when the stage began); None
    for a state that keeps the deadline it entered with."""
    state = ticket.state
    if state not in STAGE_STATES:
        return None
    platform = ticket.shop.platform
    if state == TicketState.AWAITING_RETURN:
        return since + timedelta(days=platform.buyer_return_upload_days)
    if state == TicketState.PLATFORM_REVIEW:
        return since + timedelta(hours=platform.platform_step_response_hours)
    return since + timedelta(days=platform.receipt_confirm_days)


def ticket_apply_stage_deadline(ticket: AfterSalesTicket, *, since: datetime) -> datetime | None:
    """Set (not save) the deadline of the stage the ticket has just entered; the new deadline when it moved. A
    deadline the marketplace gave (a connected shop) is left alone."""
    # The state first: a bulk move's rows carry only the fields their rule reads (a deferred one would be fetched).
    if ticket.state not in STAGE_STATES or ticket.deadline_source == DeadlineSource.PLATFORM:
        return None
    deadline = stage_deadline(ticket, since=since)
    if deadline is None or deadline == ticket.deadline:
        return None
    ticket.deadline = deadline
    return deadline
