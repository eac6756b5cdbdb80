"""The agents' queue, the ticket page's moves, the batch refund and the supervisors' queue, through the admin."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from aftersales.models import AfterSalesTicket, ApprovalRequest, Refund, TicketEvent, TicketState
from aftersales.selectors import system_user
from aftersales.services import shop_assign_user, ticket_approve_refund
from tests.factories import (
    OrderFactory,
    ShopFactory,
    delivered_order,
    grant_authority,
    make_staff,
    open_ticket,
    reason,
)

pytestmark = pytest.mark.django_db

TICKETS = reverse("admin:aftersales_aftersalesticket_changelist")
APPROVALS = reverse("admin:aftersales_approvalrequest_changelist")


def act_url(ticket, name):
    return reverse("admin:aftersales_aftersalesticket_act", args=[ticket.pk, name])


def change_url(ticket):
    return reverse("admin:aftersales_aftersalesticket_change", args=[ticket.pk])


def bulk_tickets(shop, count):
    """Rows straight into the table: the query-count tests need many tickets, not the service's work per ticket."""
    now = timezone.now()
    orders = OrderFactory.create_batch(count, shop=shop)
    changed_mind = reason()
    return AfterSalesTicket.objects.bulk_create(
        [
            AfterSalesTicket(
                shop=shop,
                order=order,
                kind="refund_only",
                path=3,
                first_reason=changed_mind,
                reason=changed_mind,
                liability="buyer",
                requested_amount=Decimal("10.00"),
                opened_at=now,
                deadline=now + timedelta(hours=index % 50 - 10),
                sla_due=now + timedelta(hours=1),
                escalation_risk=index % 7 == 0,
            )
            for index, order in enumerate(orders)
        ]
    )


def count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response


@pytest.fixture
def shop():
    return ShopFactory(name="A店")


@pytest.fixture
def agent(shop):
    user = make_staff("agent", role="Agent", shops=[shop])
    grant_authority(user, shop, "50.00")
    return user


@pytest.fixture
def supervisor(shop):
    user = make_staff("lead", role="Supervisor", shops=[shop])
    grant_authority(user, shop, "5000.00")
    return user


def test_the_ticket_queue_runs_the_same_queries_for_5_and_for_200_tickets(client, shop, agent):
    client.force_login(agent)
    bulk_tickets(shop, 5)
    few, response = count_queries(client, TICKETS)
    assert len(response.context["cl"].result_list) == 5

    bulk_tickets(shop, 195)
    many, response = count_queries(client, TICKETS + "?open=all")

    assert many == few
    assert len(response.context["cl"].result_list) == 50  # one page


def test_the_queue_shows_escalations_first_then_the_nearest_deadline(client, shop, agent):
    client.force_login(agent)
    bulk_tickets(shop, 20)

    listed = client.get(TICKETS).context["cl"].result_list

    keys = [(not ticket.escalation_risk, ticket.deadline) for ticket in listed]
    assert keys == sorted(keys)
    assert listed[0].escalation_risk


def test_the_approval_queue_runs_the_same_queries_for_5_and_for_200_requests(client, shop, agent, supervisor):
    client.force_login(supervisor)
    now = timezone.now()

    def add_requests(count):
        ApprovalRequest.objects.bulk_create(
            [
                ApprovalRequest(
                    ticket=ticket,
                    shop=shop,
                    requested_by=agent,
                    amount=Decimal("80.00"),
                    refund_kind="compensation",
                    due_at=now + timedelta(hours=index - 3),
                )
                for index, ticket in enumerate(bulk_tickets(shop, count))
            ]
        )

    add_requests(5)
    few, response = count_queries(client, APPROVALS)
    assert len(response.context["cl"].result_list) == 5
    add_requests(195)
    many, response = count_queries(client, APPROVALS)

    assert many == few
    dues = [approval.due_at for approval in response.context["cl"].result_list]
    assert dues == sorted(dues)
    assert 'class="desk-overdue"' in response.content.decode()  # the ones past due are red


def test_an_agent_does_not_see_or_act_on_another_shops_tickets(client, shop, agent):
    other = open_ticket(delivered_order(shop=ShopFactory(name="B店"), platform_order_id="B-1"))
    mine = open_ticket(delivered_order(shop=shop, platform_order_id="A-1"))
    client.force_login(agent)

    listed = client.get(TICKETS).context["cl"].result_list
    assert [ticket.pk for ticket in listed] == [mine.pk]
    assert client.get(change_url(other)).status_code == 302
    assert client.post(act_url(other, "refund"), {"amount": "10"}).status_code == 404
    assert not Refund.objects.exists()


