"""A manager opens the staffing forecast (人员配备) in headless Chromium, finds it filled in from the shop's last
30 days, types the domain's worked example over it, presses Enter and reads 8 agents at an address that can be
shared."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from aftersales import roles
from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_role_menus import PASSWORD, log_in
from tests.factories import OrderFactory, ShopFactory, make_staff

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.usefixtures("reference_data")]


def test_a_manager_types_the_worked_example_and_reads_8_agents(page, live_server):
    shop = ShopFactory(name="山野户外天猫旗舰店")
    for days_ago, amount in ((1, "120.00"), (3, "380.00")):
        OrderFactory(shop=shop, paid_amount=Decimal(amount), paid_at=timezone.now() - timedelta(days=days_ago))
    make_staff("manager", role=roles.MANAGER, shops=[shop], password=PASSWORD)
    log_in(page, live_server, "manager")

    page.goto(f"{live_server.url}/metrics/staffing/")

    # Two orders, ¥500 in the last 30 days: the form starts from them and the default capacity and days.
    assert page.input_value("#id_gmv") == "500.00"
    assert page.input_value("#id_average_order_value") == "250.00"
    assert (page.input_value("#id_daily_capacity"), page.input_value("#id_days")) == ("100", "7")
    assert page.locator("#site-name").inner_text() == "售后工作台"
    assert page.locator("#staffing-result").count() == 0

    page.fill("#id_gmv", "20,000,000")
    page.fill("#id_refund_rate", "5")
    page.fill("#id_average_order_value", "250")
    page.fill("#id_daily_capacity", "100")
    page.fill("#id_days", "7")
    page.press("#id_days", "Enter")
    page.wait_for_selector("#staffing-result")

    assert page.locator("#staffing-refunds").inner_text() == "4000"
    assert page.locator("#staffing-other").inner_text() == "1600"
    assert page.locator("#staffing-total").inner_text() == "5600"
    assert page.locator("#staffing-agents").inner_text() == "8"
    page.screenshot(path=str(SCREENSHOTS / "staffing-manager.png"), full_page=True)

    # Enter calculated (it did not refill from history), and the address alone gives the same answer.
    assert "gmv=20%2C000%2C000" in page.url
    assert "fill=" not in page.url
    shared = page.context.new_page()
    shared.goto(page.url)
    assert shared.locator("#staffing-agents").inner_text() == "8"
    shared.close()
