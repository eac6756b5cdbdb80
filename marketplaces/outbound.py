"""Writes to the platform other than refunds, for connected shops: agreeing a return, refusing, requesting an
intercept, reporting a cut-off result. The agents and the warehouse act through the same aftersales/logistics
services as ever (which cannot import this app); each such move writes its ticket event, and this sweep turns the
events of connected shops into OutboundAction rows (one per event, by its id) and sends them, each outside any
transaction, under a short lease.

Events written by the system user are the platform's own facts coming in (the sync): they are never echoed back.
"""

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.models import AfterSalesTicket, TicketEvent
from aftersales.selectors import system_user
from aftersales.services import ticket_add_note, tickets_flag_for_agent
from aftersales.ticket_evidence import ticket_evidence_images
from desk.access import WORK, require_in_shop
from desk.errors import ActionRefused
from marketplaces import lock_objects
from marketplaces.adapters import get_adapter, has_adapter
from marketplaces.adapters.base import BusinessRefusal, OutcomeUnknown, PlatformError, ReturnAddress, ReturnReceipt
from marketplaces.models import OutboundAction, ShopConnection
from marketplaces.services import connection_may_call, credentials_for, handle_platform_error

logger = logging.getLogger(__name__)

EVENT_KINDS: dict[str, str] = {
    TicketEvent.Action.RETURN_AGREED: OutboundAction.Kind.AGREE_RETURN,
    TicketEvent.Action.REJECTED: OutboundAction.Kind.REFUSE,
    TicketEvent.Action.INTERCEPT_REQUESTED: OutboundAction.Kind.INTERCEPT,
    TicketEvent.Action.CUTOFF_HELD: OutboundAction.Kind.CUTOFF_RESULT,
    TicketEvent.Action.CUTOFF_FAILED: OutboundAction.Kind.CUTOFF_RESULT,
    # A clean inspection, for platforms that want a received return registered (JD's 拆包登记): the parcel and the
    # goods as the warehouse found them. Only their connections make it (adapter.registers_returns_received).
    TicketEvent.Action.INSPECTION_PASSED: OutboundAction.Kind.RETURN_RECEIVED,
}
# Events older than this are not looked at again (the sweep runs every minute).
LOOKBACK = timedelta(days=2)
SEND_LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8


def outbound_collect(*, now=None) -> int:
    """New outbound actions from the events of connected shops' platform tickets; how many were made."""
    now = now or timezone.now()
    system = system_user()
    connections = {
        connection.shop_id: connection
        for connection in ShopConnection.objects.filter(is_enabled=True)
        .select_related("shop__platform")
        .only("pk", "shop_id", "created_at", "shop__platform__code")
    }
    if not connections:
        return 0
    registering = {
        shop_id
        for shop_id, connection in connections.items()
        if has_adapter(connection.platform_code) and get_adapter(connection.platform_code).registers_returns_received
    }
    events = (
        TicketEvent.objects.filter(
            ticket__shop_id__in=list(connections),
            action__in=list(EVENT_KINDS),
            at__gte=now - LOOKBACK,
        )
        .exclude(actor=system)
        .exclude(ticket__platform_ticket_id="")
        .values_list("pk", "ticket_id", "ticket__shop_id", "action", "note", "at")
        .order_by("pk")
    )
    actions = []
    for pk, ticket_id, shop_id, action, note, at in events:
        connection = connections[shop_id]
        if at < connection.created_at:
            continue
        if EVENT_KINDS[action] == OutboundAction.Kind.RETURN_RECEIVED and shop_id not in registering:
            continue
        payload: dict[str, object] = {"note": note}
        if action == TicketEvent.Action.INSPECTION_PASSED:
            # The desk's inspection has one verdict for the parcel and its goods: clean means both as expected.
            payload |= {"at": at.isoformat(), "packing_intact": True, "quality_ok": True}
        if action in (TicketEvent.Action.CUTOFF_HELD, TicketEvent.Action.CUTOFF_FAILED):
            payload["succeeded"] = action == TicketEvent.Action.CUTOFF_HELD
            payload["at"] = at.isoformat()
        actions.append(
            OutboundAction(
                connection=connection,
                ticket_id=ticket_id,
                kind=EVENT_KINDS[action],
                source_key=f"event-{pk}",
                payload=payload,
            )
        )
    taken = set(
        OutboundAction.objects.filter(source_key__in=[action.source_key for action in actions]).values_list(
            "source_key", flat=True
        )
    )
    new = [action for action in actions if action.source_key not in taken]
    # A sweep racing this one may insert the same rows: the unique source key keeps one.
    OutboundAction.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


