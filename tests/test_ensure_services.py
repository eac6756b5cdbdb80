"""make test's service check: absent services stop the run with a message saying what to install."""

import subprocess

from tests.conftest import ROOT, free_port


def run_check(**env):
    return subprocess.run(
        ["bash", "scripts/ensure_services.sh"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "SERVICE_WAIT_SECONDS": "1", **env},
        timeout=60,
    )


def test_running_services_pass():
    result = run_check()

    assert result.returncode == 0, result.stderr
    assert "are up" in result.stdout


def test_missing_postgresql_is_named_with_what_to_install():
    result = run_check(PG_PORT=str(free_port()), PG_CTLCLUSTER="/nonexistent/pg_ctlcluster")

    assert result.returncode == 1
    assert "PostgreSQL is not answering" in result.stderr
    assert "apt-get install postgresql" in result.stderr


def test_missing_redis_is_named_with_what_to_install():
    result = run_check(REDIS_PORT=str(free_port()), REDIS_SERVER="/nonexistent/redis-server")

    assert result.returncode == 1
    assert "Redis is not answering" in result.stderr
    assert "apt-get install redis-server" in result.stderr
