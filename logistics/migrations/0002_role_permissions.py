from django.db import migrations

from aftersales.roles import grant_role_permissions, revoke_role_permissions

GRANTS = {
    "Agent": ["view_courier"],
    "Supervisor": ["view_courier"],
    "Warehouse": ["view_courier"],
    "Manager": ["view_courier", "add_courier", "change_courier"],
}


def grant(apps, schema_editor):
    grant_role_permissions(apps, "logistics", GRANTS)


def revoke(apps, schema_editor):
    revoke_role_permissions(apps, "logistics", GRANTS)


class Migration(migrations.Migration):
    dependencies = [("logistics", "0001_initial"), ("aftersales", "0003_role_permissions")]
    operations = [migrations.RunPython(grant, revoke)]
