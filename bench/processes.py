"""Child processes (gunicorn, a Celery worker) on this process's own database and Redis, and the CPU processes used."""

import os
import sys
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(settings.BASE_DIR)


def child_env(**extra) -> dict:
    """This process's environment, pointed at the database it is connected to (under pytest: the test database)."""
    database = connection.settings_dict
    credentials = database["USER"] + (f":{database['PASSWORD']}" if database["PASSWORD"] else "")
    host = database["HOST"] or "127.0.0.1"
    port = database["PORT"] or "5432"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings"),
        "DATABASE_URL": f"postgres://{credentials}@{host}:{port}/{database['NAME']}",
        **extra,
    }
    redis_url = getattr(settings, "REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


PYTHON = sys.executable


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds a process of this machine has used so far, from /proc; None where unreadable (a
    database on another machine, a process gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def backend_cpu_seconds() -> float | None:
    """CPU seconds so far of this process's PostgreSQL backend, when the database runs on this machine: on a shared
    machine a rate alone says more about the neighbours' load than about what was measured."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    return process_cpu_seconds(pid)
