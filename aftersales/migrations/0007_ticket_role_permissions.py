from django.db import migrations

from aftersales.roles import grant_role_permissions, revoke_role_permissions

# Agents open and work tickets; a supervisor also decides approvals, sets authorities and tunes the taxonomy;
# the warehouse receives returns and confirms cut-offs; a manager reads everything and configures the rules.
# Tickets, refunds and events are changed only through the services (the admin's buttons), never edited as rows.
_READ_TICKETS = ["view_aftersalesticket", "view_refund", "view_approvalrequest", "view_ticketevent"]
GRANTS = {
    "Agent": [
        *_READ_TICKETS,
        "add_aftersalesticket",
        "work_ticket",
        "view_cutoffrequest",
        "view_returnreason",
        "view_refundauthority",
    ],
    "Supervisor": [
        *_READ_TICKETS,
        "add_aftersalesticket",
        "work_ticket",
        "decide_approvalrequest",
        "view_cutoffrequest",
        "view_returnreason",
        "add_returnreason",
        "change_returnreason",
        "view_escalationword",
        "add_escalationword",
        "change_escalationword",
        "view_refundauthority",
        "add_refundauthority",
        "change_refundauthority",
    ],
    "Warehouse": ["view_aftersalesticket", "handle_returns", "view_cutoffrequest", "confirm_cutoffrequest"],
    "Manager": [
        *_READ_TICKETS,
        "view_cutoffrequest",
        "view_returnreason",
        "add_returnreason",
        "change_returnreason",
        "view_escalationword",
        "add_escalationword",
        "change_escalationword",
        "view_refundauthority",
        "add_refundauthority",
        "change_refundauthority",
    ],
}


def grant(apps, schema_editor):
    grant_role_permissions(apps, "aftersales", GRANTS)


def revoke(apps, schema_editor):
    revoke_role_permissions(apps, "aftersales", GRANTS)


class Migration(migrations.Migration):
    dependencies = [("aftersales", "0006_seed_reasons_words_system_user")]
    operations = [migrations.RunPython(grant, revoke)]
