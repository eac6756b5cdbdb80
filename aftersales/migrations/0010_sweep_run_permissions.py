from django.db import migrations

from aftersales.roles import grant_role_permissions, revoke_role_permissions

GRANTS = {"Supervisor": ["view_sweeprun"], "Manager": ["view_sweeprun"]}


def grant(apps, schema_editor):
    grant_role_permissions(apps, "aftersales", GRANTS)


def revoke(apps, schema_editor):
    revoke_role_permissions(apps, "aftersales", GRANTS)


class Migration(migrations.Migration):
    dependencies = [("aftersales", "0009_sweep_runs")]
    operations = [migrations.RunPython(grant, revoke)]
