"""Writes over the API meet the admin's rules through the same services: orders upserted by the import's checks,
tickets opened by ticket_open, moves by ticket_actions.perform, approvals by approval_decide; errors carry a stable
code and a message in the caller's language; a retried write with the same Idempotency-Key never acts twice."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from aftersales.models import (
    AfterSalesTicket,
    ApiIdempotencyKey,
    ApprovalRequest,
    Order,
    OrderCorrection,
    OrderLine,
    Refund,
    TicketEvent,
    TicketState,
)
from aftersales.services.housekeeping import idempotency_keys_purge
from aftersales.services.orders import order_correction_decide
from desk.errors import ActionRefused
from tests.api.test_foundation import authorised
from tests.factories import ShopFactory, delivered_order, grant_authority, make_staff, open_ticket, shipped_order
from tests.logistics.parcels import parcel

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return ShopFactory(code="shanye")


@pytest.fixture
def api():
    return APIClient()


def order_body(**overrides) -> dict:
    body = {
        "shop": "shanye",
        "platform_order_id": "T1001",
        "buyer_nick": "tb_小雨",
        "province": "新疆维吾尔自治区",
        "paid_amount": "259.00",
        "paid_at": "2026-11-11T00:05:00+08:00",
        "lines": [
            {"sku": "A1", "item_name": "羊毛围巾", "quantity": 1, "paid_amount": "159.00"},
            {"sku": "B2", "item_name": "手套", "quantity": 2, "paid_amount": "100.00"},
        ],
    }
    return {**body, **overrides}


# --- orders -----------------------------------------------------------------------------------------------------------


def test_an_order_is_created_then_updated_by_shop_and_platform_id_with_its_lines(api, shop):
    authorised(api, make_staff("sup", role="Supervisor", shops=[shop]))

    created = api.post("/api/v1/orders/", order_body(), format="json")
    again = api.post("/api/v1/orders/", order_body(), format="json")
    shipped = api.post(
        "/api/v1/orders/",
        order_body(shipped_at="2026-11-11T09:00:00+08:00", courier_code="sf", tracking_number="SF100"),
        format="json",
    )

    assert (created.status_code, created.json()["result"]) == (201, "new")
    assert (again.status_code, again.json()["result"]) == (200, "unchanged")
    assert (shipped.status_code, shipped.json()["result"]) == (200, "updated")
    order = Order.objects.get(shop=shop, platform_order_id="T1001")
    assert (order.paid_amount, order.courier_code, order.tracking_number) == (Decimal("259.00"), "SF", "SF100")
    assert sorted(OrderLine.objects.filter(order=order).values_list("sku", "paid_amount")) == [
        ("A1", Decimal("159.00")),
        ("B2", Decimal("100.00")),
    ]


def test_an_order_whose_lines_do_not_add_up_is_refused_line_by_line_and_nothing_is_written(api, shop):
    authorised(api, make_staff("sup", role="Supervisor", shops=[shop]))
    body = order_body()
    body["lines"][1]["paid_amount"] = "190.00"

    response = api.post("/api/v1/orders/", body, format="json", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert set(response.json()["fields"]["lines"]) == {"0", "1"}
    assert "more than the order's paid amount 259.00" in response.json()["fields"]["lines"]["0"][0]
    assert not Order.objects.exists()


def test_an_order_for_a_shop_the_caller_is_not_assigned_to_reads_as_an_unknown_shop(api, shop):
    ShopFactory(code="other")
    authorised(api, make_staff("sup", role="Supervisor", shops=[shop]))

    response = api.post("/api/v1/orders/", order_body(shop="other"), format="json")

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["shop"]
    assert not Order.objects.exists()


def test_a_role_that_may_not_import_orders_cannot_push_one(api, shop):
    authorised(api, make_staff("agent", role="Agent", shops=[shop]))

    response = api.post("/api/v1/orders/", order_body(), format="json")

    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    assert not Order.objects.exists()


# --- tickets ------------------------------------------------------------------------------------------------------


def ticket_body(order, **overrides) -> dict:
    return {
        "shop": order.shop.code,
        "platform_order_id": order.platform_order_id,
        "kind": "return_refund",
        "reason": "quality_defect",
        "buyer_message": "围巾起球",
        **overrides,
    }


def test_a_ticket_is_opened_with_its_path_and_deadline_and_a_second_push_returns_the_same_ticket(api, shop):
    order = delivered_order(shop=shop)
    authorised(api, make_staff("agent", role="Agent", shops=[shop]))

    first = api.post("/api/v1/tickets/", ticket_body(order, platform_ticket_id="DY-1"), format="json")
    second = api.post("/api/v1/tickets/", ticket_body(order, platform_ticket_id="DY-1"), format="json")

    assert first.status_code == 201, first.content
    body = first.json()
    assert (body["path"], body["state"], body["kind"]) == (4, "requested", "return_refund")
    assert body["reason"] == "quality_defect"
    assert body["deadline"]
    assert (second.status_code, second.json()["id"]) == (200, body["id"])
    assert AfterSalesTicket.objects.count() == 1


def test_a_ticket_for_an_order_of_another_shop_or_an_unknown_reason_is_refused(api, shop):
    theirs = delivered_order(shop=ShopFactory(code="other"))
    mine = delivered_order(shop=shop)
    authorised(api, make_staff("agent", role="Agent", shops=[shop]))

    other_shop = api.post("/api/v1/tickets/", ticket_body(theirs), format="json")
    unknown_order = api.post("/api/v1/tickets/", ticket_body(mine, platform_order_id="nope"), format="json")
    unknown_reason = api.post("/api/v1/tickets/", ticket_body(mine, reason="nope"), format="json")
    over_paid = api.post("/api/v1/tickets/", ticket_body(mine, requested_amount="999.00"), format="json")

    assert list(other_shop.json()["fields"]) == ["shop"]
    assert list(unknown_order.json()["fields"]) == ["platform_order_id"]
    assert list(unknown_reason.json()["fields"]) == ["reason"]
    assert (over_paid.status_code, over_paid.json()["code"]) == (400, "over_paid")
    assert not AfterSalesTicket.objects.exists()


def test_a_retried_post_with_the_same_idempotency_key_answers_the_first_response_and_acts_once(api, shop):
    order = delivered_order(shop=shop)
    authorised(api, make_staff("agent", role="Agent", shops=[shop]))

    first = api.post("/api/v1/tickets/", ticket_body(order), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    retried = api.post("/api/v1/tickets/", ticket_body(order), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    changed = api.post(
        "/api/v1/tickets/", ticket_body(order, kind="refund_only"), format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )

    assert first.status_code == retried.status_code == 201
    assert retried.json() == first.json()
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert (changed.status_code, changed.json()["code"]) == (409, "idempotency_key_reused")
    assert AfterSalesTicket.objects.count() == 1
    assert TicketEvent.objects.filter(action="opened").count() == 1


def test_a_refused_write_is_replayed_as_refused_and_the_same_key_of_another_user_is_independent(api, shop):
    order = delivered_order(shop=shop)
    ticket = open_ticket(order, kind="return_refund", reason_code="quality_defect")
    agent = make_staff("agent", role="Agent", shops=[shop])
    colleague = make_staff("colleague", role="Agent", shops=[shop])
    url = f"/api/v1/tickets/{ticket.pk}/actions/reject/"

    refused = authorised(api, agent).post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="same")
    replayed = api.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="same")
    other_user = authorised(APIClient(), colleague).post(
        url, {"note": "图片显示无质量问题"}, format="json", HTTP_IDEMPOTENCY_KEY="same"
    )

    assert (refused.status_code, refused.json()["code"]) == (400, "note_required")
    assert replayed.json() == refused.json()
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert (other_user.status_code, other_user.json()["ticket"]["state"]) == (200, "rejected")
    assert ApiIdempotencyKey.objects.count() == 2


# --- moves --------------------------------------------------------------------------------------------------------


def test_an_agent_refunds_within_authority_and_above_it_the_request_goes_to_the_supervisors(api, shop):
    agent = make_staff("agent", role="Agent", shops=[shop])
    grant_authority(agent, shop, "50.00")
    small = open_ticket(delivered_order(shop=shop), kind="return_refund", reason_code="quality_defect")
    large = open_ticket(delivered_order(shop=shop), kind="return_refund", reason_code="quality_defect")
    authorised(api, agent)

    refunded = api.post(f"/api/v1/tickets/{small.pk}/actions/refund/", {"amount": "30.00"}, format="json")
    escalated = api.post(f"/api/v1/tickets/{large.pk}/actions/refund/", {"amount": "120.00"}, format="json")

    assert refunded.status_code == 200, refunded.content
    assert refunded.json()["ticket"]["state"] in (TicketState.REFUNDING, TicketState.REFUNDED)
    assert escalated.json()["ticket"]["state"] == TicketState.AWAITING_APPROVAL
    assert Refund.objects.filter(ticket=small).get().amount == Decimal("30.00")
    assert not Refund.objects.filter(ticket=large).exists()
    assert ApprovalRequest.objects.get(ticket=large).amount == Decimal("120.00")


def test_a_refused_move_names_its_rule_in_the_callers_language_and_changes_nothing(api, shop):
    ticket = open_ticket(delivered_order(shop=shop), kind="return_refund", reason_code="quality_defect")
    authorised(api, make_staff("agent", role="Agent", shops=[shop]))
    url = f"/api/v1/tickets/{ticket.pk}/actions/"

    chinese = api.post(url + "reject/", {}, format="json")
    english = api.post(url + "reject/", {}, format="json", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    wrong_state = api.post(url + "close/", {}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    unknown = api.post(url + "fly_away/", {}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    over_paid = api.post(url + "refund/", {"amount": "999.00"}, format="json", HTTP_ACCEPT_LANGUAGE="en")

    assert (chinese.status_code, chinese.json()["code"]) == (400, "note_required")
    assert chinese.json()["message"] == "请写明原因。"
    assert english.json()["message"] == "Write a note that says why."
    assert english.headers["Content-Language"] == "en"
    assert (wrong_state.status_code, wrong_state.json()["code"]) == (409, "wrong_state")
    assert (unknown.status_code, unknown.json()["code"]) == (400, "unknown_action")
    assert (over_paid.status_code, over_paid.json()["code"]) == (400, "over_paid")
    ticket.refresh_from_db()
    assert ticket.state == TicketState.REQUESTED
    assert list(TicketEvent.objects.filter(ticket=ticket).values_list("action", flat=True)) == ["opened"]


def test_moves_on_another_shops_ticket_are_not_found_and_a_clerk_may_not_make_them(api, shop):
    theirs = open_ticket(delivered_order(shop=ShopFactory(code="other")))
    mine = open_ticket(shipped_order(shop=shop), kind="return_refund", reason_code="quality_defect")

    agent_api = authorised(APIClient(), make_staff("agent", role="Agent", shops=[shop]))
    clerk_api = authorised(APIClient(), make_staff("clerk", role="Warehouse", shops=[shop]))

    assert agent_api.post(f"/api/v1/tickets/{theirs.pk}/actions/note/", {"note": "x"}).status_code == 404
    assert agent_api.get(f"/api/v1/tickets/{theirs.pk}/actions/").status_code == 404
    assert clerk_api.post(f"/api/v1/tickets/{mine.pk}/actions/note/", {"note": "x"}).status_code == 403
    assert not TicketEvent.objects.filter(action="note").exists()


def test_the_offered_moves_are_those_of_the_admin_page(api, shop):
    ticket = open_ticket(delivered_order(shop=shop), kind="return_refund", reason_code="quality_defect")
    authorised(api, make_staff("agent", role="Agent", shops=[shop]))

    offered = {move["name"]: move["fields"] for move in api.get(f"/api/v1/tickets/{ticket.pk}/actions/").json()}

    assert {"refund", "agree_return", "reject", "note"} <= set(offered)
    assert "close" not in offered
    assert offered["refund"] == ["amount", "kind", "note"]


def test_the_reason_is_corrected_by_its_code(api, shop):
    ticket = open_ticket(delivered_order(shop=shop), kind="return_refund", reason_code="quality_defect")
    authorised(api, make_staff("agent", role="Agent", shops=[shop]))

    response = api.post(
        f"/api/v1/tickets/{ticket.pk}/actions/change_reason/", {"reason": "changed_mind", "note": "买家承认"}
    )

    assert response.status_code == 200, response.content
    assert (response.json()["ticket"]["first_reason"], response.json()["ticket"]["reason"]) == (
        "quality_defect",
        "changed_mind",
    )


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_refund_calls_with_one_key_pay_once_and_answer_alike(reference_data):
    shop = ShopFactory(code="shanye")
    agent = make_staff("agent", role="Agent", shops=[shop])
    grant_authority(agent, shop, "500.00")
    ticket = open_ticket(delivered_order(shop=shop), kind="return_refund", reason_code="quality_defect")
    clients = [authorised(APIClient(), agent) for _ in range(2)]
    start = threading.Barrier(2)
    answers = []

    def call(client):
        start.wait()
        try:
            answers.append(
                client.post(
                    f"/api/v1/tickets/{ticket.pk}/actions/refund/",
                    {"amount": "80.00"},
                    format="json",
                    HTTP_IDEMPOTENCY_KEY="double-click",
                )
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=call, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [answer.status_code for answer in answers] == [200, 200]
    assert answers[0].json() == answers[1].json()
    assert sorted(answer.headers.get("Idempotent-Replayed", "no") for answer in answers) == ["no", "true"]
    assert Refund.objects.filter(ticket=ticket).count() == 1


# --- approvals ----------------------------------------------------------------------------------------------------


def approval_for(shop, agent) -> ApprovalRequest:
    grant_authority(agent, shop, "10.00")
    ticket = open_ticket(delivered_order(shop=shop), kind="return_refund", reason_code="quality_defect")
    authorised(APIClient(), agent).post(f"/api/v1/tickets/{ticket.pk}/actions/refund/", {"amount": "80.00"})
    return ApprovalRequest.objects.get(ticket=ticket)


def test_a_supervisor_lists_the_shops_approvals_and_approves_one_once(api, shop):
    agent = make_staff("agent", role="Agent", shops=[shop])
    supervisor = make_staff("sup", role="Supervisor", shops=[shop])
    grant_authority(supervisor, shop, "500.00")
    approval = approval_for(shop, agent)
    other = ShopFactory(code="other")
    approval_for(other, make_staff("agent2", role="Agent", shops=[other]))
    authorised(api, supervisor)

    listed = api.get("/api/v1/approvals/?status=pending").json()["results"]
    approved = api.post(f"/api/v1/approvals/{approval.pk}/decide/", {"approve": True}, format="json")
    twice = api.post(f"/api/v1/approvals/{approval.pk}/decide/", {"approve": True}, format="json")

    assert [row["id"] for row in listed] == [approval.pk]
    assert (approved.status_code, approved.json()["status"], approved.json()["decided_by"]) == (200, "approved", "sup")
    assert (twice.status_code, twice.json()["code"]) == (409, "already_decided")
    assert Refund.objects.filter(ticket=approval.ticket).count() == 1


def test_an_agent_may_not_decide_and_nobody_decides_their_own_request(api, shop):
    supervisor = make_staff("sup", role="Supervisor", shops=[shop])
    approval = approval_for(shop, supervisor)

    own = authorised(api, supervisor).post(f"/api/v1/approvals/{approval.pk}/decide/", {"approve": True})
    agent = authorised(APIClient(), make_staff("agent", role="Agent", shops=[shop]))
    by_agent = agent.post(f"/api/v1/approvals/{approval.pk}/decide/", {"approve": True})
    decline_without_note = authorised(APIClient(), make_staff("sup2", role="Supervisor", shops=[shop])).post(
        f"/api/v1/approvals/{approval.pk}/decide/", {"approve": False}
    )

    assert (own.status_code, own.json()["code"]) == (403, "own_request")
    assert by_agent.status_code == 403
    assert (decline_without_note.status_code, decline_without_note.json()["code"]) == (400, "note_required")
    approval.refresh_from_db()
    assert approval.status == ApprovalRequest.Status.PENDING


def test_the_schema_documents_every_error_and_reads_in_chinese_or_english(api, shop):
    chinese = api.get("/api/v1/schema/?format=json&lang=zh-hans").json()
    english = api.get("/api/v1/schema/?format=json&lang=en").json()

    create = english["paths"]["/api/v1/orders/"]["post"]
    assert create["description"].startswith("Create or update an order by (shop, platform_order_id)")
    assert chinese["paths"]["/api/v1/orders/"]["post"]["description"].startswith("按（店铺, 平台订单号）新建或更新订单")
    assert {"400", "401", "403", "404", "409", "429"} <= set(create["responses"])
    assert "Idempotency-Key" in [parameter["name"] for parameter in create["parameters"]]
    act = english["paths"]["/api/v1/tickets/{id}/actions/{action_name}/"]["post"]
    assert "refund" in next(p for p in act["parameters"] if p["name"] == "action_name")["schema"]["enum"]


def test_an_intercept_is_requested_as_a_ticket_move_and_answered_through_its_route(api):
    shipment = parcel(quiet_for=timedelta(hours=5))
    ticket = open_ticket(shipment.order, requested_amount="199.00")
    agent = make_staff("agent", role="Agent", shops=[shipment.shop])
    grant_authority(agent, shipment.shop, "500.00")
    authorised(api, agent)

    requested = api.post(f"/api/v1/tickets/{ticket.pk}/actions/request_intercept/", {}, format="json")
    [intercept] = api.get("/api/v1/intercepts/", {"ticket": ticket.pk}).json()["results"]
    # The agent who asked cannot answer for the courier: that would release their own refund.
    own_answer = api.post(f"/api/v1/intercepts/{intercept['id']}/answer/", {"answer": "confirmed"}, format="json")
    authorised(api, make_staff("clerk", role="Warehouse", shops=[shipment.shop]))
    confirmed = api.post(f"/api/v1/intercepts/{intercept['id']}/answer/", {"answer": "confirmed"}, format="json")
    again = api.post(f"/api/v1/intercepts/{intercept['id']}/answer/", {"answer": "failed"}, format="json")

    assert (requested.status_code, requested.json()["ticket"]["state"]) == (200, TicketState.INTERCEPTING)
    assert (intercept["status"], intercept["courier"]) == ("requested", "SF")
    assert own_answer.status_code == 403
    assert (confirmed.status_code, confirmed.json()["status"]) == (200, "confirmed")
    assert again.status_code in (400, 409)
    ticket.refresh_from_db()
    assert ticket.state in (TicketState.REFUNDING, TicketState.REFUNDED)


def test_metrics_of_a_shop_the_caller_is_not_assigned_to_are_not_found(api, shop):
    ShopFactory(code="theirs")
    authorised(api, make_staff("manager", role="Manager", shops=[shop]))

    answer = api.get("/api/v1/metrics/", {"shop": "theirs", "start": "2026-11-01", "end": "2026-12-01"})

    assert (answer.status_code, answer.json()["code"]) == (404, "not_found")


def test_idempotency_keys_are_purged_after_their_retention_and_a_late_retry_runs_anew(api, shop, settings):
    settings.API_IDEMPOTENCY_KEY_DAYS = 7
    order = delivered_order(shop=shop)
    authorised(api, make_staff("agent", role="Agent", shops=[shop]))
    api.post("/api/v1/tickets/", ticket_body(order), format="json", HTTP_IDEMPOTENCY_KEY="old")
    api.post("/api/v1/tickets/", ticket_body(order, kind="refund_only"), format="json", HTTP_IDEMPOTENCY_KEY="new")
    ApiIdempotencyKey.objects.filter(key="old").update(created_at=timezone.now() - timedelta(days=7, minutes=1))
    ApiIdempotencyKey.objects.filter(key="new").update(created_at=timezone.now() - timedelta(days=6, hours=23))

    purged = idempotency_keys_purge(batch_size=1)
    late_retry = api.post("/api/v1/tickets/", ticket_body(order), format="json", HTTP_IDEMPOTENCY_KEY="old")

    assert purged == 1
    assert list(ApiIdempotencyKey.objects.order_by("key").values_list("key", flat=True)) == ["new", "old"]
    assert "Idempotent-Replayed" not in late_retry.headers
    assert AfterSalesTicket.objects.count() == 3


# --- paid amounts of orders with after-sales --------------------------------------------------------------------------


def refunded_api_order(api, shop, caller):
    """T1001 at ¥259 pushed by `caller`, with a path-1 refund of ¥50 made by the shop's automatic rule."""
    authorised(api, caller)
    assert api.post("/api/v1/orders/", order_body(), format="json").status_code == 201
    order = Order.objects.get(shop=shop, platform_order_id="T1001")
    open_ticket(order, requested_amount="50.00")
    order.refresh_from_db()
    assert order.refunded_amount == Decimal("50.00")
    return order


