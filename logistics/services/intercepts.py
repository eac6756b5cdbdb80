"""Intercepts (拦截): asking the courier to stop a parcel, its answer, and chasing a late answer."""

import logging
import secrets
from collections import defaultdict
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales import lock_objects as aftersales_locks
from aftersales import services as aftersales
from aftersales.models import AfterSalesTicket, TicketKind, TicketState
from aftersales.selectors import is_system_user, system_user
from desk.access import require_in_shop
from desk.errors import ActionRefused
from desk.queue import enqueue_on_commit
from logistics import lock_objects
from logistics.models import (
    ClaimCause,
    ClaimRemedy,
    CourierClaim,
    InterceptChannel,
    InterceptRequest,
    Kuaidi100Intercept,
    LogisticsEvent,
    RobotMessage,
    Shipment,
)
from logistics.selectors import agreement_for
from logistics.services.claims import claims_register_waiting_return
from logistics.services.common import (
    ANSWER_INTERCEPT,
    BATCH_SIZE,
    REQUEST_INTERCEPT,
    event_row,
    month_of,
    queue_robot_messages,
    record_event,
    shipment_move,
)
from logistics.services.shipments import outbound_shipment_for
from logistics.tasks import kuaidi100_intercept_send_task

logger = logging.getLogger(__name__)

# --- intercepts (拦截) ----------------------------------------------------------------------------------------------


def intercept_robot_message(intercept: InterceptRequest) -> RobotMessage:
    """The request in the courier's group chat (unsaved): the robot channel, and the fallback when Kuaidi100 refuses."""
    return RobotMessage(
        shop_id=intercept.shop_id,
        courier=intercept.courier,
        intercept=intercept,
        purpose="intercept_request",
        text=_intercept_message(intercept),
    )


def _intercept_message(intercept: InterceptRequest) -> str:
    order = intercept.ticket.order
    return _(
        "[Intercept request] %(courier)s waybill %(number)s (order %(order)s, %(shop)s). Please stop the parcel and "
        "return it to the sender, and answer by %(due)s."
    ) % {
        "courier": intercept.courier.name,
        "number": intercept.shipment.tracking_number,
        "order": order.platform_order_id,
        "shop": intercept.shop.name,
        "due": timezone.localtime(intercept.due_at).strftime("%m-%d %H:%M"),
    }


@transaction.atomic
def intercept_request(*, ticket: AfterSalesTicket, by, note: str = "") -> InterceptRequest:
    """Ask the courier to stop the parcel of a refund-only ticket (path 2, or path 1 whose parcel had left): the
    ticket waits in `intercepting`, and the courier gets the request through the channel the shop's agreement chose:
    its contact's group chat, or Kuaidi100's intercept order (sent by a task after the commit, never under a lock).
    Both channels answer on the same clock (`due_at`) and are chased the same way (intercepts_flag_overdue)."""
    require_in_shop(by, ticket.shop, REQUEST_INTERCEPT)
    ticket = AfterSalesTicket.objects.select_related("order").get(pk=ticket.pk)
    if ticket.kind != TicketKind.REFUND_ONLY:
        raise ActionRefused("not_refund_only", _("An intercept is for refund-only requests."))
    shipment = outbound_shipment_for(ticket.order)
    if shipment is None:
        raise ActionRefused("no_parcel", _("The order has no tracking number to intercept."))
    shipment = lock_objects.shipment_for_update(shipment.pk)
    if shipment.status not in (Shipment.Status.IN_TRANSIT, Shipment.Status.LOST):
        raise ActionRefused(
            "not_in_transit",
            _("The parcel is “%(status)s”; only a parcel on its way can be intercepted.")
            % {"status": shipment.get_status_display()},
        )
    if shipment.intercepts.filter(status=InterceptRequest.Status.REQUESTED).exists():
        raise ActionRefused("already_requested", _("An intercept of this parcel is already waiting for the courier."))
    aftersales.ticket_start_intercept(ticket=ticket, by=by, note=note)
    now = timezone.now()
    courier = shipment.courier
    # The shop's own agreement with the courier sets the answer time (the courier's default when it has none).
    # In transit or lost, so it has its courier (the constraint shipment_dispatched_has_waybill).
    agreement = agreement_for(shop_id=ticket.shop_id, courier=courier)  # type: ignore[arg-type]
    channel = InterceptChannel.KUAIDI100 if agreement.uses_kuaidi100 else InterceptChannel.ROBOT
    try:
        with transaction.atomic():
            intercept = InterceptRequest.objects.create(
                shop_id=ticket.shop_id,
                ticket=ticket,
                shipment=shipment,
                courier=courier,
                requested_by=by,
                requested_at=now,
                due_at=now + timedelta(minutes=agreement.intercept_answer_minutes),
                note=note,
                channel=channel,
            )
    except IntegrityError as error:
        raise ActionRefused(
            "already_requested", _("An intercept of this parcel is already waiting for the courier.")
        ) from error
    record_event(
        by=by, action=LogisticsEvent.Action.REQUESTED, at=now, to_state=intercept.status, note=note, intercept=intercept
    )
    if channel == InterceptChannel.KUAIDI100:
        call = Kuaidi100Intercept.objects.create(
            intercept=intercept,
            # Unique at Kuaidi100 across our installations, and unguessable in the callback's URL.
            order_id=f"IR{intercept.pk}-{secrets.token_hex(6)}",
            salt=secrets.token_hex(16),
        )
        enqueue_on_commit(kuaidi100_intercept_send_task, call.pk)
    else:
        queue_robot_messages([intercept_robot_message(intercept)])
    return intercept


