"""The one authority gate (aftersales/services/refund_gate.py): every door that starts a refund goes through it, and
no role pays more than its authority through any of them.

The registry test reads the source: a new door that makes a Refund row itself, or calls the gate with a door the
table below does not know, fails here. The matrix then drives every door as every role, with an amount below and
one above that role's authority (for facts, the shop's automatic cap of ¥300), and checks who paid, who asks a
supervisor, and that a refusal leaves nothing behind.
"""

import ast
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from aftersales.models import AfterSalesTicket, ApprovalRequest, Refund, TicketKind, TicketState
from aftersales.selectors import system_user
from aftersales.services import (
    approval_decide,
    cutoff_confirm_hold,
    ticket_approve_refund,
    ticket_escalate_to_platform,
    ticket_inspection_passed,
    ticket_platform_ruling,
    ticket_request_approval,
    ticket_request_cutoff,
)
from aftersales.services.refund_gate import RefundDoor
from aftersales.services.sweeps import refund_sweep_run
from desk.errors import ActionRefused
from logistics.models import InterceptRequest
from logistics.services import intercept_request, lost_parcel_remedy, shipments_declare_lost
from tests.factories import OrderFactory, ShopFactory, delivered_order, grant_authority, make_staff, open_ticket
from tests.logistics.parcels import parcel

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
GATE = "aftersales/services/refund_gate.py"
# Where each door calls the gate: (module, function) → the door it names. A new caller is a new door: add it here
# and to the matrix below.
GATE_CALLERS = {
    ("aftersales/services/tickets.py", "ticket_apply_auto_rules"): {RefundDoor.AUTOMATIC},
    ("aftersales/services/tickets.py", "ticket_approve_refund"): {RefundDoor.AGENT},
    ("aftersales/services/tickets.py", "approval_decide"): {RefundDoor.APPROVAL},
    ("aftersales/services/tickets.py", "ticket_platform_ruling"): {RefundDoor.PLATFORM_RULING},
    ("aftersales/services/tickets.py", "cutoff_confirm_hold"): {RefundDoor.CUTOFF_HELD},
    ("aftersales/services/tickets.py", "ticket_intercept_confirmed"): {RefundDoor.INTERCEPT_CONFIRMED},
    ("aftersales/services/tickets.py", "ticket_parcel_lost"): {RefundDoor.PARCEL_LOST},
    ("aftersales/services/tickets.py", "ticket_refund_while_intercepting"): {RefundDoor.REFUND_BEFORE_INTERCEPT},
    ("aftersales/services/tickets.py", "ticket_inspection_passed"): {RefundDoor.INSPECTION_PASSED},
    # 无法验货则直接退款: the same clean-return door, opened at the scan instead of the inspection.
    ("aftersales/services/tickets.py", "ticket_refund_on_receipt"): {RefundDoor.INSPECTION_PASSED},
    ("aftersales/services/sweeps.py", "auto_refunds_apply"): {RefundDoor.AUTOMATIC},
}
# Writes Refund rows directly only to generate benchmark data, never on a running desk.
NOT_A_DOOR = {"metrics/management/commands/metrics_benchmark.py"}


def project_modules():
    for app in ("desk", "aftersales", "logistics", "warehouse", "metrics", "config", "marketplaces"):
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" not in relative and relative not in NOT_A_DOOR:
                yield relative, ast.parse(path.read_text(), filename=relative)


def calls_in(tree):
    """(enclosing function, call node) for every call in the module."""
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef):
            for node in ast.walk(function):
                if isinstance(node, ast.Call):
                    yield function.name, node
    for node in tree.body:  # module-level calls
        for call in ast.walk(node):
            if isinstance(call, ast.Call) and not isinstance(node, ast.FunctionDef | ast.ClassDef):
                yield "<module>", call


def called_name(call: ast.Call) -> str:
    return ast.unparse(call.func)


def door_of(call: ast.Call):
    for keyword in call.keywords:
        if keyword.arg == "door":
            text = ast.unparse(keyword.value)
            if text == "door":  # _owed_refund passes on the door its own callers name
                return None
            assert text.startswith("RefundDoor."), f"the door must be named, not computed: {text}"
            return RefundDoor[text.removeprefix("RefundDoor.")]
    return None


