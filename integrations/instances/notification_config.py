"""The ``event.notification.*`` checks: what a delivery's request is built from (the callback
URL, the app's extra headers, the signature key, Basic auth) must be something that can be
sent. A setting that could never work is refused when the instance is saved, naming the key,
rather than failing every delivery later.

Messages never quote a secret: the app's header values and the signature key are secrets.
"""

from __future__ import annotations

import binascii
import json
import re
from typing import Any
from urllib.parse import urlsplit

from standardwebhooks.webhooks import Webhook

from core.http import DELIVERY_HEADERS
from integrations.instances.pollers_config import Invalid, kind, show, to_json_object
from integrations.provider import url_problems

CALLBACK_HEADERS = "event.notification.callback.headers"
BASIC_USERNAME = "event.notification.basic.username"
STANDARD_WEBHOOKS_PREFIX = "whsec_"
# RFC 9110's token: the characters a header name may hold.
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
# Set by the HTTP client for the request's framing: one set by hand breaks the request.
_FRAMING_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "te",
     "trailer", "upgrade", "expect", "proxy-connection"}
)  # fmt: skip
# Control characters other than the tab: never in a header value.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_BASE64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")


def http_url(value: Any) -> str:
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(f"must be an absolute http(s) URL, got {show(value)}")
    if len(value) > 2000:
        raise Invalid("must be at most 2000 characters")
    return value


def callback_url(value: Any) -> str:
    url = http_url(value)
    problems = url_problems(url)
    if problems:
        raise Invalid(problems[0])
    return url


def text(value: Any) -> str:
    """A string that can be sent as UTF-8 (JSON lets a lone surrogate through)."""
    if not isinstance(value, str):
        raise Invalid(f"must be a string, got {show(value)}")
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            raise Invalid("must be text; this one holds a lone UTF-16 surrogate") from None
    return value


def signature_key(value: Any) -> str:
    """Any text is a key, used as its UTF-8 bytes; ``whsec_`` + base64 is a Standard Webhooks
    key, decoded by the ``standardwebhooks`` library itself. The library pads the base64 and
    skips characters outside it without a word (``whsec_my-key!`` would sign with other bytes
    than it says, ``whsec_`` with none): such a key is refused rather than silently changed."""
    key = text(value)
    if not key.startswith(STANDARD_WEBHOOKS_PREFIX):
        return key
    encoded = key.removeprefix(STANDARD_WEBHOOKS_PREFIX)
    problem = "" if encoded else "nothing follows whsec_"
    if encoded and not _BASE64.match(encoded):
        problem = "what follows whsec_ holds characters other than A-Z, a-z, 0-9, + and /"
    if not problem:
        try:
            Webhook(key)
        except binascii.Error:  # a length base64 cannot have ("whsec_a")
            problem = "what follows whsec_ is not valid base64"
    if problem:
        raise Invalid(
            f"{problem}; a key starting with whsec_ is a Standard Webhooks key, whsec_ followed "
            "by the key's bytes in base64 (such as whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw); "
            "without that prefix, a key is used as given"
        )
    return key


def basic_username(value: Any) -> str:
    username = text(value)
    if ":" in username:
        raise Invalid("must not contain ':', which separates the username from the password")
    return username


def callback_headers(value: Any) -> dict[str, str]:
    """The app's extra headers, as an object or a JSON text of one."""
    headers = _json_value(value) if isinstance(value, str) else value
    if not isinstance(headers, dict):
        raise Invalid(f"must be a JSON object of header names and values, got {kind(headers)}")
    for name, header in headers.items():
        if not _HEADER_NAME.match(name):
            raise Invalid(f"{show(name)} is not a valid header name")
        if name.lower() in DELIVERY_HEADERS:
            raise Invalid(
                f"header {name} is one Tributary sets on every delivery (the delivery id, "
                "its signatures, the body's type and the user agent); give it another name"
            )
        if name.lower() in _FRAMING_HEADERS:
            raise Invalid(f"header {name} is set by the HTTP client itself; leave it out")
        problem = _header_value_problem(header)
        if problem:
            raise Invalid(f"header {name}: {problem}")
    return headers


def _json_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        to_json_object(text)  # raises Invalid, saying where the JSON is broken
        raise


def _header_value_problem(value: Any) -> str:
    """Why an HTTP header value can never be sent, without quoting it."""
    if not isinstance(value, str):
        return f"its value must be a string, got {kind(value)}"
    for position, character in enumerate(value, start=1):
        if ord(character) > 0xFF:
            return (
                f"character {position} of its value is not Latin-1 (ISO-8859-1), the only "
                "text a header can carry; percent-encode or base64 the value"
            )
    control = _CONTROL.search(value)
    if control:
        return (
            f"its value holds a control character (a line break, say) at character "
            f"{control.start() + 1}; a header value is one line of text"
        )
    if value != value.strip(" \t"):
        return "its value must not begin or end with a space or a tab"
    return ""


def authorization_problems(values: dict[str, Any]) -> list[str]:
    """Basic auth is sent as the Authorization header: a callback header of that name as well
    would be replaced without a word."""
    names = {name.lower() for name in values.get(CALLBACK_HEADERS, {})}
    if values.get(BASIC_USERNAME) and "authorization" in names:
        return [
            f"{CALLBACK_HEADERS}: header Authorization would be replaced by the Basic auth of "
            f"{BASIC_USERNAME}; keep one of the two"
        ]
    return []
