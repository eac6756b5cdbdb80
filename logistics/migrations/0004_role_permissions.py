from django.db import migrations

from aftersales.roles import grant_role_permissions, revoke_role_permissions

AGENT = [
    "view_shipment",
    "view_trackingevent",
    "view_interceptrequest",
    "add_interceptrequest",
    "answer_interceptrequest",
    "view_courierclaim",
    "view_lostparcelpolicy",
    "view_logisticsevent",
]
GRANTS = {
    "Agent": AGENT,
    "Supervisor": [*AGENT, "view_robotmessage"],
    "Warehouse": [
        "view_shipment",
        "change_shipment",
        "view_trackingevent",
        "view_interceptrequest",
        "answer_interceptrequest",
        "view_logisticsevent",
    ],
    "Manager": [
        "view_shipment",
        "view_trackingevent",
        "view_interceptrequest",
        "view_courierclaim",
        "change_courierclaim",
        "reconcile_courierclaim",
        "view_lostparcelpolicy",
        "add_lostparcelpolicy",
        "change_lostparcelpolicy",
        "view_trackingaccount",
        "add_trackingaccount",
        "change_trackingaccount",
        "view_robotmessage",
        "view_logisticsevent",
    ],
}


def grant(apps, schema_editor):
    grant_role_permissions(apps, "logistics", GRANTS)


def revoke(apps, schema_editor):
    revoke_role_permissions(apps, "logistics", GRANTS)


class Migration(migrations.Migration):
    dependencies = [("logistics", "0003_shipments_intercepts_claims")]
    operations = [migrations.RunPython(grant, revoke)]
