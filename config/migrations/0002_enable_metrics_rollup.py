"""The metrics app's nightly rollup now exists (metrics.tasks.metrics_rollup_task): switch its beat row on."""

from django.db import migrations

NAME = "指标汇总 (metrics rollup, nightly)"


def enable(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).update(enabled=True)


def disable(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).update(enabled=False)


class Migration(migrations.Migration):
    dependencies = [("config", "0001_beat_schedule"), ("metrics", "0006_daily_rollups")]
    operations = [migrations.RunPython(enable, disable)]
