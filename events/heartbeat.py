"""The worker's heartbeat: proof that the scheduler hands out tasks and a worker runs them.

The ``heartbeat`` schedule (events/tasks.py) runs ``heartbeat_record`` every minute from a
worker. ``setup_schedules`` creates the row first, so a fresh installation whose worker has
not beaten yet is "starting" for ``STALE_AFTER`` rather than failing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from events.models import Heartbeat

SCHEDULER = "scheduler"
STALE_AFTER = timedelta(minutes=3)
WORKER_HINT = "is the worker (python manage.py qcluster) running?"


def heartbeat_expect(*, now: datetime) -> bool:
    """Start waiting for heartbeats (idempotent); True when the row was created."""
    _, created = Heartbeat.objects.get_or_create(name=SCHEDULER, defaults={"created_at": now})
    return created


def heartbeat_record(*, now: datetime) -> None:
    Heartbeat.objects.update_or_create(name=SCHEDULER, defaults={"beat_at": now})


def heartbeat_check(*, now: datetime) -> dict:
    """``{"status": "ok" | "starting" | "failing", ...}`` with what was seen."""
    heartbeat = Heartbeat.objects.filter(name=SCHEDULER).first()
    if heartbeat is None:
        return {
            "status": "failing",
            "error": "no heartbeat schedule: run python manage.py setup_schedules",
        }
    if heartbeat.beat_at is None:
        waited = now - heartbeat.created_at
        if waited <= STALE_AFTER:
            return {
                "status": "starting",
                "note": f"no heartbeat yet; the schedule was set up {_ago(waited)} and the "
                "worker runs it within a minute of starting",
            }
        return {
            "status": "failing",
            "error": f"no heartbeat since the schedule was set up {_ago(waited)}: {WORKER_HINT}",
        }
    age = now - heartbeat.beat_at
    seen = {"lastHeartbeat": heartbeat.beat_at.isoformat(), "ageSeconds": int(age.total_seconds())}
    if age > STALE_AFTER:
        return {"status": "failing", "error": f"last heartbeat {_ago(age)}: {WORKER_HINT}", **seen}
    return {"status": "ok", **seen}


def _ago(age: timedelta) -> str:
    seconds = max(0, int(age.total_seconds()))
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"
