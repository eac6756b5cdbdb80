"""The inbound path against the simulator over HTTP: pull windows and the cursor, pushes, idempotency by version,
and each platform change moving the ticket through the aftersales services."""

import json
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from aftersales.models import AfterSalesTicket, GoodsState, Refund, TicketEvent, TicketKind, TicketState
from marketplaces.adapters.base import PlatformError
from marketplaces.models import PlatformRecord, ShopConnection
from marketplaces.services import PULL_LAG, connection_sync, record_apply, record_from_row
from tests.factories import OrderFactory, delivered_order

pytestmark = pytest.mark.django_db


def delivered(connection, **kwargs):
    return delivered_order(shop=connection.shop, **kwargs)


def sync(connection):
    # Past the pull's lag, so what the simulator changed a moment ago is in the window.
    return connection_sync(connection_id=connection.pk, now=timezone.now() + PULL_LAG + timedelta(seconds=1))


def test_a_new_request_opens_a_ticket_with_the_platforms_time_and_deadline(connection, taobao):
    order = delivered(connection, paid_amount=Decimal("199.00"))
    applied_at = timezone.now() - timedelta(minutes=30)
    refund = taobao.create_refund(
        shop_token="shop-token-1",
        tid=order.platform_order_id,
        amount="59.90",
        dispute_type="REFUND_AND_RETURN",
        reason="质量问题",
        at=applied_at,
    )

    summary = sync(connection)

    ticket = AfterSalesTicket.objects.get(platform_ticket_id=refund["refund_id"])
    assert summary.outcomes == {"opened": 1}
    assert ticket.kind == "return_refund"
    assert ticket.requested_amount == Decimal("59.90")
    assert ticket.first_reason.code == "quality_defect"
    assert abs(ticket.opened_at - applied_at.replace(microsecond=0)) < timedelta(seconds=1)
    # The platform's own deadline (refund_remind_timeout, 48 h in the simulator), not the desk's default.
    stored = PlatformRecord.objects.get(platform_id=refund["refund_id"])
    assert ticket.deadline == stored.deadline
    connection.refresh_from_db()
    assert connection.last_synced_at is not None
    assert connection.cursor >= timezone.now() - timedelta(seconds=10)


def test_a_replay_or_an_older_version_changes_nothing(connection, taobao):
    order = delivered(connection)
    created = taobao.create_refund(shop_token="shop-token-1", tid=order.platform_order_id, amount="10.00")
    summary = sync(connection)
    assert summary.outcomes == {"opened": 1}, (summary, list(PlatformRecord.objects.values("problem")))
    ticket = AfterSalesTicket.objects.get(platform_ticket_id=created["refund_id"])
    withdrawn = taobao.buyer_close(created["refund_id"])
    sync(connection)
    ticket.refresh_from_db()
    assert ticket.state == TicketState.CANCELLED
    events = TicketEvent.objects.filter(ticket=ticket).count()

    row = PlatformRecord.objects.get(platform_id=created["refund_id"])
    newest = record_from_row(row)
    older = record_from_row(row).__class__(**{**newest.__dict__, "version": created["refund_version"]})
    older = older.__class__(**{**older.__dict__, "modified_at": newest.modified_at - timedelta(seconds=5)})
    older = older.__class__(**{**older.__dict__, "status": "waiting_seller"})

    assert record_apply(connection=connection, record=newest) == "unchanged"
    assert record_apply(connection=connection, record=older) == "stale"
    assert withdrawn["refund_version"] == PlatformRecord.objects.get(pk=row.pk).version
    assert TicketEvent.objects.filter(ticket=ticket).count() == events


