"""The schedule of DESIGN §4 as django-celery-beat rows, which a manager edits in the admin (定时任务).

Times are Asia/Shanghai. The rows are created once; later edits in the admin are kept (get_or_create by name).
"""

from django.db import migrations

from aftersales.roles import grant_role_permissions, revoke_role_permissions

TIME_ZONE = "Asia/Shanghai"
# (name, task, crontab (minute, hour) or None, interval minutes or None, enabled)
SCHEDULE = [
    ("退款日清 · 早 (refund sweep 09:00)", "aftersales.tasks.refund_sweep_task", ("0", "9"), None, True),
    ("退款日清 · 中 (refund sweep 13:00)", "aftersales.tasks.refund_sweep_task", ("0", "13"), None, True),
    ("退款日清 · 晚 (refund sweep 20:00)", "aftersales.tasks.refund_sweep_task", ("0", "20"), None, True),
    ("无走件检查 (no-scan check, hourly)", "logistics.tasks.no_scan_check_task", ("5", "*"), None, True),
    ("拦截跟进 (intercept follow-up, 15 min)", "logistics.tasks.intercept_follow_up_task", None, 15, True),
    ("审批超时 (approval SLA, 15 min)", "aftersales.tasks.approval_sla_task", None, 15, True),
    # The metrics app's nightly rollup; its task arrives with the metrics issue, which enables this row.
    ("指标汇总 (metrics rollup, nightly)", "metrics.tasks.metrics_rollup_task", ("30", "1"), None, False),
]
MANAGER_GRANTS = {
    "Manager": [
        "view_periodictask",
        "change_periodictask",
        "view_crontabschedule",
        "add_crontabschedule",
        "change_crontabschedule",
        "view_intervalschedule",
        "add_intervalschedule",
        "change_intervalschedule",
    ]
}


def create_schedule(apps, schema_editor):
    crontab_model = apps.get_model("django_celery_beat", "CrontabSchedule")
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, crontab, every_minutes, enabled in SCHEDULE:
        schedule = {}
        if crontab:
            minute, hour = crontab
            schedule["crontab"], _created = crontab_model.objects.get_or_create(
                minute=minute,
                hour=hour,
                day_of_week="*",
                day_of_month="*",
                month_of_year="*",
                timezone=TIME_ZONE,
            )
        else:
            schedule["interval"], _created = interval_model.objects.get_or_create(every=every_minutes, period="minutes")
        task_model.objects.get_or_create(name=name, defaults={"task": task, "enabled": enabled, **schedule})
    grant_role_permissions(apps, "django_celery_beat", MANAGER_GRANTS)


def remove_schedule(apps, schema_editor):
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    task_model.objects.filter(name__in=[name for name, *_rest in SCHEDULE]).delete()
    revoke_role_permissions(apps, "django_celery_beat", MANAGER_GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        ("aftersales", "0010_sweep_run_permissions"),
    ]
    operations = [migrations.RunPython(create_schedule, remove_schedule)]
