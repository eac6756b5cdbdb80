"""Put back the SQLite triggers of migration 0005 that later table rebuilds dropped (0016 the ticket's, 0020 the
refund's): on a database migrated before the fix, aftersales_order.refunded_amount stopped following its refunds.

From now on the post_migrate handler of aftersales.db_triggers recreates them after every migrate; this migration
does it once on its own, for a database migrated by another path. Nothing happens on PostgreSQL, which keeps its
triggers when it alters a table.

The running totals a database without the trigger left behind are recomputed from the refunds, so the guard starts
from the right figure. An order whose refunds already exceed its paid amount (written while the guard was gone) stops
the migration and is named: which refund is wrong is a person's call, not the migration's.
"""

from django.db import migrations

from aftersales.db_triggers import recreate_sqlite_triggers

# Each order's sum of non-failed refunds, as the trigger keeps it.
OVER_REFUNDED = """
SELECT id, platform_order_id FROM aftersales_order
WHERE ROUND((SELECT COALESCE(SUM(amount), 0) FROM aftersales_refund
             WHERE aftersales_refund.order_id = aftersales_order.id AND aftersales_refund.status <> 'failed'), 2)
      > paid_amount
ORDER BY id
"""
RECOMPUTE_REFUNDED_AMOUNT = """
UPDATE aftersales_order
SET refunded_amount = ROUND((SELECT COALESCE(SUM(amount), 0) FROM aftersales_refund
                             WHERE aftersales_refund.order_id = aftersales_order.id
                               AND aftersales_refund.status <> 'failed'), 2)
"""


def forward(apps, schema_editor):
    connection = schema_editor.connection
    if not recreate_sqlite_triggers(connection):
        return
    with connection.cursor() as cursor:
        cursor.execute(OVER_REFUNDED)
        over = cursor.fetchall()
        if over:
            named = ", ".join(f"{platform_order_id} (id {pk})" for pk, platform_order_id in over)
            raise RuntimeError(
                f"refunds above the paid amount on {len(over)} order(s): {named}; "
                "mark the wrong refunds failed or delete them, then migrate again"
            )
        cursor.execute(RECOMPUTE_REFUNDED_AMOUNT)


class Migration(migrations.Migration):
    dependencies = [("aftersales", "0024_order_logistics_flags")]
    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
