"""Celery tasks of the core: thin, ids in, one service call, safe to run twice."""

import logging
import time

from celery import shared_task
from django.db import transaction

logger = logging.getLogger(__name__)


# After a failed send this process stops trying for a while: with Redis down each attempt costs the connect timeout,
# and a batch action queues one task per ticket (200 × 2 s would hang the page). The sweeps pick the work up.
BROKER_RETRY_AFTER_SECONDS = 30
_broker_down_until = 0.0


def enqueue_on_commit(task, *args) -> None:
    """Send `task` once the current transaction commits; if the broker is down, log and go on.

    The work itself is in the database (a pending refund), so the refund sweep finishes what a lost message left.
    """

    def send():
        global _broker_down_until
        if time.monotonic() < _broker_down_until:
            logger.warning("broker unavailable; %s%r left for the next sweep", task.name, args)
            return
        try:
            task.apply_async(args=args, retry=False)
        except Exception:
            _broker_down_until = time.monotonic() + BROKER_RETRY_AFTER_SECONDS
            logger.warning("could not queue %s%r; the next sweep will pick it up", task.name, args, exc_info=True)

    transaction.on_commit(send)


@shared_task(acks_late=True, reject_on_worker_lost=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=8)
def refund_execute_task(refund_id: int) -> None:
    from aftersales.services import refund_execute

    refund_execute(refund_id=refund_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=8)
def refunds_execute_task(refund_ids: list[int]) -> None:
    """A sweep batch's refunds. Run again after a failure, it sends none twice: one already sent or claimed is
    skipped (a claim whose answer never came is settled by asking the gateway, not by sending again)."""
    from aftersales.services import refunds_execute

    refunds_execute(refund_ids=refund_ids)


# Deleting what is past its retention is safe to run again after a lost worker.
@shared_task(acks_late=True, reject_on_worker_lost=True)
def idempotency_keys_purge_task() -> None:
    from aftersales.services.housekeeping import idempotency_keys_purge

    idempotency_keys_purge()


# The sweeps derive their work from the database and lock what they touch: safe to redeliver after a lost worker.
@shared_task(acks_late=True, reject_on_worker_lost=True)
def refund_sweep_task() -> None:
    from aftersales.services.sweeps import refund_sweep_run

    refund_sweep_run()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def approval_sla_task() -> None:
    from aftersales.services.sweeps import approval_sla_run

    approval_sla_run()
