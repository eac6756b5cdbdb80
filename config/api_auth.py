"""/api/v1/auth/token/: POST a username and password for a token (through django-axes' lockout), DELETE to revoke
the token the call is made with."""

from axes.utils import reset as axes_reset
from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from config.authentication import ApiTokenAuthentication
from config.lockout import LOCKED_OUT_CODE, LOCKED_OUT_STATUS, locked_out_message, seconds_until_unlocked
from config.models import ApiToken
from config.services import api_token_issue, api_tokens_revoke
from desk.api.support import TextField


class TokenLoginSerializer(serializers.Serializer):
    username = TextField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, write_only=True)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text=gettext_lazy("Send it as `Authorization: Token <token>`; shown once."))
    expires_at = serializers.DateTimeField(help_text=gettext_lazy("After this the token answers 401."))


class LoginLocked(exceptions.APIException):
    """429 with Retry-After (DRF's handler sets it from `wait`)."""

    status_code = LOCKED_OUT_STATUS
    default_code = LOCKED_OUT_CODE

    def __init__(self, seconds: int):
        super().__init__(locked_out_message(seconds), LOCKED_OUT_CODE)
        self.wait = seconds


class ApiTokenView(APIView):
    # The lockout is the throttle here, and it lives in the database: a cache-backed throttle would fail with Redis.
    throttle_classes = ()

    def get_authenticators(self):
        # Logging in must work whatever stale token a client still sends; revoking needs the token itself.
        return [] if getattr(self.request, "method", None) == "POST" else [ApiTokenAuthentication()]

    def get_permissions(self):
        return [AllowAny()] if getattr(self.request, "method", None) == "POST" else [IsAuthenticated()]

    @extend_schema(
        operation_id="auth_token_create",
        summary=gettext_lazy("Get a token"),
        description=gettext_lazy(
            "A new token for the username and password, valid for API_TOKEN_TTL_HOURS (30 days by default) or until "
            "it is revoked or the password changes. After LOGIN_FAILURE_LIMIT (5) wrong passwords for one username "
            "from one address, logins are locked for LOGIN_LOCKOUT_MINUTES (15): 429 `locked_out` with Retry-After, "
            "even for the right password."
        ),
        request=TokenLoginSerializer,
        responses={200: TokenSerializer},
        auth=[],
    )
    def post(self, request):
        serializer = TokenLoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        username = serializer.validated_data["username"]
        user = authenticate(request=request, username=username, password=serializer.validated_data["password"])
        if getattr(request, "axes_locked_out", False):
            raise LoginLocked(seconds_until_unlocked(request, {"username": username}))
        if user is None:
            raise exceptions.ValidationError(
                {"non_field_errors": [_("Unable to log in with provided credentials.")]}, code="authorization"
            )
        if hasattr(request, "axes_ip_address"):  # AXES_RESET_ON_SUCCESS, as a session login gets it
            axes_reset(ip=request.axes_ip_address, username=username)
        token, key = api_token_issue(user=user)
        return Response(TokenSerializer({"token": key, "expires_at": token.expires_at}).data)

    @extend_schema(
        operation_id="auth_token_revoke",
        summary=gettext_lazy("Revoke this token"),
        description=gettext_lazy(
            "Revokes the token this call is made with (Authorization: Token …); it answers 401 from then on. "
            "Managers revoke other people's tokens in the admin; a password change revokes all of a user's tokens."
        ),
        request=None,
        responses={204: None},
    )
    def delete(self, request):
        api_tokens_revoke(tokens=ApiToken.objects.filter(pk=request.auth.pk), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
