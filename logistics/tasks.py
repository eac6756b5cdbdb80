"""Celery tasks of logistics: thin, ids in, one service call, safe to run twice (the work is in the database)."""

from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=8)
def lost_parcel_remedy_task(shipment_id: int) -> None:
    from logistics.services import lost_parcel_remedy

    lost_parcel_remedy(shipment_id=shipment_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, autoretry_for=(Exception,), retry_backoff=5, max_retries=6)
def robot_message_send_task(message_id: int) -> None:
    from logistics.models import RobotMessage
    from logistics.robots import RobotUnavailable, robot_message_send

    if robot_message_send(message_id=message_id) == RobotMessage.Status.PENDING:
        raise RobotUnavailable(f"robot message {message_id} not sent yet")


@shared_task(acks_late=True, reject_on_worker_lost=True)
def no_scan_check_task() -> None:
    from logistics.sweeps import no_scan_check_run

    no_scan_check_run()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def intercept_follow_up_task() -> None:
    from logistics.sweeps import intercept_follow_up_run

    intercept_follow_up_run()


# No automatic retry: the request is a write at the courier. A worker lost mid-call redelivers the task, and the
# service refuses to send an intercept it may already have sent (its outcome becomes “unknown” for an agent).
@shared_task(acks_late=True, reject_on_worker_lost=True)
def kuaidi100_intercept_send_task(call_id: int) -> None:
    from logistics.services import kuaidi100_intercept_send

    kuaidi100_intercept_send(call_id=call_id)