def test_only_the_gate_makes_refund_rows_and_every_caller_of_the_gate_is_a_known_door():
    makers, callers = [], {}
    for module, tree in project_modules():
        for function, call in calls_in(tree):
            name = called_name(call)
            if name in {"Refund", "Refund.objects.create", "Refund.objects.bulk_create"} or name.startswith(
                "Refund.objects.get_or_create"
            ):
                makers.append((module, function, name))
            if name.endswith("_start_refund") and module != GATE:
                makers.append((module, function, name))
            if name in {"refund_or_escalate", "_owed_refund", "refunds_start_automatic"} and module != GATE:
                door = door_of(call)
                if name == "refunds_start_automatic":
                    door = RefundDoor.AUTOMATIC
                if door is not None:
                    callers.setdefault((module, function), set()).add(door)

    assert {module for module, _function, _name in makers} == {GATE}, makers
    assert callers == GATE_CALLERS
    assert set().union(*GATE_CALLERS.values()) == set(RefundDoor)


# --- the findings that opened the issue ------------------------------------------------------------------------------


@pytest.fixture
def shop():
    return ShopFactory(name="一号店", auto_refund_max_amount=Decimal("300.00"))


@pytest.fixture
def agent(shop):
    agent = make_staff("agent", role="Agent", shops=[shop])
    grant_authority(agent, shop, "200.00")
    return agent


@pytest.fixture
def supervisor(shop):
    supervisor = make_staff("supervisor", role="Supervisor", shops=[shop])
    grant_authority(supervisor, shop, "2000.00")
    return supervisor


def money_moved(ticket) -> list:
    return sorted(Refund.objects.filter(ticket=ticket).values_list("amount", "requested_by__username"))


def test_an_agent_cannot_pay_by_recording_a_platform_ruling_through_the_ticket_page(client, shop, agent):
    ticket = open_ticket(delivered_order(shop=shop, paid_amount=Decimal("1500.00")), requested_amount="1500.00")
    client.force_login(agent)
    act = "admin:aftersales_aftersalesticket_act"

    client.post(reverse(act, args=[ticket.pk, "platform_review"]), {"note": "买家申请介入"})
    client.post(
        reverse(act, args=[ticket.pk, "ruled_for_buyer"]), {"case_number": "TB-1", "evidence": "截图", "note": ""}
    )

    ticket.refresh_from_db()
    assert ticket.state == TicketState.PLATFORM_REVIEW
    assert money_moved(ticket) == []


def test_an_agent_cannot_pay_by_recording_a_platform_ruling_through_the_api(shop, agent):
    ticket = open_ticket(delivered_order(shop=shop, paid_amount=Decimal("1800.00")), requested_amount="1800.00")
    api = APIClient()
    api.force_authenticate(agent)

    api.post(f"/api/v1/tickets/{ticket.pk}/actions/platform_review/", {}, format="json")
    ruled = api.post(
        f"/api/v1/tickets/{ticket.pk}/actions/ruled_for_buyer/",
        {"case_number": "DY-1", "evidence": "截图"},
        format="json",
    )

    assert (ruled.status_code, ruled.json()["code"]) == (403, "not_permitted")
    assert money_moved(ticket) == []


def test_a_supervisor_cannot_overrule_a_declined_request_with_a_ruling_above_their_authority(shop, agent, supervisor):
    other = make_staff("other_supervisor", role="Supervisor", shops=[shop])
    grant_authority(other, shop, "2000.00")
    ticket = open_ticket(delivered_order(shop=shop, paid_amount=Decimal("2600.00")), requested_amount="2600.00")
    approval = ticket_request_approval(ticket=ticket, by=agent, amount="2600.00", reason="质量问题")
    approval_decide(approval=approval, by=other, approve=False, note="证据不足")
    ticket_escalate_to_platform(ticket=ticket, by=agent)

    ticket_platform_ruling(ticket=ticket, by=supervisor, for_buyer=True, case_number="TB-9", evidence="判定书")

    ticket.refresh_from_db()
    assert ticket.state == TicketState.AWAITING_APPROVAL  # a second person must approve ¥2,600
    assert money_moved(ticket) == []
    pending = ApprovalRequest.objects.get(ticket=ticket, status="pending")
    assert (pending.amount, pending.requested_by) == (Decimal("2600.00"), supervisor)


