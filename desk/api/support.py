"""What every app's API routes share: one error shape with stable codes, idempotent writes, and a schema that
documents both.

Errors: every 4xx answers `{"code": ..., "message": ..., "fields": {...}}`. `code` is stable and machine-readable
(an ActionRefused's rule name such as `wrong_state`, or `invalid`, `not_found`, `not_authenticated`, ...); `message`
is in the caller's language (Accept-Language, else the language cookie, else Simplified Chinese); `fields` holds
per-field messages for invalid input.

Idempotency: a write decorated with `idempotent` and sent with an `Idempotency-Key` header runs at most once per
caller and key. The key row is inserted first, in the same transaction as the write, so a concurrent retry waits for
the first call and then replays its answer; a retry after the fact gets the stored answer (status and body) with the
header `Idempotent-Replayed: true`; the same key with a different method, path or body answers 409
`idempotency_key_reused`. A call that failed with a 5xx stores nothing, so its retry runs again.
"""

import functools
import hashlib
import json
import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import DataError, IntegrityError, transaction
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder
from rest_framework.views import exception_handler

from aftersales.models import ApiIdempotencyKey
from desk.api.parsers import PayloadTooLarge, api_input_error
from desk.errors import ActionRefused
from desk.input_checks import InputRejected, clean_text, echo, safe_text

logger = logging.getLogger(__name__)

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = ApiIdempotencyKey._meta.get_field("key").max_length

# A rule's refusal is 403 when the caller may not act, 409 when the object's current state forbids the move (a
# retry will not help until something changes), and 400 when the input itself is refused.
FORBIDDEN_CODES = frozenset({"not_permitted", "other_shop", "own_request", "over_authority", "bad_signature"})
CONFLICT_CODES = frozenset(
    {
        "wrong_state",
        "already_decided",
        "already_requested",
        "already_sent",
        "already_registered",
        "already_matched",
        "already_dispatched",
        "duplicate_refund",
        "duplicate_waybill",
        "idempotency_conflict",
        "idempotency_key_reused",
    }
)


def refusal_status(code: str) -> int:
    if code in FORBIDDEN_CODES:
        return status.HTTP_403_FORBIDDEN
    if code in CONFLICT_CODES:
        return status.HTTP_409_CONFLICT
    return status.HTTP_400_BAD_REQUEST


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text=gettext_lazy(
            "Stable machine-readable code: the rule that refused (wrong_state, over_paid, other_shop, ...), or "
            "invalid, not_found, not_authenticated, permission_denied, throttled, idempotency_key_reused."
        )
    )
    message = serializers.CharField(help_text=gettext_lazy("For people, in the caller's language (Accept-Language)."))
    fields = serializers.DictField(
        required=False,
        child=serializers.JSONField(),
        help_text=gettext_lazy("For invalid input: the messages by field name."),
    )


class TextField(serializers.CharField):
    """A string and only a string: true, 1, a list or an object is refused (DRF's CharField would store "True" or
    "1"). The text is checked by input_checks.clean_text (no control characters but line breaks and tabs in
    `multiline` text, valid Unicode). Give `max_length` from the column (input_checks.max_length_of)."""

    def __init__(self, *, multiline: bool = False, **kwargs):
        self.multiline = multiline
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            return clean_text(data, max_length=None, multiline=self.multiline)
        except InputRejected as rejected:
            raise serializers.ValidationError(rejected.message, code="invalid") from None


class CodeRelatedField(serializers.SlugRelatedField):
    """An object by its code. Only a string is a code; text PostgreSQL cannot store (a NUL character) is an unknown
    code, not a 500, and the message quotes the code only as far as it can be shown."""

    default_error_messages = {
        **serializers.SlugRelatedField.default_error_messages,
        "does_not_exist": gettext_lazy("No object has the code {value}."),
    }

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            data = clean_text(data, max_length=self.max_code_length())
        except InputRejected:
            self.fail("does_not_exist", slug_name=self.slug_field, value=echo(data))
        try:
            return self.get_queryset().get(**{self.slug_field: data})
        except (TypeError, ValueError, self.get_queryset().model.DoesNotExist):
            self.fail("does_not_exist", slug_name=self.slug_field, value=echo(data))

    def max_code_length(self) -> int | None:
        return self.get_queryset().model._meta.get_field(self.slug_field).max_length


def api_not_found(request, exception=None):
    """Django's 404 for an address under /api/ that no route matches, in the API's error shape (JSON)."""
    return JsonResponse({"code": "not_found", "message": str(exceptions.NotFound.default_detail)}, status=404)


def api_exception_handler(exc, context):
    """DRF's handler, with ActionRefused as a 4xx and every error in the one shape described above. Every text of
    the answer is made encodable, so a message quoting bad input can never turn the answer into a 500."""
    response = _shaped_response(exc, context)
    if response is not None:
        response.data = _encodable(response.data)
    return response


# The last line only: input that should have been refused by a check (input_checks) but reached a deeper layer.
UNREADABLE_INPUT = (RecursionError, UnicodeError, DataError)


