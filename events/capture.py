"""Capturing changes: the one path from normalized changes to stored Events and deliveries.

Polling and inbound webhooks differ in how changes arrive, not in how they are stored. Both
hand ``core.changes.Change`` objects here, and this module decides what is new (a version
already stored is never stored, nor delivered, again), how changes are grouped into
notification messages, and which rows a delivery starts from.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction

from core.changes import Change
from events.delivery import initial_status
from events.messages import build_message, dumps, event_entry
from events.models import Event, EventLog, InboundWebhook
from integrations.models import Instance

NEW_EVENT_FIELDS = ("objectId", "objectType", "eventType", "date")


@dataclass
class CaptureResult:
    events: Counter = field(default_factory=Counter)
    # One line per stored event (objectId, objectType, eventType, date), as ``poll --json``
    # prints them.
    new_events: list[dict] = field(default_factory=list)
    event_log_ids: list[int] = field(default_factory=list)
    duplicates: int = 0
    # New changes short of a full batch, when the caller asked to store full batches only.
    held: list[Change] = field(default_factory=list)

    @property
    def stored(self) -> int:
        return sum(self.events.values())


def changes_fresh(*, instance: Instance, changes: Sequence[Change]) -> list[Change]:
    """``changes`` without the versions already stored for ``instance``, nor repeats within
    ``changes``; in their order."""
    if not changes:
        return []
    stored = set(
        Event.objects.filter(
            instance=instance,
            object_type__in={change.object_type for change in changes},
            object_id__in={change.object_id for change in changes},
            version__in={change.version for change in changes},
        ).values_list("object_type", "object_id", "version")
    )
    fresh = []
    for change in changes:
        key = (change.object_type, change.object_id, change.version)
        if key not in stored:
            stored.add(key)
            fresh.append(change)
    return fresh


def changes_capture(
    *,
    instance: Instance,
    changes: Sequence[Change],
    source: str,
    now: datetime,
    batch_size: int,
    raw: Callable[[Sequence[Change]], Any],
    poll_date: datetime | None = None,
    inbound: InboundWebhook | None = None,
    full_batches_only: bool = False,
    dry_run: bool = False,
) -> CaptureResult:
    """Store the new ones of ``changes`` as Events, ``batch_size`` to an EventLog whose
    message carries ``raw(batch)``, each delivery due at ``now``.

    ``full_batches_only`` holds back the new changes that do not fill a batch (a poll
    passes them again with its next page). ``dry_run`` stores nothing and reports what
    would have been stored. Run it inside the caller's transaction: the Events and what
    else the caller records (a poll's cursor, an inbound request) commit together.
    """
    fresh = changes_fresh(instance=instance, changes=changes)
    result = CaptureResult(duplicates=len(changes) - len(fresh))
    keep = len(fresh) % batch_size if full_batches_only else 0
    ready, result.held = fresh[: len(fresh) - keep], fresh[len(fresh) - keep :]
    logs, events = [], []
    for offset in range(0, len(ready), batch_size):
        batch = ready[offset : offset + batch_size]
        entries = [
            event_entry(
                instance=instance,
                object_type=change.object_type,
                object_id=change.object_id,
                event_type=change.event_type,
                date=change.date or now,
                poll_date=poll_date,
            )
            for change in batch
        ]
        event_log = _event_log(
            instance=instance, batch=batch, entries=entries, source=source, raw=raw(batch), now=now
        )
        logs.append(event_log)
        for change, entry in zip(batch, entries, strict=True):
            result.events[change.event_type] += 1
            result.new_events.append({key: entry[key] for key in NEW_EVENT_FIELDS})
            events.append(
                Event(
                    instance=instance,
                    event_log=event_log,
                    inbound=inbound,
                    object_type=change.object_type,
                    object_id=change.object_id,
                    event_type=change.event_type,
                    event_date=change.date or now,
                    poll_date=poll_date,
                    raw=change.record
                    if isinstance(change.record, dict)
                    else {"value": change.record},
                    source=source,
                    version=change.version,
                )
            )
    if dry_run or not logs:
        return result
    with transaction.atomic(savepoint=False):
        EventLog.objects.bulk_create(logs)
        Event.objects.bulk_create(events)
    result.event_log_ids = [log.pk for log in logs]
    return result


def _event_log(
    *,
    instance: Instance,
    batch: Sequence[Change],
    entries: list[dict],
    source: str,
    raw: Any,
    now: datetime,
) -> EventLog:
    """The (unsaved) delivery of one batch: its message in Cloud Elements' shape."""
    delivery_id = str(uuid.uuid4())
    message = build_message(
        instance=instance, delivery_id=delivery_id, events=entries, raw=raw, created=now
    )
    return EventLog(
        instance=instance,
        delivery_id=delivery_id,
        source=source,
        object_type=",".join(sorted({change.object_type for change in batch})),
        body=dumps(message),
        status=initial_status(instance),
        next_attempt_at=now,
    )
