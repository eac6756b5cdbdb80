"""API tokens that expire, can be revoked, and die with a password change.

Only a SHA-256 of the key is stored (the key is 256 random bits, so a plain hash is enough, as GitHub does): the key
is shown once, when it is issued, and a copy of the table gives nobody a working token. `password_fingerprint` is an
HMAC of the user's password hash at issue time (as Django's session auth hash): a new password changes the hash, so
every token issued before it stops working without any signal or extra write.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ApiToken(models.Model):
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True, editable=False)
    # The key's first characters, to tell tokens apart in the admin and in a caller's configuration.
    key_prefix = models.CharField(_("key prefix"), max_length=8, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    password_fingerprint = models.CharField(_("password fingerprint"), max_length=64, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revoked by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "-created_at"], name="apitoken_user_created")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")), name="apitoken_expires_after_created"
            ),
        ]

    def __str__(self):
        return f"{self.key_prefix}… ({self.user})"
