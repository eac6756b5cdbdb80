"""The database's own guard against refunding more than was paid, and against rewriting a ticket's first reason.

A trigger on aftersales_refund keeps aftersales_order.refunded_amount equal to the sum of the order's non-failed
refunds; the check constraint order_refunded_within_paid then refuses the statement that would take it above the
paid amount. The UPDATE of the order row also serialises concurrent refunds of one order. Written for both
PostgreSQL (production, tests) and SQLite (the embedded default of `make run`).

On SQLite a later migration that alters one of these tables rebuilds it and so drops its triggers: the current SQLite
triggers live in aftersales.db_triggers, which puts them back after every migrate. The text below is this
migration's own, as it was.
"""

from django.db import migrations

POSTGRESQL_FORWARD = """
CREATE FUNCTION aftersales_refund_running_total() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status <> 'failed' THEN
        UPDATE aftersales_order SET refunded_amount = refunded_amount - OLD.amount WHERE id = OLD.order_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status <> 'failed' THEN
        UPDATE aftersales_order SET refunded_amount = refunded_amount + NEW.amount WHERE id = NEW.order_id;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER aftersales_refund_running_total_insert_delete
    AFTER INSERT OR DELETE ON aftersales_refund
    FOR EACH ROW EXECUTE FUNCTION aftersales_refund_running_total();

CREATE TRIGGER aftersales_refund_running_total_update
    AFTER UPDATE OF status, amount, order_id ON aftersales_refund
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.amount IS DISTINCT FROM NEW.amount
          OR OLD.order_id IS DISTINCT FROM NEW.order_id)
    EXECUTE FUNCTION aftersales_refund_running_total();

CREATE FUNCTION aftersales_ticket_first_reason_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the first reason of ticket % never changes', OLD.id USING ERRCODE = 'integrity_constraint_violation';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER aftersales_ticket_first_reason_immutable
    BEFORE UPDATE OF first_reason_id ON aftersales_aftersalesticket
    FOR EACH ROW WHEN (OLD.first_reason_id IS DISTINCT FROM NEW.first_reason_id)
    EXECUTE FUNCTION aftersales_ticket_first_reason_immutable();
"""

POSTGRESQL_REVERSE = """
DROP TRIGGER aftersales_ticket_first_reason_immutable ON aftersales_aftersalesticket;
DROP FUNCTION aftersales_ticket_first_reason_immutable();
DROP TRIGGER aftersales_refund_running_total_update ON aftersales_refund;
DROP TRIGGER aftersales_refund_running_total_insert_delete ON aftersales_refund;
DROP FUNCTION aftersales_refund_running_total();
"""

# SQLite stores decimals as REAL; ROUND keeps the running total at two places so the check compares like with like.
SQLITE_FORWARD = [
    """CREATE TRIGGER aftersales_refund_running_total_insert AFTER INSERT ON aftersales_refund
       WHEN NEW.status <> 'failed' BEGIN
         UPDATE aftersales_order SET refunded_amount = ROUND(refunded_amount + NEW.amount, 2) WHERE id = NEW.order_id;
       END""",
    """CREATE TRIGGER aftersales_refund_running_total_delete AFTER DELETE ON aftersales_refund
       WHEN OLD.status <> 'failed' BEGIN
         UPDATE aftersales_order SET refunded_amount = ROUND(refunded_amount - OLD.amount, 2) WHERE id = OLD.order_id;
       END""",
    """CREATE TRIGGER aftersales_refund_running_total_update AFTER UPDATE OF status, amount, order_id
       ON aftersales_refund BEGIN
         UPDATE aftersales_order SET refunded_amount = ROUND(refunded_amount - OLD.amount, 2)
           WHERE id = OLD.order_id AND OLD.status <> 'failed';
         UPDATE aftersales_order SET refunded_amount = ROUND(refunded_amount + NEW.amount, 2)
           WHERE id = NEW.order_id AND NEW.status <> 'failed';
       END""",
    """CREATE TRIGGER aftersales_ticket_first_reason_immutable BEFORE UPDATE OF first_reason_id
       ON aftersales_aftersalesticket WHEN OLD.first_reason_id <> NEW.first_reason_id BEGIN
         SELECT RAISE(ABORT, 'the first reason of a ticket never changes');
       END""",
]
# IF EXISTS: a table rebuilt by a later migration (and rebuilt again on the way back) has lost its triggers.
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS aftersales_ticket_first_reason_immutable",
    "DROP TRIGGER IF EXISTS aftersales_refund_running_total_update",
    "DROP TRIGGER IF EXISTS aftersales_refund_running_total_delete",
    "DROP TRIGGER IF EXISTS aftersales_refund_running_total_insert",
]


def _run(schema_editor, postgresql: str, sqlite: list[str]) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(postgresql, params=None)
    elif vendor == "sqlite":
        for statement in sqlite:
            schema_editor.execute(statement)
    else:
        raise NotImplementedError(f"no refund running-total trigger for {vendor}")


def forward(apps, schema_editor):
    _run(schema_editor, POSTGRESQL_FORWARD, SQLITE_FORWARD)


def reverse(apps, schema_editor):
    _run(schema_editor, POSTGRESQL_REVERSE, SQLITE_REVERSE)


class Migration(migrations.Migration):
    dependencies = [("aftersales", "0004_tickets_refunds_approvals")]
    operations = [migrations.RunPython(forward, reverse)]
