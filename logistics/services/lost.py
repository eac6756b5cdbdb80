"""The lost-parcel rule (丢件): quiet parcels declared lost, the buyer's remedy, a lost parcel seen again."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales import services as aftersales
from aftersales.models import AfterSalesTicket, LostParcelRemedy, Refund, ReturnReason, TicketKind, TicketState
from aftersales.selectors import system_user
from desk.errors import ActionRefused
from desk.queue import enqueue_on_commit
from logistics import lock_objects
from logistics.models import (
    DEFAULT_NO_SCAN_HOURS,
    ClaimCause,
    ClaimRemedy,
    CourierClaim,
    LogisticsEvent,
    LostParcelPolicy,
    RobotMessage,
    Shipment,
)
from logistics.selectors import agreement_for, agreements_for, no_scan_rules_for
from logistics.services.common import (
    BATCH_SIZE,
    LOST_REASON_CODE,
    WAITING_STATES,
    event_row,
    month_of,
    queue_robot_messages,
    record_event,
    shipment_move,
)
from logistics.services.intercepts import record_failure
from logistics.tasks import lost_parcel_remedy_task

# The event on the parcel that says what its buyer got.
REMEDY_EVENTS = {
    ClaimRemedy.PENDING: LogisticsEvent.Action.REMEDY_PENDING,
    ClaimRemedy.REFUND: LogisticsEvent.Action.REMEDY_REFUND,
    ClaimRemedy.RESHIP: LogisticsEvent.Action.REMEDY_RESHIP,
}
# --- the lost-parcel rule (丢件) -----------------------------------------------------------------------------------


@dataclass
class LostCheckResult:
    checked: int = 0
    declared: int = 0
    claims: int = 0


def shipments_declare_lost(*, now=None, batch_size: int = BATCH_SIZE) -> LostCheckResult:
    """超过48小时无走件(偏远72小时)默认丢件: declare quiet parcels lost, open their claims and tell the couriers.

    Per batch: the candidates (locked, SKIP LOCKED), the shops' rules, one bulk update (each parcel moved by its
    `declare_lost` transition in memory), one claim insert, one event insert and one message insert, whatever the
    batch holds. The buyer's refund or replacement follows per parcel
    (lost_parcel_remedy), queued after commit and found again by the next run if that message is lost.
    """
    now = now or timezone.now()
    result = LostCheckResult()
    # Candidates are parcels quiet for the shortest limit any shop has; each one's own limit is decided below.
    shortest = LostParcelPolicy.objects.aggregate(hours=Min("no_scan_hours"), remote=Min("remote_no_scan_hours"))
    min_hours = min(shortest["hours"] or DEFAULT_NO_SCAN_HOURS, shortest["remote"] or DEFAULT_NO_SCAN_HOURS)
    min_hours = min(min_hours, DEFAULT_NO_SCAN_HOURS)
    system = system_user()
    last_id = 0
    while True:
        with transaction.atomic():
            batch = lock_objects.free_shipments_for_update(
                Shipment.objects.filter(
                    pk__gt=last_id,
                    status=Shipment.Status.IN_TRANSIT,
                    last_scan_at__lte=now - timedelta(hours=min_hours),
                ),
                limit=batch_size,
            )
            if not batch:
                return result
            last_id = batch[-1].pk
            result.checked += len(batch)
            rules = no_scan_rules_for({shipment.shop_id for shipment in batch})
            lost = [
                shipment
                for shipment in batch
                if shipment.last_scan_at <= now - rules[shipment.shop_id].quiet_limit(shipment.destination_province)
            ]
            if lost:
                result.claims += _declare_lost(lost, now=now, by=system)
                result.declared += len(lost)


def _declare_lost(lost: list[Shipment], *, now, by) -> int:
    """Declare the batch's locked parcels lost: each through its transition, all saved in one bulk update."""
    note = _("No scan since %(since)s: declared lost.")
    events = [
        shipment_move(
            s,
            "declare_lost",
            by=by,
            at=now,
            note=note % {"since": timezone.localtime(s.last_scan_at).strftime("%Y-%m-%d %H:%M")},
            arguments={"at": now},
        )
        for s in lost
    ]
    Shipment.objects.bulk_update(lost, ["status", "lost_at", "lost_remedy_done_at"])
    already_claimed = set(
        CourierClaim.objects.filter(shipment__in=lost, cause=ClaimCause.LOST)
        .exclude(status=CourierClaim.Status.WITHDRAWN)
        .values_list("shipment_id", flat=True)
    )
    agreements = agreements_for((shipment.shop_id, shipment.courier) for shipment in lost)
    claims = CourierClaim.objects.bulk_create(
        [
            CourierClaim(
                shop_id=shipment.shop_id,
                courier=shipment.courier,
                order_id=shipment.order_id,
                shipment=shipment,
                cause=ClaimCause.LOST,
                loss_amount=shipment.order.paid_amount,
                # In transit, so it has its courier (the constraint shipment_dispatched_has_waybill).
                claim_amount=agreements[shipment.shop_id, shipment.courier_id].claimable(  # type: ignore[index]
                    shipment.order.paid_amount, shipment.postage
                ),
                month=month_of(now),
                created_at=now,
            )
            for shipment in lost
            if shipment.pk not in already_claimed
        ]
    )
    LogisticsEvent.objects.bulk_create(
        events
        + [
            event_row(by=by, action=LogisticsEvent.Action.OPENED, at=now, to_state=claim.status, claim=claim)
            for claim in claims
        ]
    )
    # One message per shop and courier, to that shop's robot: a shop's waybills never reach another shop's group.
    per_shop_courier = defaultdict(list)
    for shipment in lost:
        per_shop_courier[shipment.shop_id, shipment.courier].append(shipment.tracking_number)
    queue_robot_messages(
        [
            RobotMessage(
                shop_id=shop_id,
                courier=courier,
                purpose="lost_parcels",
                text=_("[Lost parcels] No scan within the agreed time; registered for a claim: %(numbers)s")
                % {"numbers": ", ".join(numbers)},
            )
            for (shop_id, courier), numbers in per_shop_courier.items()
        ]
    )
    for shipment in lost:
        enqueue_on_commit(lost_parcel_remedy_task, shipment.pk)
    return len(claims)


