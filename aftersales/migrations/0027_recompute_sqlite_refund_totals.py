"""Recompute the refund running totals of an SQLite database whose triggers later table rebuilds dropped.

On SQLite migration 0016 dropped the ticket's first-reason trigger and 0020 the refund running-total triggers of
0005, so aftersales_order.refunded_amount stopped following its refunds. From now on aftersales.db_triggers takes
the triggers away before every migrate and creates them again after it; this migration recomputes, once, the totals
that a database without them left behind, so the guard starts from the right figure. An order whose refunds already
exceed its paid amount stops the migration and is named. Nothing happens on PostgreSQL, which kept its triggers.
"""

from django.db import migrations

from aftersales.db_triggers import recompute_refunded_amounts


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        recompute_refunded_amounts(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("aftersales", "0026_complaint_role_permissions")]
    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