def test_a_push_that_raises_a_refunded_orders_paid_amount_is_held_for_a_supervisor_and_answers_202(api, shop):
    erp = make_staff("erp", role="Supervisor", shops=[shop])
    lead = make_staff("lead", role="Supervisor", shops=[shop])
    order = refunded_api_order(api, shop, erp)

    response = api.post(
        "/api/v1/orders/",
        order_body(paid_amount="100000.00", buyer_nick="tb_小雨2"),
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 202
    body = response.json()
    assert (body["paid_amount"], body["buyer_nick"], body["result"]) == ("259.00", "tb_小雨2", "updated")
    held = body["paid_amount_correction"]
    assert (held["status"], held["current_paid_amount"], held["requested_paid_amount"]) == (
        "pending",
        "259.00",
        "100000.00",
    )
    assert "until a supervisor confirms" in held["message"]
    order.refresh_from_db()
    assert order.paid_amount == Decimal("259.00")
    correction = OrderCorrection.objects.get(pk=held["id"])
    assert (correction.source, correction.requested_by, correction.status) == ("api", erp, "pending")
    with pytest.raises(ActionRefused):
        order_correction_decide(correction=correction, by=erp, confirm=True)

    order_correction_decide(correction=correction, by=lead, confirm=True)
    order.refresh_from_db()
    assert order.paid_amount == Decimal("100000.00")


def test_a_push_below_what_was_refunded_is_a_400_in_the_error_shape_and_writes_nothing(api, shop):
    order = refunded_api_order(api, shop, make_staff("erp", role="Supervisor", shops=[shop]))
    body = order_body(paid_amount="40.00", buyer_nick="changed")
    body["lines"] = [{"sku": "A1", "item_name": "羊毛围巾", "quantity": 1, "paid_amount": "40.00"}]

    response = api.post("/api/v1/orders/", body, format="json", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    assert response.json()["code"] == "below_refunded"
    assert "50.00 already refunded" in response.json()["message"]
    order.refresh_from_db()
    assert (order.paid_amount, order.buyer_nick) == (Decimal("259.00"), "tb_小雨")
    assert not OrderCorrection.objects.exists()


def test_an_order_without_after_sales_is_still_updated_by_a_push_with_a_higher_paid_amount(api, shop):
    authorised(api, make_staff("erp", role="Supervisor", shops=[shop]))
    api.post("/api/v1/orders/", order_body(), format="json")

    response = api.post("/api/v1/orders/", order_body(paid_amount="300.00"), format="json")

    assert (response.status_code, response.json()["paid_amount_correction"]) == (200, None)
    assert Order.objects.get(platform_order_id="T1001").paid_amount == Decimal("300.00")
