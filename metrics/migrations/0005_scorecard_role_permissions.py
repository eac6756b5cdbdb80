from django.db import migrations

from aftersales.roles import grant_role_permissions, revoke_role_permissions

MODELS = ["scorecard", "scorecarddimension", "scorecardmetric", "scorestep", "shopscorecard", "shopscorestep"]
GRANTS = {
    "Supervisor": [f"view_{model}" for model in MODELS],
    "Manager": [f"{action}_{model}" for model in MODELS for action in ("add", "change", "view")],
}


def grant(apps, schema_editor):
    grant_role_permissions(apps, "metrics", GRANTS)


def revoke(apps, schema_editor):
    revoke_role_permissions(apps, "metrics", GRANTS)


class Migration(migrations.Migration):
    dependencies = [("metrics", "0004_seed_scorecards")]
    operations = [migrations.RunPython(grant, revoke)]