def test_a_held_cutoff_above_the_automatic_cap_waits_for_a_supervisor_and_the_clerk_pays_nothing(shop, agent):
    clerk = make_staff("clerk", role="Warehouse", shops=[shop])
    order = OrderFactory(shop=shop, packed_at=timezone.now(), paid_amount=Decimal("9999.00"))
    ticket = open_ticket(order, requested_amount="9999.00")
    assert (ticket.state, ticket.cutoffs.exists()) == (TicketState.REQUESTED, False)  # the rule checked the cap first

    cutoff = ticket_request_cutoff(ticket=ticket, by=agent)
    cutoff_confirm_hold(cutoff=cutoff, by=clerk)

    ticket.refresh_from_db()
    assert ticket.state == TicketState.AWAITING_APPROVAL
    assert money_moved(ticket) == []
    assert ApprovalRequest.objects.get(ticket=ticket).requested_by == system_user()


def test_an_agents_authority_counts_every_ticket_of_the_order(shop, agent):
    order = delivered_order(shop=shop, paid_amount=Decimal("590.00"))
    tickets = [
        open_ticket(order, kind=TicketKind.COMPENSATION, requested_amount=amount) for amount in ("197", "197", "196")
    ]

    decisions = [ticket_approve_refund(ticket=ticket, by=agent) for ticket in tickets]

    assert [bool(decision.refund) for decision in decisions] == [True, False, False]
    assert [bool(decision.approval) for decision in decisions] == [False, True, True]
    assert sum(refund.amount for refund in Refund.objects.filter(order=order)) == Decimal("197.00")


def test_the_automatic_rule_counts_what_it_already_paid_on_the_order(shop):
    order = OrderFactory(shop=shop, paid_amount=Decimal("9999.00"))
    first = open_ticket(order, requested_amount="290.00")
    second = open_ticket(order, requested_amount="290.00")

    assert (first.state, second.state) == (TicketState.REFUNDING, TicketState.REQUESTED)
    refund_sweep_run()
    second.refresh_from_db()
    assert second.state == TicketState.REQUESTED  # the sweep's batch form of the rule agrees
    assert money_moved(second) == []


def test_the_refund_sweep_pays_only_within_the_cap(shop):
    shop.auto_refund_enabled = False
    shop.save()
    small = open_ticket(OrderFactory(shop=shop, paid_amount=Decimal("100.00")))
    large = open_ticket(OrderFactory(shop=shop, paid_amount=Decimal("900.00")))
    shop.auto_refund_enabled = True
    shop.save()

    refund_sweep_run()

    assert money_moved(small) == [(Decimal("100.00"), "system")]
    assert money_moved(large) == []


def test_a_key_typed_into_the_ticket_page_cannot_block_another_shops_refund(client, shop, agent):
    theirs = ShopFactory(name="二号店")
    their_ticket = open_ticket(delivered_order(shop=theirs), kind=TicketKind.COMPENSATION, requested_amount="20.00")
    mine = open_ticket(delivered_order(shop=shop), kind=TicketKind.COMPENSATION, requested_amount="20.00")
    client.force_login(agent)

    client.post(
        reverse("admin:aftersales_aftersalesticket_act", args=[mine.pk, "refund"]),
        {"amount": "20.00", "idempotency_key": f"ticket-{their_ticket.pk}-attempt-0"},
    )
    their_agent = make_staff("their_agent", role="Agent", shops=[theirs])
    grant_authority(their_agent, theirs, "200.00")
    decision = ticket_approve_refund(ticket=their_ticket, by=their_agent)

    assert money_moved(mine) == [(Decimal("20.00"), "agent")]
    assert decision.refund.idempotency_key == f"ticket-{their_ticket.pk}-attempt-0"


