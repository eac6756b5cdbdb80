"""Courier claims (理赔, the 售后汇总表 ledger): one for every courier-caused refund or reship, settled monthly."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import cast

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales import lock_objects as aftersales_locks
from aftersales.models import ZERO, AfterSalesTicket, Refund, TicketKind, TicketState
from aftersales.selectors import is_system_user, system_user
from desk.access import require_in_shop, shops_for_user
from desk.errors import ActionRefused
from desk.input_checks import normalise_tracking_number
from logistics import lock_objects
from logistics.models import (
    ClaimCause,
    ClaimRemedy,
    Courier,
    CourierClaim,
    InterceptRequest,
    LogisticsEvent,
)
from logistics.selectors import agreements_for
from logistics.services.common import (
    BATCH_SIZE,
    LOST_REASON_CODE,
    RECONCILE,
    couriers_by_code,
    event_row,
    month_of,
    record_event,
)

# --- claims (理赔, 售后汇总表) ---------------------------------------------------------------------------------------


def claims_register_for_courier_liability(*, batch_size: int = BATCH_SIZE, now=None) -> int:
    """宁可多登记不要少登记: every ticket whose liability is the courier's (damaged in transit, lost, …) and that was
    refunded (a refund that did not fail, by anyone) or resolved by a reship or exchange gets its claim row, one per
    ticket, found set-based so none is forgotten. An order without a courier code has no courier to claim from."""
    now = now or timezone.now()
    system = system_user()
    created = 0
    last_id = 0
    claimed = CourierClaim.objects.filter(ticket=OuterRef("pk")).exclude(status=CourierClaim.Status.WITHDRAWN)
    while True:
        with transaction.atomic():
            tickets = aftersales_locks.free_tickets_for_update(
                AfterSalesTicket.objects.filter(pk__gt=last_id, liability="courier")
                .filter(
                    Exists(Refund.objects.filter(ticket=OuterRef("pk")).exclude(status=Refund.Status.FAILED))
                    | Q(state=TicketState.RESOLVED, kind__in=[TicketKind.RESHIP, TicketKind.EXCHANGE])
                )
                .exclude(Exists(claimed))
                .exclude(order__courier_code="")
                .select_related("order", "reason"),
                limit=batch_size,
            )
            if not tickets:
                return created
            last_id = tickets[-1].pk
            couriers = couriers_by_code(ticket.order.courier_code for ticket in tickets)
            refunds = _refunded_per_ticket(tickets)
            agreements = agreements_for((ticket.shop_id, couriers[ticket.order.courier_code]) for ticket in tickets)
            rows = []
            for ticket in tickets:
                courier = couriers[ticket.order.courier_code]
                refunded = refunds.get(ticket.pk)
                loss = refunded if refunded is not None else (ticket.requested_amount or ticket.order.paid_amount)
                rows.append(
                    CourierClaim(
                        shop_id=ticket.shop_id,
                        courier=courier,
                        order_id=ticket.order_id,
                        ticket=ticket,
                        cause=ClaimCause.LOST if ticket.reason.code == LOST_REASON_CODE else ClaimCause.DAMAGED,
                        remedy=ClaimRemedy.REFUND if refunded is not None else ClaimRemedy.RESHIP,
                        loss_amount=loss,
                        claim_amount=agreements[ticket.shop_id, courier.pk].claimable(loss, None),
                        month=month_of(now),
                        created_at=now,
                    )
                )
            claims = CourierClaim.objects.bulk_create(rows)
            LogisticsEvent.objects.bulk_create(
                event_row(
                    by=system,
                    action=LogisticsEvent.Action.OPENED,
                    at=now,
                    to_state=claim.status,
                    claim=claim,
                    note=_("Courier's liability on ticket #%(ticket)s.") % {"ticket": claim.ticket_id},
                )
                for claim in claims
            )
            created += len(claims)


def _refunded_per_ticket(tickets) -> dict[int, Decimal]:
    totals: dict[int, Decimal] = {}
    for ticket_id, amount in (
        Refund.objects.filter(ticket__in=tickets)
        .exclude(status=Refund.Status.FAILED)
        .values_list("ticket_id", "amount")
    ):
        totals[ticket_id] = totals.get(ticket_id, Decimal("0.00")) + amount
    return totals


@transaction.atomic
def claims_submit(*, claims, by) -> int:
    """Mark open claims as sent to the courier (the month's sheet went to them)."""
    now = timezone.now()
    submitted = []
    for claim in lock_objects.claims_for_update([c.pk for c in claims], status=CourierClaim.Status.OPEN):
        require_in_shop(by, claim.shop, RECONCILE)
        claim.submit()
        submitted.append(claim)
    CourierClaim.objects.bulk_update(submitted, ["status"])
    LogisticsEvent.objects.bulk_create(
        event_row(
            by=by, action=LogisticsEvent.Action.SUBMITTED, at=now, from_state="open", to_state=claim.status, claim=claim
        )
        for claim in submitted
    )
    return len(submitted)


@transaction.atomic
def claim_review_done(*, claim: CourierClaim, by, note: str = "") -> CourierClaim:
    """Someone looked at a claim marked for review (a reappeared parcel) and settled what to do."""
    claim = lock_objects.claim_for_update(claim.pk)
    require_in_shop(by, claim.shop, RECONCILE)
    claim.review_note = ""
    claim.save(update_fields=["review_note"])
    record_event(
        by=by,
        action=LogisticsEvent.Action.REVIEWED,
        at=timezone.now(),
        from_state=claim.status,
        to_state=claim.status,
        note=note,
        claim=claim,
    )
    return claim


# --- the courier's settlement sheet -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimSettlementRow:
    """One answered row of a courier's settlement sheet: `settled` with the amount paid, or rejected with a note."""

    row_number: int
    claim_id: int
    settled: bool
    amount: Decimal | None = None
    note: str = ""


@dataclass(frozen=True)
class ClaimSettlementSummary:
    settled_count: int = 0
    settled_amount: Decimal = ZERO
    rejected_count: int = 0
    rejected_claim_amount: Decimal = ZERO


@transaction.atomic
def claims_apply_settlement(
    *, courier: Courier, month: date, rows: list[ClaimSettlementRow], by
) -> ClaimSettlementSummary:
    """Settle or reject each row's claim, all or nothing: the first row refused (named by its sheet row) undoes
    the rest. Checked again here under the claims' locks, since the sheet was read without them."""
    rows = list(rows)
    if not rows:
        raise ActionRefused("nothing_to_apply", _("The sheet has no settled or rejected rows."))
    claims = {claim.pk: claim for claim in lock_objects.claims_for_update(row.claim_id for row in rows)}
    now = timezone.now()
    shops_checked: set[int] = set()
    rows_seen: dict[int, int] = {}
    changed, events = [], []
    settled_count, settled_amount, rejected_count, rejected_claim_amount = 0, ZERO, 0, ZERO
    for row in rows:
        claim = claims.get(row.claim_id)
        try:
            if claim is None:
                raise ActionRefused("unknown_claim", _("There is no claim CL%(id)06d.") % {"id": row.claim_id})
            if claim.pk in rows_seen:
                raise ActionRefused(
                    "duplicate_claim",
                    _("%(claim)s is answered twice (first on row %(row)d).")
                    % {"claim": claim.reference, "row": rows_seen[claim.pk]},
                )
            claim_settlement_check(claim=claim, row=row, courier=courier, month=month)
            if claim.shop_id not in shops_checked:
                require_in_shop(by, claim.shop, RECONCILE)
                shops_checked.add(claim.shop_id)
        except ActionRefused as refusal:
            raise ActionRefused(
                refusal.code, _("Row %(row)d: %(reason)s") % {"row": row.row_number, "reason": refusal.message}
            ) from None
        rows_seen[claim.pk] = row.row_number
        from_state = claim.status
        if row.settled:
            amount = cast(Decimal, row.amount)  # claim_settlement_check refused a settled row without one
            claim.settle(amount=amount, at=now, note=row.note)
            settled_count += 1
            settled_amount += amount
        else:
            claim.reject(at=now, note=row.note)
            rejected_count += 1
            rejected_claim_amount += claim.claim_amount
        changed.append(claim)
        events.append(
            event_row(
                by=by,
                action=LogisticsEvent.Action.SETTLED if row.settled else LogisticsEvent.Action.REJECTED,
                at=now,
                from_state=from_state,
                to_state=claim.status,
                note=row.note,
                claim=claim,
            )
        )
    CourierClaim.objects.bulk_update(
        changed, ["status", "settled_amount", "decided_at", "courier_note"], batch_size=BATCH_SIZE
    )
    LogisticsEvent.objects.bulk_create(events, batch_size=BATCH_SIZE)
    return ClaimSettlementSummary(settled_count, settled_amount, rejected_count, rejected_claim_amount)


def claim_settlement_check(*, claim: CourierClaim, row: ClaimSettlementRow, courier: Courier, month: date) -> None:
    """Refuse a sheet row its claim cannot take (the courier's sheet reader shows these before anything is written)."""
    if claim.courier_id != courier.pk or claim.month != month:
        raise ActionRefused(
            "other_sheet",
            _("%(claim)s is not one of %(courier)s's claims for %(month)s.")
            % {"claim": claim.reference, "courier": courier.name, "month": f"{month:%Y-%m}"},
        )
    if claim.status not in (CourierClaim.Status.OPEN, CourierClaim.Status.SUBMITTED):
        raise ActionRefused(
            "wrong_state",
            _("%(claim)s is already “%(status)s”.") % {"claim": claim.reference, "status": claim.get_status_display()},
        )
    if not row.settled:
        if row.amount:
            raise ActionRefused("paid_rejection", _("A rejected claim is paid nothing; leave the amount empty."))
        if not row.note.strip():
            raise ActionRefused("note_required", _("A rejection needs the courier's reason."))
        return
    if row.amount is None or row.amount <= 0:
        raise ActionRefused("invalid_amount", _("A settled claim needs the amount paid, more than zero."))
    if row.amount > claim.claim_amount:
        raise ActionRefused(
            "above_claimed",
            _("¥%(amount)s is more than the ¥%(claimed)s claimed.")
            % {"amount": row.amount, "claimed": claim.claim_amount},
        )


# --- 宁可多登记 and the month-end check (月底仓库核对) ---------------------------------------------------------


def claims_register_waiting_return(*, ticket_ids=None, batch_size: int = BATCH_SIZE, now=None) -> int:
    """Every ticket refunded after the courier confirmed its intercept gets a claim waiting for the parcel to come
    back (宁可多登记不要少登记, seed 004): if the parcel never reaches the warehouse, the month-end check files it with
    the courier; a warehouse scan of it withdraws it. Set-based and idempotent (one live claim per ticket); the
    confirmation calls it for its ticket, the 15-minute follow-up for any refund made later (after an approval)."""
    now = now or timezone.now()
    system = system_user()
    created = 0
    last_id = 0
    claimed = CourierClaim.objects.filter(ticket=OuterRef("ticket_id")).exclude(status=CourierClaim.Status.WITHDRAWN)
    paid = Refund.objects.filter(ticket=OuterRef("ticket_id")).exclude(status=Refund.Status.FAILED)
    confirmed = (
        InterceptRequest.objects.filter(status=InterceptRequest.Status.CONFIRMED)
        .filter(Exists(paid))
        .exclude(Exists(claimed))
        .select_related("courier", "shipment")
    )
    if ticket_ids is not None:
        confirmed = confirmed.filter(ticket_id__in=list(ticket_ids))
    while True:
        with transaction.atomic():
            intercepts = list(confirmed.filter(pk__gt=last_id).order_by("pk")[:batch_size])
            if not intercepts:
                return created
            last_id = intercepts[-1].pk
            refunds = _refunded_per_ticket([intercept.ticket_id for intercept in intercepts])
            agreements = agreements_for((intercept.shop_id, intercept.courier) for intercept in intercepts)
            rows = [
                CourierClaim(
                    shop_id=intercept.shop_id,
                    courier=intercept.courier,
                    order_id=intercept.shipment.order_id,
                    shipment_id=intercept.shipment_id,
                    ticket_id=intercept.ticket_id,
                    cause=ClaimCause.INTERCEPT,
                    remedy=ClaimRemedy.REFUND,
                    loss_amount=refunds[intercept.ticket_id],
                    claim_amount=agreements[intercept.shop_id, intercept.courier_id].claimable(
                        refunds[intercept.ticket_id], intercept.shipment.postage
                    ),
                    month=month_of(now),
                    status=CourierClaim.Status.WAITING_RETURN,
                    created_at=now,
                )
                for intercept in intercepts
            ]
            claims = CourierClaim.objects.bulk_create(rows, ignore_conflicts=False)
            LogisticsEvent.objects.bulk_create(
                event_row(
                    by=system,
                    action=LogisticsEvent.Action.REGISTERED_WAITING,
                    at=now,
                    to_state=claim.status,
                    claim=claim,
                    note=_("Refunded after the intercept; the parcel should come back to the warehouse."),
                )
                for claim in claims
            )
            created += len(claims)


def claims_not_back(*, user=None) -> QuerySet[CourierClaim]:
    """The month-end list (月底仓库核对): intercepted and lost parcels whose claim still stands because the parcel never
    came back to the warehouse: claims waiting for an intercepted parcel, and open or submitted claims of lost ones."""
    claims = CourierClaim.objects.filter(
        Q(status=CourierClaim.Status.WAITING_RETURN)
        | Q(cause=ClaimCause.LOST, status__in=[CourierClaim.Status.OPEN, CourierClaim.Status.SUBMITTED])
    )
    if user is not None:
        claims = claims.filter(shop__in=shops_for_user(user))
    return claims


def claims_file_not_back(*, now=None, by=None, claim_ids=None) -> int:
    """The month-end check: a claim still waiting for its parcel when its month is over (Asia/Shanghai) goes to the
    courier (open, on the month's sheet). Run by the hourly check as the system, or by a person on the month-end
    list for chosen claims (checked against their shops). A claim of the current month keeps waiting."""
    now = now or timezone.now()
    by = by or system_user()
    waiting = CourierClaim.objects.filter(status=CourierClaim.Status.WAITING_RETURN, month__lt=month_of(now))
    if claim_ids is not None:
        waiting = waiting.filter(pk__in=list(claim_ids))
    note = _("Not back at the warehouse by the month-end check: filed with the courier.")
    with transaction.atomic():
        claims = lock_objects.claims_for_update(
            waiting.values_list("pk", flat=True), status=CourierClaim.Status.WAITING_RETURN
        )
        if not is_system_user(by):
            for claim in claims:
                require_in_shop(by, claim.shop, RECONCILE)
        for claim in claims:
            claim.file_not_back()
        CourierClaim.objects.bulk_update(claims, ["status"])
        LogisticsEvent.objects.bulk_create(
            event_row(
                by=by,
                action=LogisticsEvent.Action.NOT_BACK,
                at=now,
                from_state=CourierClaim.Status.WAITING_RETURN,
                to_state=claim.status,
                note=note,
                claim=claim,
            )
            for claim in claims
        )
    return len(claims)


@transaction.atomic
def claims_withdraw_parcel_back(*, tracking_number: str, by) -> int:
    """The warehouse scanned in a parcel that an intercept or the lost-parcel rule had claimed: it is back, nothing is
    lost, so its waiting or open claims are withdrawn (a claim already submitted to the courier is marked for review
    instead). Only the scanning clerk's shops; returns how many claims it withdrew or marked."""
    number = normalise_tracking_number(tracking_number)
    if not number:
        return 0
    ids = CourierClaim.objects.filter(
        shop__in=shops_for_user(by),
        shipment__tracking_number=number,
        cause__in=[ClaimCause.INTERCEPT, ClaimCause.LOST],
        status__in=[CourierClaim.Status.WAITING_RETURN, CourierClaim.Status.OPEN, CourierClaim.Status.SUBMITTED],
    ).values_list("pk", flat=True)
    now = timezone.now()
    note = _("The parcel was scanned back at the warehouse; nothing to claim.")
    events = []
    claims = lock_objects.claims_for_update(ids)
    for claim in claims:
        from_state = claim.status
        if from_state == CourierClaim.Status.SUBMITTED:
            claim.review_note = _("The parcel was scanned back at the warehouse after the claim was submitted.")
            action = LogisticsEvent.Action.NEEDS_REVIEW
        else:
            claim.withdraw(note=note)
            action = LogisticsEvent.Action.WITHDRAWN
        events.append(
            event_row(
                by=by, action=action, at=now, from_state=from_state, to_state=claim.status, note=note, claim=claim
            )
        )
    CourierClaim.objects.bulk_update(claims, ["status", "review_note"])
    LogisticsEvent.objects.bulk_create(events)
    return len(claims)