def lock_intercept(intercept: InterceptRequest) -> InterceptRequest:
    """Lock in logistics' one order, parcel → ticket → intercept → claims (then aftersales' ticket → order), so two
    services, the tracking push and the checks never wait on each other in a circle."""
    shipment_id, ticket_id = InterceptRequest.objects.values_list("shipment_id", "ticket_id").get(pk=intercept.pk)
    shipment = lock_objects.shipment_for_update(shipment_id)
    aftersales_locks.ticket_for_update(ticket_id)
    intercept = lock_objects.intercept_for_update(intercept.pk)
    intercept.shipment = shipment
    return intercept


def _require_courier_answer(intercept: InterceptRequest, by) -> None:
    """The courier's answer comes through the courier's channel: recorded by someone who may record it (a group-robot
    reply) or by the courier API's callback, and never by the person who asked for the intercept, whose refund it
    would release."""
    require_in_shop(by, intercept.shop, ANSWER_INTERCEPT)
    if intercept.requested_by_id == by.pk and not is_system_user(by):
        raise ActionRefused(
            "own_intercept", _("You asked for this intercept; its answer must be recorded by someone else.")
        )


def _require_open(intercept: InterceptRequest, *allowed) -> None:
    if intercept.status not in (allowed or (InterceptRequest.Status.REQUESTED,)):
        raise ActionRefused(
            "already_answered",
            _("This intercept is already “%(status)s”.") % {"status": intercept.get_status_display()},
        )


@transaction.atomic
def intercept_confirm(*, intercept: InterceptRequest, by, note: str = "") -> InterceptRequest:
    """The courier stopped the parcel, which comes back to us: if the ticket still waits on the intercept, its refund
    follows through the gate (at once within the shop's automatic cap, above it a supervisor approves)."""
    intercept = lock_intercept(intercept)
    _require_courier_answer(intercept, by)
    _require_open(intercept)
    now = timezone.now()
    intercept.confirm(at=now)
    intercept.save()
    events = [
        event_row(
            by=by,
            action=LogisticsEvent.Action.CONFIRMED,
            at=now,
            from_state="requested",
            to_state=intercept.status,
            note=note,
            intercept=intercept,
        )
    ]
    shipment = intercept.shipment
    if shipment.status in (Shipment.Status.IN_TRANSIT, Shipment.Status.LOST):
        events.append(shipment_move(shipment, "intercept", by=by, at=now, note=note))
        shipment.save()
    LogisticsEvent.objects.bulk_create(events)
    if intercept.ticket.state == TicketState.INTERCEPTING:
        aftersales.ticket_intercept_confirmed(ticket=intercept.ticket, by=by, note=note)
        # 宁可多登记: the refund is paid before the parcel is back; its claim waits for the warehouse's scan.
        claims_register_waiting_return(ticket_ids=[intercept.ticket_id])
    return intercept


