"""Helpers the logistics services share: events, a parcel's moves, months, couriers by code, the robot outbox."""

from datetime import datetime

from django.utils import timezone

from aftersales.models import TicketState
from desk.queue import enqueue_on_commit
from logistics.models import (
    Courier,
    LogisticsEvent,
    LogisticsEventAction,
    RobotMessage,
    Shipment,
)
from logistics.tasks import robot_message_send_task

REQUEST_INTERCEPT = "logistics.add_interceptrequest"
ANSWER_INTERCEPT = "logistics.answer_interceptrequest"
RECONCILE = "logistics.reconcile_courierclaim"
DISPATCH = "logistics.change_shipment"
BATCH_SIZE = 500
LOST_REASON_CODE = "lost_parcel"
# Tickets an intercept or a lost parcel acts on: the buyer still waits for our answer.
WAITING_STATES = (TicketState.REQUESTED, TicketState.INTERCEPTING)


def month_of(moment: datetime):
    """The reconciliation month a moment belongs to, in Asia/Shanghai (a claim at 00:30 on the 1st is next month's)."""
    return timezone.localtime(moment).date().replace(day=1)


def event_row(
    *,
    by,
    action: LogisticsEventAction,
    at,
    note="",
    from_state="",
    to_state="",
    intercept=None,
    claim=None,
    shipment=None,
):
    return LogisticsEvent(
        intercept=intercept,
        claim=claim,
        shipment=shipment,
        actor=by,
        action=action,
        from_state=from_state,
        to_state=to_state,
        note=note,
        at=at,
    )


def record_event(**kwargs) -> LogisticsEvent:
    event = event_row(**kwargs)
    event.save()
    return event


# The parcel's transitions (Shipment.status) and the action of the event each move writes; a test checks that every
# transition has one.
SHIPMENT_MOVE_ACTIONS: dict[str, LogisticsEventAction] = {
    "dispatch": LogisticsEvent.Action.DISPATCHED,
    "intercept": LogisticsEvent.Action.INTERCEPTED,
    "mark_returned": LogisticsEvent.Action.RETURNED,
    "deliver": LogisticsEvent.Action.DELIVERED,
    "declare_lost": LogisticsEvent.Action.DECLARED_LOST,
    "reappear": LogisticsEvent.Action.REAPPEARED,
}


def shipment_move(
    shipment: Shipment, transition: str, *, by, at, note: str = "", arguments: dict | None = None
) -> LogisticsEvent:
    """Move the parcel through one of its transitions and return the move's event, unsaved.

    The move is the FSM's own (it refuses a parcel in the wrong status, and sets what the transition sets), made in
    memory: the caller saves the parcel, alone or with a batch in one bulk update, and inserts the event in the same
    transaction. `at` is the event's time; `arguments` go to the transition."""
    from_state = shipment.status
    getattr(shipment, transition)(**(arguments or {}))
    return event_row(
        by=by,
        action=SHIPMENT_MOVE_ACTIONS[transition],
        at=at,
        from_state=from_state,
        to_state=shipment.status,
        note=note,
        shipment=shipment,
    )


def couriers_by_code(codes) -> dict[str, Courier]:
    """Couriers by code, creating one for a code the orders use but nobody has configured yet."""
    codes = {code for code in codes if code}
    couriers = {courier.code: courier for courier in Courier.objects.filter(code__in=codes)}
    missing = codes - set(couriers)
    if missing:
        Courier.objects.bulk_create([Courier(code=code, name=code) for code in missing], ignore_conflicts=True)
        couriers.update({courier.code: courier for courier in Courier.objects.filter(code__in=missing)})
    return couriers


def queue_robot_messages(messages: list[RobotMessage]) -> None:
    for message in RobotMessage.objects.bulk_create(messages):
        enqueue_on_commit(robot_message_send_task, message.pk)
