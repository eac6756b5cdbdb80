"""Celery tasks of the core: thin, ids in, one service call, safe to run twice."""

from celery import shared_task


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
