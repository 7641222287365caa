"""HTTP facts shared by every interface: what a successful answer is, which headers are
never stored or shown as sent, and how an outbound request is bounded.

Every request Tributary sends (a provider's page, an OAuth token, a callback) goes through
``bounded_request``: its answer is read within a byte cap and one deadline for the whole
attempt, so no provider or app can hold a worker or the web process, or fill its memory, by
answering slowly or at length.
"""

from __future__ import annotations

import http.client
import io
import re
import socket
import time
from collections.abc import Iterable, Mapping
from typing import Any

import requests
import urllib3

REDACTED = "<redacted>"
# Credentials a request may carry: the callback's Basic auth, a provider's session.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
# Read an answer this much at a time: a cap is never overshot by more.
CHUNK = 64 * 1024


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


def size_text(size: int) -> str:
    """``52428800`` as ``50 MB``, ``20480`` as ``20 KB``; other sizes in bytes."""
    for unit, factor in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"


class AnswerTooLarge(requests.RequestException):
    """The answer's body was longer than ``max_bytes``; the rest was left unread."""

    def __init__(self, max_bytes: int, *, response: requests.Response) -> None:
        super().__init__(f"the answer was over {size_text(max_bytes)}", response=response)
        self.max_bytes = max_bytes


class AnswerTooSlow(requests.Timeout):
    """The answer's status and headers came, its body was not complete by the deadline."""

    def __init__(self, seconds: float, *, response: requests.Response) -> None:
        super().__init__(f"no complete answer within {seconds:g} s", response=response)
        self.seconds = seconds


def bounded_request(
    session: requests.Session,
    method: str,
    url: str,
    *,
    seconds: float,
    max_bytes: int,
    truncate: bool = False,
    **kwargs: Any,
) -> requests.Response:
    """Send one request and read its answer whole, within ``seconds`` for the attempt
    (connect, send, status, headers and body) and ``max_bytes`` of body.

    Raises what ``session.request`` raises (``requests.Timeout`` when no status and headers
    came in time), ``AnswerTooSlow`` when the body was not complete in time, and
    ``AnswerTooLarge`` when it was longer than ``max_bytes``, unless ``truncate``: then the
    answer holds the first ``max_bytes``. Either way, an answer not read to its end is not
    read on: its connection is closed.

    The deadline holds for every read, however slowly the other side sends, on a session
    whose connections read answers with ``DeadlineHTTPResponse`` (``guarded_session``);
    on another, each read may take up to the time left.
    """
    deadline = time.monotonic() + seconds
    # urllib3 gives the connect the total and the answer what the connect and send left.
    timeout = urllib3.Timeout(total=seconds)
    response = session.request(method, url, stream=True, timeout=timeout, **kwargs)
    try:
        body = _body(response, max_bytes=max_bytes, truncate=truncate, deadline=deadline)
    except requests.ConnectionError as exc:
        # requests reports a read timeout in the body as a connection error.
        if isinstance(exc.args[0] if exc.args else None, urllib3.exceptions.ReadTimeoutError):
            raise AnswerTooSlow(seconds, response=response) from exc
        raise
    finally:
        # Releases a connection read to its end for the next request; closes any other.
        response.close()
    if body is None:
        raise AnswerTooSlow(seconds, response=response)
    # What ``response.content`` would have read: ``.text`` and ``.json()`` work as usual.
    response._content = body
    return response


def _body(
    response: requests.Response, *, max_bytes: int, truncate: bool, deadline: float
) -> bytes | None:
    """The body, up to ``max_bytes`` (and one more byte to tell it was longer); None when the
    deadline passed between two reads."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(min(CHUNK, max_bytes + 1)):
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            if truncate:
                return b"".join(chunks)[:max_bytes]
            raise AnswerTooLarge(max_bytes, response=response)
        if time.monotonic() > deadline:
            return None
    return b"".join(chunks)


class DeadlineHTTPResponse(http.client.HTTPResponse):
    """An answer read against one deadline instead of a timeout per read: a server that
    sends a byte at a time can no longer stretch a read timeout without end.

    The deadline is the socket's timeout when the answer starts, which urllib3 sets to what
    a ``urllib3.Timeout(total=...)`` has left after the connect and the send. Set as the
    ``response_class`` of a urllib3 connection class."""

    def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
        seconds = sock.gettimeout()
        source = sock if seconds is None else _DeadlineSocket(sock, time.monotonic() + seconds)
        super().__init__(source, *args, **kwargs)


class _DeadlineSocket:
    """What ``http.client.HTTPResponse`` reads from: the socket's file, with the deadline."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))


class _DeadlineReader(io.RawIOBase):
    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self._sock = sock
        self._file = sock.makefile("rb", buffering=0)
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the deadline for the answer has passed")
        self._sock.settimeout(left)
        return self._file.readinto(buffer)

    def close(self) -> None:
        if not self.closed:
            self._file.close()
        super().close()


# The headers Tributary sets on every delivery (events/delivery/signing.py). An app's
# callback header may not take one of these names (it would replace the delivery id, a
# signature or the body's type), and they are the only headers a delivery attempt records
# as sent: any other is a credential or one of the app's secret callback headers.
DELIVERY_HEADERS = frozenset(
    {
        "content-type",
        "user-agent",
        "elements-webhook-id",
        "elements-webhook-signature",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    }
)
URL_CREDENTIALS_MASK = "********"
# ``scheme://user:password@``: everything between ``//`` and the host's last ``@``.
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s]*@")


def delivery_headers_shown(headers: Mapping[str, str]) -> dict[str, str]:
    """A delivery's request headers as an attempt records them and a page shows them:
    Tributary's own in clear, every other value ``<redacted>``."""
    return redacted_headers(
        headers, also=[name for name in headers if str(name).lower() not in DELIVERY_HEADERS]
    )


def url_without_credentials(text: str) -> str:
    """``text`` (a URL, or a message quoting URLs) with the credentials of every URL in it
    masked: ``https://user:pw@host/x`` becomes ``https://********@host/x``."""
    return _URL_CREDENTIALS.sub(rf"\g<1>{URL_CREDENTIALS_MASK}@", text)
