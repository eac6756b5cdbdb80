"""The SQLite triggers of the after-sales tables, kept in one place and put back after every migrate.

Migration 0005 installs the database's own guards: a trigger on aftersales_refund keeps
aftersales_order.refunded_amount equal to the sum of the order's non-failed refunds (the check constraint
order_refunded_within_paid then refuses a refund above the paid amount), and a trigger refuses any change of a
ticket's first reason. SQLite alters a table by rebuilding it (create a new table, copy the rows, drop the old one,
rename), and dropping the old table drops its triggers: a later migration that alters aftersales_refund or
aftersales_aftersalesticket silently removes them. So on SQLite the triggers below are dropped and created again
after every `migrate` (the post_migrate handler registered in AftersalesConfig.ready), whatever migrations it applied.

PostgreSQL alters tables in place and keeps its triggers; nothing here runs there (see migration 0005 for its SQL).

The SQL must stay valid for the schema of every migration from INSTALLED_BY on: if a trigger ever needs a column a
later migration adds, point INSTALLED_BY at that migration.
"""

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.recorder import MigrationRecorder

# The migration that first installs the triggers; before it (or migrated back past it) there are none to keep.
INSTALLED_BY = ("aftersales", "0005_refund_running_total")

# Trigger name -> its CREATE statement. SQLite stores decimals as REAL; ROUND keeps the running total at two places
# so the check compares like with like.
SQLITE_TRIGGERS = {
    "aftersales_refund_running_total_insert": """
        CREATE TRIGGER aftersales_refund_running_total_insert AFTER INSERT ON aftersales_refund
        WHEN NEW.status <> 'failed' BEGIN
          UPDATE aftersales_order SET refunded_amount = ROUND(refunded_amount + NEW.amount, 2) WHERE id = NEW.order_id;
        END""",
    "aftersales_refund_running_total_delete": """
        CREATE TRIGGER aftersales_refund_running_total_delete AFTER DELETE ON aftersales_refund
        WHEN OLD.status <> 'failed' BEGIN
          UPDATE aftersales_order SET refunded_amount = ROUND(refunded_amount - OLD.amount, 2) WHERE id = OLD.order_id;
        END""",
    "aftersales_refund_running_total_update": """
        CREATE TRIGGER aftersales_refund_running_total_update AFTER UPDATE OF status, amount, order_id
        ON aftersales_refund BEGIN
          UPDATE aftersales_order SET refunded_amount = ROUND(refunded_amount - OLD.amount, 2)
            WHERE id = OLD.order_id AND OLD.status <> 'failed';
          UPDATE aftersales_order SET refunded_amount = ROUND(refunded_amount + NEW.amount, 2)
            WHERE id = NEW.order_id AND NEW.status <> 'failed';
        END""",
    "aftersales_ticket_first_reason_immutable": """
        CREATE TRIGGER aftersales_ticket_first_reason_immutable BEFORE UPDATE OF first_reason_id
        ON aftersales_aftersalesticket WHEN OLD.first_reason_id <> NEW.first_reason_id BEGIN
          SELECT RAISE(ABORT, 'the first reason of a ticket never changes');
        END""",
}


def recreate_sqlite_triggers(connection: BaseDatabaseWrapper) -> bool:
    """Drop and create every SQLite trigger above, if the database is SQLite and INSTALLED_BY is applied.

    Idempotent: a trigger that a table rebuild removed comes back, one that survived is replaced by the same text.
    Returns whether the triggers were written.
    """
    if connection.vendor != "sqlite":
        return False
    recorder = MigrationRecorder(connection)
    if not recorder.has_table() or INSTALLED_BY not in recorder.applied_migrations():
        return False
    with connection.cursor() as cursor:
        for name, create in SQLITE_TRIGGERS.items():
            cursor.execute(f'DROP TRIGGER IF EXISTS "{name}"')
            cursor.execute(create)
    return True


def recreate_after_migrate(sender, using: str = "default", **kwargs) -> None:
    """post_migrate receiver: after any migrate (or flush) of an SQLite database, the triggers are there."""
    from django.db import connections

    recreate_sqlite_triggers(connections[using])
