import logging

from django.conf import settings
from django.db import DataError
from django.http import HttpResponseBadRequest, JsonResponse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation.trans_real import parse_accept_lang_header


class ChosenLanguageMiddleware:
    """Simplified Chinese unless the user picked another language with the switcher (its cookie).

    Django's LocaleMiddleware would follow the browser's Accept-Language, so a warehouse PC with an English
    operating system would show English to a clerk who never asked for it. The API is the exception: a program
    states the language it wants in Accept-Language, and that wins there.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = None
        if request.path.startswith(API_PREFIX) and "Accept-Language" in request.headers:
            language = _from_accept_language(request.headers["Accept-Language"])
        if language is None:
            chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) or settings.LANGUAGE_CODE
            language = _supported(chosen) or settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response


API_PREFIX = "/api/"


def _supported(code: str | None) -> str | None:
    try:
        return translation.get_supported_language_variant(code) if code else None
    except LookupError:
        return None


def _from_accept_language(header: str) -> str | None:
    for code, _quality in parse_accept_lang_header(header):
        if code != "*" and (language := _supported(code)):
            return language
    return None


logger = logging.getLogger(__name__)

# Errors that bad input causes when it reaches a layer that should never have seen it.
UNREADABLE_INPUT = (RecursionError, UnicodeError, DataError)


class RefuseUnstorableInputMiddleware:
    """A query string with a NUL character is refused (400) before any view runs: no search, filter or autocomplete
    can store or compare it (PostgreSQL refuses NUL in text), and no page needs it. Forms, API bodies and pushes are
    checked field by field (desk.input_checks); as the last line only, an error that such input causes deeper
    down (a database refusing a value, a recursion, an encoding error) is answered 400 instead of 500, and logged.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if any("\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()):
            return self._refused(request, _("The address holds a NUL character."))
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, UNREADABLE_INPUT):
            return None
        logger.warning("input no check refused reached %s: %r", request.path, exception)
        return self._refused(request, _("The request holds values the desk cannot store."))

    def _refused(self, request, message):
        if request.path.startswith(API_PREFIX):
            return JsonResponse({"code": "invalid", "message": message}, status=400)
        return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
