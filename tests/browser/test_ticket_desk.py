"""An agent works a ticket in headless Chromium and a supervisor approves what was above the agent's authority."""

from decimal import Decimal

import pytest

from aftersales.models import ApprovalRequest, Refund, TicketState
from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_role_menus import PASSWORD, log_in
from tests.factories import ShopFactory, delivered_order, grant_authority, make_staff, open_ticket

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.usefixtures("reference_data")]


def test_an_agent_compensates_above_authority_and_a_supervisor_approves(page, live_server):
    shop = ShopFactory(name="山野户外天猫旗舰店")
    agent = make_staff("agent", role="Agent", shops=[shop], password=PASSWORD)
    supervisor = make_staff("lead", role="Supervisor", shops=[shop], password=PASSWORD)
    grant_authority(agent, shop, "50.00")
    grant_authority(supervisor, shop, "2000.00")
    calm = open_ticket(delivered_order(shop=shop, platform_order_id="4100000000000000101"), buyer_message="扣子掉了")
    angry = open_ticket(
        delivered_order(shop=shop, platform_order_id="4100000000000000102"),
        reason_code="quality_defect",
        buyer_message="质量太差，不处理就给差评",
    )

    log_in(page, live_server, "agent")
    page.goto(f"{live_server.url}/admin/aftersales/aftersalesticket/")
    rows = page.locator("#result_list tbody tr")
    assert rows.first.inner_text().count("4100000000000000102") == 1  # the complaint risk comes first
    assert "投诉风险" in rows.first.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "ticket-queue-agent.png"), full_page=True)

    page.click(f"text=#{angry.pk}")
    page.wait_for_selector("#action-refund")
    assert page.locator("#remaining-authority").inner_text() == "¥50.00"
    page.fill("#action-refund input[name=amount]", "120")
    page.select_option("#action-refund select[name=kind]", "compensation")
    page.screenshot(path=str(SCREENSHOTS / "ticket-page-agent.png"), full_page=True)
    page.click("#action-refund button")
    page.wait_for_selector(".messagelist")
    assert "超出您的权限" in page.locator(".messagelist").inner_text()

    page.goto(f"{live_server.url}/admin/aftersales/aftersalesticket/{calm.pk}/change/")
    page.fill("#action-refund input[name=amount]", "20")
    page.select_option("#action-refund select[name=kind]", "compensation")
    page.click("#action-refund button")
    page.wait_for_selector(".messagelist")
    assert Refund.objects.get(ticket=calm).amount == Decimal("20.00")

    page.context.clear_cookies()
    log_in(page, live_server, "lead")
    page.goto(f"{live_server.url}/admin/aftersales/approvalrequest/")
    page.screenshot(path=str(SCREENSHOTS / "approval-queue-supervisor.png"), full_page=True)
    approval = ApprovalRequest.objects.get(ticket=angry)
    page.click(f"text=#{approval.pk}")
    page.click("#approval-decide button[value=approve]")
    page.wait_for_selector(".messagelist")

    approval.refresh_from_db()
    angry.refresh_from_db()
    assert (approval.status, approval.decided_by) == ("approved", supervisor)
    assert angry.state == TicketState.REFUNDING
    assert Refund.objects.get(ticket=angry).amount == Decimal("120.00")
