"""A warehouse clerk works the receiving station in headless Chromium with the keyboard: scans a return, inspects it
with a photo and the ticket is refunded; scans an unknown parcel and registers it for an agent; reads the cut-offs and
the daily clearance."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone
from PIL import Image

from aftersales.models import AfterSalesTicket, Refund, TicketKind, TicketState
from aftersales.selectors import system_user
from aftersales.services import ticket_agree_return, ticket_return_shipped
from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_role_menus import PASSWORD, log_in
from tests.factories import (
    OrderFactory,
    OrderLineFactory,
    ShopFactory,
    confirm_refund,
    delivered_order,
    make_staff,
    open_ticket,
)
from warehouse.models import Evidence, ReturnParcel
from warehouse.services import (
    early_exchange_rule_set,
    early_exchange_send,
    inspection_record,
    return_parcel_record_scan,
    return_receive_scan,
)

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.usefixtures("reference_data")]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def shop():
    return ShopFactory(name="山野户外天猫旗舰店")


@pytest.fixture
def clerk(shop):
    return make_staff("clerk", role="Warehouse", shops=[shop], password=PASSWORD)


def return_on_its_way(
    shop, tracking_number, *, kind=TicketKind.RETURN_REFUND, lines=(("速干T恤 白色 L", 1, "129.00"),)
):
    order = delivered_order(shop=shop, paid_amount=sum((Decimal(line[2]) for line in lines), Decimal(0)))
    for index, (name, quantity, amount) in enumerate(lines):
        OrderLineFactory(
            order=order, sku=f"SY-{index + 1:03d}", item_name=name, quantity=quantity, paid_amount=Decimal(amount)
        )
    ticket = open_ticket(order, kind=kind, buyer_message="尺码不合适")
    ticket_agree_return(ticket=ticket, by=system_user())
    ticket_return_shipped(ticket=ticket, by=system_user(), courier_code="ZTO", tracking_number=tracking_number)
    return ticket


def photo(path):
    Image.new("RGB", (320, 240), (180, 90, 40)).save(path, "JPEG")
    return path


def focused(page) -> str:
    return page.evaluate("document.activeElement && (document.activeElement.id || document.activeElement.name)")


def tab_until(page, predicate_js: str, limit: int = 40):
    """Press Tab until the focused element matches: proves the control is reachable from the keyboard."""
    for _press in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(element => {predicate_js})(document.activeElement)"):
            return
    raise AssertionError(f"Tab never reached {predicate_js}")


def test_a_clerk_scans_a_return_inspects_it_with_a_photo_and_the_ticket_is_refunded(
    page, live_server, shop, clerk, tmp_path
):
    ticket = return_on_its_way(
        shop, "ZT75310001", lines=(("速干T恤 白色 L", 2, "158.00"), ("户外速干短裤 黑色 M", 1, "89.00"))
    )
    log_in(page, live_server, "clerk")

    page.goto(f"{live_server.url}/warehouse/")
    assert page.locator("#warehouse-nav a").count() == 4  # station, cut-offs, clearance, back to the admin
    assert page.locator("#site-name").inner_text() == "售后工作台"
    assert focused(page) == "scan"
    page.keyboard.type("zt7531 0001")  # the scanner types as a keyboard does
    page.keyboard.press("Enter")
    page.wait_for_selector("#inspection-form")

    assert focused(page) == "scan"  # ready for the next parcel; the form is one Tab away
    expected = page.locator("#expected-lines").inner_text()
    assert "速干T恤 白色 L" in expected
    assert "SY-002" in expected
    assert ticket.order.platform_order_id in page.locator("#parcel-summary").inner_text()
    assert "ZT75310001" in page.locator(".messagelist").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "receiving-station-zh.png"), full_page=True)

    tab_until(page, "element.name === 'result'")
    page.keyboard.press("1")  # 1 = ok
    assert page.is_checked("input[name=result][value=ok]")
    tab_until(page, "element.name === 'notes'")
    page.keyboard.type("外包装完好，吊牌在")
    page.set_input_files("input[name=files]", str(photo(tmp_path / "unboxing.jpg")))
    page.screenshot(path=str(SCREENSHOTS / "inspection-zh.png"), full_page=True)
    tab_until(page, "element.id === 'inspection-submit'")
    page.keyboard.press("Enter")
    page.wait_for_selector(".messagelist .success")

    assert page.url == f"{live_server.url}/warehouse/"
    assert focused(page) == "scan"
    assert "ZT75310001" in page.locator(".messagelist").inner_text()
    page.keyboard.press("Escape")
    assert focused(page) == "scan"
    page.screenshot(path=str(SCREENSHOTS / "receiving-station-after-inspection-zh.png"), full_page=True)

    # No Celery worker runs beside the live server: the clean inspection leaves the ticket refunding with a pending
    # refund, which the test then sends the way the worker's task would and confirms through the shop's batch file
    # and its result (confirm_refund), and checks it is refunded.
    ticket.refresh_from_db()
    refund = Refund.objects.get(ticket=ticket)
    assert ticket.state == TicketState.REFUNDING
    assert (refund.status, refund.amount) == (Refund.Status.PENDING, Decimal("247.00"))
    evidence = Evidence.objects.get()
    assert (evidence.content_type, evidence.original_name) == ("image/jpeg", "unboxing.jpg")
    assert ReturnParcel.objects.get().inspection.notes == "外包装完好，吊牌在"

    confirm_refund(refund)

    ticket.refresh_from_db()
    assert ticket.state == TicketState.REFUNDED


def test_an_unknown_parcel_is_said_plainly_and_registered_for_an_agent(page, live_server, shop, clerk):
    log_in(page, live_server, "clerk")
    page.goto(f"{live_server.url}/warehouse/")

    page.keyboard.type("YT0000123456")
    page.keyboard.press("Enter")
    page.wait_for_selector("#unknown-parcel")

    assert "YT0000123456" in page.locator("#unknown-title").inner_text()
    assert page.locator("#register-unexpected select[name=shop]").input_value() == str(shop.pk)
    page.screenshot(path=str(SCREENSHOTS / "unknown-parcel-zh.png"), full_page=True)
    tab_until(page, "element.name === 'note'")
    page.keyboard.type("寄件人 张三 138****0000，内有一件冲锋衣")
    tab_until(page, "element.closest('#register-unexpected') && element.type === 'submit'")
    page.keyboard.press("Enter")
    page.wait_for_selector(".messagelist .success")

    parcel = ReturnParcel.objects.get()
    assert (parcel.tracking_number, parcel.shop, parcel.ticket, parcel.status) == (
        "YT0000123456",
        shop,
        None,
        "received",
    )
    assert focused(page) == "scan"
    assert "YT0000123456" in page.locator("#waiting-parcels").inner_text()


def test_the_clerk_reads_the_cutoffs_and_the_daily_clearance(page, live_server, shop, clerk):
    agent = make_staff("agent", role="Agent", shops=[shop])
    packed = OrderFactory(shop=shop, platform_order_id="4100000000000000555", packed_at=timezone.now())
    OrderLineFactory(order=packed, sku="SY-900", item_name="轻量冲锋衣 蓝色 XL", quantity=1)
    open_ticket(packed)
    with time_machine.travel(timezone.now() - timedelta(days=1)):
        return_on_its_way(shop, "ZT20000001")
        return_receive_scan(tracking_number="ZT20000001", by=clerk)
        return_on_its_way(shop, "ZT20000002")
        inspected = return_receive_scan(tracking_number="ZT20000002", by=clerk).parcel
        inspection_record(parcel=inspected, by=clerk, result="ok")
        early_exchange_rule_set(shop=shop, is_enabled=True, max_price=Decimal("300.00"))
        exchange = return_on_its_way(shop, "ZT20000003", kind=TicketKind.EXCHANGE)
        return_parcel_record_scan(ticket=exchange, by=agent)
        early_exchange_send(ticket=exchange, by=agent)
    log_in(page, live_server, "clerk")

    page.goto(f"{live_server.url}/warehouse/cutoffs/")
    assert "4100000000000000555" in page.locator("#cutoff-list").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "cutoffs-zh.png"), full_page=True)
    page.click("#cutoff-list button[value=held]")
    page.wait_for_selector(".messagelist .success")
    assert AfterSalesTicket.objects.get(order=packed).state == TicketState.REFUNDING

    page.goto(f"{live_server.url}/warehouse/clearance/")
    assert page.locator("#count-received-not-inspected").inner_text() == "1"
    assert page.locator("#count-inspected-not-refunded").inner_text() == "1"
    assert page.locator("#count-early-without-return").inner_text() == "1"
    assert "ZT20000003" in page.locator("#table-early-without-return").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "clearance-zh.png"), full_page=True)
