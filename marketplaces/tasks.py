"""Celery tasks of the connectors: thin, ids in, one service call, safe to run twice."""

from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True)
def marketplaces_sync_all_task() -> None:
    """Beat, every minute: one sync task per connection that may call its platform, so a slow or paused platform
    holds up no other shop."""
    from marketplaces.selectors import connections_due

    for connection_id in connections_due():
        connection_sync_task.delay(connection_id)
    outbound_sweep_task.delay()
    tokens_refresh_task.delay()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def tokens_refresh_task() -> None:
    """Tokens expiring within a day are refreshed (at most once an hour per connection); safe to run twice."""
    from marketplaces.services import connections_refresh_tokens

    connections_refresh_tokens()


# The sync takes a lease and moves its cursor only after storing a window: safe to redeliver.
@shared_task(acks_late=True, reject_on_worker_lost=True)
def connection_sync_task(connection_id: int) -> None:
    from marketplaces.services import connection_sync

    connection_sync(connection_id=connection_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def outbound_sweep_task() -> None:
    from marketplaces.outbound import outbound_sweep

    outbound_sweep()