def lost_parcels_remedy_pending(*, batch_size: int = BATCH_SIZE) -> int:
    """The safety net: lost parcels whose buyer has not had a refund or replacement yet (a lost message, a crash)."""
    done = 0
    for shipment_id in Shipment.objects.filter(
        status=Shipment.Status.LOST, lost_remedy_done_at__isnull=True
    ).values_list("pk", flat=True)[:batch_size]:
        if lost_parcel_remedy(shipment_id=shipment_id):
            done += 1
    return done


@transaction.atomic
def lost_parcel_remedy(*, shipment_id: int) -> bool:
    """Give the buyer of a lost parcel their remedy through the ticket's own services: an open refund-only request is
    refunded, another open request is flagged to its agent, and without a request the shop's policy decides (refund,
    or reship a replacement). Fill in the parcel's claim with what was paid or sent. A second call does nothing."""
    shipment = lock_objects.lost_shipment_awaiting_remedy_for_update(shipment_id)
    if shipment is None:
        return False
    system = system_user()
    now = timezone.now()
    claim = lock_objects.lost_claim_for_update(shipment)
    try:
        with transaction.atomic():
            ticket, refund, remedy, note = _give_remedy(shipment, by=system, now=now)
    except ActionRefused as refusal:
        # Never a crash loop for the task or the sweep: the claim says what an agent must do instead.
        ticket, refund, remedy = None, None, ClaimRemedy.PENDING
        note = _("The buyer's remedy could not be given automatically: %(reason)s") % {"reason": refusal.message}
    if claim is not None:
        _fill_claim(claim, shipment=shipment, ticket=ticket, refund=refund, remedy=remedy, note=note, by=system, at=now)
    shipment.lost_remedy_done_at = now
    shipment.save(update_fields=["lost_remedy_done_at"])
    record_event(
        by=system, action=REMEDY_EVENTS[remedy], at=now, to_state=shipment.status, note=note, shipment=shipment
    )
    return True


