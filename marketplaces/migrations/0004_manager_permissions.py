"""Managers see and manage the shops' platform connections, and see what the platforms sent and what goes out."""

from django.db import migrations

from aftersales.roles import grant_role_permissions, revoke_role_permissions

GRANTS = {
    "Manager": [
        "view_shopconnection",
        "add_shopconnection",
        "change_shopconnection",
        "view_platformrecord",
        "view_outboundaction",
    ]
}


def grant(apps, schema_editor):
    grant_role_permissions(apps, "marketplaces", GRANTS)


def revoke(apps, schema_editor):
    revoke_role_permissions(apps, "marketplaces", GRANTS)


class Migration(migrations.Migration):
    dependencies = [("marketplaces", "0003_connection_return_address")]
    operations = [migrations.RunPython(grant, revoke)]
