"""Each role logs in through the real login page in headless Chromium and sees its own menu, in Chinese."""

import pytest

from aftersales import roles
from tests.browser.conftest import SCREENSHOTS
from tests.factories import OrderFactory, ShopFactory, make_staff

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.usefixtures("reference_data")]

PASSWORD = "浏览器-Test-2026"
_DESK = {
    "aftersales-aftersalesticket",
    "aftersales-approvalrequest",
    "aftersales-refund",
    "aftersales-refundbatch",
    "aftersales-cutoffrequest",
    "aftersales-complaint",  # 投诉: the roles that work tickets record them
    "aftersales-replytemplate",  # 快捷短语: agents read them, supervisors and managers keep them
}
_CONFIG = {"aftersales-returnreason", "aftersales-refundauthority"}
# Corrections waiting for a second supervisor, and the trail of authority grants: supervisors and managers.
_TRAILS = {"aftersales-ordercorrection", "aftersales-authoritygrantevent"}
# Return parcels, inspections and early exchanges for everyone; the early-exchange rule for all but the warehouse.
_RETURNS = {"warehouse-returnparcel", "warehouse-inspection", "warehouse-earlyexchange"}
_PARCELS = {"logistics-courier", "logistics-shipment", "logistics-interceptrequest"}
_CLAIMS = {"logistics-courierclaim", "logistics-lostparcelpolicy"}
# 体验分规则: supervisors read the scorecards, managers edit them.
_SCORECARDS = {"metrics-scorecard", "metrics-scorecardmetric", "metrics-shopscorecard"}
MENUS = {
    roles.AGENT: {
        "aftersales-shop",
        "aftersales-order",
        *_PARCELS,
        *_CLAIMS,
        *_DESK,
        *_CONFIG,
        *_RETURNS,
        "warehouse-earlyexchangerule",
    },
    roles.SUPERVISOR: {
        "aftersales-shop",
        "aftersales-order",
        *_PARCELS,
        *_CLAIMS,
        "logistics-robotmessage",
        "logistics-courieragreement",
        *_DESK,
        *_CONFIG,
        *_TRAILS,
        "aftersales-escalationword",
        "aftersales-sweeprun",
        *_SCORECARDS,
        *_RETURNS,
        "warehouse-earlyexchangerule",
    },
    roles.WAREHOUSE: {
        "aftersales-order",
        *_PARCELS,
        "aftersales-aftersalesticket",
        "aftersales-cutoffrequest",
        *_RETURNS,
    },
    roles.MANAGER: {
        "aftersales-platform",
        "aftersales-shop",
        "aftersales-order",
        *_PARCELS,
        *_CLAIMS,
        "logistics-trackingaccount",
        "logistics-robotmessage",
        "logistics-courieragreement",
        # The marketplaces' connections, the records they brought and what the desk sent back (issue 19).
        "marketplaces-shopconnection",
        "marketplaces-platformrecord",
        "marketplaces-outboundaction",
        *_DESK,
        *_CONFIG,
        *_TRAILS,
        "aftersales-escalationword",
        "aftersales-sweeprun",
        *_SCORECARDS,
        "django_celery_beat-periodictask",
        "django_celery_beat-crontabschedule",
        "django_celery_beat-intervalschedule",
        "config-apitoken",  # managers revoke tokens
        *_RETURNS,
        "warehouse-earlyexchangerule",
    },
}
CAN_IMPORT = {roles.SUPERVISOR, roles.MANAGER}


def log_in(page, live_server, username):
    """Logs in through the real login page; the user lands on their role's start page (config.start_pages)."""
    page.goto(f"{live_server.url}/admin/login/")
    assert "登录" in page.content()
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.press("#id_password", "Enter")
    page.wait_for_selector("#content-main")


START_PAGES = {
    roles.AGENT: "/admin/aftersales/aftersalesticket/",
    roles.SUPERVISOR: "/admin/aftersales/approvalrequest/",
    roles.WAREHOUSE: "/warehouse/",
    roles.MANAGER: "/metrics/",
}


@pytest.mark.parametrize("role", roles.ROLES)
def test_each_role_lands_on_its_own_start_page_and_reaches_every_menu(laptop_page, live_server, role):
    page = laptop_page
    make_staff(role.lower(), role=role, shops=[ShopFactory(name="山野户外天猫旗舰店")], password=PASSWORD)

    log_in(page, live_server, role.lower())

    assert page.url == f"{live_server.url}{START_PAGES[role]}"
    page.screenshot(path=str(SCREENSHOTS / f"start-page-{role.lower()}.png"), full_page=True)
    page.goto(f"{live_server.url}/admin/")  # the admin's home, e.g. the 首页 breadcrumb, is the start page too
    assert page.url == f"{live_server.url}{START_PAGES[role]}"
    page.goto(f"{live_server.url}/admin/?menu=1")
    assert page.locator("#content-main th[scope=row][id]").count() > 0


@pytest.mark.parametrize("role", roles.ROLES)
def test_each_role_logs_in_and_sees_its_own_menu_in_chinese(page, live_server, role):
    shop = ShopFactory(name="山野户外天猫旗舰店")
    OrderFactory(shop=shop, platform_order_id="4100000000000000777")
    OrderFactory(shop=ShopFactory(name="别家店铺"), platform_order_id="6900000000000000888")
    make_staff(role.lower(), role=role, shops=[shop], password=PASSWORD)

    log_in(page, live_server, role.lower())
    page.goto(f"{live_server.url}/admin/?menu=1")  # every menu, not the role's start page
    page.screenshot(path=str(SCREENSHOTS / f"admin-home-{role.lower()}.png"), full_page=True)

    menu = set(page.eval_on_selector_all("#content-main th[scope=row][id]", "cells => cells.map(c => c.id)"))
    assert menu == MENUS[role]
    assert page.locator("#site-name").inner_text() == "售后工作台"
    assert page.locator("#content-main").get_by_text("订单").count() >= 1

    page.click("#aftersales-order a")
    page.wait_for_selector("#result_list")
    assert page.locator("#result_list").get_by_text("4100000000000000777").count() == 1
    assert "6900000000000000888" not in page.content()
    assert (page.locator("a", has_text="导入订单").count() == 1) == (role in CAN_IMPORT)
    page.screenshot(path=str(SCREENSHOTS / f"orders-{role.lower()}.png"), full_page=True)


def test_switching_to_english_changes_the_menu_language(page, live_server):
    make_staff("manager", role=roles.MANAGER, shops=[ShopFactory()], password=PASSWORD)
    log_in(page, live_server, "manager")
    page.goto(f"{live_server.url}/admin/?menu=1")

    page.select_option("#language-select", "en")
    page.wait_for_selector("text=After-sales Desk")

    assert page.locator("#aftersales-order a").inner_text() == "Orders"
    page.screenshot(path=str(SCREENSHOTS / "admin-home-manager-en.png"), full_page=True)