def _give_remedy(shipment: Shipment, *, by, now):
    """(ticket, refund, remedy, note): what the buyer of this lost parcel gets, decided by where their request is."""
    tickets = AfterSalesTicket.objects.filter(order_id=shipment.order_id).order_by("-pk")
    if shipment.direction == Shipment.Direction.RETURN:
        note = _("The buyer's return is lost; the courier owes it. Refund the buyer as the platform requires.")
        ticket = tickets.filter(state__in=_OPEN_FOR_REMEDY).first()
        if ticket:
            aftersales.tickets_flag_for_agent(ticket_ids=[ticket.pk], by=by, note=note)
        return ticket, None, ClaimRemedy.PENDING, note
    ticket = tickets.filter(state__in=_OPEN_FOR_REMEDY).first()
    if ticket and ticket.state in WAITING_STATES and ticket.kind == TicketKind.REFUND_ONLY:
        _fail_open_intercepts(ticket, by=by, at=now)
        decision = aftersales.ticket_parcel_lost(ticket=ticket, by=by, note=_("The parcel was declared lost."))
        return _refund_remedy(ticket, decision)
    if ticket:
        note = _("The parcel was declared lost while this request is open; decide the buyer's remedy.")
        aftersales.tickets_flag_for_agent(ticket_ids=[ticket.pk], by=by, note=note)
        return ticket, None, ClaimRemedy.PENDING, note
    # The buyer already had their money back or a replacement (an agent refunded before the check ran).
    done = tickets.filter(
        state__in=[TicketState.REFUNDING, TicketState.REFUNDED, TicketState.RESOLVED],
        opened_at__gte=shipment.shipped_at,
    ).first()
    if done:
        refund = done.refunds.exclude(status=Refund.Status.FAILED).order_by("-pk").first()
        return done, refund, ClaimRemedy.REFUND if refund else ClaimRemedy.RESHIP, ""
    return _remedy_by_policy(shipment, by=by, now=now)


def _refund_remedy(ticket, decision):
    """(ticket, refund, remedy, note) for a lost parcel's refund: paid now, or above the shop's automatic cap waiting
    for a supervisor, when the claim's remedy stays pending until someone decides."""
    if decision.refund is not None:
        return ticket, decision.refund, ClaimRemedy.REFUND, ""
    note = _("The refund is above the shop's automatic cap and waits for a supervisor's approval.")
    return ticket, None, ClaimRemedy.PENDING, note


def _fill_claim(claim, *, shipment, ticket, refund, remedy, note, by, at) -> None:
    """Record on the parcel's claim what the buyer got; a loss already claimed on the ticket is not claimed twice."""
    other = (
        CourierClaim.objects.filter(ticket=ticket).exclude(pk=claim.pk).exclude(status=CourierClaim.Status.WITHDRAWN)
        if ticket
        else CourierClaim.objects.none()
    ).first()
    if other is not None:
        withdrawn = _("Already claimed as %(claim)s.") % {"claim": other}
        claim.withdraw(note=withdrawn)
        claim.save()
        record_event(
            by=by,
            action=LogisticsEvent.Action.WITHDRAWN,
            at=at,
            from_state="open",
            to_state=claim.status,
            note=withdrawn,
            claim=claim,
        )
        return
    claim.ticket = claim.ticket or ticket
    if remedy != ClaimRemedy.PENDING:
        claim.remedy = remedy
    if refund is not None:
        claim.refund = refund
        claim.loss_amount = refund.amount
        agreement = agreement_for(shop_id=shipment.shop_id, courier=shipment.courier)
        claim.claim_amount = agreement.claimable(refund.amount, shipment.postage)
    if note and remedy == ClaimRemedy.PENDING:
        claim.review_note = note
    claim.save()


_OPEN_FOR_REMEDY = (
    TicketState.REQUESTED,
    TicketState.INTERCEPTING,
    TicketState.AWAITING_APPROVAL,
    TicketState.AWAITING_RETURN,
    TicketState.RETURN_IN_TRANSIT,
)


