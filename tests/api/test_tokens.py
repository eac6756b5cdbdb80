"""API tokens expire (API_TOKEN_TTL_HOURS), can be revoked by their holder (DELETE /api/v1/auth/token/) or by a
manager in the admin, die with a password change, and are stored only as a hash."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from aftersales import roles
from config.models import ApiToken
from config.services import api_token_key_hash
from tests.factories import ShopFactory, api_token_for, make_staff

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
PROBE = "/api/v1/reasons/"


@pytest.fixture
def agent():
    return make_staff("agent", role=roles.AGENT, shops=[ShopFactory()])


def call(key: str, method: str = "get", url: str = PROBE, **headers):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return getattr(api, method)(url, headers=headers)


def issue(username: str = "agent", password: str = "pw") -> dict:
    response = APIClient().post(TOKEN_URL, {"username": username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def test_a_token_is_valid_for_thirty_days_and_then_answers_401_expired(agent):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        issued = issue()
    assert parse_datetime(issued["expires_at"]) == start + timedelta(hours=720)

    with time_machine.travel(start + timedelta(hours=719, minutes=59), tick=False):
        assert call(issued["token"]).status_code == 200
    with time_machine.travel(start + timedelta(hours=720), tick=False):
        expired = call(issued["token"])

    assert expired.status_code == 401
    assert expired.json()["code"] == "token_expired"
    assert "已过期" in expired.json()["message"]
    assert expired["WWW-Authenticate"] == "Token"


def test_the_lifetime_comes_from_the_settings(agent, settings):
    settings.API_TOKEN_TTL_HOURS = 2
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        key = issue()["token"]

    with time_machine.travel(start + timedelta(hours=2, seconds=1), tick=False):
        assert call(key).status_code == 401


def test_the_holder_revokes_the_token_the_call_is_made_with_and_only_that_one(agent):
    revoked, other = issue()["token"], issue()["token"]

    assert call(revoked, "delete", TOKEN_URL).status_code == 204

    after = call(revoked, accept_language="en")
    assert after.status_code == 401
    assert after.json() == {
        "code": "token_revoked",
        "message": "This token was revoked; ask for a new one at /api/v1/auth/token/.",
    }
    assert call(other).status_code == 200
    token = ApiToken.objects.get(key_hash=api_token_key_hash(revoked))
    assert token.revoked_by == agent
    assert token.revoked_at is not None


def test_revoking_needs_a_token(agent, client):
    client.force_login(agent)

    assert client.delete(TOKEN_URL).status_code == 401


def test_a_password_change_revokes_every_token_of_the_user(agent):
    first, second = issue()["token"], issue()["token"]
    other_user = make_staff("lead", role=roles.SUPERVISOR, shops=[ShopFactory()])
    others = api_token_for(other_user)

    agent.set_password("a-new-password-2")
    agent.save()

    for key in (first, second):
        response = call(key)
        assert response.status_code == 401
        assert response.json()["code"] == "token_password_changed"
    assert call(others).status_code == 200
    assert call(issue(password="a-new-password-2")["token"]).status_code == 200


def test_only_a_hash_of_the_key_is_stored(agent):
    key = issue()["token"]

    token = ApiToken.objects.get(user=agent)
    stored = [str(getattr(token, field.attname)) for field in ApiToken._meta.concrete_fields]
    assert not any(key in value for value in stored)
    assert token.key_hash == api_token_key_hash(key)
    assert key.startswith(token.key_prefix)


def test_an_unknown_token_is_refused_and_a_stale_one_does_not_stop_a_new_login(agent):
    assert call("not-a-token").json()["code"] == "token_invalid"

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert api.post(TOKEN_URL, {"username": "agent", "password": "pw"}, format="json").status_code == 200


def test_a_manager_revokes_tokens_in_the_admin_and_an_agent_cannot_see_them(agent, client):
    key = api_token_for(agent)
    manager = make_staff("boss", role=roles.MANAGER)
    url = "/admin/config/apitoken/"

    client.force_login(agent)
    assert client.get(url).status_code == 403

    client.force_login(manager)
    assert "agent" in client.get(url).content.decode()
    token = ApiToken.objects.get(user=agent)
    response = client.post(url, {"action": "revoke", "_selected_action": [token.pk]}, follow=True)

    assert "已撤销 1 个令牌" in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_by == manager
    assert call(key).json()["code"] == "token_revoked"
