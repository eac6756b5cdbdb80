"""/healthz names the failing part: database, broker or beat."""

import time
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from config.health import record_beat_tick

pytestmark = pytest.mark.django_db


def test_healthy_when_database_redis_and_a_fresh_beat_tick_are_there(client):
    record_beat_tick()

    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == {"ok": True, "vendor": "postgresql"}
    assert body["checks"]["broker"] == {"ok": True, "kind": "redis"}
    assert body["checks"]["beat"]["ok"] is True


def test_503_names_beat_when_it_never_ticked(client):
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["beat"]


def test_503_names_beat_when_its_last_tick_is_stale(client, settings):
    settings.BEAT_STALE_AFTER_SECONDS = 60
    record_beat_tick(timezone.now() - timedelta(seconds=61))

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["beat"]
    assert "older than 60 s" in response.json()["checks"]["beat"]["error"]


def test_503_names_the_broker_quickly_when_redis_is_down(client, own_redis):
    with override_settings(CELERY_BROKER_URL=own_redis.url):
        record_beat_tick()
        assert client.get("/healthz").status_code == 200

        own_redis.stop()
        started = time.monotonic()
        response = client.get("/healthz")
        elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert response.json()["failing"] == ["broker"]
    assert "Connection" in response.json()["checks"]["broker"]["error"]
    # Not a benchmark: a guard that a dead broker cannot hang the probe past the configured socket timeouts.
    assert elapsed < 10


def test_healthz_is_public_json_and_refuses_post(client):
    assert client.get("/healthz")["Content-Type"] == "application/json"
    assert client.post("/healthz").status_code == 405
