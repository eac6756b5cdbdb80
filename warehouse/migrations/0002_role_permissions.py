from django.db import migrations

from aftersales.roles import grant_role_permissions, revoke_role_permissions

# The warehouse reads its returns and inspections (writes go through the receiving station's services); agents
# and supervisors read them to decide tickets; managers also set each shop's early-exchange rule.
_READ = ["view_returnparcel", "view_inspection", "view_inspectionline", "view_evidence", "view_earlyexchange"]
GRANTS = {
    "Agent": [*_READ, "view_earlyexchangerule"],
    "Supervisor": [*_READ, "view_earlyexchangerule"],
    "Warehouse": _READ,
    "Manager": [*_READ, "view_earlyexchangerule", "add_earlyexchangerule", "change_earlyexchangerule"],
}


def grant(apps, schema_editor):
    grant_role_permissions(apps, "warehouse", GRANTS)


def revoke(apps, schema_editor):
    revoke_role_permissions(apps, "warehouse", GRANTS)


class Migration(migrations.Migration):
    dependencies = [("warehouse", "0001_returns_inspections_evidence")]
    operations = [migrations.RunPython(grant, revoke)]
