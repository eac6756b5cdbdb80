"""Who may push the platforms' exports (chat sessions, product reviews) into the desk, by file or by the API: the
roles that import the order exports (add and change: a re-import updates what is stored)."""

from django.db import migrations

from aftersales.roles import grant_role_permissions, revoke_role_permissions

CODENAMES = [f"{action}_{model}" for model in ("chatsession", "productreview") for action in ("add", "change")]
GRANTS = {"Supervisor": CODENAMES, "Manager": CODENAMES}


def grant(apps, schema_editor):
    grant_role_permissions(apps, "metrics", GRANTS)


def revoke(apps, schema_editor):
    revoke_role_permissions(apps, "metrics", GRANTS)


class Migration(migrations.Migration):
    dependencies = [("metrics", "0007_platform_data")]
    operations = [migrations.RunPython(grant, revoke)]
