"""Celery tasks of metrics: the nightly rollup, thin and safe to run twice (a day's rows are replaced whole)."""

from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True)
def metrics_rollup_task() -> None:
    from metrics.rollups import rollups_nightly

    rollups_nightly()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def metrics_rollup_dirty_task() -> None:
    """The days changes have marked since the last run, recomputed (metrics/dirty.py); between the nightly runs."""
    from metrics.rollups import rollups_dirty

    rollups_dirty()