def test_an_api_key_is_bound_to_its_caller_and_ticket(shop, agent):
    theirs = ShopFactory(name="二号店")
    their_agent = make_staff("their_agent", role="Agent", shops=[theirs])
    grant_authority(their_agent, theirs, "200.00")
    mine = open_ticket(delivered_order(shop=shop), kind=TicketKind.COMPENSATION, requested_amount="20.00")
    their_ticket = open_ticket(delivered_order(shop=theirs), kind=TicketKind.COMPENSATION, requested_amount="20.00")
    api = APIClient()

    for user, ticket in ((agent, mine), (their_agent, their_ticket)):
        api.force_authenticate(user)
        answer = api.post(
            f"/api/v1/tickets/{ticket.pk}/actions/refund/", {}, format="json", HTTP_IDEMPOTENCY_KEY="approval-4"
        )
        assert answer.status_code == 200, answer.content

    assert money_moved(mine) == [(Decimal("20.00"), "agent")]
    assert money_moved(their_ticket) == [(Decimal("20.00"), "their_agent")]


# --- every role through every door, below and above its authority --------------------------------------------------

CAP = Decimal("300.00")
AUTHORITY = {"Agent": Decimal("200.00"), "Supervisor": Decimal("2000.00"), "Warehouse": None, "Manager": None}
AMOUNTS = {
    "Agent": (Decimal("150.00"), Decimal("250.00")),
    "Supervisor": (Decimal("1500.00"), Decimal("2500.00")),
    "Warehouse": (Decimal("150.00"), Decimal("2500.00")),
    "Manager": (Decimal("150.00"), Decimal("2500.00")),
}


@dataclass(frozen=True)
class Door:
    roles: tuple  # who may use it
    personal: bool  # paid on the user's authority (else: a fact, paid on the shop's cap)
    escalates: bool  # above the payer's limit it asks a supervisor (else it is refused)


DOORS = {
    "ticket page refund": Door(("Agent", "Supervisor"), personal=True, escalates=True),
    "batch refund": Door(("Agent", "Supervisor"), personal=True, escalates=True),
    "API refund": Door(("Agent", "Supervisor"), personal=True, escalates=True),
    "approval": Door(("Supervisor",), personal=True, escalates=False),
    "platform ruling": Door(("Supervisor",), personal=True, escalates=True),
    "refund before the courier answers": Door(("Agent", "Supervisor"), personal=True, escalates=False),
    "intercept answer": Door(("Supervisor", "Warehouse"), personal=False, escalates=True),
    "cut-off held": Door(("Warehouse",), personal=False, escalates=True),
    "clean inspection": Door(("Warehouse",), personal=False, escalates=True),
}


def expected(door: Door, role: str, amount: Decimal, username: str):
    if role not in door.roles:
        return "refused"
    if door.personal:
        if amount <= AUTHORITY[role]:
            return ("refund", username)
        return ("approval", username) if door.escalates else "refused"
    return ("refund", "system") if amount <= CAP else ("approval", "system")


def _asker(shop):
    return make_staff("asker", role="Agent", shops=[shop])


def _delivered(shop, amount, kind=TicketKind.COMPENSATION):
    return open_ticket(delivered_order(shop=shop, paid_amount=amount + 100), kind=kind, requested_amount=amount)


