"""Outbound refunds through the platform (the simulator over HTTP): agreed = sent, succeeded only on the platform's
word; an unclear answer never repeats an agreement blindly; the SMS-code demand falls back to the batch file; a
refusal reaches the agent; a broken session stops writes and shows on /healthz; a rate limit pauses one connection;
the per-call limits split a large batch."""

from decimal import Decimal

import pytest

from aftersales.gateways import RefundGatewayUnavailable
from aftersales.models import AfterSalesTicket, Refund, TicketState
from aftersales.services import refund_execute, refund_settle, refunds_execute
from aftersales.services.refunds import refunds_waiting_for_batch
from marketplaces.models import ShopConnection
from marketplaces.selectors import connections_due
from marketplaces.services import connection_connect, connection_sync
from tests.factories import OrderFactory
from tests.marketplaces.conftest import APP_SECRET, connect_shop
from tests.marketplaces.test_sync import sync

pytestmark = pytest.mark.django_db
AGREE = "taobao.rp.refunds.agree"


def auto_refunded(connection, taobao, amount="30.00", token="shop-token-1") -> Refund:
    """A path-1 request (not shipped) at the platform, synced: the automatic rule made the refund."""
    order = OrderFactory(shop=connection.shop, paid_amount=Decimal("199.00"))
    created = taobao.create_refund(shop_token=token, tid=order.platform_order_id, amount=amount, push=False)
    sync(connection)
    return Refund.objects.get(ticket__platform_ticket_id=created["refund_id"])


def test_acted_then_timed_out_ends_with_exactly_one_agreement(connection, taobao):
    refund = auto_refunded(connection, taobao)
    taobao.inject("acted_then_timeout", method=AGREE)

    with pytest.raises(RefundGatewayUnavailable):
        refund_execute(refund_id=refund.pk)
    refund.refresh_from_db()
    assert refund.status == Refund.Status.PENDING
    assert refund.send_started_at is not None  # still claimed: asked about, not sent again

    refund = refund_settle(refund_id=refund.pk)
    refund_execute(refund_id=refund.pk)

    assert refund.status == Refund.Status.SUCCEEDED
    assert refund.ticket.state == TicketState.REFUNDED
    assert len(taobao.calls_of(AGREE)) == 1


def test_a_timeout_before_acting_is_read_back_then_sent_once_more(connection, taobao):
    refund = auto_refunded(connection, taobao)
    taobao.inject("timeout", method=AGREE)
    with pytest.raises(RefundGatewayUnavailable):
        refund_execute(refund_id=refund.pk)
    assert taobao.calls_of(AGREE) == []  # the simulator timed out before doing anything

    refund = refund_settle(refund_id=refund.pk)  # not agreed there: sent again, this time answered

    assert refund.status == Refund.Status.SENT
    assert len(taobao.calls_of(AGREE)) == 1
    sync(connection)
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED


def test_the_write_carries_the_version_read_just_before(connection, taobao):
    refund = auto_refunded(connection, taobao)
    # The buyer changed something after our sync: the version we stored is old, the one sent is the current one.
    changed = taobao.change(refund.ticket.platform_ticket_id, "taobao_refund_RefundBuyerModifyAgreement", push=False)
    refund_execute(refund_id=refund.pk)
    [call] = taobao.calls_of(AGREE)
    assert call["refund_infos"] == f"{changed['refund_id']}|3000|{changed['refund_version']}"


def test_the_sms_code_demand_falls_back_to_the_batch_file_visibly(connection, taobao):
    taobao.sms_threshold = Decimal("20.00")
    refund = auto_refunded(connection, taobao, amount="30.00")

    refund = refund_execute(refund_id=refund.pk)

    assert refund.gateway == "batch_file"
    assert refund.status == Refund.Status.PENDING
    assert list(refunds_waiting_for_batch(connection.shop)) == [refund]
    ticket = AfterSalesTicket.objects.get(pk=refund.ticket_id)
    assert "短信验证码" in ticket.attention_note
    assert set(ticket.events.values_list("action", flat=True)) >= {"flagged", "refund_queued"}


