"""One event vocabulary: a ticket's and a logistics history's actions are TextChoices with a translated label each,
the database refuses any other action however the row is written (on PostgreSQL here, on SQLite in a process of its
own), and the ticket page's history shows every action by its label, never by its code."""

import json
import re
import subprocess
import sys
from html import unescape

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import translation

from aftersales.models import TicketEvent, TicketKind
from aftersales.selectors import system_user
from logistics.models import LogisticsEvent
from tests.conftest import ROOT, embedded_env
from tests.factories import ShopFactory, delivered_order, make_staff, open_ticket

VOCABULARIES = [TicketEvent.Action, LogisticsEvent.Action]


def history_cells(html: str, column: str) -> list[str]:
    """The text of each cell of an admin inline's `column` (the history's rows, oldest first)."""
    cells = re.findall(rf'<td class="field-{column}">(.*?)</td>', html, flags=re.S)
    return [unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in cells]


# --- the labels ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("vocabulary", VOCABULARIES, ids=lambda v: v.__name__)
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_action_has_a_label_that_is_not_its_code(vocabulary, language):
    with translation.override(language):
        raw = {action.value: str(action.label) for action in vocabulary if str(action.label) == action.value}

    assert raw == {}


@pytest.mark.parametrize("vocabulary", VOCABULARIES, ids=lambda v: v.__name__)
def test_every_action_label_is_translated_into_chinese(vocabulary):
    """A label missing from the zh_Hans catalogue would show in English on the Chinese desk."""
    with translation.override("en"):
        english = {action.value: str(action.label) for action in vocabulary}
    with translation.override("zh-hans"):
        untranslated = [action.value for action in vocabulary if str(action.label) == english[action.value]]

    assert untranslated == []


# --- the database refuses an unknown action (PostgreSQL) -----------------------------------------------------------


@pytest.fixture
def ticket(db):
    return open_ticket(delivered_order(), kind=TicketKind.RETURN_REFUND)  # one event: opened


@pytest.mark.django_db
def test_a_ticket_event_with_an_unknown_action_is_refused_on_save(ticket):
    TicketEvent(ticket=ticket, actor=system_user(), action=TicketEvent.Action.NOTE).save()  # a known one is written

    with pytest.raises(IntegrityError, match="ticket_event_action_known"), transaction.atomic():
        TicketEvent(ticket=ticket, actor=system_user(), action="resolved_compensation").save()

    assert TicketEvent.objects.filter(ticket=ticket).count() == 2  # opened, note


@pytest.mark.django_db
def test_a_ticket_event_with_an_unknown_action_is_refused_in_a_bulk_create(ticket):
    rows = [TicketEvent(ticket=ticket, actor=system_user(), action=action) for action in ("note", "Note")]

    with pytest.raises(IntegrityError, match="ticket_event_action_known"), transaction.atomic():
        TicketEvent.objects.bulk_create(rows)

    assert list(TicketEvent.objects.filter(ticket=ticket).values_list("action", flat=True)) == ["opened"]


@pytest.mark.django_db
def test_a_logistics_event_with_an_unknown_action_is_refused_on_save_and_in_a_bulk_create(ticket):
    from logistics.models import Courier, Shipment

    shipment = Shipment.objects.create(
        shop=ticket.shop,
        order=ticket.order,
        courier=Courier.objects.create(code="SF", name="顺丰"),
        tracking_number="S1",
    )
    known = LogisticsEvent(
        shipment=shipment, actor=system_user(), action=LogisticsEvent.Action.DISPATCHED, at=ticket.opened_at
    )
    known.save()

    with pytest.raises(IntegrityError, match="logistics_event_action_known"), transaction.atomic():
        LogisticsEvent(shipment=shipment, actor=system_user(), action="remedy_compensation", at=ticket.opened_at).save()
    with pytest.raises(IntegrityError, match="logistics_event_action_known"), transaction.atomic():
        LogisticsEvent.objects.bulk_create(
            [
                LogisticsEvent(shipment=shipment, actor=system_user(), action=action, at=ticket.opened_at)
                for action in ("lost", "declared_lost")
            ]
        )

    assert list(LogisticsEvent.objects.values_list("action", flat=True)) == ["dispatched"]


# --- the same on SQLite, the embedded default, migrated from scratch -----------------------------------------------

