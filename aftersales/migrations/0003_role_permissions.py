from django.db import migrations

from aftersales.roles import grant_role_permissions, revoke_role_permissions

# Agents and warehouse clerks read orders; supervisors and managers also import and correct them;
# managers configure their shops and the platforms' deadlines. Nobody but a superuser deletes.
GRANTS = {
    "Agent": ["view_shop", "view_order", "view_orderline"],
    "Supervisor": [
        "view_shop",
        "view_order",
        "add_order",
        "change_order",
        "view_orderline",
        "add_orderline",
        "change_orderline",
    ],
    "Warehouse": ["view_order", "view_orderline"],
    "Manager": [
        "view_platform",
        "change_platform",
        "view_shop",
        "change_shop",
        "view_order",
        "add_order",
        "change_order",
        "view_orderline",
        "add_orderline",
        "change_orderline",
    ],
}


def grant(apps, schema_editor):
    grant_role_permissions(apps, "aftersales", GRANTS)


def revoke(apps, schema_editor):
    revoke_role_permissions(apps, "aftersales", GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("aftersales", "0002_seed_platforms"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(grant, revoke)]
