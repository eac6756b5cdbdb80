"""Approvals at volume (审批): the list shows what a supervisor decides on, in a fixed number of queries, and several
requests are approved or declined at once, each through `approval_decide`, each reported."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from aftersales.models import ApprovalRequest, Refund, TicketEvent, TicketState
from aftersales.services import approvals_decide, ticket_request_approval
from tests.aftersales.test_ticket_admin import bulk_tickets, count_queries
from tests.factories import ShopFactory, delivered_order, grant_authority, make_staff, open_ticket
from warehouse.models import Evidence, Inspection, ReturnParcel

pytestmark = pytest.mark.django_db

APPROVALS = reverse("admin:aftersales_approvalrequest_changelist")


@pytest.fixture
def shop():
    return ShopFactory(name="A店")


@pytest.fixture
def agent(shop):
    return make_staff("agent", role="Agent", shops=[shop])


@pytest.fixture
def supervisor(shop):
    user = make_staff("lead", role="Supervisor", shops=[shop])
    grant_authority(user, shop, "5000.00")
    return user


def request_for(shop, by, amount="80.00", **ticket_kwargs):
    order = delivered_order(shop=shop, paid_amount=Decimal("300.00"))
    ticket = open_ticket(order, **ticket_kwargs)
    return ticket_request_approval(ticket=ticket, by=by, amount=amount, kind="compensation", reason="扣子掉了")


def add_requests_with_evidence(shop, agent, clerk, count):
    now = timezone.now()
    tickets = bulk_tickets(shop, count)
    ApprovalRequest.objects.bulk_create(
        [
            ApprovalRequest(
                ticket=ticket,
                shop=shop,
                requested_by=agent,
                amount=Decimal("8.00"),
                refund_kind="compensation",
                due_at=now + timedelta(hours=index - 3),
            )
            for index, ticket in enumerate(tickets)
        ]
    )
    parcels = ReturnParcel.objects.bulk_create(
        [
            ReturnParcel(
                shop=shop,
                ticket=ticket,
                tracking_number=f"V{ticket.pk:08d}",
                status="inspected",
                received_at=now,
                received_by=clerk,
                inspected_at=now,
            )
            for ticket in tickets[::2]
        ]
    )
    inspections = Inspection.objects.bulk_create(
        [Inspection(parcel=parcel, result="damaged", inspected_by=clerk) for parcel in parcels]
    )
    Evidence.objects.bulk_create(
        [
            Evidence(
                inspection=inspection,
                file=f"evidence/{shop.pk}/x{inspection.pk}-{copy}.jpg",
                kind="photo",
                content_type="image/jpeg",
                extension="jpg",
                size=100,
                sha256=f"{inspection.pk:060d}{copy:04d}",
                uploaded_by=clerk,
            )
            for inspection in inspections
            for copy in range(2)
        ]
    )


def test_the_approval_list_shows_what_a_supervisor_decides_on(client, shop, agent, supervisor):
    with time_machine.travel(timezone.now() - timedelta(hours=1), tick=False):
        approval = request_for(shop, agent, amount="120.00", buyer_message="收到的外套拉链坏了，要求赔偿，不然差评")
    Refund.objects.create(
        ticket=approval.ticket,
        order=approval.ticket.order,
        shop=shop,
        kind="compensation",
        amount=Decimal("20.00"),
        idempotency_key="earlier",
        requested_by=agent,
    )
    now = timezone.now()
    parcel = ReturnParcel.objects.create(
        shop=shop,
        ticket=approval.ticket,
        tracking_number="YT1",
        status="inspected",
        received_at=now,
        received_by=supervisor,
        inspected_at=now,
    )
    inspection = Inspection.objects.create(parcel=parcel, result="damaged", inspected_by=supervisor)
    client.force_login(supervisor)

    page = client.get(APPROVALS).content.decode()

    assert "路径三 已收货不退货" in page
    assert "收到的外套拉链坏了，要求赔偿，不然差评" in page
    assert "¥300.00" in page  # the order's total
    assert "已退 ¥20.00" in page  # already refunded on it
    assert reverse("admin:warehouse_inspection_change", args=[inspection.pk]) in page
    assert "验货：破损，0 个文件" in page
    assert "剩余 2时59分" in page  # due 4 h after the request made an hour ago


def test_an_overdue_request_says_by_how_much_in_red(client, shop, agent, supervisor):
    with time_machine.travel(timezone.now() - timedelta(hours=5, minutes=30), tick=False):
        request_for(shop, agent)
    client.force_login(supervisor)

    page = client.get(APPROVALS).content.decode()

    assert '<span class="desk-overdue">已超时 1时30分</span>' in page


def test_the_approval_list_with_evidence_runs_the_same_queries_for_6_and_for_50(client, shop, agent, supervisor):
    clerk = make_staff("clerk", role="Warehouse", shops=[shop])
    client.force_login(supervisor)
    add_requests_with_evidence(shop, agent, clerk, 6)
    few, response = count_queries(client, APPROVALS)
    assert response.content.decode().count('class="desk-evidence"') == 3

    add_requests_with_evidence(shop, agent, clerk, 44)
    many, response = count_queries(client, APPROVALS)

    assert many == few
    assert response.content.decode().count('class="desk-evidence"') == 25
    assert "2 个文件" in response.content.decode()


def test_a_supervisor_approves_several_at_once_after_confirming(client, shop, agent, supervisor):
    first, second = request_for(shop, agent, "60.00"), request_for(shop, agent, "90.00")
    client.force_login(supervisor)
    selection = {"action": "approve_selected", "_selected_action": [first.pk, second.pk]}

    confirm = client.post(APPROVALS, selection)
    assert confirm.status_code == 200
    assert "bulk-decide-requests" in confirm.content.decode()
    assert "¥150.00" in confirm.content.decode()
    assert not Refund.objects.exists()

    done = client.post(APPROVALS, {**selection, "confirm": "yes"})

    assert done.status_code == 302
    assert set(ApprovalRequest.objects.values_list("status", flat=True)) == {"approved"}
    assert sorted(Refund.objects.values_list("amount", flat=True)) == [Decimal("60.00"), Decimal("90.00")]
    reported = [str(message) for message in get_messages(done.wsgi_request)]
    assert reported == [f"已决定：#{first.pk} 已批准，退款已开始; #{second.pk} 已批准，退款已开始。"]


def test_a_bulk_decline_needs_one_note_and_gives_it_to_every_request(client, shop, agent, supervisor):
    first, second = request_for(shop, agent), request_for(shop, agent)
    client.force_login(supervisor)
    selection = {"action": "decline_selected", "_selected_action": [first.pk, second.pk], "confirm": "yes"}

    without_note = client.post(APPROVALS, {**selection, "note": "  "})
    assert without_note.status_code == 200
    assert "请写明原因" in without_note.content.decode()
    assert set(ApprovalRequest.objects.values_list("status", flat=True)) == {"pending"}

    client.post(APPROVALS, {**selection, "note": "先补偿10元，不够再申请"})

    for approval in (first, second):
        approval.refresh_from_db()
        assert (approval.status, approval.decision_note) == ("declined", "先补偿10元，不够再申请")
        assert approval.ticket.state == TicketState.REQUESTED
        event = TicketEvent.objects.filter(ticket=approval.ticket).latest("id")
        assert (event.action, event.note) == ("approval_declined", "先补偿10元，不够再申请")


def test_nobody_decides_their_own_request_even_in_bulk(client, shop, agent, supervisor):
    theirs = request_for(shop, agent)
    mine = request_for(shop, supervisor)
    client.force_login(supervisor)
    selection = {"action": "approve_selected", "_selected_action": [theirs.pk, mine.pk]}

    confirm = client.post(APPROVALS, selection)
    done = client.post(APPROVALS, {**selection, "confirm": "yes"})

    assert "bulk-decide-own" in confirm.content.decode()
    theirs.refresh_from_db()
    mine.refresh_from_db()
    assert theirs.status == "approved"
    assert (mine.status, mine.decided_by) == ("pending", None)
    assert list(Refund.objects.values_list("ticket", flat=True)) == [theirs.ticket_id]
    reported = [str(message) for message in get_messages(done.wsgi_request)]
    assert reported == [
        f"已决定：#{theirs.pk} 已批准，退款已开始。",
        f"未决定：#{mine.pk} 不能审批自己的申请，须由其他主管审批。",
    ]


def test_the_service_refuses_a_bulk_decline_without_a_note_before_deciding_any(shop, agent, supervisor):
    approvals = [request_for(shop, agent), request_for(shop, agent)]

    with pytest.raises(Exception, match="请写明原因"):
        approvals_decide(approvals=approvals, by=supervisor, approve=False, note="")

    assert set(ApprovalRequest.objects.values_list("status", flat=True)) == {"pending"}


def test_an_agent_has_no_bulk_decision(client, shop, agent):
    request_for(shop, make_staff("other", role="Agent", shops=[shop]))
    client.force_login(agent)

    page = client.get(APPROVALS).content.decode()

    assert "approve_selected" not in page
    assert "decline_selected" not in page