def test_a_business_refusal_reaches_the_agent_with_the_platforms_message(connection, taobao):
    refund = auto_refunded(connection, taobao, amount="30.00")
    # The buyer lowered the amount at the platform; the agreement for ¥30.00 no longer matches.
    taobao.change(refund.ticket.platform_ticket_id, "x", push=False, refund_fee="20.00")

    refund = refund_execute(refund_id=refund.pk)

    assert refund.status == Refund.Status.FAILED
    assert "退款金额不一致" in refund.failure_reason
    ticket = AfterSalesTicket.objects.get(pk=refund.ticket_id)
    assert ticket.state == TicketState.REQUESTED
    assert ticket.events.filter(action="refund_failed", note__contains="退款金额不一致").exists()


def test_a_broken_session_stops_writes_and_shows_on_healthz(connection, taobao, client):
    refund = auto_refunded(connection, taobao)
    taobao.expire_session("shop-token-1")

    with pytest.raises(RefundGatewayUnavailable):
        refund_execute(refund_id=refund.pk)
    connection.refresh_from_db()
    assert connection.state == ShopConnection.State.BROKEN
    assert "SessionKey" in connection.broken_message

    calls = len(taobao.state.calls)
    assert refund_settle(refund_id=refund.pk).status == Refund.Status.PENDING  # unknown: nothing is sent
    assert connection_sync(connection_id=connection.pk).error
    assert len(taobao.state.calls) == calls  # nothing more asked of the platform

    health = client.get("/healthz").json()
    assert health["warnings"] == ["marketplaces"]
    assert [item["shop"] for item in health["checks"]["marketplaces"]["broken"]] == [connection.shop.code]
    assert "marketplaces" not in health["failing"]

    # A manager connects it again with a new token: the waiting refund goes out.
    taobao.add_shop(shop_id="seller-1", token="shop-token-2", app_key=connection.app_key)
    for refund_row in taobao.refunds.values():
        refund_row["_shop"] = "shop-token-2"
    connection_connect(
        shop=connection.shop,
        gateway_url=connection.gateway_url,
        app_key=connection.app_key,
        app_secret=APP_SECRET,
        access_token="shop-token-2",
    )
    assert refund_settle(refund_id=refund.pk).status == Refund.Status.SENT
    assert client.get("/healthz").json()["warnings"] == []


def test_a_rate_limit_slows_that_connection_only(simulator, taobao, db):
    from tests.marketplaces.conftest import seed_reference_rows

    seed_reference_rows()
    limited = connect_shop(simulator)
    other = connect_shop(simulator, token="shop-token-9", shop_id="seller-9")
    taobao.inject("rate_limit", method="taobao.refunds.receive.get")

    assert "RateLimited" in sync(limited).error
    assert not sync(other).error

    limited.refresh_from_db()
    assert limited.backoff_until is not None
    assert connections_due() == [other.pk]
    calls = len(taobao.state.calls)
    assert connection_sync(connection_id=limited.pk).error  # paused: asks nothing
    assert len(taobao.state.calls) == calls


def test_per_call_limits_split_a_large_batch(connection, taobao):
    refunds = [auto_refunded(connection, taobao, amount="10.00") for _ in range(45)]

    refunds_execute(refund_ids=[refund.pk for refund in refunds])

    assert [len(call["refund_infos"].split(",")) for call in taobao.calls_of(AGREE)] == [20, 20, 5]
    assert Refund.objects.filter(pk__in=[r.pk for r in refunds], status=Refund.Status.SENT).count() == 45


def test_an_unconnected_shop_keeps_the_batch_file(connection, taobao):
    from tests.factories import open_ticket

    ticket = open_ticket(OrderFactory(), requested_amount="5.00")  # another shop, not connected: path 1, refunded
    refund = Refund.objects.get(ticket=ticket)

    refund = refund_execute(refund_id=refund.pk)

    assert refund.gateway == "batch_file"
    assert refund.status == Refund.Status.PENDING
    assert taobao.state.calls == []
