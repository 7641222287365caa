"""An element's ``rateLimit``: which provider answers are retried and how long to wait.

- ``retryStatuses`` (default ``[429]``): wait as long as the provider says, then retry.
- ``retryAfterHeaders`` (default ``["Retry-After"]``) and ``resetHeader``: where it says so,
  in seconds, an HTTP date or a Unix time (``resetFormat`` says which for ``resetHeader``).
- ``defaultRetryAfter``: the wait when a retried answer says nothing; otherwise backoff.
- ``transientStatuses``: retried with backoff like 5xx (Desk's overloaded front end answers 400).
- ``remainingHeader``: when it reaches 0, wait for ``resetHeader`` before the next request.
- ``maxRetries`` (default 3): retries of one request before giving up.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from typing import Any

import requests

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


@dataclass(frozen=True)
class RateLimit:
    """The ``rateLimit`` section of one element; ``backoff`` is the first exponential wait."""

    settings: dict[str, Any]
    backoff: float = 1.0

    @property
    def max_retries(self) -> int:
        return int(self.settings.get("maxRetries", 3))

    def backoff_wait(self, attempt: int) -> float:
        return self.backoff * 2**attempt

    def retry_wait(self, response: requests.Response, attempt: int) -> float | None:
        """Seconds to wait before retrying this response, or None when it is not retried."""
        status = response.status_code
        if status in self.settings.get("retryStatuses", [429]):
            for header in self._wait_headers():
                told = self._header_wait(response, header)
                if told is not None:
                    return told
            return self._default_wait(attempt)
        if status >= 500 or status in self.settings.get("transientStatuses", []):
            return self.backoff_wait(attempt)
        return None

    def window_pause(self, response: requests.Response) -> float | None:
        """Seconds to wait before the next request when this response says no requests
        remain (``remainingHeader`` at 0); None while some remain or it does not say."""
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
        return self.backoff_wait(attempt)
