"""Secrets at rest: the shops' app secrets and tokens (marketplaces) and the couriers' API secrets (logistics) are
stored encrypted with MultiFernet.

MARKETPLACE_SECRET_KEYS lists Fernet keys newest first: the first encrypts, any of them decrypts. Rotation without
stopping: put a new key first (every process keeps reading the old ciphertexts), run `manage.py
marketplace_rotate_secrets` and `manage.py courier_rotate_secrets` (re-encrypt every stored secret with the new key),
then drop the old key.
"""

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class SecretUnreadable(Exception):
    """A stored secret no configured key decrypts (the key that wrote it was dropped too early)."""


def _keys() -> list[str]:
    keys = list(settings.MARKETPLACE_SECRET_KEYS)
    if not keys:
        # Development and tests only (production refuses to start without a key, see settings): a key derived from
        # SECRET_KEY, so `make run` needs no setup. The "marketplaces:" prefix stays although the helper moved here:
        # it derives the key every secret already stored was written with.
        digest = hashlib.sha256(("marketplaces:" + settings.SECRET_KEY).encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    return keys


@cache
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def fernet() -> MultiFernet:
    return _fernet_for(tuple(_keys()))


def encrypt(plain: str) -> str:
    if not plain:
        return ""
    return fernet().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("no configured MARKETPLACE_SECRET_KEYS key decrypts this secret") from None


def rotate(token: str) -> str:
    """The same secret encrypted with the newest key."""
    if not token:
        return ""
    try:
        return fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("no configured MARKETPLACE_SECRET_KEYS key decrypts this secret") from None