def record_failure(intercept: InterceptRequest, *, by, at, note: str) -> None:
    """Move a locked, requested intercept to failed and write its event; the caller decides what the ticket does."""
    intercept.fail(at=at)
    intercept.save()
    record_event(
        by=by,
        action=LogisticsEvent.Action.FAILED,
        at=at,
        from_state="requested",
        to_state=intercept.status,
        note=note,
        intercept=intercept,
    )


@transaction.atomic
def intercept_fail(*, intercept: InterceptRequest, by, note: str = "") -> InterceptRequest:
    """The courier could not stop it: the ticket goes back to the agent, as path 3 once the buyer has the parcel."""
    intercept = lock_intercept(intercept)
    _require_courier_answer(intercept, by)
    _require_open(intercept)
    record_failure(intercept, by=by, at=timezone.now(), note=note)
    if intercept.ticket.state == TicketState.INTERCEPTING:
        aftersales.ticket_intercept_failed(ticket=intercept.ticket, by=by, note=note)
    return intercept


@transaction.atomic
def intercept_mark_returned(*, intercept: InterceptRequest, by, note: str = "") -> InterceptRequest:
    """The intercepted parcel is back with the sender: nothing is lost, so a claim made while waiting is withdrawn,
    and a ticket still waiting on the intercept gets its refund as on a confirmation."""
    intercept = lock_intercept(intercept)
    _require_courier_answer(intercept, by)
    _require_open(intercept, InterceptRequest.Status.REQUESTED, InterceptRequest.Status.CONFIRMED)
    now = timezone.now()
    from_state = intercept.status
    intercept.mark_returned(at=now)
    intercept.save()
    events = [
        event_row(
            by=by,
            action=LogisticsEvent.Action.RETURNED,
            at=now,
            from_state=from_state,
            to_state=intercept.status,
            note=note,
            intercept=intercept,
        )
    ]
    shipment = intercept.shipment
    if shipment.status != Shipment.Status.RETURNED:
        events.append(shipment_move(shipment, "mark_returned", by=by, at=now, note=note))
        shipment.save()
    for claim in lock_objects.open_intercept_claims_of_ticket_for_update(intercept.ticket_id):
        withdrawn_note = _("The intercepted parcel came back; nothing to claim.")
        claim.withdraw(note=withdrawn_note)
        claim.save()
        events.append(
            event_row(
                by=by,
                action=LogisticsEvent.Action.WITHDRAWN,
                at=now,
                from_state="open",
                to_state=claim.status,
                note=withdrawn_note,
                claim=claim,
            )
        )
    LogisticsEvent.objects.bulk_create(events)
    if intercept.ticket.state == TicketState.INTERCEPTING:
        aftersales.ticket_intercept_confirmed(ticket=intercept.ticket, by=by, note=note)
    return intercept


@transaction.atomic
def intercept_refund_early(*, ticket: AfterSalesTicket, by, note: str = "") -> CourierClaim:
    """先退款后拦截: refund the buyer before the courier answers, and register the parcel in the claims ledger at the
    same time, so a failed intercept is the courier's loss and a returned parcel withdraws the claim."""
    intercept = (
        InterceptRequest.objects.filter(ticket=ticket, status=InterceptRequest.Status.REQUESTED)
        .select_related("courier")
        .first()
    )
    if intercept is None:
        raise ActionRefused("no_intercept", _("Refunding early needs an intercept waiting for the courier."))
    refund = aftersales.ticket_refund_while_intercepting(ticket=ticket, by=by, note=note)
    now = timezone.now()
    claim = CourierClaim.objects.create(
        shop_id=ticket.shop_id,
        courier=intercept.courier,
        order_id=ticket.order_id,
        shipment_id=intercept.shipment_id,
        ticket_id=ticket.pk,
        refund=refund,
        cause=ClaimCause.INTERCEPT,
        remedy=ClaimRemedy.REFUND,
        loss_amount=refund.amount,
        claim_amount=agreement_for(shop_id=ticket.shop_id, courier=intercept.courier).claimable(
            refund.amount, intercept.shipment.postage
        ),
        month=month_of(now),
        created_at=now,
    )
    record_event(by=by, action=LogisticsEvent.Action.REGISTERED, at=now, to_state=claim.status, note=note, claim=claim)
    return claim