def _fail_open_intercepts(ticket, *, by, at) -> None:
    for intercept in lock_objects.open_intercepts_of_ticket_for_update(ticket.pk):
        record_failure(intercept, by=by, at=at, note=_("The parcel was declared lost."))


def _remedy_by_policy(shipment: Shipment, *, by, now) -> tuple[AfterSalesTicket, Refund | None, str, str]:
    """Nobody asked yet: act first for the buyer, as the shop's setting says (补发 a replacement, or refund)."""
    remedy = shipment.shop.lost_parcel_remedy
    reason = ReturnReason.objects.get(code=LOST_REASON_CODE)
    order = shipment.order
    message = _("Parcel %(number)s declared lost (no scan in time).") % {"number": shipment.tracking_number}
    if remedy == LostParcelRemedy.RESHIP:
        ticket = aftersales.ticket_open(
            order=order, kind=TicketKind.RESHIP, reason=reason, by=by, buyer_message=message
        )
        aftersales.ticket_resolve_by_replacement(ticket=ticket, by=by, kind=TicketKind.RESHIP, note=message)
        replacement = Shipment.objects.create(
            shop_id=shipment.shop_id,
            order_id=order.pk,
            ticket=ticket,
            direction=Shipment.Direction.OUTBOUND,
            destination_province=shipment.destination_province,
            replaces=shipment,
            status=Shipment.Status.CREATED,
        )
        record_event(
            by=by,
            action=LogisticsEvent.Action.REPLACEMENT_CREATED,
            at=now,
            to_state=replacement.status,
            note=message,
            shipment=replacement,
        )
        return ticket, None, ClaimRemedy.RESHIP, ""
    ticket = aftersales.ticket_open(
        order=order,
        kind=TicketKind.REFUND_ONLY,
        reason=reason,
        by=by,
        requested_amount=order.refundable_amount,
        buyer_message=message,
    )
    return _refund_remedy(ticket, aftersales.ticket_parcel_lost(ticket=ticket, by=by, note=message))


def lost_parcels_reappeared(shipments: list[Shipment]) -> None:
    """A parcel declared lost was scanned again (tracking moved it back and wrote its `reappeared` event). Its claim
    is withdrawn when nothing was paid or sent for it yet, or when it is back with us; otherwise it stays, marked for
    review, and the ticket's agent is told. Never silent."""
    system = system_user()
    now = timezone.now()
    by_pk = {shipment.pk: shipment for shipment in shipments}
    events, flag_tickets = [], set()
    for claim in lock_objects.live_claims_of_shipments_for_update(shipments):
        shipment = by_pk[claim.shipment_id]  # type: ignore[index]  # claims of these parcels have one
        back_with_us = shipment.status == Shipment.Status.RETURNED
        scanned = timezone.localtime(shipment.last_scan_at).strftime("%Y-%m-%d %H:%M")
        if claim.status == CourierClaim.Status.OPEN and (claim.remedy == ClaimRemedy.PENDING or back_with_us):
            note = _("The parcel was scanned again on %(at)s; claim withdrawn.") % {"at": scanned}
            claim.withdraw(note=note)
            action = LogisticsEvent.Action.WITHDRAWN
        else:
            note = _(
                "The parcel was scanned again on %(at)s after the buyer was refunded or sent a replacement: ask the "
                "courier to return it, and correct or withdraw this claim."
            ) % {"at": scanned}
            claim.review_note = note
            action = LogisticsEvent.Action.NEEDS_REVIEW
            if claim.ticket_id:
                flag_tickets.add(claim.ticket_id)
        claim.save()
        events.append(
            event_row(
                by=system, action=action, at=now, from_state="open", to_state=claim.status, note=note, claim=claim
            )
        )
    # Nothing to do any more for the buyer of a parcel that moves again (the remedy check skips it either way).
    Shipment.objects.filter(pk__in=list(by_pk), lost_remedy_done_at__isnull=True).update(lost_remedy_done_at=now)
    LogisticsEvent.objects.bulk_create(events)
    if flag_tickets:
        aftersales.tickets_flag_for_agent(
            ticket_ids=flag_tickets, by=system, note=_("The lost parcel was scanned again; check its claim.")
        )
