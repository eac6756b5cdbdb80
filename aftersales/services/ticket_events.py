"""A ticket's audit trail, written by every service that changes a ticket (tickets, the refund gate, refunds) in
the transaction that makes the change. `action` is one of TicketEvent.Action; the database refuses any other."""

from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition

from aftersales.models import AfterSalesTicket, TicketEvent, TicketEventAction, ticket_move_sources
from aftersales.services.deadlines import ticket_apply_stage_deadline
from aftersales.signals import orders_changed_send


def ticket_event_record(
    ticket, by, action: TicketEventAction, from_state: str, *, note: str = "", amount=None, deadline=None
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
        deadline=deadline,
    )


def ticket_events_record(events: list[TicketEvent]) -> list[TicketEvent]:
    """ticket_event_record for many built events at once: one insert, and one marking of their orders' days."""
    if not events:
        return []
    events = TicketEvent.objects.bulk_create(events)
    orders_changed_send(sorted({event.ticket.order_id for event in events}))
    return events


def ticket_move(
    ticket: AfterSalesTicket,
    by,
    action: TicketEventAction,
    transition,
    *,
    note: str = "",
    amount=None,
    stage_since=None,
    **kwargs,
) -> None:
    """Run a checked transition of a locked ticket, save it and write its event, with the deadline of the stage it
    entered (services/deadlines.py), counted from `stage_since` (default now)."""
    from_state = ticket.state
    transition(**kwargs)
    deadline = None
    if ticket.state != from_state:
        deadline = ticket_apply_stage_deadline(ticket, since=stage_since or timezone.now())
    ticket.save()
    ticket_event_record(ticket, by, action, from_state, note=note, amount=amount, deadline=deadline)


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
        deadline = ticket_apply_stage_deadline(ticket, since=at) if ticket.state != from_state else None
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
                deadline=deadline,
            )
        )
    sources = ticket_move_sources(transition)
    for changed, ticket_ids in groups.items():
        moved = AfterSalesTicket.objects.filter(pk__in=ticket_ids, state__in=sources).update(
            **dict(changed), updated_at=at
        )
        if moved != len(ticket_ids):
            raise ConcurrentTransition(_("A ticket of the batch changed state while it was being moved."))
    ticket_events_record(events)
