"""A refund's life after the gate made it: sent to the marketplace, confirmed or failed (DESIGN §3, Refund).

No gateway call runs while a row is locked. Sending is three steps: a short transaction claims the pending refund
(`send_started_at`, one more `send_attempts`); the gateway is called outside any transaction; a second transaction
records the answer if the claim is still the one made (the refund is locked again and checked). A claim whose answer
never came (timeout, killed worker) is settled by asking the gateway's `status` (refund_settle); only a "not found"
lets it be sent again. The ticket is refunded only when the marketplace confirmed every refund it waits for.

The batch-file gateway's refunds are sent by the shop's batch file (refund_batch_create), confirmed or failed by the
marketplace tool's result file (refund_batch_results_import) or by a supervisor's word (refund_batch_confirm).
Every state change writes its ticket event in the transaction that makes it.
"""

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales import lock_objects
from aftersales.gateways import (
    BatchFileGateway,
    RefundGatewayUnavailable,
    SendOutcome,
    SendResult,
    StatusOutcome,
    StatusResult,
    get_refund_gateway,
)
from aftersales.models import ZERO, AfterSalesTicket, Refund, RefundBatch, Shop, TicketEvent, TicketState
from aftersales.order_import import ImportFileError, read_rows
from aftersales.selectors import system_user
from aftersales.services.ticket_events import ticket_event_record, ticket_move
from desk.access import DECIDE, WORK, require_in_shop
from desk.errors import ActionRefused

logger = logging.getLogger(__name__)

OPEN_STATUSES = (Refund.Status.PENDING, Refund.Status.SENT)


def _answer_grace() -> timedelta:
    """How long a claimed send may stay unanswered before it is asked about (a send still under way is not)."""
    return timedelta(seconds=settings.SWEEP_PENDING_REFUND_GRACE_SECONDS)


# --- one refund -----------------------------------------------------------------------------------------------------


def refund_execute(*, refund_id: int) -> Refund:
    """Send a pending refund through the gateway and record its answer; a second call sends nothing again.

    A refund already claimed by a send whose answer is overdue is settled by asking the gateway (refund_settle).
    RefundGatewayUnavailable propagates (the claim stays, to be asked about later); a definite refusal fails the
    refund and returns the ticket to the agent.
    """
    refund, attempt = _claim(refund_id)
    if attempt is None:
        if _claim_overdue(refund):
            return refund_settle(refund_id=refund_id)
        return refund
    gateway = get_refund_gateway()
    result = gateway.send(refund)  # outside any transaction: no row is locked during the call
    return _record_send(refund_id, attempt, gateway.name, result)


def refunds_execute(*, refund_ids: list[int]) -> None:
    """Send several pending refunds, each through refund_execute. One whose gateway cannot be reached stays claimed
    (asked about later); the others are still tried, then the error is raised so the caller's retry is logged.

    A gateway that agrees many refunds in one call (`send_many`, a marketplace's batch agreement) gets them all at
    once: each is claimed as refund_execute claims it, the call is made outside any transaction, and each answer is
    recorded on its own."""
    gateway = get_refund_gateway()
    if len(refund_ids) > 1 and hasattr(gateway, "send_many"):
        _send_many(gateway, refund_ids)
        return
    unavailable = None
    for refund_id in refund_ids:
        try:
            refund_execute(refund_id=refund_id)
        except RefundGatewayUnavailable as error:
            unavailable = error
    if unavailable is not None:
        raise unavailable


def _send_many(gateway, refund_ids: list[int]) -> None:
    claimed: list[tuple[Refund, int]] = []
    overdue = []
    for refund_id in refund_ids:
        refund, attempt = _claim(refund_id)
        if attempt is not None:
            claimed.append((refund, attempt))
        elif _claim_overdue(refund):
            overdue.append(refund_id)
    answers = gateway.send_many([refund for refund, _attempt in claimed]) if claimed else {}
    unavailable = False
    for refund, attempt in claimed:
        name, result = answers.get(refund.pk, (gateway.name, None))
        if result is None:
            unavailable = True  # stays claimed: asked about once its answer is overdue, never sent blindly
            continue
        _record_send(refund.pk, attempt, name, result)
    for refund_id in overdue:
        refund_settle(refund_id=refund_id)
    if unavailable:
        raise RefundGatewayUnavailable(
            _("The marketplace did not answer for some refunds; they are asked about later.")
        )


def _claim_overdue(refund: Refund) -> bool:
    return (
        refund.status == Refund.Status.PENDING
        and refund.send_started_at is not None
        and refund.send_started_at <= timezone.now() - _answer_grace()
    )