def test_the_buyer_ships_the_return_changes_the_reason_and_the_deadline_follows(connection, taobao):
    order = delivered(connection)
    created = taobao.create_refund(
        shop_token="shop-token-1", tid=order.platform_order_id, amount="20.00", dispute_type="REFUND_AND_RETURN"
    )
    sync(connection)
    ticket = AfterSalesTicket.objects.get(platform_ticket_id=created["refund_id"])
    first_reason = ticket.first_reason_id

    taobao.buyer_modify(created["refund_id"], reason="商品与描述不符")
    taobao.change(created["refund_id"], "taobao_refund_RefundSellerAgreeAgreement", status="WAIT_BUYER_RETURN_GOODS")
    taobao.buyer_ship_return(created["refund_id"], company="中通快递", sid="ZT7788990011")
    sync(connection)

    ticket.refresh_from_db()
    assert ticket.state == TicketState.RETURN_IN_TRANSIT
    assert ticket.return_tracking_number == "ZT7788990011"
    assert ticket.reason.code == "not_as_described"
    assert ticket.first_reason_id == first_reason
    row = PlatformRecord.objects.get(platform_id=created["refund_id"])
    assert ticket.deadline == row.deadline  # the 240 h the simulator set when the buyer shipped
    actions = list(TicketEvent.objects.filter(ticket=ticket).values_list("action", flat=True))
    assert "deadline_set" in actions
    assert "reason_changed" in actions


def test_the_platform_steps_in_and_rules_for_the_merchant(connection, taobao):
    order = delivered(connection)
    created = taobao.create_refund(shop_token="shop-token-1", tid=order.platform_order_id, amount="20.00")
    sync(connection)
    taobao.platform_intervene(created["refund_id"])
    sync(connection)
    ticket = AfterSalesTicket.objects.get(platform_ticket_id=created["refund_id"])
    assert ticket.state == TicketState.PLATFORM_REVIEW

    taobao.platform_rule(created["refund_id"], for_buyer=False)
    sync(connection)
    ticket.refresh_from_db()
    assert ticket.state == TicketState.CLOSED
    assert ticket.rulings.get().for_buyer is False


def test_an_unknown_type_is_stored_and_shown_never_dropped(connection, taobao):
    order = delivered(connection)
    created = taobao.create_refund(
        shop_token="shop-token-1", tid=order.platform_order_id, amount="5.00", dispute_type="OTHERS"
    )
    summary = sync(connection)
    row = PlatformRecord.objects.get(platform_id=created["refund_id"])
    assert summary.problems == 0
    # An UNKNOWN ticket in the agent's queue, its platform type named, and nothing refunded automatically.
    ticket = row.ticket
    assert ticket.kind == TicketKind.UNKNOWN
    assert ticket.platform_kind == "OTHERS"
    assert "OTHERS" in ticket.attention_note
    assert not ticket.refunds.exists()


def test_a_record_whose_order_is_not_imported_yet_is_applied_once_it_is(connection, taobao):
    created = taobao.create_refund(shop_token="shop-token-1", tid="4999000111", amount="5.00")
    sync(connection)
    assert PlatformRecord.objects.get(platform_id=created["refund_id"]).problem
    delivered(connection, platform_order_id="4999000111")
    sync(connection)
    row = PlatformRecord.objects.get(platform_id=created["refund_id"])
    assert row.problem == ""
    assert row.ticket is not None


def test_a_crash_in_the_middle_of_a_window_loses_nothing_and_duplicates_nothing(connection, taobao, monkeypatch):
    orders = [delivered(connection) for _ in range(250)]
    for order in orders:
        taobao.create_refund(shop_token="shop-token-1", tid=order.platform_order_id, amount="1.00", push=False)
    ShopConnection.objects.filter(pk=connection.pk).update(cursor=timezone.now() - timedelta(minutes=5))
    before = ShopConnection.objects.get(pk=connection.pk).cursor

    from marketplaces.adapters.taobao import TaobaoAdapter

    real_pull = TaobaoAdapter.pull

    def crash_on_page_two(self, credentials, *, start, end, page):
        if page == 2:
            raise PlatformError("worker killed")
        return real_pull(self, credentials, start=start, end=end, page=page)

    monkeypatch.setattr(TaobaoAdapter, "pull", crash_on_page_two)
    summary = sync(connection)
    assert summary.error
    assert summary.records == 100
    assert ShopConnection.objects.get(pk=connection.pk).cursor == before  # the window is asked again
    monkeypatch.setattr(TaobaoAdapter, "pull", real_pull)

    summary = sync(connection)
    assert summary.outcomes == {"unchanged": 100, "opened": 150}
    assert AfterSalesTicket.objects.filter(shop=connection.shop).count() == 250
    assert TicketEvent.objects.filter(ticket__shop=connection.shop, action="opened").count() == 250


