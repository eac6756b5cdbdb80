"""A supervisor at a 1440 × 900 laptop reads the approval queue and declines two requests at once with one note."""

import pytest

from aftersales.models import ApprovalRequest
from aftersales.services import ticket_request_approval
from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_role_menus import PASSWORD, log_in
from tests.factories import ShopFactory, delivered_order, grant_authority, make_staff, open_ticket

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.usefixtures("reference_data")]


def test_a_supervisor_declines_two_requests_at_once_with_one_note(laptop_page, live_server):
    page = laptop_page
    shop = ShopFactory(name="山野户外天猫旗舰店")
    agent = make_staff("agent", role="Agent", shops=[shop], password=PASSWORD)
    supervisor = make_staff("lead", role="Supervisor", shops=[shop], password=PASSWORD)
    grant_authority(supervisor, shop, "2000.00")
    approvals = [
        ticket_request_approval(
            ticket=open_ticket(delivered_order(shop=shop), buyer_message=message), by=agent, amount=amount
        )
        for message, amount in [("拉链坏了，要赔偿", "80.00"), ("颜色和图片不一样", "60.00")]
    ]
    own = ticket_request_approval(ticket=open_ticket(delivered_order(shop=shop)), by=supervisor, amount="30.00")

    log_in(page, live_server, "lead")
    page.goto(f"{live_server.url}/admin/aftersales/approvalrequest/")
    headers = page.locator("#result_list thead").inner_text()
    for column in ("路径", "买家留言", "订单金额 / 已退金额", "凭证", "剩余时间"):
        assert column in headers
    assert "拉链坏了，要赔偿" in page.locator("#result_list").inner_text()
    # Every column in view: the table is no wider than its pane (no sideways scrolling at 1440 px).
    page.screenshot(path=str(SCREENSHOTS / "approval-queue-bulk-supervisor.png"), full_page=True)
    table_fits = "(t => [t.scrollWidth, t.parentElement.clientWidth])(document.querySelector('#result_list'))"
    table_width, pane_width = page.evaluate(table_fits)
    assert table_width <= pane_width

    for approval in [*approvals, own]:
        page.check(f"#result_list input[name=_selected_action][value='{approval.pk}']")
    page.select_option("select[name=action]", "decline_selected")
    page.click("button[name=index]")
    page.wait_for_selector("#bulk-decide-form")
    assert page.locator("#bulk-decide-own").count() == 1  # the supervisor's own request is named, and kept
    page.fill("#bulk-decide-note", "请先按权限内补偿处理")
    page.screenshot(path=str(SCREENSHOTS / "approval-bulk-decline-confirm.png"), full_page=True)
    page.click("#bulk-decide-form input[type=submit]")
    page.wait_for_selector(".messagelist")

    messages = page.locator(".messagelist").inner_text()
    assert f"#{approvals[0].pk} 已驳回，退回客服" in messages
    assert f"#{approvals[1].pk} 已驳回，退回客服" in messages
    assert f"#{own.pk} 不能审批自己的申请" in messages
    statuses = dict(ApprovalRequest.objects.values_list("pk", "status"))
    assert statuses == {approvals[0].pk: "declined", approvals[1].pk: "declined", own.pk: "pending"}
    page.screenshot(path=str(SCREENSHOTS / "approval-bulk-decline-result.png"), full_page=True)