def _shaped_response(exc, context):
    if isinstance(exc, ActionRefused):
        return Response({"code": exc.code, "message": str(exc.message)}, status=refusal_status(exc.code))
    if isinstance(exc, InputRejected):
        exc = api_input_error(exc)
    elif isinstance(exc, RequestDataTooBig):
        # Django's own limit, met when the body was read before a parser (request.body): the same 413.
        exc = PayloadTooLarge()
    elif isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        exc = exceptions.ParseError(_("The form has too many fields."))
    elif isinstance(exc, UNREADABLE_INPUT):
        logger.warning("input no check refused reached %s: %r", context.get("view"), exc)
        return Response(
            {"code": "invalid", "message": _("The request holds values the desk cannot store.")},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None  # a bug: a 500, logged by Django
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = {"code": "invalid", "message": _("Some fields are not valid."), "fields": fields}
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        code = detail.code if hasattr(detail, "code") else exc.default_code
        response.data = {"code": str(code), "message": str(detail)}
    return response


def _encodable(value):
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, list):
        return [_encodable(item) for item in value]
    if isinstance(value, dict):
        return {_encodable(key) if isinstance(key, str) else key: _encodable(item) for key, item in value.items()}
    return value


def _json_safe(data):
    """The response as plain JSON that PostgreSQL's jsonb accepts (it refuses the NUL character)."""
    return _without_nul(json.loads(json.dumps(data, cls=JSONEncoder)))


def _without_nul(value):
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    return value


def _fingerprint(request) -> str:
    body = json.dumps(_json_safe(request.data), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def idempotent(handler):
    """Make a view method's write idempotent by the caller's Idempotency-Key header (see the module's docstring)."""

    @functools.wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
        if not key:
            return handler(view, request, *args, **kwargs)
        if len(key) > MAX_KEY_LENGTH:
            raise exceptions.ValidationError(
                {IDEMPOTENCY_HEADER: [_("At most %(max)d characters.") % {"max": MAX_KEY_LENGTH}]}
            )
        fingerprint = _fingerprint(request)
        with transaction.atomic():
            try:
                with transaction.atomic():
                    record = ApiIdempotencyKey.objects.create(user=request.user, key=key, fingerprint=fingerprint)
            except IntegrityError:
                # The first call with this key has committed (the insert waited for it): answer what it answered.
                first = ApiIdempotencyKey.objects.get(user=request.user, key=key)
                if first.fingerprint != fingerprint:
                    raise ActionRefused(
                        "idempotency_key_reused",
                        _("This Idempotency-Key was already used for a different request."),
                    ) from None
                return Response(first.response_body, status=first.status_code, headers={"Idempotent-Replayed": "true"})
            try:
                response = handler(view, request, *args, **kwargs)
            except Exception as error:  # noqa: BLE001 - turned into its 4xx here so the refusal is stored too
                response = view.handle_exception(error)
                if isinstance(error, UNREADABLE_INPUT):
                    # The database may have refused a statement: nothing of this call is kept, not even its key.
                    transaction.set_rollback(True)
                    return response
            if response.status_code >= 500:
                transaction.set_rollback(True)
                return response
            record.status_code = response.status_code
            record.response_body = _json_safe(response.data)
            record.save(update_fields=["status_code", "response_body"])
            return response

    wrapper.idempotent = True
    return wrapper


IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    str,
    OpenApiParameter.HEADER,
    required=False,
    description=gettext_lazy(
        "Any unique string (a UUID, or the platform's own id) of at most 200 characters. A retry with the same key "
        "returns the first response without acting again; the same key with a different body answers 409."
    ),
)

# The errors every route may answer, beside those its method adds.
ERROR_STATUSES_READ = ("400", "401", "403", "404", "429")
ERROR_STATUSES_WRITE = ("400", "401", "403", "404", "409", "413", "415", "429")
ERROR_DESCRIPTIONS = {
    "400": gettext_lazy("Invalid input or query parameters, or a rule refused it (see code)."),
    "401": gettext_lazy("No valid token."),
    "403": gettext_lazy("The role or the shop does not allow this."),
    "404": gettext_lazy("Not found among the caller's shops."),
    "409": gettext_lazy("The object's state does not allow this now, or the Idempotency-Key was reused."),
    "413": gettext_lazy("The body is larger than the limit (DATA_UPLOAD_MAX_MEMORY_SIZE, 2.5 MB by default)."),
    "415": gettext_lazy("The body is not JSON (send Content-Type: application/json)."),
    "429": gettext_lazy("Too many requests; retry after the time in Retry-After."),
}


class DeskAutoSchema(AutoSchema):
    """drf-spectacular's schema with the error answers documented on every operation and the Idempotency-Key
    header on every idempotent write."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        statuses = ERROR_STATUSES_READ if self.method in ("GET", "HEAD") else ERROR_STATUSES_WRITE
        for code in statuses:
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                responses[code]["description"] = str(ERROR_DESCRIPTIONS[code])
        return responses

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        handler = getattr(self.view, self.view.action, None) if getattr(self.view, "action", None) else None
        handler = handler or getattr(self.view, self.method.lower(), None)
        if getattr(handler, "idempotent", False):
            parameters.append(IDEMPOTENCY_PARAMETER)
        return parameters
