"""The SQLite triggers of the after-sales tables, kept in one place and put back after every migrate.

Migration 0005 installs the database's own guards: a trigger on aftersales_refund keeps
aftersales_order.refunded_amount equal to the sum of the order's non-failed refunds (the check constraint
order_refunded_within_paid then refuses a refund above the paid amount), and a trigger refuses any change of a
ticket's first reason. SQLite alters a table by rebuilding it (create a new table, copy the rows, drop the old one,
rename), and:

- dropping the old table drops its triggers, so a migration that alters aftersales_refund or
  aftersales_aftersalesticket silently removes them (0016 and 0020 did);
- renaming the new aftersales_order into place fails ("error in trigger ...: no such table") while a trigger on
  another table names aftersales_order, so a migration that alters the order table breaks while they exist.

So on SQLite every `migrate` runs without them: the pre_migrate handler drops them, the post_migrate handler creates
them again (both registered in AftersalesConfig.ready), whatever the migrations did in between. Refunds a data
migration wrote meanwhile did not move the running totals, so after a migrate that applied anything the totals are
recomputed from the refunds.

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


# Each order's sum of non-failed refunds, as the triggers keep it, rounded as they round.
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


def _installed(connection: BaseDatabaseWrapper) -> bool:
    if connection.vendor != "sqlite":
        return False
    recorder = MigrationRecorder(connection)
    return recorder.has_table() and INSTALLED_BY in recorder.applied_migrations()


def drop_sqlite_triggers(connection: BaseDatabaseWrapper) -> None:
    """Drop every SQLite trigger above (those present); nothing on another database."""
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for name in SQLITE_TRIGGERS:
            cursor.execute(f'DROP TRIGGER IF EXISTS "{name}"')


def recreate_sqlite_triggers(connection: BaseDatabaseWrapper) -> bool:
    """Drop and create every SQLite trigger above, if the database is SQLite and INSTALLED_BY is applied.

    Idempotent: a trigger that a table rebuild removed comes back, one that survived is replaced by the same text.
    Returns whether the triggers were written.
    """
    if not _installed(connection):
        return False
    drop_sqlite_triggers(connection)
    with connection.cursor() as cursor:
        for create in SQLITE_TRIGGERS.values():
            cursor.execute(create)
    return True


def recompute_refunded_amounts(connection: BaseDatabaseWrapper) -> None:
    """Set every order's refunded_amount to the sum of its non-failed refunds, as the triggers would have kept it.

    An order whose refunds already exceed its paid amount (written while the guard was away) stops this with its
    name: which refund is wrong is a person's call.
    """
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


def drop_before_migrate(sender, using: str = "default", **kwargs) -> None:
    """pre_migrate receiver: the migrations of an SQLite database run without the triggers."""
    from django.db import connections

    drop_sqlite_triggers(connections[using])


def recreate_after_migrate(sender, using: str = "default", plan=None, **kwargs) -> None:
    """post_migrate receiver: after any migrate (or flush) of an SQLite database, the triggers are there, and after
    a migrate that applied migrations the running totals are recomputed."""
    from django.db import connections

    connection = connections[using]
    if recreate_sqlite_triggers(connection) and plan:
        recompute_refunded_amounts(connection)
