"""An agent asks the courier to intercept a parcel from the ticket page; the intercept queue shows a late answer in
red; a warehouse clerk, never the agent who asked, records the courier's answer there. In headless Chromium, in
Chinese."""

from datetime import timedelta

import pytest
from django.utils import timezone

from aftersales.models import TicketState
from logistics.models import InterceptRequest
from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_role_menus import PASSWORD, log_in
from tests.factories import ShopFactory, make_staff, open_ticket
from tests.logistics.parcels import parcel

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.usefixtures("reference_data")]


def test_an_agent_requests_an_intercept_and_a_clerk_records_the_couriers_answer(page, live_server):
    shop = ShopFactory(name="山野户外天猫旗舰店")
    make_staff("agent", role="Agent", shops=[shop], password=PASSWORD)
    make_staff("clerk", role="Warehouse", shops=[shop], password=PASSWORD)
    waiting = open_ticket(parcel(shop=shop, quiet_for=timedelta(hours=20)).order, buyer_message="不想要了，还没收到")
    late = open_ticket(parcel(shop=shop, quiet_for=timedelta(hours=30)).order)

    log_in(page, live_server, "agent")
    page.goto(f"{live_server.url}/admin/aftersales/aftersalesticket/{late.pk}/change/")
    page.click("#action-request_intercept button")
    page.wait_for_selector(".messagelist")
    assert "已向" in page.locator(".messagelist").inner_text()
    # The courier has not answered this one for three hours.
    InterceptRequest.objects.filter(ticket=late).update(due_at=timezone.now() - timedelta(hours=1))

    page.goto(f"{live_server.url}/admin/aftersales/aftersalesticket/{waiting.pk}/change/")
    page.click("#action-request_intercept button")
    page.wait_for_selector(".messagelist")

    page.goto(f"{live_server.url}/admin/logistics/interceptrequest/")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 2
    assert "已超时" in rows.first.inner_text()  # by due time: the late one first, marked
    assert page.locator(".desk-overdue").evaluate("e => getComputedStyle(e).color") == "rgb(186, 33, 33)"
    page.screenshot(path=str(SCREENSHOTS / "intercept-queue-agent.png"), full_page=True)
    # The agent cannot answer for the courier: the queue offers them no answer.
    assert page.locator("select[name=action] option[value=courier_confirmed]").count() == 0

    page.context.clear_cookies()
    log_in(page, live_server, "clerk")
    page.goto(f"{live_server.url}/admin/logistics/interceptrequest/")
    page.locator("#result_list tbody tr").nth(1).locator("input.action-select").check()
    page.select_option("select[name=action]", "courier_confirmed")
    page.click("button[name=index]")
    page.wait_for_selector(".messagelist")

    waiting.refresh_from_db()
    late.refresh_from_db()
    assert waiting.state == TicketState.REFUNDING
    assert late.state == TicketState.INTERCEPTING