@pytest.mark.django_db(transaction=True)
def test_a_verified_push_opens_the_ticket_after_reading_the_record(reference_data, connection, taobao, live_server):
    taobao.push_target = live_server.url + reverse("marketplaces:push", args=[connection.pk])
    order = delivered(connection)
    created = taobao.create_refund(shop_token="shop-token-1", tid=order.platform_order_id, amount="12.00")
    deadline = time.monotonic() + 10
    while (
        time.monotonic() < deadline
        and not AfterSalesTicket.objects.filter(platform_ticket_id=created["refund_id"]).exists()
    ):
        time.sleep(0.05)
    assert AfterSalesTicket.objects.filter(platform_ticket_id=created["refund_id"]).exists()
    # TMC carries no version: the record was read again (taobao.refund.get) before anything was applied.
    assert [call["refund_id"] for call in taobao.calls_of("taobao.refund.get")] == [created["refund_id"]]


@pytest.mark.django_db(transaction=True)
def test_duplicate_and_out_of_order_pushes_end_in_the_newest_state(reference_data, connection, taobao, live_server):
    taobao.push_target = live_server.url + reverse("marketplaces:push", args=[connection.pk])
    order = delivered(connection)
    taobao.inject("duplicate_push", method="push")
    created = taobao.create_refund(shop_token="shop-token-1", tid=order.platform_order_id, amount="12.00")
    wait_for(lambda: taobao.pushes_sent >= 2 and not taobao.pushes_pending())
    ticket = AfterSalesTicket.objects.get(platform_ticket_id=created["refund_id"])
    taobao.inject("out_of_order_push", method="push")
    taobao.buyer_modify(created["refund_id"], reason="质量问题")
    taobao.buyer_close(created["refund_id"])  # its push goes before the held "modified" one
    wait_for(lambda: taobao.pushes_sent >= 4 and not taobao.pushes_pending())
    wait_for(lambda: AfterSalesTicket.objects.get(pk=ticket.pk).state == TicketState.CANCELLED)
    assert TicketEvent.objects.filter(ticket=ticket, action="opened").count() == 1
    assert TicketEvent.objects.filter(ticket=ticket, action="withdrawn").count() == 1
    assert PlatformRecord.objects.get(platform_id=created["refund_id"]).platform_status == "CLOSED"


def wait_for(condition, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            time.sleep(0.2)  # the request that made it true commits
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def test_a_push_with_a_bad_signature_is_refused_and_reads_nothing(connection, taobao, client):
    headers, body = taobao.build_push(
        [{"id": "1", "topic": "taobao_refund_RefundCreated", "content": json.dumps({"refund_id": "1"})}]
    )
    response = client.post(
        reverse("marketplaces:push", args=[connection.pk]),
        data=body,
        content_type="application/json",
        headers={"X-Tmc-App-Key": "12345678", "X-Tmc-Timestamp": headers["X-Tmc-Timestamp"], "X-Tmc-Sign": "0" * 32},
    )
    assert response.status_code == 401
    assert taobao.calls_of("taobao.refund.get") == []


def test_the_platforms_refund_succeeded_confirms_the_desks_refund(connection, taobao):
    order = OrderFactory(shop=connection.shop)  # not shipped: path 1, refunded by the automatic rule
    assert order.goods_state == GoodsState.NOT_SHIPPED
    created = taobao.create_refund(shop_token="shop-token-1", tid=order.platform_order_id, amount="30.00")
    sync(connection)
    ticket = AfterSalesTicket.objects.get(platform_ticket_id=created["refund_id"])
    refund = Refund.objects.get(ticket=ticket)
    assert ticket.state == TicketState.REFUNDING

    from aftersales.services import refund_execute

    refund_execute(refund_id=refund.pk)
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SENT  # agreed, not yet confirmed
    assert taobao.snapshot(created["refund_id"])["status"] == "SUCCESS"

    sync(connection)
    refund.refresh_from_db()
    ticket.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert ticket.state == TicketState.REFUNDED
