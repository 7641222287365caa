"""Whether and when a provider request is sent again, read from the element's ``rateLimit``.

- No answer (connection refused or reset, timeout), or none read whole: not complete within
  TRIBUTARY_PROVIDER_TIMEOUT or longer than TRIBUTARY_PROVIDER_MAX_BYTES. Retried with
  exponential backoff.
- ``retryStatuses`` (default ``[429]``): wait as long as the provider says, then retry.
- ``retryAfterHeaders`` (default ``["Retry-After"]``) and ``resetHeader``: where it says so,
  in seconds, an HTTP date or a Unix time (``resetFormat`` says which for ``resetHeader``).
- ``defaultRetryAfter``: the wait when a retried answer says nothing; otherwise backoff.
- A 5xx, or one of ``transientStatuses``: retried with backoff (Desk's overloaded front end
  answers 400). Any other answer is not retried.
- ``remainingHeader``: when it reaches 0, wait for ``resetHeader`` before the next request.
- ``maxRetries`` (default 3): retries of one request before giving up.

No wait is longer than ``MAX_WAIT``: the request fails instead and the poll is retried later.
A 401 is no retry: the client renews an OAuth 2 token once and sends again (``renewal.py``).
"""

from __future__ import annotations

import email.utils
import time
from typing import Any

import requests

from core.http import AnswerTooLarge, size_text
from integrations.provider.errors import ProviderError, answer_error, describe, status_error

# A worker should not sit idle longer than this; beyond it the poller reschedules instead.
MAX_WAIT = 120.0
# No answer, or none read whole (core.http.bounded_request).
NO_ANSWER = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    AnswerTooLarge,
)
# Larger values of a reset header are Unix times, not seconds to wait.
EPOCH_THRESHOLD = 10**9


def parse_wait(
    value: str | None, *, unix_time: bool | None = None, now: float | None = None
) -> float | None:
    """Seconds to wait from a header holding seconds, a Unix time or an HTTP date. Unless
    ``unix_time`` says which, a number too large to be seconds is taken as a Unix time."""
    if not value:
        return None
    now = time.time() if now is None else now
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - now
        except (TypeError, ValueError):
            return None
    else:
        if unix_time or (unix_time is None and seconds > EPOCH_THRESHOLD):
            seconds -= now
    return max(0.0, seconds)


class Retries:
    """The ``rateLimit`` of one client's element, and the slow-down the provider's last
    answer asked for. ``backoff`` is the first exponential wait.

    Each ``wait_*`` method returns the seconds to wait before sending again, or raises the
    ``ProviderError`` that ends the request; ``attempt`` counts the retries so far."""

    def __init__(
        self,
        name: str,
        settings: dict[str, Any],
        *,
        backoff: float = 1.0,
        max_retries: int | None = None,
    ):
        self.name = name
        self.settings = settings
        self.backoff = backoff
        self.max_retries = (
            max_retries if max_retries is not None else int(settings.get("maxRetries", 3))
        )
        self._pause = 0.0

    def wait_before_request(self) -> float:
        """What the last answer asked for when it said no requests remain; 0 otherwise."""
        pause, self._pause = self._pause, 0.0
        if pause > MAX_WAIT:
            raise ProviderError(
                f"{self.name}'s rate limit is used up for the next {pause:.0f} s, longer than "
                f"{MAX_WAIT:.0f} s; try again later."
            )
        return pause

    def note_answer(self, response: requests.Response) -> None:
        """Remember the slow-down an answer asks for (``remainingHeader`` at 0)."""
        pause = self._window_pause(response)
        if pause is not None:
            self._pause = pause

    def wait_after_no_answer(
        self, exc: requests.RequestException, *, attempt: int, where: str
    ) -> float:
        if attempt >= self.max_retries:
            tries = f"{attempt + 1} attempts"
            if isinstance(exc, AnswerTooLarge):
                raise ProviderError(
                    f"{self.name} answered GET {where} with more than "
                    f"{size_text(exc.max_bytes)} ({tries}), the most Tributary reads of a "
                    f"page (TRIBUTARY_PROVIDER_MAX_BYTES): lower the poller's page size or "
                    f"raise the limit."
                ) from exc
            raise ProviderError(
                f"{self.name} did not answer GET {where} ({tries}): {describe(exc)}"
            ) from exc
        return self._backoff_wait(attempt)

    def wait_after_refusal(self, response: requests.Response, *, attempt: int, where: str) -> float:
        """After an answer other than 2xx."""
        wait = self._retry_wait(response, attempt)
        if wait is None:
            raise status_error(self.name, response, where, attempts=attempt + 1)
        if attempt >= self.max_retries:
            raise status_error(self.name, response, where, attempts=attempt + 1, permanent=False)
        if wait > MAX_WAIT:
            raise answer_error(
                f"{self.name} answered {response.status_code} on GET {where} and asked to wait "
                f"{wait:.0f} s, longer than {MAX_WAIT:.0f} s; try again later",
                response,
            )
        # The retry wait already covers any slow-down the response asked for.
        self._pause = 0.0
        return wait

    def _backoff_wait(self, attempt: int) -> float:
        return self.backoff * 2**attempt

    def _retry_wait(self, response: requests.Response, attempt: int) -> float | None:
        status = response.status_code
        if status in self.settings.get("retryStatuses", [429]):
            for header in self._wait_headers():
                told = self._header_wait(response, header)
                if told is not None:
                    return told
            return self._default_wait(attempt)
        if status >= 500 or status in self.settings.get("transientStatuses", []):
            return self._backoff_wait(attempt)
        return None

    def _window_pause(self, response: requests.Response) -> float | None:
        name = self.settings.get("remainingHeader")
        remaining = response.headers.get(name) if name else None
        if remaining is None or not remaining.strip().lstrip("-").isdigit():
            return None
        if int(remaining) > 0:
            return None
        reset = self.settings.get("resetHeader")
        told = self._header_wait(response, reset) if reset else None
        return told if told is not None else self._default_wait(0)

    def _wait_headers(self) -> list[str]:
        headers = list(self.settings.get("retryAfterHeaders", ["Retry-After"]))
        reset = self.settings.get("resetHeader")
        return headers + [reset] if reset and reset not in headers else headers

    def _header_wait(self, response: requests.Response, header: str) -> float | None:
        reset = self.settings.get("resetHeader", "")
        unix_time = None
        if header.lower() == reset.lower() and "resetFormat" in self.settings:
            unix_time = self.settings["resetFormat"] == "epochSeconds"
        return parse_wait(response.headers.get(header), unix_time=unix_time)

    def _default_wait(self, attempt: int) -> float:
        if "defaultRetryAfter" in self.settings:
            return float(self.settings["defaultRetryAfter"])
        return self._backoff_wait(attempt)