def test_the_ticket_page_offers_the_remedy_ladder_in_order_and_the_remaining_authority(client, shop, agent):
    ticket = open_ticket(delivered_order(shop=shop, paid_amount=Decimal("300.00")))
    client.force_login(agent)

    page = client.get(change_url(ticket)).content.decode()

    ladder = [page.index(f'id="action-{name}"') for name in ["refund", "reship", "exchange", "agree_return"]]
    assert ladder == sorted(ladder)
    assert page.index('id="action-agree_return"') < page.index('id="action-full_refund"')
    assert 'id="remaining-authority">¥50.00' in page
    assert 'id="refundable-amount">¥300.00' in page


def test_a_compensation_within_authority_starts_a_refund_from_the_page(client, shop, agent):
    ticket = open_ticket(delivered_order(shop=shop))
    client.force_login(agent)

    response = client.post(act_url(ticket, "refund"), {"amount": "20.00", "kind": "compensation"}, follow=True)

    assert "¥20.00" in response.content.decode()
    refund = Refund.objects.get(ticket=ticket)
    assert (refund.amount, refund.kind, refund.requested_by) == (Decimal("20.00"), "compensation", agent)
    ticket.refresh_from_db()
    assert ticket.state == TicketState.REFUNDING
    assert ticket.events.filter(action="refund_approved", actor=agent).count() == 1


def test_above_authority_the_page_sends_the_amount_to_the_supervisors(client, shop, agent):
    ticket = open_ticket(delivered_order(shop=shop))
    client.force_login(agent)

    client.post(act_url(ticket, "refund"), {"amount": "80.00", "kind": "compensation"})

    assert not Refund.objects.exists()
    approval = ApprovalRequest.objects.get(ticket=ticket)
    assert (approval.amount, approval.requested_by) == (Decimal("80.00"), agent)
    assert approval.due_at == approval.requested_at + timedelta(hours=shop.approval_due_hours)


@pytest.mark.parametrize("amount", ["-5", "0", "abc", "1.005", "99999"])
def test_a_bad_amount_on_the_page_is_refused_with_a_message_and_nothing_is_written(client, shop, agent, amount):
    ticket = open_ticket(delivered_order(shop=shop))
    events_before = TicketEvent.objects.count()
    client.force_login(agent)

    response = client.post(act_url(ticket, "refund"), {"amount": amount, "kind": "partial"}, follow=True)

    assert response.status_code == 200
    [message] = list(response.context["messages"])
    assert message.level_tag == "error"
    assert not Refund.objects.exists()
    assert not ApprovalRequest.objects.exists()
    assert TicketEvent.objects.count() == events_before


