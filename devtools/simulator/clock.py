"""A controllable UTC clock and the Desk timestamp format."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class Clock:
    """Real UTC time by default; tests freeze it or shift it.

    A frozen clock returns the same instant until set or advanced. An unfrozen clock follows
    real time plus an offset, so `advance()` on it jumps ahead and keeps ticking.
    """

    def __init__(self, now: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._frozen: datetime | None = None
        self._offset = timedelta(0)
        if now is not None:
            self.set(now)

    def now(self) -> datetime:
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            return datetime.now(UTC) + self._offset

    def timestamp(self) -> int:
        return int(self.now().timestamp())

    def set(self, now: datetime | None, *, frozen: bool = True) -> None:
        """Freeze at `now`, tick from `now` (frozen=False), or return to real time (None)."""
        with self._lock:
            if now is None:
                self._frozen, self._offset = None, timedelta(0)
            elif frozen:
                self._frozen, self._offset = _aware(now), timedelta(0)
            else:
                self._frozen, self._offset = None, _aware(now) - datetime.now(UTC)

    def advance(self, seconds: float) -> None:
        with self._lock:
            if self._frozen is not None:
                self._frozen += timedelta(seconds=seconds)
            else:
                self._offset += timedelta(seconds=seconds)

    @property
    def frozen(self) -> bool:
        return self._frozen is not None


def iso(moment: datetime) -> str:
    """Desk's whole-second UTC format, e.g. 2016-11-22T23:36:49Z."""
    return moment.astimezone(UTC).strftime(ISO_FORMAT)


def parse_time(value: str | int | float) -> datetime:
    """Unix seconds or ISO 8601 (with Z or an offset; naive means UTC)."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    text = value.strip()
    if text.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(text), UTC)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    return _aware(datetime.fromisoformat(text))


def epoch(value: str) -> int:
    """Whole Unix seconds of a stored Desk timestamp."""
    return int(parse_time(value).timestamp())


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
