"""What went wrong talking to a provider, told without secrets: ``ProviderError`` and its
``permanent`` flag, the message for each kind of refusal, and the reason for no answer."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import requests
import urllib3
from django.conf import settings

from core.http import AnswerTooSlow

EXCERPT_CHARS = 200


class ProviderError(Exception):
    """Anything that went wrong talking to a provider. ``permanent`` errors will not go away
    by retrying later (bad credentials, unknown route); the others might."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        permanent: bool = False,
        excerpt: str = "",
    ):
        super().__init__(message)
        self.status = status
        self.permanent = permanent
        self.excerpt = excerpt


class PageCapReached(ProviderError):
    """The element's ``maxPages`` was reached while the provider still had a next page: the
    caller should narrow its window, e.g. restart after ``last_record``."""

    def __init__(self, message: str, *, last_record: dict | None, pages: int):
        super().__init__(message)
        self.last_record = last_record
        self.pages = pages


def excerpt(text: str) -> str:
    text = re.sub(r"\s+", " ", text or "").strip()
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


def display_url(url: str, params: dict[str, str] | None = None) -> str:
    """The URL as shown in messages: path and query, without auth added by the session."""
    prepared = requests.PreparedRequest()
    prepared.prepare_url(url, params)
    return prepared.path_url


def answer_error(message: str, response: requests.Response) -> ProviderError:
    """An error about the provider's answer: ``message``, then an excerpt of its body."""
    text = excerpt(response.text)
    return ProviderError(f"{message}: {text}", status=response.status_code, excerpt=text)


def status_error(
    name: str,
    response: requests.Response,
    where: str,
    *,
    attempts: int,
    permanent: bool | None = None,
) -> ProviderError:
    """The error for a provider's answer other than 2xx; unless ``permanent`` says otherwise,
    a redirect or a 4xx is permanent."""
    status = response.status_code
    text = excerpt(response.text)
    tries = f" ({attempts} attempts)" if attempts > 1 else ""
    message = f"{name} answered {status} on GET {where}{tries}: {text}"
    if status in (401, 403):
        message += " Check the instance's credentials."
    if 300 <= status < 400:
        location = urlsplit(response.headers.get("Location", ""))
        # Without the query: it could carry a token.
        target = location.path
        if location.netloc:
            target = f"{location.scheme}://{location.netloc}{target}"
        message = (
            f"{name} redirected GET {where} to {target or 'nowhere'}{tries}; Tributary "
            f"does not follow redirects: check the instance's site address."
        )
    if permanent is None:
        permanent = 300 <= status < 500
    return ProviderError(message, status=status, permanent=permanent, excerpt=text)


def describe(exc: requests.RequestException) -> str:
    """Why a request got no answer: a timeout (of the whole answer, or of its body alone),
    or the connection problem."""
    if isinstance(exc, AnswerTooSlow):
        return f"no complete answer within {settings.TRIBUTARY_PROVIDER_TIMEOUT} s"
    if isinstance(exc, requests.Timeout):
        return f"no answer within {settings.TRIBUTARY_PROVIDER_TIMEOUT} s"
    return connection_problem(exc)


def connection_problem(exc: requests.RequestException) -> str:
    """What went wrong on the wire, without the URL, which could carry an API key in its
    query string: the innermost reason (DNS, refused connection) or, for a connection
    closed without an answer, the OS error (connection reset by peer)."""
    inner = exc.args[0] if exc.args else None
    reason = getattr(inner, "reason", None)
    if reason is not None:
        return str(reason)
    if isinstance(inner, urllib3.exceptions.ProtocolError) and inner.args:
        cause = inner.args[-1]
        detail = getattr(cause, "strerror", None) or str(cause)
        return f"the connection was closed without an answer ({detail})"
    return type(exc).__name__
