"""The first poll's baseline, on the provider's clock.

Every window after the first starts from the provider's own ``updated`` values, but the first
one must start from a moment of ours: when events were enabled (or capture restarted, or the
backfill date). A provider whose clock runs behind ours would lose every change made until
its clock passed that moment; one running ahead would emit history as new changes. So the
first poll reads the provider's clock from the ``Date`` header of its first answer and shifts
that moment onto it.

Precision: the header has whole seconds and is stamped before the answer reaches us, so the
measured skew is a lower bound, at most 1 s plus the answer's time in transit below the true
one. The baseline is then taken down to a whole second and one more second before it: a
change made at the very moment of enabling is kept (on a provider with whole-second
timestamps, in the same second), and one made up to about 2 s before it may be emitted.

Without a Date header the baseline is the newest change the first poll reads (every change
until then is history); when that poll reads none, the moment itself on our clock.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from integrations.instances import event_settings, skew_words
from integrations.models import PollerObject

# A Date header further than this from our clock is not the provider's clock (a cached or
# broken answer): the poll ignores it and warns.
MAX_SKEW = timedelta(days=1)


def window_start(poller: PollerObject, now: datetime) -> datetime:
    """The cursor, or on the first poll when events were enabled (or capture restarted), or
    the backfill date the instance asks for, on our clock: the poll moves it onto the
    provider's (``baseline_at``)."""
    if poller.cursor is not None:
        return poller.cursor
    return (
        event_settings(poller.instance).backfill_since or poller.instance.events_enabled_at or now
    )


class ProviderClock:
    """What one poll knows of the provider's clock: ``skew``, read once from the first
    answer, and ``now`` (the poll's) on that clock."""

    def __init__(self, now: datetime, client: Any) -> None:
        self.now = now
        self.started = time.monotonic()
        self.skew: float | None = None
        self.read = False
        if hasattr(client, "clock_watch"):
            client.clock_watch()  # a client may serve several polls

    def read_once(self, client: Any) -> str:
        """Measure the skew from the first answer ``client`` read; returns a warning when
        its Date header was ignored."""
        self.read = True
        self.skew, problem = poll_skew(client, now=self.now, started=self.started)
        return problem

    def provider_now(self) -> datetime:
        return self.now + timedelta(seconds=self.skew or 0)


def poll_skew(client: Any, *, now: datetime, started: float) -> tuple[float | None, str]:
    """The provider's clock minus ours in seconds, from the first answer ``client`` (a
    ``ProviderClient``) read since ``started``, ours being ``now`` at that monotonic instant;
    None when it had no Date header. The second value is a warning when the header was
    ignored."""
    note = getattr(client, "provider_date", None)
    if note is None or note.read_at < started:
        return None, ""
    skew = note.skew(now=now, started=started)
    if abs(skew) > MAX_SKEW.total_seconds():
        return None, (
            f"ignored the provider's Date header ({note.date.isoformat()}): it is "
            f"{skew_words(skew)} ours, more than {MAX_SKEW.days} day, so it is not the "
            "provider's clock (a first poll takes the newest change it reads as its baseline)"
        )
    return skew, ""


def baseline_at(moment: datetime, skew: float) -> datetime:
    """``moment`` (our clock) on the provider's clock: shifted by ``skew``, down to a whole
    second, and one second before it, so that a change made at ``moment`` is after it."""
    shifted = moment + timedelta(seconds=skew)
    return shifted.replace(microsecond=0) - timedelta(seconds=1)
