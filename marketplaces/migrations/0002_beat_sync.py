"""A beat row every minute that pulls each connected shop's after-sales changes and sends the writes waiting for the
platforms (marketplaces.tasks.marketplaces_sync_all_task)."""

from django.db import migrations

NAME = "平台售后同步 (marketplace after-sales sync, 1 min)"
TASK = "marketplaces.tasks.marketplaces_sync_all_task"


def create(apps, schema_editor):
    interval, _created = apps.get_model("django_celery_beat", "IntervalSchedule").objects.get_or_create(
        every=1, period="minutes"
    )
    apps.get_model("django_celery_beat", "PeriodicTask").objects.get_or_create(
        name=NAME, defaults={"task": TASK, "enabled": True, "interval": interval}
    )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("marketplaces", "0001_connections_records_outbox"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create, remove)]
