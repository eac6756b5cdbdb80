"""Row locks live in each app's lock_objects.py; several rows are always locked in pk order; nothing calls the
network while a row is locked."""

import ast
import inspect
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import aftersales.lock_objects
import desk.lock_objects
import logistics.lock_objects
import marketplaces.lock_objects
import metrics.lock_objects
import warehouse.lock_objects
from aftersales.models import AfterSalesTicket, CutOffRequest, Order, Refund
from logistics.models import InterceptRequest, RobotKind, RobotMessage, Shipment
from logistics.robots import RecordingRobotTransport, robot_message_send
from logistics.services import courier_agreement_upsert
from metrics.models import ChatSession
from tests.factories import ShopFactory
from tests.logistics.parcels import courier

ROOT = Path(settings.BASE_DIR)
LOCK_MODULES = (
    desk.lock_objects,
    aftersales.lock_objects,
    logistics.lock_objects,
    warehouse.lock_objects,
    metrics.lock_objects,
    marketplaces.lock_objects,
)


def project_sources():
    skipped = {".venv", "tests", "migrations", "var", "test-artifacts", "node_modules", ".git"}
    for path in sorted(ROOT.rglob("*.py")):
        if not skipped & set(path.relative_to(ROOT).parts):
            yield path


def uses_select_for_update(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(
        (isinstance(node, ast.Attribute) and node.attr == "select_for_update")
        or (isinstance(node, ast.Name) and node.id == "select_for_update")
        or (isinstance(node, ast.Constant) and node.value == "select_for_update")
        for node in ast.walk(tree)
    )


def test_rows_are_locked_only_in_the_apps_lock_objects_modules():
    lockers = {str(path.relative_to(ROOT)) for path in project_sources() if uses_select_for_update(path)}

    assert {path for path in lockers if Path(path).name != "lock_objects.py"} == set()
    assert {
        "desk/lock_objects.py",
        "aftersales/lock_objects.py",
        "logistics/lock_objects.py",
        "warehouse/lock_objects.py",
        "metrics/lock_objects.py",
    } <= lockers


def test_warehouse_locks_tickets_only_through_aftersales():
    source = (ROOT / "warehouse" / "services.py").read_text(encoding="utf-8")
    locks = (ROOT / "warehouse" / "lock_objects.py").read_text(encoding="utf-8")

    assert "aftersales_locks.ticket_for_update(" in source
    assert "AfterSalesTicket" not in locks


# --- several rows, in pk order --------------------------------------------------------------------------------------


def _shipments():
    return Shipment.objects.filter(pk__in=[1, 2])


MULTI_ROW = {
    "aftersales.lock_objects.tickets_for_update": lambda m: m.tickets_for_update([1, 2]),
    "aftersales.lock_objects.free_ticket_ids_for_update": lambda m: m.free_ticket_ids_for_update([1, 2]),
    "aftersales.lock_objects.free_tickets_for_update": lambda m: m.free_tickets_for_update(
        AfterSalesTicket.objects.filter(pk__in=[1, 2]), limit=5
    ),
    "aftersales.lock_objects.free_cutoffs_for_update": lambda m: m.free_cutoffs_for_update(
        CutOffRequest.objects.filter(pk__in=[1, 2])
    ),
    "aftersales.lock_objects.orders_for_update": lambda m: m.orders_for_update(Order.objects.filter(pk__in=[1, 2])),
    "aftersales.lock_objects.free_refund_ids_for_update": lambda m: m.free_refund_ids_for_update(
        Refund.objects.filter(pk__in=[1, 2])
    ),
    "desk.lock_objects.free_rows_for_update": lambda m: m.free_rows_for_update(
        Refund.objects.all(), after_id=0, limit=5
    ),
    "logistics.lock_objects.shipments_by_number_for_update": lambda m: m.shipments_by_number_for_update(
        shop=1, numbers=["SF1", "SF2"]
    ),
    "logistics.lock_objects.free_shipments_for_update": lambda m: m.free_shipments_for_update(_shipments(), limit=5),
    "logistics.lock_objects.open_intercepts_of_ticket_for_update": lambda m: m.open_intercepts_of_ticket_for_update(1),
    "logistics.lock_objects.free_intercepts_for_update": lambda m: m.free_intercepts_for_update(
        InterceptRequest.objects.filter(pk__in=[1, 2])
    ),
    "logistics.lock_objects.claims_for_update": lambda m: m.claims_for_update([1, 2], status="open"),
    "logistics.lock_objects.open_intercept_claims_of_ticket_for_update": (
        lambda m: m.open_intercept_claims_of_ticket_for_update(1)
    ),
    "logistics.lock_objects.live_claims_of_shipments_for_update": lambda m: m.live_claims_of_shipments_for_update(
        _shipments()
    ),
    "metrics.lock_objects.platform_rows_for_update": lambda m: m.platform_rows_for_update(
        ChatSession, shop=1, key="platform_session_id", keys=["a", "b"], fields=["started_at"]
    ),
}
# One row by its key, or the one row a constraint allows: no order to keep.
ONE_ROW = (
    {
        "aftersales.lock_objects." + name
        for name in (
            "ticket_for_update",
            "complaint_for_update",
            "order_for_update",
            "refund_for_update",
            "approval_for_update",
            "cutoff_for_update",
            "order_correction_for_update",
            "shop_for_update",
            "pending_order_correction_for_update",
            "refund_batch_for_update",
            "refund_authority_for_update",
            "refund_authority_by_pk_for_update",
        )
    }
    | {
        "logistics.lock_objects." + name
        for name in (
            "shipment_for_update",
            "lost_shipment_awaiting_remedy_for_update",
            "intercept_for_update",
            "claim_for_update",
            "lost_claim_for_update",
            "pending_robot_message_for_update",
            "kuaidi100_intercept_for_update",
            "courier_agreement_for_update",
        )
    }
    | {"warehouse.lock_objects.return_parcel_for_update", "warehouse.lock_objects.return_parcel_with_ticket_for_update"}
    | {
        "marketplaces.lock_objects." + name
        for name in ("connection_for_update", "platform_record_for_update", "outbound_for_update")
    }
)

# By the id column alone, named or (when the query selects it first, as values_list("pk", ...) does) by position.
PK_ORDER = re.compile(r'ORDER BY (?:"[a-z_]+"\."id"|1) ASC(?: LIMIT \d+)?(?: FOR UPDATE.*)?$')


def orders_by_pk(sql: str) -> bool:
    found = PK_ORDER.search(sql)
    if found and "ORDER BY 1 " in found.group(0):
        return re.match(r'SELECT "[a-z_]+"\."id" AS "pk"', sql) is not None
    return found is not None


def test_every_lock_helper_is_known_as_one_row_or_several():
    """A new helper must say which it is, so a new multi-row lock is checked for its order below."""
    helpers = {
        f"{module.__name__}.{name}"
        for module in LOCK_MODULES
        for name, function in inspect.getmembers(module, inspect.isfunction)
        if function.__module__ == module.__name__
    }

    assert helpers == set(MULTI_ROW) | ONE_ROW


@pytest.mark.django_db
@pytest.mark.parametrize("helper", sorted(MULTI_ROW))
def test_several_rows_are_locked_in_pk_order(helper):
    module = next(m for m in LOCK_MODULES if helper.startswith(m.__name__ + "."))

    with CaptureQueriesContext(connection) as queries:
        MULTI_ROW[helper](module)

    [sql] = [query["sql"] for query in queries.captured_queries]
    assert orders_by_pk(sql), sql
    # SQLite has no row locks (Django leaves the clause out there); PostgreSQL must lock.
    assert ("FOR UPDATE" in sql) == connection.features.has_select_for_update, sql


# --- no network call while a row is locked --------------------------------------------------------------------------


class TransportThatChecksForLocks(RecordingRobotTransport):
    """Notes how many transactions (atomic blocks) are open when the robot is 'called': a row locked in one that the
    test itself did not open would stay locked during the call."""

    open_blocks: list[int] = []

    def send(self, **kwargs):
        self.open_blocks.append(len(connection.atomic_blocks))
        super().send(**kwargs)


@pytest.mark.django_db
@override_settings(GROUP_ROBOT_TRANSPORT="tests.test_lock_objects.TransportThatChecksForLocks")
def test_the_group_robot_is_called_with_no_transaction_of_the_service_open():
    shop = ShopFactory()
    sf = courier("SF")
    courier_agreement_upsert(
        shop=shop, courier=sf, robot_kind=RobotKind.WECOM, robot_webhook_url="https://robot.example/send?key=k"
    )
    message = RobotMessage.objects.create(shop=shop, courier=sf, purpose="intercept_request", text="[拦截] SF0001")
    TransportThatChecksForLocks.open_blocks = []
    the_tests_own = len(connection.atomic_blocks)

    assert robot_message_send(message_id=message.pk) == RobotMessage.Status.SENT

    assert TransportThatChecksForLocks.open_blocks == [the_tests_own]
    message.refresh_from_db()
    assert (message.attempts, message.sending_since, message.sent_at is not None) == (1, None, True)


@pytest.mark.django_db
def test_a_message_another_worker_is_sending_is_left_to_it():
    """Taken 1 minute ago (within robots.SEND_LEASE): a second worker sends nothing; taken 6 minutes ago, the first
    worker is presumed dead and the message is sent."""
    shop = ShopFactory()
    sf = courier("SF")
    courier_agreement_upsert(
        shop=shop, courier=sf, robot_kind=RobotKind.WECOM, robot_webhook_url="https://robot.example/send?key=k"
    )
    taken = timezone.now() - timedelta(minutes=1)
    message = RobotMessage.objects.create(shop=shop, courier=sf, purpose="intercept", text="x", sending_since=taken)
    RecordingRobotTransport.sent = []

    with override_settings(GROUP_ROBOT_TRANSPORT="logistics.robots.RecordingRobotTransport"):
        assert robot_message_send(message_id=message.pk) == RobotMessage.Status.PENDING
        assert RecordingRobotTransport.sent == []
        RobotMessage.objects.filter(pk=message.pk).update(sending_since=timezone.now() - timedelta(minutes=6))
        assert robot_message_send(message_id=message.pk) == RobotMessage.Status.SENT
    assert len(RecordingRobotTransport.sent) == 1