@transaction.atomic
def ticket_message_buyer(*, ticket: AfterSalesTicket, by, text: str, with_evidence: bool = False) -> OutboundAction:
    """An agent's message to the buyer on a connected shop's platform ticket (留言/凭证): written on the ticket as a
    note (its event is the audit) and queued for the platform, with the ticket's evidence photos when asked; the
    sweep sends it (Taobao taobao.refund.message.add, Douyin /afterSale/submitEvidence). A platform refusal comes
    back to the ticket as a flag with the platform's words."""
    require_in_shop(by, ticket.shop, WORK)
    text = (text or "").strip()
    if not text:
        raise ActionRefused("message_required", _("Write the message to the buyer."))
    connection = ShopConnection.objects.filter(shop_id=ticket.shop_id, is_enabled=True).first()
    if connection is None or not ticket.platform_ticket_id:
        raise ActionRefused(
            "not_connected", _("This ticket's shop is not connected to its platform: answer the buyer there.")
        )
    ticket_add_note(ticket=ticket, by=by, note=_("Message to the buyer: %(text)s") % {"text": text})
    event_id = (
        TicketEvent.objects.filter(ticket=ticket, action=TicketEvent.Action.NOTE)
        .order_by("-pk")
        .values_list("pk", flat=True)[0]
    )
    return OutboundAction.objects.create(
        connection=connection,
        ticket=ticket,
        kind=OutboundAction.Kind.MESSAGE,
        source_key=f"message-{event_id}",
        payload={"note": text, "with_evidence": with_evidence},
    )


def _claim(action_id: int, now) -> OutboundAction | None:
    with transaction.atomic():
        action = lock_objects.outbound_for_update(action_id)
        if action.status != OutboundAction.Status.PENDING:
            return None
        if action.sending_since and action.sending_since > now - SEND_LEASE:
            return None
        action.sending_since = now
        action.attempts += 1
        action.save(update_fields=["sending_since", "attempts"])
        return action


def _finish(action_id: int, *, status: str = "", error: str = "") -> None:
    with transaction.atomic():
        action = lock_objects.outbound_for_update(action_id)
        action.sending_since = None
        action.last_error = error[:1000]
        fields = ["sending_since", "last_error"]
        if status:
            action.status = status
            action.done_at = timezone.now()
            fields += ["status", "done_at"]
        action.save(update_fields=fields)


def outbound_send(*, action_id: int, now=None) -> str:
    """Send one action: read the record's current version, then write. Returns the action's status."""
    now = now or timezone.now()
    action = _claim(action_id, now)
    if action is None:
        return "skipped"
    connection = ShopConnection.objects.select_related("shop__platform").get(pk=action.connection_id)
    if not connection_may_call(connection, now=now):
        _finish(action.pk, error=_("The platform connection is broken or paused."))
        return OutboundAction.Status.PENDING
    adapter = get_adapter(connection.platform_code)
    credentials = credentials_for(connection)
    platform_id = action.ticket.platform_ticket_id
    try:
        record = adapter.read(credentials, platform_id)
        note = str(action.payload.get("note", "") or "")
        if action.kind == OutboundAction.Kind.AGREE_RETURN:
            adapter.agree_return(credentials, record, ReturnAddress(address_id=connection.return_address_id))
        elif action.kind == OutboundAction.Kind.REFUSE:
            # The ticket's evidence photos (the warehouse's inspection) travel with the refusal.
            adapter.refuse(
                credentials,
                record,
                reason=note or _("Refused by the seller."),
                evidence=ticket_evidence_images(action.ticket_id),
            )
        elif action.kind == OutboundAction.Kind.INTERCEPT:
            order = action.ticket.order
            adapter.request_intercept(
                credentials, record, courier=order.courier_code, tracking_number=order.tracking_number
            )
        elif action.kind == OutboundAction.Kind.CUTOFF_RESULT:
            adapter.report_cutoff(
                credentials,
                record,
                succeeded=bool(action.payload.get("succeeded")),
                at=action.created_at,
                message=note,
            )
        elif action.kind == OutboundAction.Kind.MESSAGE:
            images = ticket_evidence_images(action.ticket_id) if action.payload.get("with_evidence") else []
            adapter.send_message(credentials, record, text=note, images=images)
        elif action.kind == OutboundAction.Kind.RETURN_RECEIVED:
            receipt = ReturnReceipt(
                received_at=datetime.fromisoformat(str(action.payload.get("at") or action.created_at.isoformat())),
                packing_intact=bool(action.payload.get("packing_intact")),
                quality_ok=bool(action.payload.get("quality_ok")),
                note=note,
                tracking_number=action.ticket.return_tracking_number,
            )
            adapter.register_return_received(credentials, record, receipt)
    except BusinessRefusal as refusal:
        _finish(action.pk, status=OutboundAction.Status.REFUSED, error=refusal.message)
        tickets_flag_for_agent(
            ticket_ids=[action.ticket_id],
            by=system_user(),
            note=_("The platform refused “%(action)s”: %(message)s")
            % {"action": action.get_kind_display(), "message": refusal.message},
        )
        return OutboundAction.Status.REFUSED
    except OutcomeUnknown as error:
        # Left leased: it is tried again after the lease, and the platform's version check (the record is read
        # first) refuses a write that did happen.
        logger.warning("outbound %s: no clear answer: %s", action.pk, error.message)
        return OutboundAction.Status.PENDING
    except PlatformError as error:
        handle_platform_error(connection, error)
        _finish(action.pk, error=f"{type(error).__name__}: {error.message}")
        return OutboundAction.Status.PENDING
    _finish(action.pk, status=OutboundAction.Status.DONE)
    return OutboundAction.Status.DONE


def outbound_sweep(*, now=None, limit: int = 500) -> dict[str, int]:
    now = now or timezone.now()
    counts = {"collected": outbound_collect(now=now)}
    pending = (
        OutboundAction.objects.filter(status=OutboundAction.Status.PENDING, attempts__lt=MAX_ATTEMPTS)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    for action_id in list(pending):
        outcome = outbound_send(action_id=action_id, now=now)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts
