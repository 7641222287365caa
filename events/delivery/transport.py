"""The POST to the app's callback URL: one attempt, its answer or why there was none.

Redirects are not followed (the app must fix its URL), and the URL guard is applied at
every send, not only when the URL was saved: its name may resolve elsewhere by now.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import requests
from django.conf import settings

from core.http import AnswerTooSlow, bounded_request, is_success
from integrations.provider import (
    UnsafeURL,
    connection_problem,
    guarded_session,
    parse_wait,
    url_problems,
)

# The first bytes of a callback's answer kept with the attempt.
RESPONSE_LIMIT = 20 * 1024

_sessions: dict[int, requests.Session] = {}


def _session() -> requests.Session:
    # One keep-alive session per worker process.
    return _sessions.setdefault(0, guarded_session())


@dataclass(frozen=True)
class Response:
    status_code: int | None
    body: str
    duration_ms: int
    error: str = ""
    retry_after: float | None = None
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return is_success(self.status_code)


def post(
    url: str, body: bytes, headers: dict[str, str], *, session: requests.Session | None = None
) -> Response:
    """POST ``body``; the answer is read for at most TRIBUTARY_DELIVERY_TIMEOUT from the
    start, and only its first RESPONSE_LIMIT bytes are read and kept: the rest is never
    read (the connection is closed), so a big answer is no failure."""
    started = time.monotonic()
    seconds = settings.TRIBUTARY_DELIVERY_TIMEOUT
    problems = url_problems(url)
    if problems:
        return Response(None, "", 0, f"refused: {problems[0]}")
    try:
        answer = bounded_request(
            session or _session(),
            "POST",
            url,
            data=body,
            headers=headers,
            seconds=seconds,
            max_bytes=RESPONSE_LIMIT,
            truncate=True,
            allow_redirects=False,
        )
    except AnswerTooSlow as exc:
        return Response(
            None,
            "",
            _elapsed(started),
            f"no complete answer within {seconds} s (the body of its "
            f"{exc.response.status_code} answer was still arriving)",
            timed_out=True,
        )
    except requests.Timeout:
        return Response(
            None, "", _elapsed(started), f"no answer within {seconds} s", timed_out=True
        )
    except requests.RequestException as exc:
        return Response(
            None, "", _elapsed(started), f"could not connect: {connection_problem(exc)}"
        )
    except UnsafeURL as exc:
        return Response(None, "", _elapsed(started), str(exc))
    text = answer.content.decode("utf-8", errors="replace")
    error = ""
    if 300 <= answer.status_code < 400:
        error = f"redirect to {answer.headers.get('Location', '?')} not followed"
    elif not is_success(answer.status_code):
        error = f"the callback answered {answer.status_code}"
    return Response(
        answer.status_code,
        text,
        _elapsed(started),
        error,
        retry_after=parse_wait(answer.headers.get("Retry-After"), unix_time=False),
    )


def no_callback_url() -> Response:
    return Response(None, "", 0, "the instance has no callback URL")


def _elapsed(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