@transaction.atomic
def _claim(refund_id: int) -> tuple[Refund, int | None]:
    """Lock the refund, and if it is pending, unclaimed and not waiting for a batch file, mark it as being sent."""
    refund = lock_objects.refund_for_update(refund_id)
    waiting_for_batch = refund.gateway == BatchFileGateway.name and refund.batch_id is None
    if refund.status != Refund.Status.PENDING or refund.send_started_at is not None or waiting_for_batch:
        return refund, None
    refund.send_started_at = timezone.now()
    refund.send_attempts += 1
    refund.save(update_fields=["send_started_at", "send_attempts"])
    return refund, refund.send_attempts


def _lock(refund_id: int) -> tuple[AfterSalesTicket, Refund]:
    ticket_id = Refund.objects.values_list("ticket_id", flat=True).get(pk=refund_id)
    ticket = lock_objects.ticket_for_update(ticket_id)
    return ticket, lock_objects.refund_for_update(refund_id)


@transaction.atomic
def _record_send(refund_id: int, attempt: int, gateway: str, result: SendResult) -> Refund:
    ticket, refund = _lock(refund_id)
    if refund.status != Refund.Status.PENDING or refund.send_attempts != attempt or refund.send_started_at is None:
        return refund  # settled meanwhile (asked about, or a result recorded): this answer is not news
    system = system_user()
    if result.outcome == SendOutcome.SENT:
        _sent(ticket, refund, system, gateway=gateway, reference=result.reference)
    elif result.outcome == SendOutcome.QUEUED:
        refund.send_started_at = None
        refund.gateway = gateway
        refund.save(update_fields=["send_started_at", "gateway"])
        ticket_event_record(
            ticket,
            system,
            TicketEvent.Action.REFUND_QUEUED,
            ticket.state,
            amount=refund.amount,
            note=_("Waiting for the shop's next batch-refund file."),
        )
    else:
        _failed(ticket, refund, system, gateway=gateway, reason=result.error)
    return refund


def refund_settle(*, refund_id: int) -> Refund:
    """Settle a refund whose answer is missing or awaited by asking the gateway what the marketplace knows of it.

    Confirmed or failed: recorded. Sent and waiting: a claimed refund becomes sent. Not found: a claimed refund is
    released and sent again (the only case it is). Unknown: nothing changes; it is asked again next time.
    """
    refund = Refund.objects.get(pk=refund_id)
    in_flight = refund.status == Refund.Status.PENDING and refund.send_started_at is not None
    if not (in_flight or refund.status == Refund.Status.SENT):
        return refund
    gateway = get_refund_gateway()
    answer = gateway.status(refund)  # outside any transaction
    refund, send_again = _record_status(refund_id, refund.status, refund.send_attempts, gateway.name, answer)
    if send_again:
        return refund_execute(refund_id=refund_id)
    return refund


@transaction.atomic
def _record_status(
    refund_id: int, status: str, attempt: int, gateway: str, answer: StatusResult
) -> tuple[Refund, bool]:
    ticket, refund = _lock(refund_id)
    if refund.status != status or refund.send_attempts != attempt:
        return refund, False
    system = system_user()
    in_flight = refund.status == Refund.Status.PENDING
    if answer.outcome == StatusOutcome.CONFIRMED:
        if in_flight:
            _sent(ticket, refund, system, gateway=gateway, reference=answer.reference)
        _confirmed(ticket, refund, system, at=timezone.now(), reference=answer.reference)
    elif answer.outcome == StatusOutcome.FAILED:
        _failed(ticket, refund, system, gateway=gateway, reason=answer.error)
    elif answer.outcome == StatusOutcome.SENT and in_flight:
        _sent(ticket, refund, system, gateway=gateway, reference=answer.reference)
    elif answer.outcome == StatusOutcome.NOT_FOUND and in_flight:
        refund.send_started_at = None
        refund.save(update_fields=["send_started_at"])
        ticket_event_record(
            ticket,
            system,
            TicketEvent.Action.REFUND_SEND_LOST,
            ticket.state,
            amount=refund.amount,
            note=_("The marketplace never received this refund; it is sent again."),
        )
        return refund, True
    return refund, False


# --- the moves, on a locked ticket and refund -----------------------------------------------------------------------