SQLITE_PROBE = """
import json

import django
django.setup()
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from aftersales.models import TicketEvent
from aftersales.selectors import system_user
from logistics.models import LogisticsEvent

results = {}

# The migrations, on a database that holds actions outside the vocabulary: each stops and names what it found.
call_command("migrate", "aftersales", "0021", verbosity=0)
call_command("migrate", "logistics", "0008", verbosity=0)
old = MigrationExecutor(connection).loader.project_state(
    [("aftersales", "0021_shop_settings"), ("logistics", "0008_agents_do_not_answer_intercepts")]
).apps
now = timezone.now()
platform, _created = old.get_model("aftersales", "Platform").objects.get_or_create(code="tmall")
shop = old.get_model("aftersales", "Shop").objects.create(code="s1", name="s1", platform=platform)
reason = old.get_model("aftersales", "ReturnReason").objects.create(
    code="m-test", category="non_quality", label_zh="测试", label_en="test"
)
order = old.get_model("aftersales", "Order").objects.create(
    shop=shop, platform_order_id="M1", paid_amount="50.00", paid_at=now
)
ticket = old.get_model("aftersales", "AfterSalesTicket").objects.create(
    shop=shop, order=order, kind="refund_only", path=1, first_reason=reason, reason=reason, liability="merchant",
    opened_at=now, deadline=now, sla_due=now,
)
someone = get_user_model().objects.create(username="someone")
old.get_model("aftersales", "TicketEvent").objects.create(ticket=ticket, actor_id=someone.pk, action="typed_by_hand")
courier = old.get_model("logistics", "Courier").objects.create(code="SF", name="SF")
shipment = old.get_model("logistics", "Shipment").objects.create(
    shop_id=shop.pk, order_id=order.pk, courier=courier, tracking_number="SF1"
)
old.get_model("logistics", "LogisticsEvent").objects.create(
    shipment=shipment, actor_id=someone.pk, action="lost_again", at=now
)
# Logistics up to its vocabulary only: its later migrations need aftersales' later ones, which stop at their own row.
for app, target in (("aftersales", None), ("logistics", "0009")):
    try:
        call_command("migrate", app, *([target] if target else []), verbosity=0)
        results[f"{app} migration with an unknown row"] = "migrated"
    except RuntimeError as error:
        results[f"{app} migration with an unknown row"] = str(error)
with connection.cursor() as cursor:
    cursor.execute("DELETE FROM aftersales_ticketevent WHERE action = 'typed_by_hand'")
    cursor.execute("DELETE FROM logistics_logisticsevent WHERE action = 'lost_again'")
call_command("migrate", verbosity=0)


def refused(write):
    try:
        with transaction.atomic():
            write()
            # A known action is not refused; the row's missing ticket is not this probe's concern: roll it back.
            raise LookupError
    except IntegrityError as error:
        return "refused: " + str(error)
    except LookupError:
        return "written"


system = system_user()


def ticket_event(action):
    return TicketEvent(ticket_id=999999, actor=system, action=action)


def logistics_event(action):
    return LogisticsEvent(shipment_id=999999, actor=system, action=action, at="2026-11-01T00:00:00Z")


results["ticket save, known"] = refused(lambda: ticket_event("note").save())
results["ticket save, unknown"] = refused(lambda: ticket_event("resolved_compensation").save())
results["ticket bulk_create, unknown"] = refused(
    lambda: TicketEvent.objects.bulk_create([ticket_event("note"), ticket_event("Note")])
)
results["logistics save, known"] = refused(lambda: logistics_event("dispatched").save())
results["logistics save, unknown"] = refused(lambda: logistics_event("remedy_compensation").save())
results["logistics bulk_create, unknown"] = refused(
    lambda: LogisticsEvent.objects.bulk_create([logistics_event("declared_lost"), logistics_event("lost")])
)
print(json.dumps(results))
"""


def test_on_sqlite_the_migration_names_unknown_actions_and_the_database_refuses_them(tmp_path):
    env = embedded_env(VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="config.settings")
    done = subprocess.run(
        [sys.executable, "-c", SQLITE_PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-5000:]
    assert (tmp_path / "aftersales.sqlite3").exists()
    results = json.loads(done.stdout.strip().splitlines()[-1])

    assert "'typed_by_hand'" in results.pop("aftersales migration with an unknown row")
    assert "'lost_again'" in results.pop("logistics migration with an unknown row")
    assert results == {
        "ticket save, known": "written",
        "ticket save, unknown": "refused: CHECK constraint failed: ticket_event_action_known",
        "ticket bulk_create, unknown": "refused: CHECK constraint failed: ticket_event_action_known",
        "logistics save, known": "written",
        "logistics save, unknown": "refused: CHECK constraint failed: logistics_event_action_known",
        "logistics bulk_create, unknown": "refused: CHECK constraint failed: logistics_event_action_known",
    }


# --- the ticket page's history -------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_ticket_history_shows_every_action_by_its_label_and_no_code(client, language):
    shop = ShopFactory()
    agent = make_staff("agent", role="Agent", shops=[shop])
    ticket = open_ticket(delivered_order(shop=shop), kind=TicketKind.RETURN_REFUND)  # one event: opened
    TicketEvent.objects.bulk_create(
        TicketEvent(ticket=ticket, actor=agent, action=action, from_state=ticket.state, to_state=ticket.state)
        for action in TicketEvent.Action
        if action != TicketEvent.Action.OPENED  # the ticket's own
    )
    client.force_login(agent)
    client.post(reverse("set_language"), {"language": language, "next": "/"})

    page = client.get(reverse("admin:aftersales_aftersalesticket_change", args=[ticket.pk])).content.decode()
    shown = history_cells(page, "action_label")

    with translation.override(language):
        labels = [str(action.label) for action in TicketEvent.Action]
    assert sorted(shown) == sorted(labels)
    assert set(shown) & set(TicketEvent.Action.values) == set()
