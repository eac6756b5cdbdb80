"""A manager opens the metrics dashboard (指标看板) in headless Chromium: Chinese labels, the KPI cards from the
rollups with their definitions, the chart drawn by the vendored Chart.js (no network), the per-path and agent tables,
and the shop filter."""

from datetime import timedelta

import pytest
from django.utils import timezone

from aftersales import roles
from metrics.definitions import CHINA
from metrics.rollups import rollups_refresh
from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_role_menus import PASSWORD, log_in
from tests.factories import ShopFactory, make_staff
from tests.metrics.test_definitions import order, ticket

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.usefixtures("reference_data")]


def test_a_manager_reads_the_dashboard_in_chinese_with_its_chart(page, live_server):
    shop = ShopFactory(name="山野户外天猫旗舰店")
    ShopFactory(name="别家店铺")
    manager = make_staff("manager", role=roles.MANAGER, shops=[shop], password=PASSWORD)
    agent = make_staff("lilei", role=roles.AGENT, shops=[shop])
    now = timezone.now()
    for days_ago in (2, 5, 9, 16, 23):
        opened = now - timedelta(days=days_ago)
        made = order(shop, paid=opened - timedelta(days=3), shipped=opened - timedelta(days=2))
        for extra in range(3):
            order(shop, paid=opened - timedelta(hours=extra + 1), buyer=f"b{days_ago}{extra}")
        ticket(
            shop,
            opened=opened,
            kind="return_refund",
            of=made,
            events=[("return_agreed", opened + timedelta(hours=days_ago % 5 + 1), agent)],
        )
    today = timezone.localtime(now, CHINA).date()
    rollups_refresh(shop_ids=[shop.pk], since=today - timedelta(days=61), until=today - timedelta(days=1))
    log_in(page, live_server, manager.username)

    page.goto(f"{live_server.url}/metrics/?days=30")
    page.wait_for_selector("#path-trend[data-drawn='true']")

    assert page.locator("h1").first.inner_text() == "指标看板"
    card = page.locator("[data-metric='return_refund_rate']")
    assert "退货退款率" in card.inner_text()
    assert card.locator(".kpi-value").inner_text() == "25.00%"  # 5 return tickets, 20 orders paid in the window
    card.locator("summary").click()
    assert "统计期间付款的订单数" in card.inner_text()
    assert page.locator("[data-metric='dispute_rate'] .kpi-value").inner_text() == "0.00%"  # none of 20 orders
    # Nothing was refunded, so there is no review time to measure.
    assert page.locator("[data-metric='merchant_review_time'] .kpi-value").inner_text() == "暂无数据"
    assert page.locator("#agent-table tbody tr").first.inner_text().startswith("lilei")
    assert page.locator("#path-table tbody tr").count() >= 3
    assert [o.inner_text() for o in page.locator("#kpi-shop option").all()] == ["我的全部店铺", "山野户外天猫旗舰店"]
    page.screenshot(path=str(SCREENSHOTS / "metrics-dashboard-manager.png"), full_page=True)

    page.select_option("#kpi-shop", label="山野户外天猫旗舰店")
    page.click(".kpi-filters button")
    page.wait_for_url(f"**/metrics/?shop={shop.pk}&days=30")
    assert page.locator("[data-metric='return_refund_rate'] .kpi-value").inner_text() == "25.00%"
