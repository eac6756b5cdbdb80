"""Token refresh (issue 19, point 2): a token that expires within a day is renewed before it does, without stopping
the syncs; where the platform's refresh call is not verified (Taobao, Douyin in MARKETPLACES.md) nothing is guessed
and the connection shows "token expiring" with why, for a manager to authorise the shop again."""

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from marketplaces import crypto
from marketplaces import services as marketplace_services
from marketplaces.adapters.base import SessionInvalid, TokenGrant
from marketplaces.adapters.taobao import TaobaoAdapter
from marketplaces.models import ShopConnection
from marketplaces.services import connection_connect, connection_may_call, connections_refresh_tokens

pytestmark = pytest.mark.django_db


def expiring(connection, *, hours=10, refresh_token="refresh-1"):
    ShopConnection.objects.filter(pk=connection.pk).update(token_expires_at=timezone.now() + timedelta(hours=hours))
    if refresh_token:
        connection.refresh_from_db()
        connection.set_refresh_token(refresh_token)
        connection.save(update_fields=["refresh_token_encrypted"])
    connection.refresh_from_db()
    return connection


class RefreshingAdapter(TaobaoAdapter):
    """A platform whose refresh call is known: what the service does with a grant, independent of any platform."""

    def __init__(self, answer):
        super().__init__()
        self.answer = answer
        self.calls = []

    def refresh_access_token(self, credentials, refresh_token):
        self.calls.append((credentials.access_token, refresh_token))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer(credentials) if callable(self.answer) else self.answer


def use_adapter(monkeypatch, adapter):
    monkeypatch.setattr(marketplace_services, "get_adapter", lambda code: adapter)


def test_taobao_has_no_verified_refresh_so_the_connection_shows_token_expiring_and_keeps_syncing(connection):
    connection = expiring(connection)
    token_before = connection.access_token_encrypted

    with translation.override("en"):
        assert connections_refresh_tokens() == {connection.pk: "unavailable"}

    connection.refresh_from_db()
    assert connection.access_token_encrypted == token_before
    assert connection.health == "expiring"
    assert connection.state == ShopConnection.State.CONNECTED
    assert connection_may_call(connection)
    assert "authorise the shop again" in connection.token_refresh_message
    # Tried once an hour, not every minute.
    assert connections_refresh_tokens() == {}


def test_a_token_far_from_expiry_is_left_alone(connection):
    connection = expiring(connection, hours=72)
    assert connections_refresh_tokens() == {}


def test_a_refresh_stores_the_new_token_encrypted_and_the_old_one_served_until_then(connection, monkeypatch):
    connection = expiring(connection, refresh_token="refresh-1")
    new_expiry = timezone.now() + timedelta(days=30)
    adapter = RefreshingAdapter(TokenGrant(access_token="shop-token-2", expires_at=new_expiry, refresh_token="r-2"))
    use_adapter(monkeypatch, adapter)

    assert connections_refresh_tokens() == {connection.pk: "refreshed"}

    # The call went with the old token (still valid at the platform) and the stored refresh token.
    assert adapter.calls == [("shop-token-1", "refresh-1")]
    connection.refresh_from_db()
    assert "shop-token-2" not in connection.access_token_encrypted
    assert crypto.decrypt(connection.access_token_encrypted) == "shop-token-2"
    assert crypto.decrypt(connection.refresh_token_encrypted) == "r-2"
    assert connection.token_expires_at == new_expiry
    assert connection.token_refresh_message == ""
    assert connection.health == "connected"


def test_a_manager_reconnecting_during_the_refresh_keeps_the_managers_token(connection, monkeypatch):
    connection = expiring(connection)

    def reconnect_meanwhile(credentials):
        connection_connect(
            shop=connection.shop,
            gateway_url=connection.gateway_url,
            app_key=connection.app_key,
            app_secret="",
            access_token="managers-token",
            token_expires_at=timezone.now() + timedelta(days=60),
        )
        return TokenGrant(access_token="refreshed-token", expires_at=timezone.now() + timedelta(days=30))

    use_adapter(monkeypatch, RefreshingAdapter(reconnect_meanwhile))

    assert connections_refresh_tokens() == {connection.pk: "superseded"}
    connection.refresh_from_db()
    assert crypto.decrypt(connection.access_token_encrypted) == "managers-token"


def test_a_refused_refresh_keeps_a_valid_token_working_and_breaks_an_expired_one(connection, monkeypatch):
    connection = expiring(connection, hours=5)
    use_adapter(monkeypatch, RefreshingAdapter(SessionInvalid("refresh_token 已失效", code="27")))

    assert connections_refresh_tokens() == {connection.pk: "failed"}
    connection.refresh_from_db()
    assert connection.state == ShopConnection.State.CONNECTED
    assert connection.health == "expiring"
    assert "refresh_token 已失效" in connection.token_refresh_message

    later = timezone.now() + timedelta(hours=6)  # the old token has expired by now
    assert connections_refresh_tokens(now=later) == {connection.pk: "failed"}
    connection.refresh_from_db()
    assert connection.state == ShopConnection.State.BROKEN
    assert "refresh_token 已失效" in connection.broken_message


def test_no_stored_refresh_token_says_so(connection):
    connection = expiring(connection, refresh_token="")
    with translation.override("en"):
        assert connections_refresh_tokens() == {connection.pk: "unavailable"}
    connection.refresh_from_db()
    assert "No refresh token" in connection.token_refresh_message
