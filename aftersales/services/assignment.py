"""Who owns a ticket (接单 by the agent, 派单 by a supervisor), and an agent reading a supervisor's decline.

Each writes its TicketEvent in the same transaction as the change, with the ticket locked first (lock_objects'
order: a ticket before its approval)."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales import lock_objects
from aftersales.models import AfterSalesTicket, ApprovalRequest, TicketEvent
from aftersales.services.ticket_events import ticket_event_record
from desk.access import DECIDE, WORK, require_in_shop, user_works_in_shop
from desk.errors import ActionRefused


def _display_name(user) -> str:
    return user.get_full_name() or user.get_username()


@transaction.atomic
def ticket_assign(*, ticket: AfterSalesTicket, by, assignee) -> AfterSalesTicket:
    """`by` takes the ticket (assignee is `by`: an agent of the shop), or a supervisor of the shop gives it to
    `assignee`, who must work tickets in that shop. An agent does not take a ticket someone else holds: a supervisor
    moves it. Giving a ticket to the one who holds it already changes nothing and writes nothing."""
    ticket = lock_objects.ticket_for_update(ticket.pk)
    taking = assignee.pk == by.pk
    require_in_shop(by, ticket.shop, WORK if taking else DECIDE)
    if not ticket.is_open:
        raise ActionRefused("closed", _("This ticket is closed; nobody needs to own it."))
    if not (assignee.is_active and assignee.has_perm(WORK) and user_works_in_shop(assignee, ticket.shop_id)):
        raise ActionRefused(
            "assignee_not_in_shop",
            _("%(user)s does not work tickets in the shop “%(shop)s”.")
            % {"user": _display_name(assignee), "shop": ticket.shop.name},
        )
    if ticket.assignee_id == assignee.pk:
        return ticket
    if taking and ticket.assignee_id is not None and not by.has_perm(DECIDE):
        raise ActionRefused(
            "taken",
            _("%(user)s already has this ticket; ask a supervisor to move it.")
            % {"user": _display_name(ticket.assignee)},
        )
    previous = ticket.assignee
    ticket.assignee = assignee
    ticket.save(update_fields=["assignee", "updated_at"])
    note = _display_name(assignee)
    if previous is not None:
        note = _("%(previous)s → %(assignee)s") % {"previous": _display_name(previous), "assignee": note}
    action = TicketEvent.Action.TAKEN if taking else TicketEvent.Action.ASSIGNED
    ticket_event_record(ticket, by, action, ticket.state, note=note)
    return ticket


@transaction.atomic
def approval_acknowledge_decline(*, approval: ApprovalRequest, by) -> ApprovalRequest:
    """The requesting agent has read the supervisor's decline: it leaves the top of their queue, and the ticket's
    history says when. Reading it twice changes nothing."""
    ticket = lock_objects.ticket_for_update(approval.ticket_id)
    approval = lock_objects.approval_for_update(approval.pk)
    if approval.requested_by_id != by.pk:
        raise ActionRefused("not_yours", _("Only the agent who asked can mark this decline as read."))
    if approval.status != ApprovalRequest.Status.DECLINED:
        raise ActionRefused("not_declined", _("This request was not declined."))
    if approval.acknowledged_at is not None:
        return approval
    approval.acknowledged_at = timezone.now()
    approval.save(update_fields=["acknowledged_at"])
    ticket_event_record(ticket, by, TicketEvent.Action.DECLINE_READ, ticket.state, note=approval.decision_note)
    return approval
