"""The sweep framework every app's scheduled checks run on: a run recorded as a SweepRun, its steps, locked batches.

The sweeps are the safety net behind the event-driven path: whatever a lost message, a crashed worker or a broker
outage left undone is found again from the database. So every step

- derives its work from database state and changes nothing the second time (a row it moved no longer matches);
- works in batches (`settings.SWEEP_BATCH_SIZE`), each its own transaction, walking the candidates by id;
- locks its rows with SKIP LOCKED, so two sweeps started together never act on the same row, and a row a person is
  working on right now is left for the next run;
- writes its events in the batch's transaction, and queues outside work only after commit.

A sweep of one app may carry steps of the apps above it: they register them at start-up (`register_sweep_step`),
since the app that owns the sweep imports none of them.
"""

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from aftersales.models import SweepRun
from desk.access import system_user
from desk.errors import ActionRefused
from desk.lock_objects import free_rows_for_update

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

# A sweep that has not finished after this long was killed (a worker lost mid-run); it is marked failed.
RUN_STALE_AFTER = timedelta(hours=2)


@dataclass
class SweepContext:
    """What a step gets: the run's clock, batch size and system user, and where it reports what it did."""

    now: datetime
    batch_size: int
    by: "User"
    counts: Counter = field(default_factory=Counter)
    errors: list = field(default_factory=list)

    def done(self, action: str, count: int = 1) -> None:
        if count:
            self.counts[action] += count

    def failed(self, step: str, ticket_id: int | None, error) -> None:
        self.errors.append({"step": step, "ticket": ticket_id, "error": str(error)})


SweepStep = Callable[[SweepContext], None]
_registered_steps: dict[str, list[tuple[str, SweepStep]]] = {}


def register_sweep_step(kind: str, name: str, step: SweepStep) -> None:
    """Add another app's step to the sweep of `kind` (called from its AppConfig.ready); registering twice is
    harmless."""
    steps = _registered_steps.setdefault(kind, [])
    if name not in {registered for registered, _step in steps}:
        steps.append((name, step))


def registered_steps(kind: str) -> list[tuple[str, SweepStep]]:
    """The other apps' steps of the sweep of `kind`, in the order they were registered."""
    return list(_registered_steps.get(kind, []))


def batches(queryset: QuerySet, ctx: SweepContext, *, of=("self",)):
    """Yield the queryset's rows in locked batches, each inside its own transaction, walking by id.

    Rows another transaction holds are skipped (SKIP LOCKED): another sweep is on them, or a person is.
    """
    last_id = 0
    while True:
        with transaction.atomic():
            batch = free_rows_for_update(queryset, after_id=last_id, limit=ctx.batch_size, of=of)
            if not batch:
                return
            last_id = batch[-1].pk
            yield batch


def sweep_run(kind: str, steps: list[tuple[str, SweepStep]], batch_size=None, now=None) -> SweepRun:
    """Run `steps` in order as one SweepRun of `kind`; every app's scheduled checks are recorded this way."""
    now = now or timezone.now()
    batch_size = batch_size or settings.SWEEP_BATCH_SIZE
    SweepRun.objects.filter(kind=kind, status=SweepRun.Status.RUNNING, started_at__lt=now - RUN_STALE_AFTER).update(
        status=SweepRun.Status.FAILED, finished_at=now
    )
    run = SweepRun.objects.create(kind=kind, started_at=now, batch_size=batch_size)
    ctx = SweepContext(now=now, batch_size=batch_size, by=system_user())
    for name, step in steps:
        try:
            step(ctx)
        except Exception as error:
            # One broken step must not keep the others from clearing their work; the run says what broke.
            logger.exception("sweep %s: step %s failed", kind, name)
            ctx.failed(name, None, repr(error))
    run.counts = dict(ctx.counts)
    run.errors = ctx.errors
    run.status = SweepRun.Status.FINISHED
    run.finished_at = timezone.now()
    run.save(update_fields=["counts", "errors", "status", "finished_at"])
    return run


def tickets_each(ctx: SweepContext, tickets: QuerySet, *, step: str, counted_as: str, service, **kwargs) -> None:
    """Move each of `tickets` through `service(ticket=…, by=the system user, **kwargs)`, batch by batch.

    For the other apps' steps, whose leftovers are rare: each ticket goes through the service an agent's click would
    use, in a savepoint, so a refusal half-way leaves nothing behind and is reported with the ticket's id."""
    for batch in batches(tickets, ctx):
        for ticket in batch:
            try:
                with transaction.atomic():
                    service(ticket=ticket, by=ctx.by, **kwargs)
            except ActionRefused as refusal:
                ctx.failed(step, ticket.pk, refusal.message)
                continue
            ctx.done(counted_as)
