"""The agent's workbench at the most common laptop size (1440 × 900), in headless Chromium, in Chinese: the queue
fits without scrolling sideways and says what is urgent, the search finds the buyer by what they quote, the ticket
page shows the buyer, the order and the parcel's scans, and an agent takes a ticket and reads a decline."""

import shutil
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from aftersales.models import AfterSalesTicket, ApprovalRequest, TicketEvent
from aftersales.services import approval_decide, ticket_request_approval
from logistics.models import TrackingEvent
from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_role_menus import PASSWORD, log_in
from tests.factories import OrderLineFactory, ShopFactory, delivered_order, grant_authority, make_staff, open_ticket
from tests.logistics.parcels import parcel

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.usefixtures("reference_data")]

DOCS = SCREENSHOTS.parents[1] / "docs"
QUEUE = "/admin/aftersales/aftersalesticket/"
OVERDUE_RED = "rgb(220, 38, 38)"


@pytest.fixture
def laptop(browser):
    context = browser.new_context(locale="en-US", viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def desk():
    """A shop with an agent, a second agent, a supervisor and a morning's queue: one ticket past the platform's
    deadline, one with a complaint risk, one the other agent holds, and a parcel with its courier scans."""
    shop = ShopFactory(name="山野户外天猫旗舰店")
    agent = make_staff("agent", role="Agent", shops=[shop], password=PASSWORD)
    other = make_staff("agent2", role="Agent", shops=[shop], password=PASSWORD)
    lead = make_staff("lead", role="Supervisor", shops=[shop], password=PASSWORD)
    grant_authority(agent, shop, "50.00")
    grant_authority(lead, shop, "2000.00")
    now = timezone.now()

    shipment = parcel(shop=shop, quiet_for=timedelta(hours=30))
    order = shipment.order
    order.buyer_nick, order.receiver_name, order.receiver_phone = "小鹿爱跑步", "林小鹿", "13812345678"
    order.province, order.city, order.district = "四川省", "成都市", "武侯区"
    order.save()
    OrderLineFactory(order=order, sku="TS-BLUE-L", item_name="速干T恤 蓝色 L", paid_amount=Decimal("199.00"))
    for hours, status, location, text in [
        (29, "collected", "杭州市", "快件已揽收"),
        (20, "in_transit", "武汉转运中心", "快件已到达武汉转运中心"),
        (6, "delivering", "成都市武侯区", "快件正在派送中"),
    ]:
        TrackingEvent.objects.create(
            shipment=shipment,
            courier_code=shipment.courier.code,
            tracking_number=shipment.tracking_number,
            scanned_at=now - timedelta(hours=hours),
            status=status,
            location=location,
            text=text,
            source="kuaidi100",
        )
    late = open_ticket(order, buyer_message="还没收到，怎么回事")
    AfterSalesTicket.objects.filter(pk=late.pk).update(deadline=now - timedelta(hours=2, minutes=5))

    angry = open_ticket(
        delivered_order(shop=shop, platform_order_id="4100000000000000102", buyer_nick="周末爬山的猫"),
        reason_code="quality_defect",
        buyer_message="质量太差，不处理就给差评",
    )
    calm = open_ticket(delivered_order(shop=shop, buyer_nick="阿杰"), buyer_message="扣子掉了")
    held = open_ticket(delivered_order(shop=shop, buyer_nick="别人的买家"))
    AfterSalesTicket.objects.filter(pk=held.pk).update(assignee=other)
    return {"shop": shop, "agent": agent, "lead": lead, "late": late, "angry": angry, "calm": calm, "held": held}


def _fits(page) -> dict:
    return page.evaluate(
        """() => {
            const doc = document.scrollingElement;
            const results = document.querySelector('#changelist .results');
            const table = document.querySelector('#result_list');
            return {docScroll: doc.scrollWidth, docClient: doc.clientWidth,
                    resultsScroll: results.scrollWidth, resultsClient: results.clientWidth,
                    tableRight: table.getBoundingClientRect().right, viewport: window.innerWidth};
        }"""
    )


def test_the_queue_fits_a_1440_laptop_in_chinese_and_says_what_is_urgent(laptop, live_server, desk):
    log_in(laptop, live_server, "agent")
    laptop.goto(f"{live_server.url}{QUEUE}")
    laptop.wait_for_selector("#result_list")

    sizes = _fits(laptop)
    assert sizes["docScroll"] <= sizes["docClient"], sizes
    assert sizes["resultsScroll"] <= sizes["resultsClient"], sizes
    assert sizes["tableRight"] <= sizes["viewport"], sizes
    headings = laptop.locator("#result_list thead").inner_text()
    for label in ["售后单", "路径", "状态", "买家", "金额", "剩余时间", "提醒", "处理人"]:
        assert label in headings
    # Escalations first, then the nearest deadline; the ticket another agent holds is not in this view.
    rows = laptop.locator("#result_list tbody tr")
    assert rows.count() == 3
    assert "4100000000000000102" in rows.nth(0).inner_text()
    assert "投诉风险" in rows.nth(0).inner_text()
    overdue = rows.nth(1).locator(".desk-clock")
    assert overdue.inner_text().startswith("已超时 2时")
    assert overdue.evaluate("node => getComputedStyle(node).backgroundColor") == OVERDUE_RED
    assert overdue.bounding_box()["x"] + overdue.bounding_box()["width"] <= 1440
    risk = rows.nth(0).locator(".desk-flag-risk")
    assert risk.bounding_box()["x"] + risk.bounding_box()["width"] <= 1440
    laptop.screenshot(path=str(SCREENSHOTS / "ticket-queue-1440-zh.png"))
    shutil.copy(SCREENSHOTS / "ticket-queue-1440-zh.png", DOCS / "ticket-queue-zh.png")

    laptop.click("#changelist-filter a[href*='owner=all']")  # the assignee filter's "all": one click
    laptop.wait_for_selector("#result_list")
    assert laptop.locator("#result_list tbody tr").count() == 4


@pytest.mark.parametrize(
    ("quoted", "why"),
    [
        ("5678", "the receiver phone's last four digits"),
        ("13812345678", "the whole phone"),
        ("小鹿爱跑步", "the buyer's nick"),
        ("爱跑步", "a part of the nick"),
    ],
)
def test_the_search_box_finds_the_buyer_by_what_they_quote(laptop, live_server, desk, quoted, why):
    log_in(laptop, live_server, "agent")
    laptop.goto(f"{live_server.url}{QUEUE}")
    laptop.fill("#searchbar", quoted)
    laptop.press("#searchbar", "Enter")
    laptop.wait_for_selector("#result_list")

    rows = laptop.locator("#result_list tbody tr")
    assert rows.count() == 1, why
    assert f"#{desk['late'].pk}" in rows.first.inner_text()


def test_the_search_finds_the_order_by_its_tail_and_the_outbound_waybill(laptop, live_server, desk):
    log_in(laptop, live_server, "agent")
    order = desk["late"].order
    for quoted in [order.platform_order_id[-6:], order.tracking_number.lower()]:
        laptop.goto(f"{live_server.url}{QUEUE}?q={quoted}")
        rows = laptop.locator("#result_list tbody tr")
        assert rows.count() == 1, quoted
        assert f"#{desk['late'].pk}" in rows.first.inner_text()


def test_the_ticket_page_says_the_deadline_passed_and_shows_buyer_order_and_scans(laptop, live_server, desk):
    late = desk["late"]
    log_in(laptop, live_server, "agent")
    laptop.goto(f"{live_server.url}{QUEUE}{late.pk}/change/")

    passed = laptop.locator("#passed-deadline")
    assert "平台处理期限已过" in passed.inner_text()
    clock = laptop.locator("#ticket-clocks .desk-clock-overdue")
    assert clock.evaluate("node => getComputedStyle(node).backgroundColor") == OVERDUE_RED
    assert laptop.locator("#buyer-nick").inner_text() == "小鹿爱跑步"
    assert "13812345678" in laptop.locator("#receiver").inner_text()
    assert laptop.locator("#receiver-region").inner_text() == "四川省 成都市 武侯区"
    assert "速干T恤 蓝色 L" in laptop.locator("#order-lines").inner_text()
    scans = laptop.locator(".desk-scans tbody tr")
    assert scans.count() == 3
    assert "快件正在派送中" in scans.first.inner_text()  # newest first
    assert laptop.evaluate("document.scrollingElement.scrollWidth <= document.scrollingElement.clientWidth")
    laptop.screenshot(path=str(SCREENSHOTS / "ticket-page-1440-zh.png"), full_page=True)
    shutil.copy(SCREENSHOTS / "ticket-page-1440-zh.png", DOCS / "ticket-page-zh.png")


def test_an_agent_takes_a_ticket_and_a_supervisor_gives_one_to_another(laptop, live_server, desk):
    calm = desk["calm"]
    log_in(laptop, live_server, "agent")
    laptop.goto(f"{live_server.url}{QUEUE}{calm.pk}/change/")
    laptop.click("#take-ticket button")
    laptop.wait_for_selector(".messagelist")
    assert "您已接单" in laptop.locator(".messagelist").inner_text()
    calm.refresh_from_db()
    assert calm.assignee == desk["agent"]
    assert TicketEvent.objects.filter(ticket=calm, action="taken", actor=desk["agent"]).exists()

    laptop.context.clear_cookies()
    log_in(laptop, live_server, "lead")
    laptop.goto(f"{live_server.url}{QUEUE}{calm.pk}/change/")
    laptop.select_option("#assign-ticket select[name=assignee]", label="agent2")
    laptop.click("#assign-ticket button")
    laptop.wait_for_selector(".messagelist")
    calm.refresh_from_db()
    assert calm.assignee.username == "agent2"
    assert TicketEvent.objects.filter(ticket=calm, action="assigned", actor=desk["lead"]).exists()
    laptop.screenshot(path=str(SCREENSHOTS / "ticket-assigned-1440-zh.png"), full_page=True)


def test_an_agent_sees_a_declined_request_at_the_top_of_the_queue_and_marks_it_read(laptop, live_server, desk):
    angry = desk["angry"]
    approval = ticket_request_approval(ticket=angry, by=desk["agent"], amount="150", reason="质量问题，想全额补偿")
    approval_decide(approval=approval, by=desk["lead"], approve=False, note="先补偿50元试试")

    log_in(laptop, live_server, "agent")
    laptop.goto(f"{live_server.url}{QUEUE}")
    banner = laptop.locator("#declined-requests")
    assert "先补偿50元试试" in banner.inner_text()
    assert banner.bounding_box()["y"] < laptop.locator("#result_list").bounding_box()["y"]
    laptop.screenshot(path=str(SCREENSHOTS / "ticket-queue-declined-1440-zh.png"))
    banner.locator("button").click()
    laptop.wait_for_selector("#result_list")

    assert laptop.locator("#declined-requests").count() == 0
    approval = ApprovalRequest.objects.get(pk=approval.pk)
    assert approval.acknowledged_at is not None
    assert TicketEvent.objects.filter(ticket=angry, action="decline_read", actor=desk["agent"]).exists()