def _sent(ticket, refund, by, *, gateway: str, reference: str, batch=None, at=None) -> None:
    refund.mark_sent(at=at or timezone.now(), gateway=gateway, reference=reference, batch=batch)
    refund.save()
    ticket_event_record(
        ticket,
        by,
        TicketEvent.Action.REFUND_SENT,
        ticket.state,
        amount=refund.amount,
        note=_("Sent to the marketplace; waiting for its confirmation."),
    )


def _confirmed(ticket, refund, by, *, at, reference: str = "", note: str = "") -> None:
    refund.confirm(at=at, reference=reference)
    refund.save()
    still_open = ticket.refunds.filter(status__in=OPEN_STATUSES).exclude(pk=refund.pk).exists()
    if ticket.state == TicketState.REFUNDING and not still_open:
        ticket_move(
            ticket,
            by,
            TicketEvent.Action.REFUND_SUCCEEDED,
            ticket.confirm_refund,
            note=note,
            amount=refund.amount,
            at=at,
        )
    else:
        ticket_event_record(
            ticket, by, TicketEvent.Action.REFUND_CONFIRMED, ticket.state, note=note, amount=refund.amount
        )


def _failed(ticket, refund, by, *, gateway: str, reason: str) -> None:
    error = reason or _("The refund gateway refused the refund.")
    refund.fail(gateway=gateway, reason=error)
    refund.save()
    if ticket.state == TicketState.REFUNDING:
        ticket_move(
            ticket,
            by,
            TicketEvent.Action.REFUND_FAILED,
            ticket.fail_refund,
            note=error,
            amount=refund.amount,
            error=error,
        )
    else:
        ticket_event_record(
            ticket, by, TicketEvent.Action.REFUND_FAILED, ticket.state, note=error, amount=refund.amount
        )


# --- the batch-refund file ------------------------------------------------------------------------------------------


def refunds_waiting_for_batch(shop):
    return Refund.objects.filter(
        shop=shop, status=Refund.Status.PENDING, gateway=BatchFileGateway.name, batch__isnull=True
    )


@transaction.atomic
def refund_batch_create(*, shop: Shop, by) -> RefundBatch | None:
    """Make the shop's next batch-refund file: every refund waiting for one goes into it and becomes sent.

    Two people downloading at once get two different batches (or one gets none): the waiting refunds are locked
    with SKIP LOCKED and each is taken only while it has no batch, so no refund is ever in two. None when no
    refund is waiting."""
    from aftersales.refund_batch import refunds_to_batch_xlsx

    require_in_shop(by, shop, WORK)
    taken = lock_objects.free_refund_ids_for_update(refunds_waiting_for_batch(shop))
    if not taken:
        return None
    # The number: the shop's batches are counted under the shop's row lock, so two batches never share one.
    lock_objects.shop_for_update(shop.pk)
    number = (RefundBatch.objects.filter(shop=shop).aggregate(last=Max("number"))["last"] or 0) + 1
    now = timezone.now()
    batch = RefundBatch.objects.create(
        shop=shop,
        number=number,
        created_by=by,
        created_at=now,
        filename=f"refunds-{shop.code}-{number:05d}-{timezone.localtime(now):%Y%m%d-%H%M}.xlsx",
        content=b"",
    )
    # The tickets are read, not locked: a batch writes each one an event and changes nothing of it.
    tickets = AfterSalesTicket.objects.in_bulk([ticket_id for _pk, ticket_id in taken])
    refunds = []
    for refund in (
        Refund.objects.filter(pk__in=[pk for pk, _ticket in taken], batch__isnull=True)
        .select_related("order", "ticket__reason")
        .order_by("created_at", "id")
    ):
        _sent(
            tickets[refund.ticket_id],
            refund,
            by,
            gateway=BatchFileGateway.name,
            reference=f"B{shop.pk}-{number:05d}-{refund.pk}",
            batch=batch,
            at=now,
        )
        refunds.append(refund)
    batch.refund_count = len(refunds)
    batch.total = sum((refund.amount for refund in refunds), ZERO)
    batch.content = refunds_to_batch_xlsx(refunds, batch=batch)
    batch.save(update_fields=["refund_count", "total", "content"])
    return batch


