"""A ticket's audit trail, written by every service that changes a ticket (tickets, the refund gate, refunds) in
the transaction that makes the change. `action` is one of TicketEvent.Action; the database refuses any other."""

from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition

from aftersales.models import AfterSalesTicket, TicketEvent, TicketEventAction, ticket_move_sources
from aftersales.signals import orders_changed_send


def ticket_event_record(
    ticket, by, action: TicketEventAction, from_state: str, *, note: str = "", amount=None
) -> TicketEvent:
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
    ticket: AfterSalesTicket, by, action: TicketEventAction, transition, *, note: str = "", amount=None, **kwargs
) -> None:
    """Run a checked transition of a locked ticket, save it and write its event."""
    from_state = ticket.state
    transition(**kwargs)
    ticket.save()
    ticket_event_record(ticket, by, action, from_state, note=note, amount=amount)


def tickets_move_in_bulk(moves, by, action: str, transition: str, *, at, **kwargs) -> None:
    """ticket_move for a locked batch, in a fixed number of queries: each ticket of `moves` (ticket, amount, note)
    runs the same checked transition in memory, so its target and effect come from the model as they do for one
    ticket; the fields it changed are written by one UPDATE per distinct set of values (one, when the effect does not
    depend on the row), guarded by the transition's source states as save() is by ConcurrentTransitionMixin; then
    one insert writes the events. Like save(), it fails (the caller's transaction with it) if a row was no longer in
    a source state."""
    fields = {field.attname for field in AfterSalesTicket._meta.concrete_fields}
    groups: dict[tuple, list[int]] = {}
    events = []
    for ticket, amount, note in moves:
        before = {name: value for name, value in ticket.__dict__.items() if name in fields}
        from_state = ticket.state
        getattr(ticket, transition)(**kwargs)
        changed = tuple(
            sorted(
                (name, value)
                for name, value in ticket.__dict__.items()
                if name in fields and (name not in before or before[name] != value)
            )
        )
        groups.setdefault(changed, []).append(ticket.pk)
        events.append(
            TicketEvent(
                ticket=ticket,
                actor=by,
                at=at,
                action=action,
                from_state=from_state,
                to_state=ticket.state,
                amount=amount,
                note=note,
            )
        )
    sources = ticket_move_sources(transition)
    for changed, ticket_ids in groups.items():
        moved = AfterSalesTicket.objects.filter(pk__in=ticket_ids, state__in=sources).update(
            **dict(changed), updated_at=at
        )
        if moved != len(ticket_ids):
            raise ConcurrentTransition(_("A ticket of the batch changed state while it was being moved."))
    TicketEvent.objects.bulk_create(events)
    orders_changed_send([ticket.order_id for ticket, _amount, _note in moves])
