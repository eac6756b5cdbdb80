"""The database's own refund and first-reason guards survive every migrate, on SQLite as on PostgreSQL.

SQLite alters a table by rebuilding it, which drops the table's triggers: on a fresh SQLite database migration 0016
used to drop the ticket's first-reason trigger and 0020 the refund running-total triggers, so refunded_amount stayed
0 and a refund above the paid amount was accepted; and a migration rebuilding aftersales_order fails while the
refund triggers (which name it) exist. aftersales.db_triggers takes them away before every migrate and puts them
back after it.
"""

import json
import subprocess
import sys

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aftersales.db_triggers import drop_before_migrate, recreate_after_migrate, recreate_sqlite_triggers
from tests.conftest import ROOT, embedded_env

EXPECTED_SQLITE_TRIGGERS = {
    ("aftersales_refund_running_total_insert", "aftersales_refund"),
    ("aftersales_refund_running_total_delete", "aftersales_refund"),
    ("aftersales_refund_running_total_update", "aftersales_refund"),
    ("aftersales_ticket_first_reason_immutable", "aftersales_aftersalesticket"),
}

# One fresh SQLite database, migrated once by a plain `migrate`; every check below reads or writes it.
SQLITE_PROBE = """
import copy
import json

import django
django.setup()
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from aftersales.db_triggers import SQLITE_TRIGGERS
from aftersales.models import AfterSalesTicket, Order, Platform, Refund, ReturnReason, Shop

results = {}
call_command("migrate", verbosity=0)


def triggers():
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
        return [list(row) for row in cursor.fetchall()]


results["after migrate"] = triggers()

now = timezone.now()
platform, _created = Platform.objects.get_or_create(code="tmall")
shop = Shop.objects.create(code="s1", name="s1", platform=platform)
reason, other_reason = (
    ReturnReason.objects.create(code=code, category="non_quality", label_zh=code, label_en=code)
    for code in ("probe-a", "probe-b")
)
order = Order.objects.create(shop=shop, platform_order_id="P1", paid_amount="100.00", paid_at=now)
ticket = AfterSalesTicket.objects.create(
    shop=shop, order=order, kind="refund_only", path=1, first_reason=reason, reason=reason, liability="merchant",
    opened_at=now, deadline=now, sla_due=now,
)
someone = get_user_model().objects.create(username="someone")


def refund(key, amount):
    return Refund.objects.create(
        ticket=ticket, order=order, shop=shop, kind="partial", amount=amount, idempotency_key=key, requested_by=someone
    )


def refunded():
    # Only this column: at 0023 the order table lacks the columns 0024 adds.
    return str(Order.objects.values_list("refunded_amount", flat=True).get(pk=order.pk))


def refused(write):
    try:
        with transaction.atomic():
            write()
    except IntegrityError as error:
        return "refused: " + str(error)
    return "written"


first = refund("r1", "30.00")
results["after a refund of 30.00"] = refunded()
second = refund("r2", "45.50")
results["after a second refund of 45.50"] = refunded()
results["a refund of 24.51 (above the 24.50 left)"] = refused(lambda: refund("r3", "24.51"))
results["after the refused refund"] = refunded()
Refund.objects.filter(pk=first.pk).update(status="failed")
results["after the first refund failed"] = refunded()
Refund.objects.filter(pk=second.pk).update(amount="60.00")
results["after the second refund became 60.00"] = refunded()
Refund.objects.filter(pk=second.pk).delete()
results["after the second refund was deleted"] = refunded()
results["a change of the ticket's first reason"] = refused(
    lambda: AfterSalesTicket.objects.filter(pk=ticket.pk).update(first_reason=other_reason)
)

# A later migration that alters the tables: SQLite rebuilds them and their triggers go; the next migrate, even one
# with nothing to apply, puts them back.
for model, name in ((Refund, "gateway_reference"), (AfterSalesTicket, "platform_ticket_id")):
    field = model._meta.get_field(name)
    wider = copy.deepcopy(field)
    wider.max_length += 1
    with connection.schema_editor() as editor:
        editor.alter_field(model, field, wider)
results["after tables were rebuilt"] = triggers()
call_command("migrate", verbosity=0)
results["after the next migrate"] = triggers()

# A migration that rebuilds aftersales_order (0024 adds columns to it) while the refund triggers, which name that
# table, exist: SQLite refuses to rename the new table into place unless they are away during the migrate.
call_command("migrate", "aftersales", "0023", verbosity=0)
results["0024 applied again, with the triggers in place"] = [triggers(), str(call_command("migrate", verbosity=0))]
call_command("migrate", "aftersales", "0023", verbosity=0)



def drop_triggers():
    with connection.cursor() as cursor:
        for name in SQLITE_TRIGGERS:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


# Refunds written while a migrate ran without the triggers (as a data migration's would be): after a migrate that
# applied something (0024 alone here), the running totals are recomputed from the refunds.
drop_triggers()
refund("r4", "12.30")
Order.objects.filter(pk=order.pk).update(refunded_amount=0)
results["refunds written during a migrate, before"] = [triggers(), refunded()]
call_command("migrate", "aftersales", "0024", verbosity=0)
results["refunds written during a migrate, after"] = [triggers(), refunded()]

# A database migrated before the fix (up to 0026): triggers gone, a refund written since left refunded_amount behind.
# Its next migrate applies 0027, which recomputes the totals, and the triggers come back.
drop_triggers()
refund("r6", "7.70")
Order.objects.filter(pk=order.pk).update(refunded_amount=0)
results["an old database before 0027"] = [triggers(), refunded()]
call_command("migrate", verbosity=0)
results["an old database after 0027"] = [triggers(), refunded()]

# The same, with an order refunded above its paid amount while the guard was gone: 0027 stops and names it.
call_command("migrate", "aftersales", "0026", verbosity=0)
drop_triggers()
refund("r5", "99.00")
try:
    call_command("migrate", "aftersales", verbosity=0)
    results["0027 on an over-refunded order"] = "migrated"
except RuntimeError as error:
    results["0027 on an over-refunded order"] = str(error)
print(json.dumps(results))
"""


