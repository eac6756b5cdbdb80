"""`Authorization: Token <key>` for the API, with config.models.ApiToken: expired, revoked and password-changed
tokens are refused with 401 and a code saying which."""

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from config.services import TokenRefused, api_token_check

REFUSALS = {
    "token_invalid": _("Invalid token."),
    "token_revoked": _("This token was revoked; ask for a new one at /api/v1/auth/token/."),
    "token_expired": _("This token has expired; ask for a new one at /api/v1/auth/token/."),
    "token_password_changed": _(
        "The password changed after this token was issued; ask for a new one at /api/v1/auth/token/."
    ),
    "user_inactive": _("This user is inactive."),
}


class ApiTokenAuthentication(TokenAuthentication):
    """DRF's header parsing and 401 challenge (`WWW-Authenticate: Token`), our token model and checks."""

    def authenticate_credentials(self, key):
        try:
            token = api_token_check(key)
        except TokenRefused as refused:
            raise exceptions.AuthenticationFailed(REFUSALS[refused.code], code=refused.code) from None
        return token.user, token