def intercepts_flag_overdue(*, now=None, batch_size: int = BATCH_SIZE) -> int:
    """Intercepts the courier has not answered in time: flag them, chase the courier's group (one message per shop
    and courier per batch, listing that shop's waybills, to the shop's own robot) and put a note in front of each
    ticket's agent."""
    now = now or timezone.now()
    flagged = 0
    system = system_user()
    last_id = 0
    overdue = InterceptRequest.objects.filter(
        status=InterceptRequest.Status.REQUESTED, due_at__lte=now, overdue_flagged_at__isnull=True
    )
    while True:
        with transaction.atomic():
            candidates = list(overdue.filter(pk__gt=last_id).order_by("pk").values_list("pk", "ticket_id")[:batch_size])
            if not candidates:
                return flagged
            last_id = candidates[-1][0]
            # Tickets before intercepts (the services' lock order); one busy elsewhere is left for the next run.
            free_tickets = aftersales_locks.free_ticket_ids_for_update([ticket_id for _pk, ticket_id in candidates])
            batch = lock_objects.free_intercepts_for_update(
                overdue.filter(pk__in=[pk for pk, ticket_id in candidates if ticket_id in free_tickets])
            )
            if not batch:
                continue
            InterceptRequest.objects.filter(pk__in=[i.pk for i in batch]).update(overdue_flagged_at=now)
            note = _("The courier has not answered the intercept in time; chased in their group.")
            LogisticsEvent.objects.bulk_create(
                event_row(
                    by=system,
                    action=LogisticsEvent.Action.OVERDUE,
                    at=now,
                    from_state=i.status,
                    to_state=i.status,
                    note=note,
                    intercept=i,
                )
                for i in batch
            )
            per_shop_courier = defaultdict(list)
            for intercept in batch:
                per_shop_courier[intercept.shop_id, intercept.courier].append(intercept)
            queue_robot_messages(
                [
                    RobotMessage(
                        shop_id=shop_id,
                        courier=courier,
                        purpose="intercept_overdue",
                        text=_("[Intercepts overdue] Please answer now: %(numbers)s")
                        % {"numbers": ", ".join(i.shipment.tracking_number for i in intercepts)},
                    )
                    for (shop_id, courier), intercepts in per_shop_courier.items()
                ]
            )
            aftersales.tickets_flag_for_agent(ticket_ids=[i.ticket_id for i in batch], by=system, note=note)
            flagged += len(batch)


def intercepts_open_for_waiting_tickets(*, batch_size: int = BATCH_SIZE) -> int:
    """早上对所有仅退款件进行拦截: every refund-only request on a parcel still on its way gets an intercept, as the
    system user, once (a ticket whose intercept failed is the agent's again and is not retried)."""
    system = system_user()
    opened = 0
    last_id = 0
    while True:
        tickets = list(
            AfterSalesTicket.objects.filter(
                pk__gt=last_id,
                state=TicketState.REQUESTED,
                kind=TicketKind.REFUND_ONLY,
                order__shipped_at__isnull=False,
                order__delivered_at__isnull=True,
            )
            .exclude(Exists(InterceptRequest.objects.filter(ticket=OuterRef("pk"))))
            .select_related("shop", "order")
            .order_by("pk")[:batch_size]
        )
        if not tickets:
            return opened
        for ticket in tickets:
            try:
                intercept_request(ticket=ticket, by=system, note=_("Requested by the daily intercept rule."))
                opened += 1
            except ActionRefused as refusal:
                logger.info("no intercept for ticket %s: %s", ticket.pk, refusal.code)
        last_id = tickets[-1].pk