def sqlite_triggers(rows) -> set[tuple[str, str]]:
    return {tuple(row) for row in rows}


@pytest.mark.slow
def test_on_sqlite_every_trigger_exists_after_migrate_and_guards_the_refunds(tmp_path):
    """Order paid 100.00. Refund 30.00 -> 30.00; refund 45.50 -> 75.50 (24.50 left, so 24.51 is refused and the total
    stays 75.50); the 30.00 fails -> 45.50; the 45.50 becomes 60.00 -> 60.00; it is deleted -> 0.00.
    A 12.30 refund written without triggers leaves 0.00; the migrate applying 0024 recomputes 12.30. Old database:
    a 7.70 refund more without triggers leaves 0.00; 0027 recomputes 12.30 + 7.70 = 20.00. Then a 99.00 refund
    (20.00 + 99.00 = 119.00 > 100.00) written without triggers stops 0027, naming order P1."""
    env = embedded_env(VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="config.settings")
    done = subprocess.run(
        [sys.executable, "-c", SQLITE_PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-5000:]
    assert (tmp_path / "aftersales.sqlite3").exists()
    results = json.loads(done.stdout.strip().splitlines()[-1])

    assert sqlite_triggers(results.pop("after migrate")) == EXPECTED_SQLITE_TRIGGERS
    assert results.pop("after tables were rebuilt") == []
    assert sqlite_triggers(results.pop("after the next migrate")) == EXPECTED_SQLITE_TRIGGERS
    again, migrated = results.pop("0024 applied again, with the triggers in place")
    assert (sqlite_triggers(again), migrated) == (EXPECTED_SQLITE_TRIGGERS, "None")
    during_before, refunded_during_before = results.pop("refunds written during a migrate, before")
    assert (during_before, refunded_during_before) == ([], "0.00")
    during_after, refunded_during_after = results.pop("refunds written during a migrate, after")
    assert (sqlite_triggers(during_after), refunded_during_after) == (EXPECTED_SQLITE_TRIGGERS, "12.30")
    old_before, refunded_before = results.pop("an old database before 0027")
    assert (old_before, refunded_before) == ([], "0.00")
    old_after, refunded_after = results.pop("an old database after 0027")
    assert (sqlite_triggers(old_after), refunded_after) == (EXPECTED_SQLITE_TRIGGERS, "20.00")
    over_refunded = results.pop("0027 on an over-refunded order")
    assert "refunds above the paid amount on 1 order(s): P1" in over_refunded
    first_reason = results.pop("a change of the ticket's first reason")
    assert first_reason == "refused: the first reason of a ticket never changes"
    assert results == {
        "after a refund of 30.00": "30.00",
        "after a second refund of 45.50": "75.50",
        "a refund of 24.51 (above the 24.50 left)": "refused: CHECK constraint failed: order_refunded_within_paid",
        "after the refused refund": "75.50",
        "after the first refund failed": "45.50",
        "after the second refund became 60.00": "60.00",
        "after the second refund was deleted": "0.00",
    }


@pytest.mark.django_db
def test_on_postgresql_the_triggers_of_0005_are_there_and_the_sqlite_handler_leaves_them_alone():
    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL triggers; SQLite has its own test above")
    with CaptureQueriesContext(connection) as queries:
        assert recreate_sqlite_triggers(connection) is False
        drop_before_migrate(sender=None, using=connection.alias)
        recreate_after_migrate(sender=None, using=connection.alias, plan=[("a migration", False)])
    assert len(queries) == 0

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname, tgrelid::regclass::text FROM pg_trigger"
            " WHERE NOT tgisinternal AND tgname LIKE 'aftersales_%'"
        )
        assert set(cursor.fetchall()) == {
            ("aftersales_refund_running_total_insert_delete", "aftersales_refund"),
            ("aftersales_refund_running_total_update", "aftersales_refund"),
            ("aftersales_ticket_first_reason_immutable", "aftersales_aftersalesticket"),
        }


@pytest.mark.django_db
def test_on_sqlite_the_test_database_has_every_trigger():
    """The suite's own SQLite database (DATABASE_URL empty) is migrated too: its triggers are there."""
    if connection.vendor != "sqlite":
        pytest.skip("the suite runs on PostgreSQL here")
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'")
        assert set(cursor.fetchall()) == EXPECTED_SQLITE_TRIGGERS
