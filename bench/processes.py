"""Child processes (gunicorn, a Celery worker) on this process's own database and Redis."""

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
