"""A manager opens the platform connections in headless Chromium: a healthy shop, one whose token expires soon and
one the platform refused (with its message) are told apart; the secrets are never shown back; a new secret typed in
is stored encrypted and the connection is connected again."""

from datetime import timedelta

import pytest
from django.utils import timezone

from aftersales import roles
from aftersales.models import Platform
from marketplaces import crypto
from marketplaces.models import ShopConnection
from marketplaces.services import connection_connect, connection_mark_broken
from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_role_menus import PASSWORD, log_in
from tests.factories import ShopFactory, make_staff

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.usefixtures("reference_data")]


def connect(name: str, *, expires_in_days: int) -> ShopConnection:
    shop = ShopFactory(name=name, platform=Platform.objects.get(code="taobao"), platform_shop_id=name)
    return connection_connect(
        shop=shop,
        gateway_url="http://127.0.0.1:8765/taobao/router/rest",
        app_key="12345678",
        app_secret="top-secret-app-secret",
        access_token="top-secret-session",
        token_expires_at=timezone.now() + timedelta(days=expires_in_days),
    )


def test_a_manager_reads_each_connections_state_and_replaces_a_refused_token(page, live_server):
    connect("山野户外淘宝店", expires_in_days=60)
    connect("山野童装淘宝店", expires_in_days=1)
    broken = connect("山野鞋服淘宝店", expires_in_days=60)
    connection_mark_broken(connection_id=broken.pk, message="Invalid session: SessionKey非法或过期")
    make_staff("manager", role=roles.MANAGER, password=PASSWORD)
    log_in(page, live_server, "manager")

    page.goto(f"{live_server.url}/admin/marketplaces/shopconnection/")

    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 3
    states = {row.locator("th").inner_text(): row.locator(".field-health_badge").inner_text() for row in rows.all()}
    assert states == {"山野户外淘宝店": "已连接", "山野童装淘宝店": "令牌即将过期", "山野鞋服淘宝店": "已断开"}
    assert "SessionKey非法或过期" in page.locator("#result_list").inner_text()
    assert "top-secret" not in page.content()
    page.screenshot(path=str(SCREENSHOTS / "marketplace-connections.png"), full_page=True)

    page.click("text=山野鞋服淘宝店")
    assert page.input_value("#id_access_token") == ""  # write-only: never rendered back
    assert page.input_value("#id_app_secret") == ""
    assert "top-secret" not in page.content()
    page.fill("#id_access_token", "a-new-session-token")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist")

    broken.refresh_from_db()
    assert broken.state == ShopConnection.State.CONNECTED
    assert broken.broken_message == ""
    assert crypto.decrypt(broken.access_token_encrypted) == "a-new-session-token"
    assert "a-new-session-token" not in broken.access_token_encrypted
    assert crypto.decrypt(broken.app_secret_encrypted) == "top-secret-app-secret"  # an empty field kept it
