"""Issuing and revoking API tokens (config.models.ApiToken), and checking the one a call presents."""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from config.models import ApiToken

_FINGERPRINT_SALT = "config.ApiToken.password_fingerprint"


def api_token_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode(errors="replace")).hexdigest()


def password_fingerprint(user) -> str:
    """Changes whenever the user's password changes (as Django's session auth hash does)."""
    return salted_hmac(_FINGERPRINT_SALT, user.password, algorithm="sha256").hexdigest()


def api_token_issue(*, user) -> tuple[ApiToken, str]:
    """A new token for `user`, valid for API_TOKEN_TTL_HOURS; returns the row and the key, which is never stored."""
    key = secrets.token_urlsafe(32)
    now = timezone.now()
    token = ApiToken.objects.create(
        key_hash=api_token_key_hash(key),
        key_prefix=key[:8],
        user=user,
        created_at=now,
        expires_at=now + timedelta(hours=settings.API_TOKEN_TTL_HOURS),
        password_fingerprint=password_fingerprint(user),
    )
    return token, key


def api_tokens_revoke(*, tokens, by) -> int:
    """Revoke the tokens of the queryset `tokens` that are not revoked yet; returns how many."""
    with transaction.atomic():
        return tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now(), revoked_by=by)


class TokenRefused(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def api_token_check(key: str) -> ApiToken:
    """The live token with this key, with its user; TokenRefused(code) if it is unknown, revoked, expired, belongs to
    an inactive user, or was issued before the user's password last changed."""
    token = ApiToken.objects.select_related("user").filter(key_hash=api_token_key_hash(key)).first()
    if token is None:
        raise TokenRefused("token_invalid")
    if token.revoked_at is not None:
        raise TokenRefused("token_revoked")
    if token.expires_at <= timezone.now():
        raise TokenRefused("token_expired")
    if not constant_time_compare(token.password_fingerprint, password_fingerprint(token.user)):
        raise TokenRefused("token_password_changed")
    if not token.user.is_active:
        raise TokenRefused("user_inactive")
    return token