def test_a_refused_move_shows_the_rules_message_in_chinese(client, shop, agent):
    ticket = open_ticket(delivered_order(shop=shop))
    client.force_login(agent)

    response = client.post(act_url(ticket, "reject"), {"note": ""}, follow=True, HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert "写明原因" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.state == TicketState.REQUESTED


def test_a_warehouse_clerk_cannot_refund_from_the_ticket_page(client, shop):
    ticket = open_ticket(delivered_order(shop=shop))
    clerk = make_staff("clerk", role="Warehouse", shops=[shop])
    client.force_login(clerk)

    page = client.get(change_url(ticket)).content.decode()
    client.post(act_url(ticket, "refund"), {"amount": "10"})

    assert 'id="action-refund"' not in page
    assert not Refund.objects.exists()


def test_batch_refund_confirms_first_then_summarises_what_happened(client, shop, agent):
    small = open_ticket(delivered_order(shop=shop), kind="compensation", requested_amount="30.00")
    large = open_ticket(delivered_order(shop=shop), kind="compensation", requested_amount="90.00")
    done = open_ticket(delivered_order(shop=shop), kind="compensation", requested_amount="10.00")
    ticket_approve_refund(ticket=done, by=system_user())
    client.force_login(agent)
    selection = {"action": "batch_refund", "_selected_action": [small.pk, large.pk, done.pk]}

    confirm = client.post(TICKETS, selection)
    assert confirm.status_code == 200
    assert "batch-refund-tickets" in confirm.content.decode()
    assert Refund.objects.count() == 1  # nothing happened yet

    result = client.post(TICKETS, {**selection, "confirm": "yes"})

    results = result.context["results"]
    assert [ticket.pk for ticket, _decision in results["refunded"]] == [small.pk]
    assert [ticket.pk for ticket, _decision in results["approval"]] == [large.pk]
    assert [(ticket.pk, message) for ticket, message in results["refused"]] == [
        (done.pk, "售后单处于“退款中”状态，不能进行此操作。")
    ]
    assert Refund.objects.filter(ticket=small, requested_by=agent).count() == 1


def test_a_supervisor_approves_from_the_queue_and_the_refund_starts(client, shop, agent, supervisor):
    ticket = open_ticket(delivered_order(shop=shop))
    approval = ticket_approve_refund(ticket=ticket, by=agent, amount="120.00", kind="compensation").approval
    client.force_login(supervisor)

    page = client.get(reverse("admin:aftersales_approvalrequest_change", args=[approval.pk])).content.decode()
    assert 'id="approval-decide"' in page
    client.post(reverse("admin:aftersales_approvalrequest_decide", args=[approval.pk]), {"decision": "approve"})

    approval.refresh_from_db()
    assert (approval.status, approval.decided_by) == ("approved", supervisor)
    assert Refund.objects.get(ticket=ticket).amount == Decimal("120.00")


def test_a_supervisor_cannot_approve_their_own_request_from_the_admin(client, shop, supervisor):
    ticket = open_ticket(delivered_order(shop=shop))
    from aftersales.services import ticket_request_approval

    approval = ticket_request_approval(ticket=ticket, by=supervisor, amount="60.00")
    client.force_login(supervisor)

    page = client.get(reverse("admin:aftersales_approvalrequest_change", args=[approval.pk])).content.decode()
    client.post(reverse("admin:aftersales_approvalrequest_decide", args=[approval.pk]), {"decision": "approve"})

    assert 'id="approval-decide"' not in page
    approval.refresh_from_db()
    assert approval.status == "pending"
    assert not Refund.objects.exists()


def test_an_agent_opens_a_ticket_from_the_admin_and_bad_input_is_a_form_error(client, shop, agent):
    order = delivered_order(shop=shop, paid_amount=Decimal("100.00"))
    client.force_login(agent)
    url = reverse("admin:aftersales_aftersalesticket_add")
    form = {
        "platform_order_id": order.platform_order_id,
        "kind": "compensation",
        "reason": reason("quality_defect").pk,
        "buyer_message": "开线",
    }

    refused = client.post(url, {**form, "requested_amount": "100.01"})
    assert refused.status_code == 200
    assert "100.00" in refused.content.decode()
    assert not AfterSalesTicket.objects.exists()

    opened = client.post(url, {**form, "requested_amount": "15"})
    ticket = AfterSalesTicket.objects.get()
    assert opened.url == change_url(ticket)
    assert (ticket.path, ticket.requested_amount, ticket.first_reason.code) == (3, Decimal("15.00"), "quality_defect")
    assert ticket.events.get(action="opened").actor == agent


def test_an_agent_cannot_open_a_ticket_on_another_shops_order(client, shop, agent):
    order = delivered_order(shop=ShopFactory(name="B店"))
    client.force_login(agent)

    response = client.post(
        reverse("admin:aftersales_aftersalesticket_add"),
        {"platform_order_id": order.platform_order_id, "kind": "refund_only", "reason": reason().pk},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["platform_order_id"] == ["您的店铺中没有这个订单号。"]
    assert not AfterSalesTicket.objects.exists()


def test_an_order_number_two_of_the_agents_shops_share_asks_for_the_shop(client, shop, agent):
    second = ShopFactory(name="C店")
    shop_assign_user(shop=second, user=agent)
    delivered_order(shop=shop, platform_order_id="SAME-1")
    theirs = delivered_order(shop=second, platform_order_id="SAME-1")
    client.force_login(agent)
    url = reverse("admin:aftersales_aftersalesticket_add")
    form = {"platform_order_id": "SAME-1", "kind": "refund_only", "reason": reason().pk}

    ambiguous = client.post(url, form)
    assert "shop" in ambiguous.context["form"].errors
    assert not AfterSalesTicket.objects.exists()

    client.post(url, {**form, "shop": second.pk})
    assert AfterSalesTicket.objects.get().order == theirs


def test_the_order_page_links_to_a_ticket_form_filled_with_the_order(client, shop, agent):
    order = delivered_order(shop=shop, platform_order_id="4100000000000000555")
    client.force_login(agent)

    page = client.get(reverse("admin:aftersales_order_change", args=[order.pk])).content.decode()
    link = (
        reverse("admin:aftersales_aftersalesticket_add") + f"?platform_order_id=4100000000000000555&amp;shop={shop.pk}"
    )
    form = client.get(link.replace("&amp;", "&")).context["form"]

    assert link in page
    assert form.initial == {"platform_order_id": "4100000000000000555", "shop": str(shop.pk)}
