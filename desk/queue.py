"""The on-commit queue: a Celery task is sent only once the transaction that made its work commits, and a broker that
is down costs a warning, not the request. Every app's services queue their outside work through it."""

import logging
import time

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
