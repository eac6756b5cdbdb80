"""The receiving station's keys at a 1440 × 900 laptop: 1–5 choose the inspection result while the scan field has the
focus, a scanner's burst that starts with 1–5 still goes into the field, and Esc comes back from anywhere."""

import pytest

from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_receiving_station import focused, return_on_its_way
from tests.browser.test_role_menus import PASSWORD, log_in
from tests.factories import ShopFactory, make_staff

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.usefixtures("reference_data")]

CHECKED = "(document.querySelector('input.inspection-result:checked')?.value ?? null)"


def test_keys_1_to_5_choose_the_result_from_the_scan_field_and_a_scan_still_goes_in(laptop_page, live_server):
    page = laptop_page
    shop = ShopFactory(name="山野户外天猫旗舰店")
    make_staff("clerk", role="Warehouse", shops=[shop], password=PASSWORD)
    return_on_its_way(shop, "ZT75310002")
    return_on_its_way(shop, "3100000000009")  # a number that starts with a shortcut key

    log_in(page, live_server, "clerk")
    assert page.url == f"{live_server.url}/warehouse/"  # the clerk's start page
    page.keyboard.type("ZT75310002")
    page.keyboard.press("Enter")
    page.wait_for_selector("#inspection-form")
    assert focused(page) == "scan"
    results = page.eval_on_selector_all("input.inspection-result", "inputs => inputs.map(i => i.value)")
    assert page.evaluate(CHECKED) == results[0]  # the form starts on 正常

    page.keyboard.press("2")  # a person presses one key: a shortcut, though the scan field has the focus
    page.wait_for_function(f"{CHECKED} === '{results[1]}'")
    assert focused(page) == "scan"
    assert page.input_value("#scan") in ("", "ZT75310002")  # nothing typed into the number
    page.screenshot(path=str(SCREENSHOTS / "receiving-station-key-2.png"), full_page=True)

    page.locator("textarea[name=notes]").click()
    page.keyboard.type("少1件")  # the notes take digits as text
    assert page.input_value("textarea[name=notes]") == "少1件"
    assert page.evaluate(CHECKED) == results[1]
    page.keyboard.press("Escape")
    assert focused(page) == "scan"

    page.locator("#inspection-submit").focus()
    page.keyboard.press("4")  # from a button, too
    assert page.evaluate(CHECKED) == results[3]

    page.keyboard.press("Escape")
    page.fill("#scan", "")
    page.keyboard.type("3100000000009")  # the scanner's burst: every key goes in, the 3 included
    assert page.input_value("#scan") == "3100000000009"
    page.wait_for_timeout(300)  # longer than a held key waits
    assert page.evaluate(CHECKED) == results[3]  # the burst's 3 chose nothing
    page.keyboard.press("Enter")
    page.wait_for_selector(".messagelist")
    assert "3100000000009" in page.locator("#parcel-summary").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "receiving-station-scan-after-keys.png"), full_page=True)
