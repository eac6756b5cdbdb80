"""An agent's moves on a WeChat shop ticket reach the platform through the outbox (acceptapply with the return
address, rejectapply with the reason); what WeChat shop has no documented call for (intercept) is refused as "not
supported" and the refusal reaches the agent, nothing sent."""

import pytest

from aftersales import roles
from aftersales.models import AfterSalesTicket
from aftersales.services import ticket_agree_return, ticket_reject
from marketplaces.models import OutboundAction, ShopConnection
from marketplaces.outbound import outbound_send, outbound_sweep
from tests.factories import delivered_order, make_staff
from tests.marketplaces.test_wechat_sync import connect, sync, wechat, wechat_server  # noqa: F401

pytestmark = pytest.mark.django_db


def platform_ticket(connection, wechat, **kwargs):  # noqa: F811
    order = delivered_order(shop=connection.shop)
    created = wechat.apply(order_id=order.platform_order_id, shop_id="wx-shop-1", push=False, **kwargs)
    sync(connection)
    return AfterSalesTicket.objects.get(platform_ticket_id=created.after_sale_order_id), created


def test_an_agents_agreed_return_and_refusal_go_to_wechat(wechat_server, wechat):  # noqa: F811
    connection = connect(wechat_server)
    ShopConnection.objects.filter(pk=connection.pk).update(return_address_id="addr-7")
    agent = make_staff("agent", role=roles.AGENT, shops=[connection.shop])
    returned, returned_record = platform_ticket(connection, wechat, type="RETURN")
    refused, refused_record = platform_ticket(connection, wechat)

    ticket_agree_return(ticket=returned, by=agent)
    ticket_reject(ticket=refused, by=agent, note="商品已签收超过七天")
    counts = outbound_sweep()

    assert (counts["collected"], counts["done"]) == (2, 2)
    assert (returned_record.status, returned_record.address_id) == ("USER_WAIT_RETURN", "addr-7")
    assert (refused_record.status, refused_record.reject_reason) == ("MERCHANT_REJECT_REFUND", "商品已签收超过七天")
    assert outbound_sweep() == {"collected": 0}
    assert len(wechat.calls_of("acceptapply")) == 1


def test_an_intercept_is_refused_as_not_supported_and_reaches_the_agent(wechat_server, wechat):  # noqa: F811
    connection = connect(wechat_server)
    ticket, _record = platform_ticket(connection, wechat)
    action = OutboundAction.objects.create(
        connection=connection, ticket=ticket, kind=OutboundAction.Kind.INTERCEPT, source_key="test-intercept"
    )
    calls_before = len(wechat.state.calls)

    assert outbound_send(action_id=action.pk) == OutboundAction.Status.REFUSED

    action.refresh_from_db()
    ticket.refresh_from_db()
    assert action.status == OutboundAction.Status.REFUSED
    assert action.last_error
    assert action.last_error in ticket.attention_note
    # The record was read (the outbox reads first); nothing was written.
    assert [name for name, _params in wechat.state.calls[calls_before:]] == ["getaftersaleorder"]
