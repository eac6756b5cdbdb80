"""The schedule of DESIGN §4 as beat's database rows: created by a migration, editable by a manager, sent to tasks
that exist and that a lost worker hands back (acks_late, reject_on_worker_lost)."""

import pytest
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from config.celery import app
from tests.factories import make_staff

pytestmark = pytest.mark.django_db


def schedule() -> dict[str, tuple]:
    rows = PeriodicTask.objects.select_related("crontab", "interval")
    return {
        row.task + (f"@{row.crontab.hour}:{row.crontab.minute}" if row.crontab else f"/{row.interval.every}min"): (
            row.enabled,
            str(row.crontab.timezone) if row.crontab else None,
        )
        for row in rows
    }


def test_the_migration_creates_the_schedule_in_china_time():
    assert schedule() == {
        "aftersales.tasks.refund_sweep_task@9:0": (True, "Asia/Shanghai"),
        "aftersales.tasks.refund_sweep_task@13:0": (True, "Asia/Shanghai"),
        "aftersales.tasks.refund_sweep_task@20:0": (True, "Asia/Shanghai"),
        "logistics.tasks.no_scan_check_task@*:5": (True, "Asia/Shanghai"),
        "logistics.tasks.intercept_follow_up_task/15min": (True, None),
        "aftersales.tasks.approval_sla_task/15min": (True, None),
        "metrics.tasks.metrics_rollup_task@1:30": (True, "Asia/Shanghai"),
        "metrics.tasks.metrics_rollup_dirty_task/15min": (True, None),
        "aftersales.tasks.idempotency_keys_purge_task@3:10": (True, "Asia/Shanghai"),
        "marketplaces.tasks.marketplaces_sync_all_task/1min": (True, None),
    }


def test_every_enabled_entry_names_a_registered_task_that_survives_a_lost_worker():
    app.loader.import_default_modules()
    for row in PeriodicTask.objects.filter(enabled=True):
        task = app.tasks[row.task]
        assert (task.acks_late, task.reject_on_worker_lost) == (True, True), row.task


def test_a_manager_moves_the_evening_sweep_in_the_admin(client):
    manager = make_staff("manager", role="Manager")
    client.force_login(manager)
    evening = PeriodicTask.objects.get(task="aftersales.tasks.refund_sweep_task", crontab__hour="20")

    page = client.get(reverse("admin:django_celery_beat_periodictask_change", args=[evening.pk]))
    assert page.status_code == 200
    listing = client.get(reverse("admin:django_celery_beat_crontabschedule_changelist"))
    assert listing.status_code == 200
    crontab = evening.crontab
    response = client.post(
        reverse("admin:django_celery_beat_crontabschedule_change", args=[crontab.pk]),
        {
            "minute": "30",
            "hour": "21",
            "day_of_week": "*",
            "day_of_month": "*",
            "month_of_year": "*",
            "timezone": "Asia/Shanghai",
            # The page's read-only list of the tasks on this schedule.
            "periodictask_set-TOTAL_FORMS": "1",
            "periodictask_set-INITIAL_FORMS": "1",
            "periodictask_set-0-id": str(evening.pk),
            "periodictask_set-0-crontab": str(crontab.pk),
        },
    )

    assert response.status_code == 302, response.context and response.context["errors"]
    crontab.refresh_from_db()
    assert (crontab.hour, crontab.minute) == ("21", "30")


def test_an_agent_cannot_see_the_schedule(client):
    client.force_login(make_staff("agent", role="Agent"))

    response = client.get(reverse("admin:django_celery_beat_periodictask_changelist"))

    assert response.status_code == 403
