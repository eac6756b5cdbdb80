"""Migration 0006 gives every shop an agreement with each courier it works with, carrying what the courier's one global
row said (the contact, the robot, the answer time, the claim terms), before 0007 takes those off the courier."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("logistics", "0005_courier_agreements")]
AFTER = [("logistics", "0007_courier_without_shop_terms")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def old_apps(transactional_db):
    apps = migrate(BEFORE)
    yield apps
    migrate(executor_leaf_nodes())


def executor_leaf_nodes():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def test_each_shop_using_a_courier_gets_an_agreement_with_the_couriers_values(old_apps):
    # A transactional test starts from a flushed database: the seeded platforms may be gone.
    platform, _created = old_apps.get_model("aftersales", "Platform").objects.get_or_create(code="tmall")
    shop_model = old_apps.get_model("aftersales", "Shop")
    shop_1, shop_2, idle = (shop_model.objects.create(code=c, name=c, platform=platform) for c in ("s1", "s2", "s3"))
    courier = old_apps.get_model("logistics", "Courier").objects.create(
        code="EMS",
        name="EMS",
        intercept_contact="邮政 客户经理",
        intercept_contact_phone="11183",
        robot_kind="wecom",
        robot_webhook_url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=ems",
        robot_secret="s",
        intercept_answer_minutes=90,
        claim_postage_multiple=Decimal("3.00"),
        claim_terms="按邮资三倍",
    )
    order_model = old_apps.get_model("aftersales", "Order")
    shipment_model = old_apps.get_model("logistics", "Shipment")
    now = timezone.now()
    for number, shop in enumerate([shop_1, shop_2, shop_2]):
        order = order_model.objects.create(
            shop=shop, platform_order_id=f"9{number}", paid_amount=Decimal("10.00"), paid_at=now - timedelta(days=1)
        )
        shipment_model.objects.create(
            shop=shop, order=order, courier=courier, tracking_number=f"E{number}", status="in_transit"
        )

    apps = migrate(AFTER)

    agreements = apps.get_model("logistics", "CourierAgreement").objects.order_by("shop_id")
    assert [a.shop_id for a in agreements] == [shop_1.pk, shop_2.pk]
    assert {
        (
            a.intercept_contact,
            a.intercept_contact_phone,
            a.robot_kind,
            a.robot_webhook_url,
            a.robot_secret,
            a.intercept_answer_minutes,
            a.claim_postage_multiple,
            a.claim_terms,
        )
        for a in agreements
    } == {
        (
            "邮政 客户经理",
            "11183",
            "wecom",
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=ems",
            "s",
            90,
            Decimal("3.00"),
            "按邮资三倍",
        )
    }
    assert idle.pk not in [a.shop_id for a in agreements]
