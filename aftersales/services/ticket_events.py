"""A ticket's audit trail, written by every service that changes a ticket (tickets, the refund gate, refunds) in
the transaction that makes the change."""

from aftersales.models import AfterSalesTicket, TicketEvent
from aftersales.signals import orders_changed_send


def ticket_event_record(ticket, by, action: str, from_state: str, *, note: str = "", amount=None) -> TicketEvent:
    # The rolled-up days this change moves (the ticket's, its order's, its refunds') are marked with it.
    orders_changed_send([ticket.order_id])
    return TicketEvent.objects.create(
        ticket=ticket,
        actor=by,
        action=action,
        from_state=from_state,
        to_state=ticket.state,
        note=note,
        amount=amount,
    )


def ticket_move(
    ticket: AfterSalesTicket, by, action: str, transition, *, note: str = "", amount=None, **kwargs
) -> None:
    """Run a checked transition of a locked ticket, save it and write its event."""
    from_state = ticket.state
    transition(**kwargs)
    ticket.save()
    ticket_event_record(ticket, by, action, from_state, note=note, amount=amount)
