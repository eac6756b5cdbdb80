"""Migration 0020: refunds recorded as executed keep that time as both sent and confirmed; others were never sent."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("aftersales", "0019_authority_grant_events")]
AFTER = [("aftersales", "0020_refund_lifecycle")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def old_apps(transactional_db):
    apps = migrate(BEFORE)
    yield apps
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_executed_refunds_become_sent_and_confirmed_at_their_execution_time_and_pending_ones_stay_unsent(old_apps):
    platform, _created = old_apps.get_model("aftersales", "Platform").objects.get_or_create(code="tmall")
    shop = old_apps.get_model("aftersales", "Shop").objects.create(code="s1", name="s1", platform=platform)
    reason = old_apps.get_model("aftersales", "ReturnReason").objects.create(
        code="m-test", category="non_quality", label_zh="测试", label_en="test"
    )
    user = get_user_model().objects.create(username="someone")
    now = timezone.now()
    order_model = old_apps.get_model("aftersales", "Order")
    ticket_model = old_apps.get_model("aftersales", "AfterSalesTicket")
    refund_model = old_apps.get_model("aftersales", "Refund")
    refunds = {}
    for number, (status, executed) in enumerate(
        [("succeeded", now - timedelta(days=2)), ("pending", None), ("failed", None)]
    ):
        order = order_model.objects.create(
            shop=shop, platform_order_id=f"M{number}", paid_amount=Decimal("50.00"), paid_at=now - timedelta(days=3)
        )
        ticket = ticket_model.objects.create(
            shop=shop,
            order=order,
            kind="refund_only",
            path=1,
            first_reason=reason,
            reason=reason,
            liability="merchant",
            opened_at=now,
            deadline=now,
            sla_due=now,
        )
        refunds[status] = refund_model.objects.create(
            ticket=ticket,
            order=order,
            shop=shop,
            kind="full",
            amount=Decimal("50.00"),
            status=status,
            idempotency_key=f"m-{number}",
            requested_by_id=user.pk,
            executed_at=executed,
        )

    apps = migrate(AFTER)

    migrated = {refund.status: refund for refund in apps.get_model("aftersales", "Refund").objects.all()}
    executed = refunds["succeeded"].executed_at
    assert (migrated["succeeded"].sent_at, migrated["succeeded"].confirmed_at) == (executed, executed)
    assert (migrated["pending"].sent_at, migrated["pending"].confirmed_at, migrated["pending"].batch_id) == (None,) * 3
    assert migrated["failed"].sent_at is None
    assert apps.get_model("aftersales", "Shop").objects.get().unconfirmed_refund_hours == 24
