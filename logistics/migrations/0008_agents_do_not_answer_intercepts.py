from django.db import migrations

from aftersales.roles import grant_role_permissions, revoke_role_permissions

# A courier's answer to an intercept releases a refund: the agent who asked for it must not be the one to record it.
# The answer comes from the courier's channel, recorded by the warehouse (who talk to the couriers) or a supervisor.
AGENT_LOSES = {"Agent": ["answer_interceptrequest"]}


def revoke(apps, schema_editor):
    revoke_role_permissions(apps, "logistics", AGENT_LOSES)


def grant_back(apps, schema_editor):
    grant_role_permissions(apps, "logistics", AGENT_LOSES)


class Migration(migrations.Migration):
    dependencies = [("logistics", "0007_courier_without_shop_terms")]
    operations = [migrations.RunPython(revoke, grant_back)]
