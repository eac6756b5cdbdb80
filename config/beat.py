"""Beat's scheduler, plus a heartbeat so /healthz can tell whether exactly one beat is alive."""

from django_celery_beat.schedulers import DatabaseScheduler

from config.health import record_beat_tick


class HeartbeatDatabaseScheduler(DatabaseScheduler):
    """django-celery-beat's database scheduler (the schedule is editable in the admin) that stamps every tick."""

    def tick(self, *args, **kwargs):
        record_beat_tick()
        return super().tick(*args, **kwargs)
