from django.db import migrations

from aftersales.roles import grant_role_permissions, revoke_role_permissions

# Whoever sees an intercept sees what was sent to Kuaidi100 for it and what Kuaidi100 said (its page's inline).
GRANTS = {role: ["view_kuaidi100intercept"] for role in ("Agent", "Supervisor", "Warehouse", "Manager")}


def grant(apps, schema_editor):
    grant_role_permissions(apps, "logistics", GRANTS)


def revoke(apps, schema_editor):
    revoke_role_permissions(apps, "logistics", GRANTS)


class Migration(migrations.Migration):
    dependencies = [("logistics", "0017_kuaidi100_intercepts")]
    operations = [migrations.RunPython(grant, revoke)]
