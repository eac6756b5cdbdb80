"""`make run` on a fresh machine: SQLite in a new folder, demo data loaded twice, web + worker + beat, Ctrl-C."""

import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import ROOT, embedded_env, free_port

pytestmark = pytest.mark.slow


def manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_setup_migrates_and_loads_demo_data_on_sqlite_and_a_second_run_duplicates_nothing(tmp_path):
    env = embedded_env(VAR_DIR=str(tmp_path / "var"))

    assert manage("migrate", "--noinput", env=env).returncode == 0
    first = manage("load_demo", env=env)
    second = manage("load_demo", env=env)
    counts = manage(
        "shell",
        "-c",
        "from aftersales.models import Order, Shop; from django.contrib.auth.models import User;"
        "from logistics.models import Courier;"
        "print(Shop.objects.count(), Order.objects.count(), Courier.objects.count(),"
        " sorted(User.objects.values_list('username', flat=True)),"
        " Order.objects.filter(province__in=['新疆维吾尔自治区','西藏自治区','青海省','内蒙古自治区','甘肃省',"
        "'宁夏回族自治区']).exists())",
        env=env,
    )
    # The database's refund guards survived the migrations' table rebuilds: its triggers kept every demo order's
    # refunded amount equal to the sum of its non-failed refunds.
    guards = manage(
        "shell",
        "-c",
        "from django.db import connection; from django.db.models import Q, Sum;"
        "from aftersales.models import Order, Refund;"
        "cursor = connection.cursor();"
        "cursor.execute(\"SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name\");"
        "print([name for (name,) in cursor.fetchall()]);"
        "totals = Order.objects.annotate(refund_total=Sum('refunds__amount', filter=~Q(refunds__status='failed')));"
        "print(totals.filter(refunded_amount__gt=0).count() > 0,"
        " [o.pk for o in totals if o.refunded_amount != (o.refund_total or 0)])",
        env=env,
    )

    assert first.returncode == 0, first.stderr
    assert "150 new" in first.stdout
    assert "aftersales-demo" in first.stdout  # the printed logins
    assert second.returncode == 0, second.stderr
    assert second.stdout.count("0 new, 0 updated, 150 unchanged") == 2
    tickets_loaded = [line for line in first.stdout.splitlines() if "demo tickets" in line]
    assert len(tickets_loaded) == 2
    assert tickets_loaded == [line for line in second.stdout.splitlines() if "demo tickets" in line]
    assert (tmp_path / "var" / "aftersales.sqlite3").exists()
    assert counts.stdout.strip().splitlines()[-1] == (
        "5 390 6 ['admin', 'agent', 'manager', 'supervisor', 'system', 'warehouse'] True"
    )
    assert guards.returncode == 0, guards.stderr
    assert guards.stdout.strip().splitlines()[-2:] == [
        "['aftersales_refund_running_total_delete', 'aftersales_refund_running_total_insert', "
        "'aftersales_refund_running_total_update', 'aftersales_ticket_first_reason_immutable']",
        "True []",
    ]


def test_make_run_starts_web_worker_and_beat_and_ctrl_c_stops_them_all(tmp_path):
    port = free_port()
    env = embedded_env(VAR_DIR=str(tmp_path / "var"))
    log = (tmp_path / "run.log").open("w")
    process = subprocess.Popen(
        ["make", "run", f"PORT={port}"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    group = os.getpgid(process.pid)
    try:
        health = wait_for_health(port, timeout=180)
        assert health == 200, (tmp_path / "run.log").read_text()[-3000:]
        ping = subprocess.run(
            [sys.executable, "-m", "celery", "-A", "config", "inspect", "ping", "--timeout", "10"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "pong" in ping.stdout, ping.stdout + ping.stderr
    finally:
        os.killpg(group, signal.SIGINT)  # what Ctrl-C in the terminal does: the whole foreground group
    process.wait(timeout=60)
    assert group_is_gone(group, timeout=30), subprocess.run(
        ["ps", "-o", "pid,cmd", "-g", str(group)], capture_output=True, text=True
    ).stdout


def wait_for_health(port: int, timeout: float) -> int | None:
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as error:
            status = error.code  # 503 until beat's first tick
        except OSError:
            pass
        time.sleep(1)
    return status


def group_is_gone(group: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.5)
    return False
