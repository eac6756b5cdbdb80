"""An agent's moves on a connected shop's platform ticket reach the platform through the outbox: agree the return,
refuse; the platform's own facts (written by the system user) are never echoed back; a refusal by the platform
reaches the agent."""

import pytest

from aftersales import roles
from aftersales.models import AfterSalesTicket, TicketState
from aftersales.services import ticket_agree_return, ticket_reject
from marketplaces.models import OutboundAction
from marketplaces.outbound import outbound_sweep
from tests.factories import delivered_order, make_staff
from tests.marketplaces.test_sync import sync

pytestmark = pytest.mark.django_db


def platform_ticket(connection, taobao, **kwargs):
    order = delivered_order(shop=connection.shop)
    created = taobao.create_refund(
        shop_token="shop-token-1", tid=order.platform_order_id, amount="20.00", push=False, **kwargs
    )
    sync(connection)
    return AfterSalesTicket.objects.get(platform_ticket_id=created["refund_id"]), created["refund_id"]


def test_an_agents_agreed_return_and_refusal_go_to_the_platform(connection, taobao):
    agent = make_staff("agent", role=roles.AGENT, shops=[connection.shop])
    returned, returned_id = platform_ticket(connection, taobao, dispute_type="REFUND_AND_RETURN")
    refused, refused_id = platform_ticket(connection, taobao)

    ticket_agree_return(ticket=returned, by=agent)
    ticket_reject(ticket=refused, by=agent, note="商品已签收超过七天，不支持无理由退款")
    counts = outbound_sweep()

    assert counts["collected"] == 2
    assert counts["done"] == 2
    assert taobao.snapshot(returned_id)["status"] == "WAIT_BUYER_RETURN_GOODS"
    assert taobao.snapshot(refused_id)["status"] == "SELLER_REFUSE_BUYER"
    [refusal] = taobao.calls_of("taobao.refund.refuse")
    assert refusal["refuse_message"] == "商品已签收超过七天，不支持无理由退款"
    # Run again: nothing is sent twice.
    assert outbound_sweep() == {"collected": 0}
    assert len(taobao.calls_of("taobao.rp.returngoods.agree")) == 1


def test_the_platforms_own_facts_are_not_echoed_back(connection, taobao):
    ticket, refund_id = platform_ticket(connection, taobao, dispute_type="REFUND_AND_RETURN")
    taobao.change(refund_id, "taobao_refund_RefundSellerAgreeAgreement", status="WAIT_BUYER_RETURN_GOODS", push=False)
    sync(connection)  # the sync agrees the return in the desk, as the system user
    ticket.refresh_from_db()
    assert ticket.state == TicketState.AWAITING_RETURN

    assert outbound_sweep() == {"collected": 0}
    assert taobao.calls_of("taobao.rp.returngoods.agree") == []


def test_a_refusal_by_the_platform_reaches_the_agent(connection, taobao):
    agent = make_staff("agent", role=roles.AGENT, shops=[connection.shop])
    ticket, refund_id = platform_ticket(connection, taobao)
    ticket_reject(ticket=ticket, by=agent, note="不同意")
    taobao.buyer_close(refund_id)  # the buyer withdrew meanwhile: the platform refuses the refusal

    assert outbound_sweep()["refused"] == 1

    action = OutboundAction.objects.get(ticket=ticket)
    assert action.status == OutboundAction.Status.REFUSED
    ticket.refresh_from_db()
    assert "当前状态不允许此操作" in ticket.attention_note