def setup_door(name, shop, amount):
    """(ticket, how to pass the door as `user` with a logged-in `client`)."""
    act = "admin:aftersales_aftersalesticket_act"
    if name == "ticket page refund":
        ticket = _delivered(shop, amount)
        return ticket, lambda client, api, user: client.post(
            reverse(act, args=[ticket.pk, "refund"]), {"amount": amount}
        )
    if name == "batch refund":
        ticket = _delivered(shop, amount)
        changelist = reverse("admin:aftersales_aftersalesticket_changelist")
        selection = {"action": "batch_refund", "_selected_action": [ticket.pk], "confirm": "yes"}
        return ticket, lambda client, api, user: client.post(changelist, selection)
    if name == "API refund":
        ticket = _delivered(shop, amount)
        url = f"/api/v1/tickets/{ticket.pk}/actions/refund/"
        return ticket, lambda client, api, user: api.post(url, {"amount": str(amount)}, format="json")
    if name == "approval":
        ticket = _delivered(shop, amount)
        approval = ticket_request_approval(ticket=ticket, by=_asker(shop), amount=amount, reason="补偿")
        url = reverse("admin:aftersales_approvalrequest_decide", args=[approval.pk])
        return ticket, lambda client, api, user: client.post(url, {"decision": "approve"})
    if name == "platform ruling":
        ticket = _delivered(shop, amount)
        ticket_escalate_to_platform(ticket=ticket, by=_asker(shop))
        data = {"case_number": "TB-7", "evidence": "判定截图"}
        return ticket, lambda client, api, user: client.post(reverse(act, args=[ticket.pk, "ruled_for_buyer"]), data)
    if name in ("refund before the courier answers", "intercept answer"):
        shipment = parcel(paid_amount=amount + 100, shop=shop)
        ticket = open_ticket(shipment.order, requested_amount=amount)
        intercept_request(ticket=ticket, by=_asker(shop))
        if name == "intercept answer":
            url = f"/api/v1/intercepts/{InterceptRequest.objects.get(ticket=ticket).pk}/answer/"
            return ticket, lambda client, api, user: api.post(url, {"answer": "confirmed"}, format="json")
        early = reverse(act, args=[ticket.pk, "refund_before_intercept_answer"])
        return ticket, lambda client, api, user: client.post(early, {"note": ""})
    if name == "cut-off held":
        order = OrderFactory(shop=shop, packed_at=timezone.now(), paid_amount=amount + 100)
        ticket = open_ticket(order, requested_amount=amount)
        cutoff = ticket.cutoffs.first() or ticket_request_cutoff(ticket=ticket, by=_asker(shop))
        url = reverse("warehouse:cutoff_answer", args=[cutoff.pk])
        return ticket, lambda client, api, user: client.post(url, {"decision": "held"})
    if name == "clean inspection":
        ticket = _delivered(shop, amount, kind=TicketKind.RETURN_REFUND)
        AfterSalesTicket.objects.filter(pk=ticket.pk).update(state=TicketState.RECEIVED)  # a return signed for

        def inspect(client, api, user):
            try:
                ticket_inspection_passed(ticket=ticket, by=user, note="完好")
            except ActionRefused as refusal:  # a refusal is an outcome here
                return refusal

        return ticket, inspect
    raise AssertionError(name)


def outcome(ticket, approvals_before):
    refunds = list(Refund.objects.filter(ticket=ticket).values_list("requested_by__username", flat=True))
    approvals = list(
        ApprovalRequest.objects.filter(ticket=ticket, status="pending")
        .exclude(pk__in=approvals_before)
        .values_list("requested_by__username", flat=True)
    )
    if refunds:
        assert not approvals
        return ("refund", refunds[0])
    if approvals:
        return ("approval", approvals[0])
    return "refused"


MATRIX = [
    pytest.param(door, role, size, id=f"{door}-{role}-{size}")
    for door in DOORS
    for role in AUTHORITY
    for size in ("below", "above")
]


@pytest.mark.parametrize(("door_name", "role", "size"), MATRIX)
def test_every_role_through_every_door_pays_only_within_its_authority(client, shop, door_name, role, size):
    user = make_staff(role.lower(), role=role, shops=[shop])
    if AUTHORITY[role] is not None:
        grant_authority(user, shop, AUTHORITY[role])
    amount = AMOUNTS[role][0 if size == "below" else 1]
    ticket, go = setup_door(door_name, shop, amount)
    approvals_before = list(ApprovalRequest.objects.filter(ticket=ticket).values_list("pk", flat=True))
    state_before = AfterSalesTicket.objects.get(pk=ticket.pk).state
    client.force_login(user)
    api = APIClient()
    api.force_authenticate(user)

    answer = go(client, api, user)

    assert getattr(answer, "status_code", 200) < 500
    assert outcome(ticket, approvals_before) == expected(DOORS[door_name], role, amount, user.username)
    if expected(DOORS[door_name], role, amount, user.username) == "refused":
        assert AfterSalesTicket.objects.get(pk=ticket.pk).state == state_before


@pytest.mark.parametrize(
    ("amount", "result"), [(Decimal("150.00"), ("refund", "system")), (Decimal("2500.00"), ("approval", "system"))]
)
def test_a_lost_parcel_is_refunded_on_the_automatic_cap_or_waits_for_a_supervisor(shop, amount, result):
    shipment = parcel(quiet_for=timedelta(hours=50), paid_amount=amount, shop=shop)
    open_ticket(shipment.order, requested_amount=amount)

    shipments_declare_lost()
    lost_parcel_remedy(shipment_id=shipment.pk)  # the task queued on commit, run here

    ticket = AfterSalesTicket.objects.get(order=shipment.order)
    assert outcome(ticket, []) == result