@transaction.atomic
def refund_batch_confirm(*, batch: RefundBatch, by, note: str) -> int:
    """A supervisor confirms by hand every refund of a batch still waiting (no result file exists), with a note.

    Returns how many refunds were confirmed."""
    batch = lock_objects.refund_batch_for_update(batch.pk)
    require_in_shop(by, batch.shop, DECIDE)
    note = (note or "").strip()
    if not note:
        raise ActionRefused("note_required", _("Say why the batch is confirmed without the marketplace's result file."))
    if batch.confirmed_at is not None:
        raise ActionRefused("already_confirmed", _("This batch was already confirmed by hand."))
    waiting = list(batch.refunds.filter(status=Refund.Status.SENT).order_by("id").values_list("pk", flat=True))
    now = timezone.now()
    event_note = _("Batch %(number)s confirmed by hand: %(note)s") % {"number": batch.number, "note": note}
    for refund_id in waiting:
        ticket, refund = _lock(refund_id)
        if refund.status == Refund.Status.SENT:
            _confirmed(ticket, refund, by, at=now, note=event_note)
    batch.confirmed_by = by
    batch.confirmed_at = now
    batch.confirmation_note = note
    batch.save(update_fields=["confirmed_by", "confirmed_at", "confirmation_note"])
    return len(waiting)


# The result file of the marketplace's batch-refund tool: columns found by their header, in Chinese or English.
RESULT_COLUMNS = {
    "reference": (
        "商家退款单号",
        "网关流水号",
        "退款流水号",
        "merchant refund reference",
        "refund reference",
        "reference",
    ),
    "result": ("退款结果", "处理结果", "结果", "result", "status"),
    "reason": ("失败原因", "原因", "备注", "failure reason", "reason", "message"),
}
SUCCESS_WORDS = {"成功", "退款成功", "success", "succeeded", "ok", "true", "1"}
FAILURE_WORDS = {"失败", "退款失败", "fail", "failed", "failure", "false", "0"}


@dataclass
class ResultImport:
    confirmed: int = 0
    failed: int = 0
    problems: list[tuple[int, str, str]] = field(default_factory=list)  # (row number, reference, what is wrong)


def _result_columns(header: list) -> dict[str, int]:
    """The order import's reader calls this with the header row: {reference|result|reason: column index}."""
    names = [str(name or "").strip().lower() for name in header]
    found = {}
    for key, accepted in RESULT_COLUMNS.items():
        for name in accepted:
            if name.lower() in names:
                found[key] = names.index(name.lower())
                break
    if "reference" not in found or "result" not in found:
        raise ActionRefused(
            "bad_file",
            _("The file needs a refund reference column (商家退款单号) and a result column (退款结果)."),
        )
    return found


def refund_batch_results_import(*, shop: Shop, content: bytes, by) -> ResultImport:
    """Read the result file of the marketplace's batch-refund tool (xlsx or csv, see README) for `shop`.

    Each row names a refund by the reference of its batch file and says success or failure (with a reason): the
    refund, if it is the shop's and sent, is confirmed or failed, each in its own transaction with its event. A row
    that matches nothing, or a refund not waiting for an answer, is reported and changes nothing."""
    require_in_shop(by, shop, WORK)
    try:
        # The order import's reader: xlsx or CSV (UTF-8 or GBK) told apart by their bytes, at most MAX_ROWS rows.
        rows = read_rows(content, map_header=_result_columns)
    except ImportFileError as error:
        raise ActionRefused("bad_file", str(error)) from None
    outcome = ResultImport()
    for row in rows:
        number = row["_row"]

        def cell(key, row=row):
            value = row.get(key)
            return "" if value is None else str(value).strip()

        reference, result, reason = cell("reference"), cell("result").lower(), cell("reason")
        if not reference and not result:
            continue
        if result in SUCCESS_WORDS:
            succeeded = True
        elif result in FAILURE_WORDS:
            succeeded = False
        else:
            outcome.problems.append(
                (
                    number,
                    reference,
                    _("The result “%(result)s” is neither success nor failure.") % {"result": cell("result")},
                )
            )
            continue
        refund_id = (
            Refund.objects.filter(shop=shop, gateway=BatchFileGateway.name, gateway_reference=reference)
            .values_list("pk", flat=True)
            .first()
        )
        if refund_id is None:
            outcome.problems.append((number, reference, _("No refund of this shop has this reference.")))
            continue
        with transaction.atomic():
            ticket, refund = _lock(refund_id)
            if refund.status != Refund.Status.SENT:
                outcome.problems.append(
                    (
                        number,
                        reference,
                        _("This refund is not waiting for an answer: %(status)s.")
                        % {"status": refund.get_status_display()},
                    )
                )
                continue
            if succeeded:
                _confirmed(ticket, refund, by, at=timezone.now(), note=_("Confirmed by the marketplace's result file."))
                outcome.confirmed += 1
            else:
                _failed(
                    ticket, refund, by, gateway=BatchFileGateway.name, reason=reason or _("Refused by the marketplace.")
                )
                outcome.failed += 1
    return outcome
