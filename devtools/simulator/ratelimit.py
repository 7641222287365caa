"""Desk's per-minute request budget, in windows driven by the simulator clock."""

from __future__ import annotations

import threading

from .clock import Clock

WINDOW = 60


class RateLimiter:
    def __init__(self, clock: Clock, limit: int) -> None:
        self.clock = clock
        self.limit = limit
        self._lock = threading.Lock()
        self._window = -1
        self._used = 0

    def hit(self) -> tuple[bool, dict[str, str]]:
        """Count one request; (allowed, X-Rate-Limit-* headers)."""
        with self._lock:
            now = self._roll()
            allowed = self._used < self.limit
            if allowed:
                self._used += 1
            return allowed, self._headers(now)

    def peek(self) -> dict[str, str]:
        with self._lock:
            return self._headers(self._roll())

    def reset(self) -> None:
        with self._lock:
            self._window, self._used = -1, 0

    def _roll(self) -> int:
        now = self.clock.timestamp()
        if now // WINDOW != self._window:
            self._window, self._used = now // WINDOW, 0
        return now

    def _headers(self, now: int) -> dict[str, str]:
        return {
            "X-Rate-Limit-Limit": str(self.limit),
            "X-Rate-Limit-Remaining": str(max(0, self.limit - self._used)),
            # Recorded values run 1..60: seconds until the next window.
            "X-Rate-Limit-Reset": str(WINDOW - now % WINDOW),
        }
