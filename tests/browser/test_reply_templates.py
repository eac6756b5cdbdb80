"""An agent at a 1440 × 900 laptop copies a reply template (快捷短语), filled in for the ticket, with one click."""

import pytest

from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_role_menus import PASSWORD, log_in
from tests.factories import ShopFactory, delivered_order, make_staff, open_ticket

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.usefixtures("reference_data")]


def test_an_agent_copies_the_filled_in_guide_for_a_mistaken_refund_only(laptop_page, live_server):
    page = laptop_page
    shop = ShopFactory(name="山野户外天猫旗舰店")
    make_staff("agent", role="Agent", shops=[shop], password=PASSWORD)
    ticket = open_ticket(
        delivered_order(shop=shop, buyer_nick="tb_小林", platform_order_id="4100000000000000301"),
        requested_amount="159.00",
        buyer_message="衣服不合适，我要退款",
    )

    log_in(page, live_server, "agent")
    page.goto(f"{live_server.url}/admin/aftersales/aftersalesticket/{ticket.pk}/change/")
    panel = page.locator("#reply-templates")
    panel.scroll_into_view_if_needed()
    reply = panel.locator(".desk-reply", has_text="误选仅退款：引导改为退货退款")
    text = reply.locator("textarea").input_value()
    assert text.startswith("tb_小林，您好！看到您申请的是「仅退款」")
    assert "退款¥159.00" in text
    assert "{" not in text
    assert panel.get_by_text("拦截承诺：已联系快递拦截").count() == 0  # a path-2 template

    reply.locator("button.desk-copy").click()
    page.wait_for_function("document.querySelector('#reply-templates .desk-copy-status').textContent !== ''")
    assert page.evaluate("navigator.clipboard.readText()") == text
    assert reply.locator(".desk-copy-status").inner_text() == "已复制，请粘贴到聊天窗口。"
    page.screenshot(path=str(SCREENSHOTS / "ticket-reply-templates-agent.png"), full_page=True)

    # The agent adds a line of their own before copying: the edited text is what goes to the buyer.
    reply.locator("textarea").fill(text + "（客服小美）")
    reply.locator("button.desk-copy").click()
    page.wait_for_function("navigator.clipboard.readText().then(t => t.endsWith('（客服小美）'))")
