from django.db import migrations

from aftersales.roles import grant_role_permissions, revoke_role_permissions

GRANTS = {"Supervisor": ["view_dashboard"], "Manager": ["view_dashboard"]}


def grant(apps, schema_editor):
    grant_role_permissions(apps, "metrics", GRANTS)


def revoke(apps, schema_editor):
    revoke_role_permissions(apps, "metrics", GRANTS)


class Migration(migrations.Migration):
    dependencies = [("metrics", "0001_access")]
    operations = [migrations.RunPython(grant, revoke)]
