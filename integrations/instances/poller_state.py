"""A poller's state in plain words, one wording for the admin and the API: the provider's
clock as the polls measured it (events/baseline.py) and delete reconciliation
(events/reconcile.py, ``event.poller.reconcile.interval``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from integrations.instances.settings import event_settings
from integrations.models import PollerObject

OUTCOMES = ("complete", "failed", "refused")


@dataclass(frozen=True)
class StateLine:
    """One line of a poller's state, and a warning when it needs someone's attention."""

    text: str
    warning: str = ""


def skew_words(skew: float) -> str:
    """How the provider's clock stands to ours: ``2 h 0 min ahead of``, ``10 min behind``,
    ``level with`` (to the second)."""
    seconds = round(abs(skew))
    if seconds == 0:
        return "level with"
    # To the minute from an hour on: the measurement is good to about a second.
    hours, minutes = divmod(round(seconds / 60), 60)
    amount = f"{hours} h {minutes} min" if seconds >= 3600 else _amount(seconds)
    return f"{amount} {'ahead of' if skew > 0 else 'behind'}"


def poller_clock_describe(poller: PollerObject) -> StateLine:
    """The provider's clock as the last poll measured it, with a warning when it is further
    from ours than the poller's lookback."""
    skew = poller.clock_skew
    if skew is None:
        if poller.last_poll_at is None:
            return StateLine("not measured yet: each poll reads it from the provider's answers")
        return StateLine(
            "unknown: the provider's answers carry no usable Date header, so the first poll "
            "took the newest change it read as its baseline"
        )
    text = f"the provider's clock is {skew_words(skew)} ours ({skew:+.1f} s, by the last poll)"
    if abs(skew) <= poller.lookback:
        return StateLine(text)
    return StateLine(
        text,
        f"More than this poller's {poller.lookback} s lookback: the provider's clock or time "
        "zone is probably misconfigured. Changes are still windowed on its clock, but a "
        "poller without an updated date field windows on ours plus the last measured skew, "
        "and any jump of the provider's clock (when it is corrected) shifts its window by as "
        "much. Fix the provider's clock or zone, or raise the lookback above the skew.",
    )


def poller_reconcile_state(poller: PollerObject) -> dict[str, Any]:
    """The delete reconciliation state as the API shows it."""
    every = event_settings(poller.instance).reconcile_every(poller.name)
    result = poller.reconcile_result if isinstance(poller.reconcile_result, dict) else {}
    return {
        "intervalHours": round(every.total_seconds() / 3600) if every else None,
        "lastCompleteAt": poller.reconciled_at,
        "last": result or None,
    }


def poller_reconcile_describe(poller: PollerObject, *, now: datetime) -> StateLine:
    """``every 24 h; last complete scan 3 h ago: 120 ids, 2 deleted``, ``off``, or the
    last scan's failure or refusal (a warning)."""
    every = event_settings(poller.instance).reconcile_every(poller.name)
    result = poller.reconcile_result if isinstance(poller.reconcile_result, dict) else {}
    if every is None:
        return StateLine("off")
    schedule = f"every {_amount(round(every.total_seconds()))}"
    complete = (
        f"last complete scan {_ago(poller.reconciled_at, now)}"
        if poller.reconciled_at
        else "no complete scan yet"
    )
    outcome = result.get("outcome")
    if outcome not in OUTCOMES:
        return StateLine(f"{schedule}; {complete}")
    if outcome == "complete":
        counts = f"{_count(result.get('scanned'))} ids, {_count(result.get('deleted'))} deleted"
        return StateLine(f"{schedule}; {complete}: {counts}")
    message = str(result.get("message") or "no reason recorded")[:300]
    when = _ago(_instant(result.get("at")), now)
    text = f"{schedule}; last scan {outcome} {when}: {message}; {complete}"
    return StateLine(text, f"The last delete reconciliation scan was {outcome}: {message}")


def _amount(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes or seconds else f"{hours} h"
    if minutes:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    return f"{seconds} s"


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "at an unknown time"
    seconds = round((now - moment).total_seconds())
    if seconds < 0:
        return "just now"
    if seconds >= 2 * 86400:
        return f"{seconds // 86400} days ago"
    if seconds >= 3600:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 60} min ago" if seconds >= 60 else f"{seconds} s ago"


def _instant(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return moment if moment is None or moment.tzinfo else None


def _count(value: Any) -> str:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else "?"
