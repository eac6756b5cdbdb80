"""What every door checks on what comes in, before anything reaches a service or the database: one place for the
size of a body, the shape of JSON and the characters and length of a text.

- `read_body` reads at most a limit of bytes and refuses a bigger body (413) without reading all of it;
- `loads_json` reads JSON as UTF-8 only, refuses NaN/Infinity, nesting deeper than MAX_JSON_DEPTH and any string
  (key or value) holding a NUL or a lone surrogate, which PostgreSQL cannot store and UTF-8 cannot encode;
- `clean_text` strips a text and refuses what is not text, control characters, lone surrogates and more characters
  than the column holds (`max_length_of` reads it from the model, so the limit is the database's own);
- `echo` renders a value for an error message without anything that could not be encoded or shown.

The DRF parsers and the text field (desk.api.support), the admin's ticket moves (aftersales.ticket_actions),
the marketplace pushes and the tracking webhooks all call these.
"""

import json
import unicodedata

from django import forms
from django.conf import settings
from django.utils.translation import gettext as _

MAX_JSON_DEPTH = 64
# Line breaks and tabs are ordinary in a note; every other control character is refused.
MULTILINE_ALLOWED = frozenset("\n\r\t")
ECHO_LENGTH = 40


class InputRejected(ValueError):
    """Input refused before it is used: `status` 400, 413 or 415, a stable `code` and a message for people."""

    def __init__(self, message, *, status: int = 400, code: str = "invalid"):
        super().__init__(str(message))
        self.message = str(message)
        self.status = status
        self.code = code


def body_limit() -> int:
    """The largest request body the API and the pushes read: Django's own limit for form data."""
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def too_large() -> InputRejected:
    return InputRejected(_("The request is too large."), status=413, code="too_large")


def read_body(stream, limit: int | None = None) -> bytes:
    """The body's bytes, read one byte past the limit to know it is too big without reading all of it."""
    limit = body_limit() if limit is None else limit
    if stream is None:
        return b""
    body = stream.read(limit + 1)
    if len(body) > limit:
        raise too_large()
    return body


def loads_json(raw: bytes | str):
    """The JSON value of a body or a text, checked through and through (see the module's docstring)."""
    if isinstance(raw, bytes | bytearray):
        try:
            raw = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            raise InputRejected(_("The body is not UTF-8."), code="parse_error") from None
    try:
        value = json.loads(raw, parse_constant=_no_constant)
    except RecursionError:
        raise _too_deep() from None
    except ValueError:
        # Bad JSON, NaN or Infinity, or an integer too long to read.
        raise InputRejected(_("The body is not valid JSON."), code="parse_error") from None
    check_json_value(value)
    return value


def check_json_value(value) -> None:
    """Refuse nesting deeper than MAX_JSON_DEPTH and strings PostgreSQL or UTF-8 cannot hold. Iterative, so a deep
    value cannot exhaust the stack here."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if not storable(item):
                raise InputRejected(
                    _("The JSON holds a NUL character or an unpaired surrogate."), code="unstorable_text"
                )
        elif isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise _too_deep()
            if isinstance(item, dict):
                stack.extend((key, depth) for key in item)
                stack.extend((child, depth + 1) for child in item.values())
            else:
                stack.extend((child, depth + 1) for child in item)


def storable(text: str) -> bool:
    """False for text holding a NUL (PostgreSQL refuses it) or a lone surrogate (UTF-8 cannot encode it)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def clean_text(value, *, max_length: int | None, multiline: bool = False) -> str:
    """`value` stripped, or InputRejected (code `invalid`) naming what is wrong: not a string, a control character
    (line breaks and tabs are allowed in multiline text), an unpaired surrogate, or more than `max_length`
    characters. None is empty."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InputRejected(_("Must be text."))
    text = value.strip()
    if not storable(text) or any(_is_control(char, multiline) for char in text):
        raise InputRejected(_("Holds characters that are not allowed (control characters or invalid Unicode)."))
    if max_length is not None and len(text) > max_length:
        raise InputRejected(
            _("At most %(max)d characters (it has %(length)d).") % {"max": max_length, "length": len(text)}
        )
    return text


def max_length_of(model, field_name: str) -> int | None:
    """The database column's own limit, so a check never allows more than the column holds."""
    return model._meta.get_field(field_name).max_length


def echo(value, limit: int = ECHO_LENGTH) -> str:
    """A value as an error message may quote it: printable characters only (others become U+FFFD), shortened."""
    text = value if isinstance(value, str) else repr(value)
    shown = "".join(char if char.isprintable() and storable(char) else "\ufffd" for char in text[: limit + 1])
    return shown if len(shown) <= limit else shown[:limit] + "…"


def safe_text(text: str) -> str:
    """Text that UTF-8 and PostgreSQL accept: NUL and lone surrogates replaced by U+FFFD."""
    if storable(text):
        return text
    return "".join(char if storable(char) else "\ufffd" for char in text)


def _is_control(char: str, multiline: bool) -> bool:
    if multiline and char in MULTILINE_ALLOWED:
        return False
    return unicodedata.category(char) == "Cc"


def _no_constant(name: str):
    raise ValueError(name)


def _too_deep() -> InputRejected:
    return InputRejected(
        _("The JSON is nested too deeply (at most %(max)d levels).") % {"max": MAX_JSON_DEPTH}, code="too_deep"
    )


class CleanCharField(forms.CharField):
    """A form's text field checked by `clean_text`: control characters (but line breaks and tabs in `multiline`
    text) and invalid Unicode are a form error, as NUL already is in Django's CharField."""

    def __init__(self, *, multiline: bool = False, **kwargs):
        self.multiline = multiline
        super().__init__(**kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        try:
            return clean_text(value, max_length=None, multiline=self.multiline)
        except InputRejected as rejected:
            raise forms.ValidationError(rejected.message, code="invalid") from None


def normalise_tracking_number(raw: str) -> str:
    # Scanners add spaces or lower-case letters depending on their keyboard layout; waybill numbers have neither.
    return "".join((raw or "").split()).upper()
