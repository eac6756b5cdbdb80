"""A nightly beat row (03:10 Asia/Shanghai) that purges the API's expired idempotency keys."""

from django.db import migrations

NAME = "API 幂等键清理 (idempotency keys purge, nightly)"
TASK = "aftersales.tasks.idempotency_keys_purge_task"


def create(apps, schema_editor):
    crontab, _created = apps.get_model("django_celery_beat", "CrontabSchedule").objects.get_or_create(
        minute="10", hour="3", day_of_week="*", day_of_month="*", month_of_year="*", timezone="Asia/Shanghai"
    )
    apps.get_model("django_celery_beat", "PeriodicTask").objects.get_or_create(
        name=NAME, defaults={"task": TASK, "enabled": True, "crontab": crontab}
    )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("config", "0002_enable_metrics_rollup"), ("aftersales", "0016_refund_paid_kind_index")]
    operations = [migrations.RunPython(create, remove)]
