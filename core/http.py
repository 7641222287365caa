"""HTTP facts shared by every interface: what a successful answer is, and which headers are
never stored or shown as sent."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

REDACTED = "<redacted>"
# Credentials a request may carry: the callback's Basic auth, a provider's session.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


def is_success(status_code: int | None) -> bool:
    """A 2xx answer; anything else (no answer, 3xx, 4xx, 5xx) is a failure."""
    return status_code is not None and 200 <= status_code < 300


def redacted_headers(headers: Mapping[str, str], *, also: Iterable[str] = ()) -> dict[str, str]:
    """``headers`` with every credential (and each header named in ``also``, such as a
    provider's signature header) replaced by ``<redacted>``."""
    hidden = SECRET_HEADERS | {name.lower() for name in also}
    return {
        str(name): REDACTED if str(name).lower() in hidden else value
        for name, value in headers.items()
    }
