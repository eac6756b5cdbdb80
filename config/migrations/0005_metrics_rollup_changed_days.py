"""A beat row every 15 minutes that rolls up again the days changes have marked since the last run
(metrics.tasks.metrics_rollup_dirty_task), so the dashboard follows a late change within minutes instead of freezing
a day's figures after three nights."""

from django.db import migrations

NAME = "指标补算 (metrics rollup of changed days, 15 min)"
TASK = "metrics.tasks.metrics_rollup_dirty_task"


def create(apps, schema_editor):
    interval, _created = apps.get_model("django_celery_beat", "IntervalSchedule").objects.get_or_create(
        every=15, period="minutes"
    )
    apps.get_model("django_celery_beat", "PeriodicTask").objects.get_or_create(
        name=NAME, defaults={"task": TASK, "enabled": True, "interval": interval}
    )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("config", "0004_api_tokens"), ("metrics", "0015_dirty_days_first_reviews")]
    operations = [migrations.RunPython(create, remove)]
