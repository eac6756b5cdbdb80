from django.db import migrations

from aftersales.roles import grant_role_permissions, revoke_role_permissions

# The shop's manager sets up the team robot its team lead hears complaint risks on (seed 004).
GRANTS = {"Manager": ["view_teamrobot", "add_teamrobot", "change_teamrobot"]}


def grant(apps, schema_editor):
    grant_role_permissions(apps, "logistics", GRANTS)


def revoke(apps, schema_editor):
    revoke_role_permissions(apps, "logistics", GRANTS)


class Migration(migrations.Migration):
    dependencies = [("logistics", "0014_escalation_team_robot")]
    operations = [migrations.RunPython(grant, revoke)]
