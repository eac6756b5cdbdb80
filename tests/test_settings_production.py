"""The production profile passes Django's deployment checks and refuses to start half-configured."""

import subprocess
import sys

from tests.conftest import ROOT, embedded_env

PRODUCTION = {
    "DJANGO_ENV": "production",
    "DJANGO_SECRET_KEY": "q8Zr-3vN9!xLw2@pT7mK#cY5bF0hJ6dS4gA1eU8iO3nR7tV2wX9zQ5yB",
    "DJANGO_ALLOWED_HOSTS": "desk.example.com",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test",
    "REDIS_URL": "redis://127.0.0.1:6379/15",
    # A Fernet key for the marketplace connections' secrets (marketplaces/crypto.py); production refuses to start
    # without one.
    "MARKETPLACE_SECRET_KEYS": "uQx3W0b6qkq7D6r0lq3pQd2m0Yg0m2kq9q3n8wQ5m1Y=",
}


def manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_reports_nothing_under_the_production_profile():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=embedded_env(**PRODUCTION))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = embedded_env(**{**PRODUCTION, "DJANGO_SECRET_KEY": ""})

    result = manage("check", env=env)

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_refuses_sqlite():
    env = embedded_env(**PRODUCTION)
    del env["DATABASE_URL"]

    result = manage("check", env=env)

    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr


def test_load_demo_refuses_to_run_in_production():
    result = manage("load_demo", env=embedded_env(**PRODUCTION))

    assert result.returncode != 0
    assert "refuses to run in production" in result.stderr
