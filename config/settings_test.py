"""Settings for the pytest suite: real PostgreSQL and real Redis on this machine unless told otherwise."""

import os
from urllib.parse import urlsplit, urlunsplit

os.environ.setdefault("DJANGO_ENV", "test")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
# Database 15 keeps the suite's keys apart from a developer's `make run` against the same Redis.
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")


def redis_url_for_worker(url: str, worker: str) -> str:
    """pytest-xdist's worker `gwN` gets Redis database (base - N) mod 16, so parallel workers never share a cache (each
    test empties it) or a Celery queue. pytest-django already gives each worker its own test database."""
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(base - int(worker.removeprefix('gw'))) % 16}"))


# Done once per worker: a process the worker starts (a Celery worker, gunicorn) inherits the derived URL and the mark.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _worker.startswith("gw") and os.environ.get("AFTERSALES_TEST_WORKER") != _worker:
    os.environ["REDIS_URL"] = redis_url_for_worker(os.environ["REDIS_URL"], _worker)
    os.environ["AFTERSALES_TEST_WORKER"] = _worker

from config.settings import *  # noqa: E402

# Hashing demo passwords with PBKDF2 would dominate the run time of the role matrix.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES["default"]["KEY_PREFIX"] = "aftersales-test"
