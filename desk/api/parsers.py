"""The API's request parsers (REST_FRAMEWORK's DEFAULT_PARSER_CLASSES), through desk.input_checks. A module
of its own: DRF imports it while its views are being defined, so it may import only DRF's parsers and exceptions."""

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import QueryDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, parsers, status

from desk.input_checks import InputRejected, loads_json, read_body


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = gettext_lazy("The request is too large.")
    default_code = "too_large"


def api_input_error(rejected: InputRejected) -> exceptions.APIException:
    """input_checks' refusal as the DRF exception the one error shape is made from."""
    if rejected.status == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE:
        return PayloadTooLarge(rejected.message)
    return exceptions.ParseError(rejected.message, code=rejected.code)


class StrictJSONParser(parsers.JSONParser):
    """DRF's JSON parser through input_checks: a body over the size limit is 413; invalid UTF-8, NaN, nesting deeper
    than 64 levels, a NUL or a lone surrogate in any string is 400 before any view sees the data."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return loads_json(read_body(stream))
        except InputRejected as rejected:
            raise api_input_error(rejected) from None


class LimitedFormParser(parsers.FormParser):
    """DRF's form parser reads the whole stream; this one stops at the size limit (413)."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        try:
            return QueryDict(read_body(stream), encoding=encoding)
        except InputRejected as rejected:
            raise api_input_error(rejected) from None


class LimitedMultiPartParser(parsers.MultiPartParser):
    """Django's multipart parser refuses too many or too big fields as a SuspiciousOperation: a 413 or 400 here."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RequestDataTooBig:
            raise PayloadTooLarge() from None
        except TooManyFieldsSent:
            raise exceptions.ParseError(_("The form has too many fields.")) from None
