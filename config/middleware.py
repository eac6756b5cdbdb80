from django.conf import settings
from django.utils import translation
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
