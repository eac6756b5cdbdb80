"""Intercepts asked through Kuaidi100's intercept order (interceptOrder), beside the group robot.

Sending: a task takes the order in one short transaction, calls Kuaidi100 with no row locked, and records the answer
in another. The request is a write at the courier, so it is sent at most once:
- accepted (code 200): the intercept waits for the courier's callback, on the same clock as a robot request;
- refused (a definite no): the group robot asks instead, at once, and the intercept's events say why;
- no clear answer (timeout, 5xx, a worker lost mid-call): the outcome is unknown; nothing is sent again, the agent is
  told (the ticket is flagged), and the 2-hour follow-up chases the courier in its group like any late intercept.
  A later callback proves the request arrived and is recorded as usual.

Callbacks: each signed callback is stored once (a replay changes nothing); a known state moves the intercept through
the intercept services as the system user, an unknown or contradicting one is stored and left to an agent.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales import services as aftersales
from aftersales.selectors import system_user
from desk import crypto
from logistics import lock_objects
from logistics.kuaidi100_intercept import (
    Answer,
    Callback,
    Outcome,
    SendResult,
    intercept_form,
    intercept_param,
    send_intercept,
)
from logistics.models import (
    InterceptChannel,
    InterceptRequest,
    Kuaidi100Intercept,
    Kuaidi100InterceptCallback,
    LogisticsEvent,
)
from logistics.selectors import agreement_for
from logistics.services.common import BATCH_SIZE, queue_robot_messages, record_event
from logistics.services.intercepts import (
    intercept_confirm,
    intercept_fail,
    intercept_mark_returned,
    intercept_robot_message,
    lock_intercept,
)

# How long a taken order is left to its worker before the follow-up calls its outcome unknown; the HTTP call gives up
# well before (settings.KUAIDI100_INTERCEPT_TIMEOUT).
SEND_LEASE = timedelta(minutes=5)
_Status = Kuaidi100Intercept.Status


@dataclass(frozen=True)
class _Taken:
    url: str
    form: dict[str, str]
    attempts: int


def kuaidi100_intercept_send(*, call_id: int) -> str:
    """Send one intercept order to Kuaidi100, at most once; returns its status."""
    taken = _take(call_id)
    if isinstance(taken, str):
        return taken
    result = send_intercept(taken.url, taken.form, timeout=settings.KUAIDI100_INTERCEPT_TIMEOUT)
    return _record(call_id, taken.attempts, result)


def _callback_url(call: Kuaidi100Intercept) -> str:
    path = reverse("logistics:kuaidi100_intercept_callback", args=[call.order_id])
    return settings.KUAIDI100_CALLBACK_BASE_URL.rstrip("/") + path


@transaction.atomic
def _take(call_id: int) -> _Taken | str:
    intercept_id = Kuaidi100Intercept.objects.filter(pk=call_id).values_list("intercept_id", flat=True).first()
    if intercept_id is None:
        return ""
    intercept = lock_intercept(InterceptRequest(pk=intercept_id))
    call = lock_objects.kuaidi100_intercept_for_update(call_id)
    if call.status != _Status.PENDING:
        return call.status
    now = timezone.now()
    if call.attempts:
        # Taken before and never recorded: a worker still at it, or one that died after sending (maybe).
        if call.sending_since and call.sending_since > now - SEND_LEASE:
            return call.status
        _mark_unknown(intercept, call, now=now, error=_("The worker sending it stopped before Kuaidi100 answered."))
        return call.status
    if intercept.status != InterceptRequest.Status.REQUESTED:
        call.cancel(reason=_("Answered before it was sent."))
        call.save()
        return call.status
    agreement = agreement_for(shop_id=intercept.shop_id, courier=intercept.courier)
    company = intercept.courier.kuaidi100_code
    if not agreement.uses_kuaidi100 or not company:
        # Nothing was sent: the robot asks, as on a refusal.
        reason = (
            _("The courier has no Kuaidi100 company code.")
            if agreement.uses_kuaidi100
            else _("The shop's agreement no longer sends intercepts through Kuaidi100.")
        )
        _fall_back(intercept, call, now=now, error=reason)
        return call.status
    param = intercept_param(
        order_id=call.order_id,
        kuaidicom=company,
        kuaidinum=intercept.shipment.tracking_number,
        partner_id=agreement.kuaidi100_partner_id,
        partner_key=crypto.decrypt(agreement.kuaidi100_partner_key_encrypted),
        net=agreement.kuaidi100_net,
        reason=_("The buyer asked for a refund before delivery (仅退款)."),
        intercept_type=agreement.kuaidi100_intercept_type,
        pay_type=agreement.kuaidi100_pay_type,
        callback_url=_callback_url(call),
        salt=call.salt,
    )
    secret = crypto.decrypt(agreement.kuaidi100_secret_encrypted)
    form = intercept_form(param, key=agreement.kuaidi100_key, secret=secret)
    call.attempts += 1
    call.sending_since = now
    call.save(update_fields=["attempts", "sending_since"])
    return _Taken(url=settings.KUAIDI100_INTERCEPT_URL, form=form, attempts=call.attempts)


@transaction.atomic
def _record(call_id: int, attempts: int, result: SendResult) -> str:
    intercept_id = Kuaidi100Intercept.objects.values_list("intercept_id", flat=True).get(pk=call_id)
    intercept = lock_intercept(InterceptRequest(pk=intercept_id))
    call = lock_objects.kuaidi100_intercept_for_update(call_id)
    # Recorded only if the order is still ours: pending at the attempt we made (a callback may have come first).
    if call.status != _Status.PENDING or call.attempts != attempts:
        return call.status
    now = timezone.now()
    call.sending_since = None
    if result.outcome == Outcome.ACCEPTED:
        call.accept(at=now)
        call.save()
        record_event(
            by=system_user(),
            action=LogisticsEvent.Action.SENT_KUAIDI100,
            at=now,
            from_state=intercept.status,
            to_state=intercept.status,
            note=result.message,
            intercept=intercept,
        )
    elif result.outcome == Outcome.REFUSED:
        _fall_back(intercept, call, now=now, error=result.message)
    else:
        _mark_unknown(intercept, call, now=now, error=result.message)
    return call.status


def _fall_back(intercept: InterceptRequest, call: Kuaidi100Intercept, *, now, error: str) -> None:
    """Kuaidi100 said no (or could not be asked): the group robot asks instead; the answer clock is unchanged."""
    call.sending_since = None
    call.refuse(at=now, error=error)
    call.save()
    note = _("Kuaidi100 refused the intercept order (%(error)s); asked in the courier's group instead.") % {
        "error": error or "?"
    }
    if intercept.status == InterceptRequest.Status.REQUESTED:
        intercept.channel = InterceptChannel.ROBOT_FALLBACK
        intercept.save(update_fields=["channel"])
        queue_robot_messages([intercept_robot_message(intercept)])
    record_event(
        by=system_user(),
        action=LogisticsEvent.Action.FELL_BACK,
        at=now,
        from_state=intercept.status,
        to_state=intercept.status,
        note=note[:1000],
        intercept=intercept,
    )


def _mark_unknown(intercept: InterceptRequest, call: Kuaidi100Intercept, *, now, error: str) -> None:
    call.sending_since = None
    call.outcome_unknown(error=error)
    call.save()
    note = _(
        "Kuaidi100 gave no clear answer to the intercept order (%(error)s): it may have acted, so it is not sent "
        "again. Check with the courier; the follow-up chases it in their group when the answer is late."
    ) % {"error": error or "?"}
    system = system_user()
    record_event(
        by=system,
        action=LogisticsEvent.Action.OUTCOME_UNKNOWN,
        at=now,
        from_state=intercept.status,
        to_state=intercept.status,
        note=note,
        intercept=intercept,
    )
    aftersales.tickets_flag_for_agent(ticket_ids=[intercept.ticket_id], by=system, note=note)


def kuaidi100_intercepts_send_pending(*, now=None, batch_size: int = BATCH_SIZE) -> int:
    """The follow-up's safety net: orders whose task was lost are sent, and orders a lost worker took are settled as
    unknown (never sent again). How many it handled."""
    now = now or timezone.now()
    handled = 0
    waiting = Kuaidi100Intercept.objects.filter(status=_Status.PENDING).exclude(
        attempts__gt=0, sending_since__gt=now - SEND_LEASE
    )
    for call_id in waiting.order_by("pk").values_list("pk", flat=True)[:batch_size]:
        kuaidi100_intercept_send(call_id=call_id)
        handled += 1
    return handled


# --- callbacks ------------------------------------------------------------------------------------------------------


@transaction.atomic
def kuaidi100_intercept_callback_record(*, call: Kuaidi100Intercept, callback: Callback) -> str:
    """Record one checked callback (logistics.kuaidi100_intercept.read_callback) and act on it; returns its outcome,
    or "replay" for a callback already recorded."""
    intercept = lock_intercept(InterceptRequest(pk=call.intercept_id))
    call = lock_objects.kuaidi100_intercept_for_update(call.pk)
    if call.callbacks.filter(sign=callback.sign).exists():
        return "replay"
    now = timezone.now()
    system = system_user()
    if call.status in (_Status.PENDING, _Status.UNKNOWN):
        # A callback proves Kuaidi100 has the request, whatever its send looked like.
        call.sending_since = None
        call.accept(at=now)
        call.save()
    words = f"{callback.state} {callback.message}".strip()
    note = _("Kuaidi100 callback: %(words)s") % {"words": words}
    outcome = _act(intercept, call, callback.answer, by=system, note=note, now=now)
    InterceptRequest.objects.filter(pk=intercept.pk).update(courier_answer=callback.state[:100])
    Kuaidi100InterceptCallback.objects.create(
        call=call,
        sign=callback.sign,
        state=callback.state[:100],
        outcome=outcome,
        param=callback.param,
        received_at=now,
    )
    return outcome


_Outcome = Kuaidi100InterceptCallback.Outcome
_I = InterceptRequest.Status
# The intercept's statuses each answer leaves unchanged (the same news again, in other words); any other status it
# does not start from contradicts what is recorded.
_ALREADY = {
    Answer.CONFIRMED: {_I.CONFIRMED, _I.RETURNED_TO_WAREHOUSE},
    Answer.FAILED: {_I.FAILED},
    Answer.RETURNED: {_I.RETURNED_TO_WAREHOUSE},
}


def _act(intercept: InterceptRequest, call: Kuaidi100Intercept, answer: Answer, *, by, note: str, now) -> str:
    status = intercept.status
    if answer == Answer.PROGRESS:
        if status == _I.REQUESTED:
            record_event(
                by=by,
                action=LogisticsEvent.Action.COURIER_PROGRESS,
                at=now,
                from_state=status,
                to_state=status,
                note=note,
                intercept=intercept,
            )
        return _Outcome.PROGRESS
    if answer in _ALREADY and status in _ALREADY[answer]:
        return str(answer)
    if call.status == _Status.ACCEPTED:
        if answer == Answer.CONFIRMED and status == _I.REQUESTED:
            intercept_confirm(intercept=intercept, by=by, note=note)
            return _Outcome.CONFIRMED
        if answer == Answer.FAILED and status == _I.REQUESTED:
            intercept_fail(intercept=intercept, by=by, note=note)
            return _Outcome.FAILED
        if answer == Answer.RETURNED and status in (_I.REQUESTED, _I.CONFIRMED):
            intercept_mark_returned(intercept=intercept, by=by, note=note)
            return _Outcome.RETURNED
    # Not a state we know, one that contradicts the recorded answer, or about an order Kuaidi100 had refused: kept,
    # and an agent decides.
    flagged = _("%(note)s (not understood or contradicting the intercept's “%(status)s”: check it).") % {
        "note": note,
        "status": intercept.get_status_display(),
    }
    record_event(
        by=by,
        action=LogisticsEvent.Action.ANSWER_UNKNOWN,
        at=now,
        from_state=status,
        to_state=status,
        note=flagged,
        intercept=intercept,
    )
    aftersales.tickets_flag_for_agent(ticket_ids=[intercept.ticket_id], by=by, note=flagged[:1000])
    return _Outcome.UNKNOWN
