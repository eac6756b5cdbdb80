"""Who may push the platform's daily product overall scores (商品综合评分) into the desk, by file or by the API: the
same roles as for chat sessions and reviews (0008), add and change (a re-import updates what is stored)."""

from django.db import migrations

from aftersales.roles import grant_role_permissions, revoke_role_permissions

CODENAMES = ["add_productscore", "change_productscore"]
GRANTS = {"Supervisor": CODENAMES, "Manager": CODENAMES}


def grant(apps, schema_editor):
    grant_role_permissions(apps, "metrics", GRANTS)


def revoke(apps, schema_editor):
    revoke_role_permissions(apps, "metrics", GRANTS)


class Migration(migrations.Migration):
    dependencies = [("metrics", "0009_product_scores")]
    operations = [migrations.RunPython(grant, revoke)]
