"""Failed logins on the admin and on the API's token endpoint lock the username from that address (django-axes,
held in the database): 429 with Retry-After and a message in the user's language, the right password refused too,
until the cool-off ends or a success resets the count."""

from datetime import timedelta

import pytest
import redis
import time_machine
from axes.models import AccessAttempt
from django.conf import settings
from django.core.cache import caches
from django.test import override_settings
from django.utils import timezone

from tests.factories import make_staff

pytestmark = pytest.mark.django_db

RIGHT = "right-password-1"
ADMIN_LOGIN = "/admin/login/?next=/admin/"
TOKEN_URL = "/api/v1/auth/token/"
ZH_LOCKED = "登录失败次数过多，登录已锁定"
EN_LOCKED = "Too many failed logins for this user from your address: logins are locked."
# A Redis nobody listens on: every cache call fails at once.
DEAD_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    }
}


@pytest.fixture
def agent():
    return make_staff("agent", role="Agent", password=RIGHT)


def admin_login(client, username, password, address="10.0.0.1"):
    return client.post(ADMIN_LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def token_login(client, username, password, address="10.0.0.1", **headers):
    return client.post(
        TOKEN_URL,
        {"username": username, "password": password},
        content_type="application/json",
        REMOTE_ADDR=address,
        headers=headers,
    )


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_the_fifth_wrong_password_on_the_admin_locks_it_with_retry_after_and_a_chinese_message(client, agent):
    assert settings.AXES_FAILURE_LIMIT == 5
    for _ in range(4):
        assert admin_login(client, "agent", "wrong").status_code == 200  # the form again, with its error

    locked = admin_login(client, "agent", "wrong")

    assert locked.status_code == 429
    assert 1 <= int(locked["Retry-After"]) <= 15 * 60
    page = locked.content.decode()
    assert ZH_LOCKED in page
    assert "15 分钟后再试" in page


def test_while_locked_the_right_password_is_refused_on_the_admin(client, agent):
    for _ in range(5):
        admin_login(client, "agent", "wrong")

    response = admin_login(client, "agent", RIGHT)

    assert response.status_code == 429
    assert not logged_in(client)


def test_the_lockout_page_is_in_english_when_the_user_chose_english(client, agent):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    for _ in range(5):
        response = admin_login(client, "agent", "wrong")

    assert response.status_code == 429
    assert EN_LOCKED in response.content.decode()
    assert "Try again in 15 minutes." in response.content.decode()


def test_the_lock_is_per_username_and_address(client, agent):
    make_staff("lead", role="Supervisor", password=RIGHT)
    for _ in range(5):
        admin_login(client, "agent", "wrong", address="10.0.0.1")

    assert admin_login(client, "agent", RIGHT, address="10.0.0.2").status_code == 302
    client.logout()
    assert admin_login(client, "lead", RIGHT, address="10.0.0.1").status_code == 302
    client.logout()
    assert admin_login(client, "agent", RIGHT, address="10.0.0.1").status_code == 429


def test_a_successful_login_resets_the_count(client, agent):
    for _ in range(4):
        admin_login(client, "agent", "wrong")
    assert admin_login(client, "agent", RIGHT).status_code == 302
    client.logout()

    for _ in range(4):
        assert admin_login(client, "agent", "wrong").status_code == 200
    assert admin_login(client, "agent", RIGHT).status_code == 302


def test_the_lock_ends_after_the_cool_off_and_retry_after_counts_down(client, agent):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(5):
            admin_login(client, "agent", "wrong")
    with time_machine.travel(start + timedelta(minutes=10), tick=False):
        response = admin_login(client, "agent", RIGHT)
        assert response.status_code == 429
        assert int(response["Retry-After"]) == 5 * 60
        assert "5 分钟后再试" in response.content.decode()
    with time_machine.travel(start + timedelta(minutes=15, seconds=1), tick=False):
        assert admin_login(client, "agent", RIGHT).status_code == 302


def test_the_lock_is_kept_in_the_database_and_holds_with_the_cache_down(client, agent):
    with override_settings(CACHES=DEAD_CACHE):
        with pytest.raises(redis.exceptions.ConnectionError):
            caches["default"].get("anything")
        for _ in range(5):
            admin_login(client, "agent", "wrong")
        response = admin_login(client, "agent", RIGHT)
        api_response = token_login(client, "agent", RIGHT)

    assert response.status_code == 429
    assert not logged_in(client)
    assert api_response.status_code == 429
    attempt = AccessAttempt.objects.get(username="agent", ip_address="10.0.0.1")
    assert attempt.failures_since_start == 5


def test_five_wrong_passwords_on_the_token_endpoint_lock_it_with_the_apis_error_shape(client, agent):
    for _ in range(4):
        response = token_login(client, "agent", "wrong")
        assert response.status_code == 400
        assert response.json()["code"] == "invalid"

    locked = token_login(client, "agent", "wrong")
    right = token_login(client, "agent", RIGHT)

    for response in (locked, right):
        assert response.status_code == 429
        assert 1 <= int(response["Retry-After"]) <= 15 * 60
        assert response.json() == {"code": "locked_out", "message": response.json()["message"]}
        assert ZH_LOCKED in response.json()["message"]
    assert "token" not in right.json()


def test_the_token_endpoints_lockout_speaks_the_callers_language_and_is_per_username_and_address(client, agent):
    for _ in range(5):
        token_login(client, "agent", "wrong", address="10.0.0.1")

    english = token_login(client, "agent", RIGHT, address="10.0.0.1", accept_language="en")

    assert english.status_code == 429
    assert english.json()["message"].startswith(EN_LOCKED)
    assert token_login(client, "agent", RIGHT, address="10.0.0.2").status_code == 200


def test_failures_on_the_admin_and_on_the_token_endpoint_count_together(client, agent):
    for _ in range(3):
        admin_login(client, "agent", "wrong")
    for _ in range(2):
        token_login(client, "agent", "wrong")

    assert admin_login(client, "agent", RIGHT).status_code == 429


def test_a_token_issued_resets_the_count(client, agent):
    for _ in range(4):
        token_login(client, "agent", "wrong")
    assert token_login(client, "agent", RIGHT).status_code == 200

    for _ in range(4):
        assert token_login(client, "agent", "wrong").status_code == 400
    assert token_login(client, "agent", RIGHT).status_code == 200


def test_behind_a_trusted_proxy_the_lock_keys_on_the_address_the_proxy_saw(client, agent, settings):
    settings.LOGIN_TRUSTED_PROXY_COUNT = 1
    proxy = "127.0.0.1"
    for _ in range(5):
        # The client forges an address on the left; the proxy appends the one it saw.
        client.post(
            ADMIN_LOGIN,
            {"username": "agent", "password": "wrong"},
            REMOTE_ADDR=proxy,
            headers={"x-forwarded-for": "1.2.3.4, 203.0.113.7"},
        )

    assert AccessAttempt.objects.get(username="agent").ip_address == "203.0.113.7"
    from_elsewhere = client.post(
        ADMIN_LOGIN,
        {"username": "agent", "password": RIGHT},
        REMOTE_ADDR=proxy,
        headers={"x-forwarded-for": "198.51.100.9"},
    )
    assert from_elsewhere.status_code == 302
    client.logout()
    forged = client.post(
        ADMIN_LOGIN,
        {"username": "agent", "password": RIGHT},
        REMOTE_ADDR=proxy,
        headers={"x-forwarded-for": "198.51.100.9, 203.0.113.7"},
    )
    assert forged.status_code == 429
