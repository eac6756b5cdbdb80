"""Every after-sales type a platform sends has a home (issue 19, point 5): a repair (维修) comes back, is inspected,
repaired and shipped back without a refund; a price protection (价保) refunds its difference through the one refund
gate, on the agent's authority; an unknown platform type is kept, never refunded by a rule, and put in front of an
agent who decides what it is. Each flow runs through the services, with its events, states and money checked."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Max
from django.urls import reverse
from django.utils import translation
from rest_framework.test import APIClient

from aftersales.models import AfterSalesTicket, ApprovalRequest, Refund, TicketEvent, TicketKind, TicketState
from aftersales.selectors import system_user
from aftersales.services import (
    approval_decide,
    refund_sweep_run,
    ticket_agree_return,
    ticket_approve_refund,
    ticket_decide_kind,
    ticket_flag_for_agent,
    ticket_inspection_passed,
    ticket_open,
    ticket_open_or_find,
    ticket_reject,
    ticket_repair_shipped,
    ticket_request_approval,
    ticket_return_received,
    ticket_return_shipped,
)
from aftersales.services.refund_gate import automatic_candidates
from desk.errors import ActionRefused
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
S = TicketState


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def shop():
    # A path-1 refund of up to ¥300 is paid at once by the automatic rule in this shop.
    return ShopFactory(name="A店", code="a-shop", auto_refund_max_amount=Decimal("300.00"))


@pytest.fixture
def agent(shop):
    user = make_staff("agent", role="Agent", shops=[shop])
    grant_authority(user, shop, "50.00")
    return user


@pytest.fixture
def supervisor(shop):
    user = make_staff("lead", role="Supervisor", shops=[shop])
    grant_authority(user, shop, "1000.00")
    return user


@pytest.fixture
def clerk(shop):
    return make_staff("clerk", role="Warehouse", shops=[shop])


def reload(ticket) -> AfterSalesTicket:
    return AfterSalesTicket.objects.select_related("order", "shop").get(pk=ticket.pk)


def event_mark() -> int:
    return TicketEvent.objects.aggregate(last=Max("pk"))["last"] or 0


def events_since(ticket, mark) -> list[tuple]:
    events = TicketEvent.objects.filter(ticket=ticket, pk__gt=mark).select_related("actor").order_by("pk")
    return [(event.action, event.actor.username, event.from_state, event.to_state) for event in events]


def unshipped_order(shop, paid="99.00"):
    return OrderFactory(shop=shop, paid_amount=Decimal(paid))


# --- repair (维修) ---------------------------------------------------------------------------------------------------


def repair_received(shop, agent, clerk):
    ticket = open_ticket(delivered_order(shop=shop, paid_amount=Decimal("399.00")), kind=TicketKind.REPAIR)
    ticket_agree_return(ticket=ticket, by=agent)
    ticket_return_shipped(ticket=ticket, by=agent, courier_code="SF", tracking_number="SF1000000001")
    ticket_return_received(ticket=ticket, by=clerk)
    return reload(ticket)


def test_a_repair_comes_back_is_inspected_repaired_and_shipped_back_without_a_refund(shop, agent, clerk):
    order = delivered_order(shop=shop, paid_amount=Decimal("399.00"))
    mark = event_mark()

    ticket = open_ticket(order, kind=TicketKind.REPAIR, reason_code="needs_repair")
    # It asks for no money, and its goods come back: path 4 and the platform's return deadline.
    assert (ticket.kind, ticket.path, ticket.state, ticket.requested_amount) == ("repair", 4, S.REQUESTED, 0)
    assert ticket.deadline == ticket.opened_at + timedelta(hours=shop.platform.return_response_hours)

    ticket_agree_return(ticket=ticket, by=agent, note="请寄回维修")
    assert reload(ticket).kind == TicketKind.REPAIR  # a repair stays a repair, unlike a refund-only request
    ticket_return_shipped(ticket=ticket, by=agent, courier_code="SF", tracking_number="sf 1000 0000 01")
    ticket_return_received(ticket=ticket, by=clerk)
    ticket_inspection_passed(ticket=ticket, by=clerk, note="屏幕排线松动，可修")
    assert reload(ticket).state == S.REPAIRING

    ticket_repair_shipped(ticket=ticket, by=clerk, courier_code="SF", tracking_number="sf 2000 0000 02", note="已修好")

    ticket = reload(ticket)
    assert (ticket.state, ticket.kind) == (S.RESOLVED, TicketKind.REPAIR)
    assert ticket.closed_at is not None
    assert not ticket.is_open
    assert events_since(ticket, mark) == [
        ("opened", "system", "", "requested"),
        ("return_agreed", "agent", "requested", "awaiting_return"),
        ("return_shipped", "agent", "awaiting_return", "return_in_transit"),
        ("return_received", "clerk", "return_in_transit", "received"),
        ("repair_started", "clerk", "received", "repairing"),
        ("resolved_repair", "clerk", "repairing", "resolved"),
    ]
    # The outbound waybill is in the event; the buyer's return waybill stays on the ticket.
    assert ticket.events.get(action="resolved_repair").note == "SF SF2000000002 已修好"
    assert ticket.return_tracking_number == "SF1000000001"
    assert not Refund.objects.exists()
    assert ticket.order.refunded_amount == 0


def test_a_clean_inspection_at_the_warehouse_station_sends_a_repair_to_repair_and_the_sweep_leaves_it(
    shop, agent, clerk
):
    """The refund sweep refunds returns inspected clean that still wait (warehouse's step): a repair never waits."""
    from tests.warehouse.test_services_inspection import received_return
    from warehouse.services import inspection_record

    parcel = received_return(shop, clerk, kind=TicketKind.REPAIR)

    inspection_record(parcel=parcel, by=clerk, result="ok")
    refund_sweep_run()

    assert reload(parcel.ticket).state == S.REPAIRING
    assert not Refund.objects.exists()


def test_a_repair_in_progress_near_its_platform_deadline_goes_to_the_top_of_the_queue(shop, agent, clerk):
    """The shop owes the next move while the goods are in repair: the sweep's deadline check sees it."""
    from django.utils import timezone

    ticket = repair_received(shop, agent, clerk)
    ticket_inspection_passed(ticket=ticket, by=clerk)
    AfterSalesTicket.objects.filter(pk=ticket.pk).update(deadline=timezone.now() + timedelta(hours=1))

    refund_sweep_run()

    ticket = reload(ticket)
    assert (ticket.state, ticket.escalation_risk) == (S.REPAIRING, True)
    assert ticket.events.filter(action="deadline_near").count() == 1


def test_a_repair_whose_inspection_finds_it_swapped_is_rejected_with_the_evidence(shop, agent, clerk):
    ticket = repair_received(shop, agent, clerk)
    ticket_flag_for_agent(ticket=ticket, by=clerk, note="Inspection: swapped, 2 evidence file(s).")

    ticket_reject(ticket=ticket, by=agent, note="寄回的不是我们的商品，见质检照片")

    assert reload(ticket).state == S.REJECTED
    assert not Refund.objects.exists()


def test_repaired_goods_ship_back_only_after_the_inspection_and_with_a_waybill(shop, agent, clerk):
    ticket = repair_received(shop, agent, clerk)

    with pytest.raises(ActionRefused) as early:
        ticket_repair_shipped(ticket=ticket, by=clerk, courier_code="SF", tracking_number="SF2")
    ticket_inspection_passed(ticket=ticket, by=clerk)
    with pytest.raises(ActionRefused) as blank:
        ticket_repair_shipped(ticket=ticket, by=clerk, courier_code="SF", tracking_number="  ")

    assert (early.value.code, blank.value.code) == ("wrong_state", "tracking_required")
    assert reload(ticket).state == S.REPAIRING
    assert not TicketEvent.objects.filter(action="resolved_repair").exists()


def test_a_repair_that_cannot_be_made_is_refunded_by_the_agent_within_authority(shop, agent, clerk):
    ticket = repair_received(shop, agent, clerk)
    ticket_inspection_passed(ticket=ticket, by=clerk)

    decision = ticket_approve_refund(ticket=ticket, by=agent, amount="40.00", note="无法维修，退部分款")

    assert reload(ticket).state == S.REFUNDING
    assert decision.refund.amount == Decimal("40.00")


# --- price protection (价保 / 退差价) -------------------------------------------------------------------------------


def price_protection(shop, amount="30.00", order=None):
    order = order or delivered_order(shop=shop, paid_amount=Decimal("199.00"))
    return open_ticket(
        order, kind=TicketKind.PRICE_PROTECTION, reason_code="promotion_changed", requested_amount=amount
    )


def test_a_price_difference_within_authority_is_refunded_as_a_price_difference(shop, agent):
    ticket = price_protection(shop, "30.00")
    assert (ticket.path, ticket.state, ticket.requested_amount) == (3, S.REQUESTED, Decimal("30.00"))
    mark = event_mark()

    decision = ticket_approve_refund(ticket=ticket, by=agent)

    refund = decision.refund
    assert (refund.kind, refund.amount, refund.requested_by) == ("price_difference", Decimal("30.00"), agent)
    assert reload(ticket).order.refunded_amount == Decimal("30.00")
    assert events_since(ticket, mark) == [("refund_approved", "agent", "requested", "refunding")]


def test_a_price_difference_above_the_agents_authority_goes_to_a_supervisor_and_is_paid_as_one(shop, agent, supervisor):
    ticket = price_protection(shop, "80.00")  # the agent may refund ¥50

    decision = ticket_approve_refund(ticket=ticket, by=agent)

    assert decision.refund is None
    approval = decision.approval
    assert (approval.amount, approval.refund_kind, approval.requested_by) == (
        Decimal("80.00"),
        "price_difference",
        agent,
    )
    assert reload(ticket).state == S.AWAITING_APPROVAL
    approval_decide(approval=approval, by=supervisor, approve=True, note="活动价差")
    refund = Refund.objects.get(ticket=ticket)
    assert (refund.kind, refund.amount, refund.requested_by) == ("price_difference", Decimal("80.00"), supervisor)


def test_an_agent_may_ask_a_supervisor_for_a_price_difference_but_not_as_another_kind(shop, agent):
    ticket = price_protection(shop, "20.00")

    with pytest.raises(ActionRefused) as wrong_kind:
        ticket_approve_refund(ticket=ticket, by=agent, kind=Refund.Kind.PARTIAL)
    approval = ticket_request_approval(ticket=ticket, by=agent, amount="20.00")

    assert wrong_kind.value.code == "invalid_kind"
    assert approval.refund_kind == "price_difference"
    assert ApprovalRequest.objects.count() == 1


def test_a_price_difference_never_exceeds_what_was_paid(shop, agent, supervisor):
    order = delivered_order(shop=shop, paid_amount=Decimal("25.00"))

    with pytest.raises(ActionRefused) as at_opening:
        price_protection(shop, "25.01", order=order)
    ticket = price_protection(shop, "25.00", order=order)
    with pytest.raises(ActionRefused) as at_refund:
        ticket_approve_refund(ticket=ticket, by=supervisor, amount="25.01")

    assert (at_opening.value.code, at_refund.value.code) == ("over_paid", "over_paid")
    assert not Refund.objects.exists()


@pytest.mark.parametrize("amount", [None, "0"])
def test_a_price_protection_names_its_difference(shop, amount):
    with pytest.raises(ActionRefused) as refused:
        price_protection(shop, amount)

    assert refused.value.code == "invalid_amount"
    assert not AfterSalesTicket.objects.exists()


def test_a_price_protection_on_an_unshipped_order_is_not_refunded_by_the_path_1_rule(shop):
    ticket = price_protection(shop, "10.00", order=unshipped_order(shop))

    assert (ticket.path, reload(ticket).state) == (1, S.REQUESTED)
    assert not Refund.objects.exists()


# --- an unknown platform type -----------------------------------------------------------------------------------------


def unknown_ticket(order, platform_kind="99", **kwargs):
    ticket, opened = ticket_open_or_find(
        order=order,
        kind=TicketKind.REFUND_ONLY,
        kind_unknown=True,
        platform_kind=platform_kind,
        reason=reason("changed_mind"),
        by=system_user(),
        requested_amount="99.00",
        platform_ticket_id="AS-9001",
        **kwargs,
    )
    assert opened
    return ticket


def test_an_unknown_type_is_kept_and_flagged_for_the_agent_never_refunded_automatically(shop):
    # The same request as refund only would be paid at once: not shipped, ¥99 under the ¥300 cap.
    paid = open_ticket(unshipped_order(shop), requested_amount="99.00")
    assert reload(paid).state == S.REFUNDING
    mark = event_mark()

    ticket = unknown_ticket(unshipped_order(shop))

    ticket = reload(ticket)
    assert (ticket.kind, ticket.platform_kind, ticket.state, ticket.path) == ("unknown", "99", S.REQUESTED, 1)
    assert "“99”" in ticket.attention_note
    assert events_since(ticket, mark) == [
        ("opened", "system", "", "requested"),
        ("flagged", "system", "requested", "requested"),
    ]
    assert not Refund.objects.filter(ticket=ticket).exists()
    # The sweep's rule does not find it either, and leaves it as it is.
    assert not AfterSalesTicket.objects.filter(automatic_candidates(), pk=ticket.pk).exists()
    refund_sweep_run()
    assert reload(ticket).state == S.REQUESTED
    assert not Refund.objects.filter(ticket=ticket).exists()


def test_an_unknown_type_can_be_opened_by_its_own_kind_and_a_replay_finds_it(shop):
    order = unshipped_order(shop)
    first = unknown_ticket(order)

    again, opened = ticket_open_or_find(
        order=order,
        kind="unknown",
        platform_kind="99",
        reason=reason(),
        by=system_user(),
        platform_ticket_id="AS-9001",
    )

    assert (again, opened) == (first, False)


def test_an_unknown_type_without_the_platforms_code_is_refused(shop):
    with pytest.raises(ActionRefused) as refused:
        ticket_open(order=unshipped_order(shop), kind="unknown", reason=reason(), by=system_user())

    assert refused.value.code == "platform_kind_required"
    assert not AfterSalesTicket.objects.exists()


def test_the_platforms_type_is_kept_on_every_ticket_and_cut_rather_than_dropped_when_too_long(shop):
    known = open_ticket(delivered_order(shop=shop), kind=TicketKind.EXCHANGE, platform_kind="3")
    long = unknown_ticket(delivered_order(shop=shop), platform_kind="X" * 60)

    assert reload(known).platform_kind == "3"
    assert reload(long).platform_kind == "X" * 40


def test_the_agent_decides_what_an_unknown_type_is_once(shop, agent):
    ticket = unknown_ticket(delivered_order(shop=shop, paid_amount=Decimal("99.00")))
    mark = event_mark()

    with pytest.raises(ActionRefused) as still_unknown:
        ticket_decide_kind(ticket=ticket, by=agent, kind="unknown")
    ticket_decide_kind(ticket=ticket, by=agent, kind=TicketKind.RETURN_REFUND, note="平台上是退货退款")
    with pytest.raises(ActionRefused) as twice:
        ticket_decide_kind(ticket=ticket, by=agent, kind=TicketKind.REFUND_ONLY)

    ticket = reload(ticket)
    assert (ticket.kind, ticket.platform_kind, ticket.attention_note, ticket.state) == (
        "return_refund",
        "99",
        "",
        S.REQUESTED,
    )
    assert events_since(ticket, mark) == [("kind_decided", "agent", "requested", "requested")]
    assert ticket.events.get(action="kind_decided").note == "99 → return and refund. 平台上是退货退款"
    assert (still_unknown.value.code, twice.value.code) == ("invalid_kind", "kind_known")


# --- exchange (换货) and reship (补寄) keep their flows -------------------------------------------------------------


def test_an_exchange_and_a_reship_from_a_platform_resolve_as_before(shop, agent, clerk):
    exchange = open_ticket(delivered_order(shop=shop), kind=TicketKind.EXCHANGE, platform_kind="3")
    reship = open_ticket(delivered_order(shop=shop), kind=TicketKind.RESHIP, platform_kind="reissue")

    ticket_agree_return(ticket=exchange, by=agent)
    ticket_return_shipped(ticket=exchange, by=agent, courier_code="SF", tracking_number="SF3000000003")
    ticket_return_received(ticket=exchange, by=clerk)
    ticket_inspection_passed(ticket=exchange, by=clerk)
    from aftersales.services import ticket_resolve_by_replacement

    ticket_resolve_by_replacement(ticket=reship, by=agent, kind=TicketKind.RESHIP)

    assert (reload(exchange).state, reload(exchange).kind) == (S.RESOLVED, "exchange")
    assert (reload(reship).state, reload(reship).kind) == (S.RESOLVED, "reship")
    assert not Refund.objects.exists()


# --- the admin's ticket page and queue ------------------------------------------------------------------------------


def change_url(ticket) -> str:
    return reverse("admin:aftersales_aftersalesticket_change", args=[ticket.pk])


def act_url(ticket, name) -> str:
    return reverse("admin:aftersales_aftersalesticket_act", args=[ticket.pk, name])


def test_the_admin_ships_a_repair_back_from_its_page(client, shop, agent, clerk):
    ticket = repair_received(shop, agent, clerk)
    ticket_inspection_passed(ticket=ticket, by=clerk)
    client.force_login(agent)

    page = client.get(change_url(ticket)).content.decode()
    client.post(act_url(ticket, "repair_shipped"), {"courier_code": "YTO", "tracking_number": "YT5000000005"})

    assert 'id="action-repair_shipped"' in page
    assert 'name="tracking_number"' in page
    assert reload(ticket).state == S.RESOLVED
    assert ticket.events.get(action="resolved_repair").note == "YTO YT5000000005"


def test_the_admin_offers_a_price_protection_its_refund_and_nothing_that_sends_goods(client, shop, agent):
    ticket = price_protection(shop, "30.00")
    client.force_login(agent)

    page = client.get(change_url(ticket)).content.decode()

    assert 'id="action-refund"' in page
    assert '<option value="price_difference" selected>' in page
    for name in ("full_refund", "agree_return", "reship", "exchange"):
        assert f'id="action-{name}"' not in page, name
    client.post(act_url(ticket, "refund"), {"amount": "30.00", "kind": "price_difference"})
    assert Refund.objects.get(ticket=ticket).kind == "price_difference"


def test_an_unknown_type_is_shown_to_the_agent_in_the_queue_and_on_its_page(client, shop, agent):
    ticket = unknown_ticket(delivered_order(shop=shop, paid_amount=Decimal("99.00")), platform_kind="42")
    open_ticket(delivered_order(shop=shop))
    client.force_login(agent)

    listed = client.get(reverse("admin:aftersales_aftersalesticket_changelist") + "?kind=unknown")
    page = client.get(change_url(ticket)).content.decode()
    client.post(act_url(ticket, "decide_kind"), {"ticket_kind": "exchange"})

    assert list(listed.context["cl"].result_list) == [ticket]
    assert "平台售后类型: 42" in page  # the page speaks Chinese by default
    assert "“42”" in page  # the note in front of the agent
    assert 'id="action-decide_kind"' in page
    assert reload(ticket).kind == TicketKind.EXCHANGE
    assert 'id="action-decide_kind"' not in client.get(change_url(ticket)).content.decode()


def test_an_agent_opening_a_ticket_by_hand_cannot_choose_unknown(client, shop, agent):
    delivered_order(shop=shop, platform_order_id="P-1")
    client.force_login(agent)
    url = reverse("admin:aftersales_aftersalesticket_add")

    form = client.get(url).content.decode()
    client.post(url, {"platform_order_id": "P-1", "kind": "unknown", "reason": reason().pk})
    client.post(url, {"platform_order_id": "P-1", "kind": "repair", "reason": reason("needs_repair").pk})

    assert 'value="repair"' in form
    assert 'value="price_protection"' in form
    assert 'value="unknown"' not in form
    assert list(AfterSalesTicket.objects.values_list("kind", flat=True)) == ["repair"]


# --- the API ---------------------------------------------------------------------------------------------------------


@pytest.fixture
def api(agent):
    client = APIClient()
    client.force_authenticate(agent)
    return client


def create(api, **body):
    base = {"shop": "a-shop", "platform_order_id": "P-1", "reason": "changed_mind"}
    return api.post("/api/v1/tickets/", {**base, **body}, format="json", HTTP_ACCEPT_LANGUAGE="en")


@pytest.mark.parametrize(
    ("kind", "extra"),
    [
        ("repair", {}),
        ("price_protection", {"requested_amount": "12.50"}),
        ("unknown", {"platform_kind": "7"}),
    ],
)
def test_the_api_opens_the_new_kinds(api, shop, kind, extra):
    delivered_order(shop=shop, platform_order_id="P-1", paid_amount=Decimal("99.00"))

    answer = create(api, kind=kind, **extra)

    assert answer.status_code == 201, answer.json()
    assert answer.json()["kind"] == kind
    assert answer.json()["platform_kind"] == extra.get("platform_kind", "")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "maintenance"}, "kind"),
        ({"kind": "unknown"}, None),  # no platform_kind
        ({"kind": "price_protection"}, None),  # no difference named
        ({"kind": "repair", "platform_kind": "x" * 41}, "platform_kind"),
    ],
)
def test_the_api_refuses_garbage_kinds_with_a_400_and_writes_nothing(api, shop, body, field):
    delivered_order(shop=shop, platform_order_id="P-1")

    answer = create(api, **body)

    assert answer.status_code == 400, answer.json()
    if field:
        assert field in answer.json()["fields"]
    assert not AfterSalesTicket.objects.exists()


def test_the_api_decides_an_unknown_type_and_refuses_a_garbage_one(api, shop):
    ticket = unknown_ticket(delivered_order(shop=shop, paid_amount=Decimal("99.00")))
    url = f"/api/v1/tickets/{ticket.pk}/actions/decide_kind/"

    garbage = api.post(url, {"ticket_kind": "unknown"}, format="json")
    decided = api.post(url, {"ticket_kind": "repair"}, format="json")

    assert garbage.status_code == 400
    assert "ticket_kind" in garbage.json()["fields"]
    assert decided.status_code == 200, decided.json()
    assert decided.json()["ticket"]["kind"] == "repair"


def test_the_api_refunds_a_price_difference_through_the_gate(api, shop):
    ticket = price_protection(shop, "60.00")  # above the agent's ¥50

    answer = api.post(f"/api/v1/tickets/{ticket.pk}/actions/refund/", {}, format="json")

    assert answer.status_code == 200, answer.json()
    assert answer.json()["ticket"]["state"] == "awaiting_approval"
    assert ApprovalRequest.objects.get(ticket=ticket).refund_kind == "price_difference"
