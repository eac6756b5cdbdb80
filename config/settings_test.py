"""Settings for the pytest suite: real PostgreSQL and real Redis on this machine unless told otherwise."""

import os

os.environ.setdefault("DJANGO_ENV", "test")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
# Database 15 keeps the suite's keys apart from a developer's `make run` against the same Redis.
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")

from config.settings import *  # noqa: E402

# Hashing demo passwords with PBKDF2 would dominate the run time of the role matrix.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES["default"]["KEY_PREFIX"] = "aftersales-test"
