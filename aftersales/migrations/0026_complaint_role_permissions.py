"""Who records complaints (投诉): the roles that work tickets (agents, supervisors, managers) add them and say later
whether they were the merchant's liability; every role that reads orders sees them."""

from django.db import migrations

from aftersales.roles import grant_role_permissions, revoke_role_permissions

WORKERS = ["add_complaint", "change_complaint", "view_complaint"]
GRANTS = {"Agent": WORKERS, "Supervisor": WORKERS, "Manager": WORKERS}


def grant(apps, schema_editor):
    grant_role_permissions(apps, "aftersales", GRANTS)


def revoke(apps, schema_editor):
    revoke_role_permissions(apps, "aftersales", GRANTS)


class Migration(migrations.Migration):
    dependencies = [("aftersales", "0025_complaints_and_ruling_liability")]
    operations = [migrations.RunPython(grant, revoke)]
