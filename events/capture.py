"""Capturing changes: the one path from normalized changes to stored Events and deliveries.

Polling and inbound webhooks differ in how changes arrive, not in how they are stored. Both
hand ``core.changes.Change`` objects here, and this module decides what is new (a version
already stored is never stored, nor delivered, again), how changes are grouped into
notification messages, which rows a delivery starts from, and what to do with data the
database cannot store (``storable_json``, ``unstorable``): a provider's record or webhook
never fails a poll or a request because of it.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from django.db import transaction

from core.changes import Change
from events.delivery import initial_status
from events.messages import build_message, dumps, event_entry
from events.models import Event, EventLog, InboundWebhook
from integrations.models import Instance

NEW_EVENT_FIELDS = ("objectId", "objectType", "eventType", "date")

# What PostgreSQL cannot store in text or jsonb: NUL, and halves of surrogate pairs (a
# provider that cut a UTF-16 string in the middle of an emoji), which no UTF-8 can encode.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_LIMITS = {
    "objectType": Event._meta.get_field("object_type").max_length,
    "objectId": Event._meta.get_field("object_id").max_length,
}
_VERSION_LIMIT = Event._meta.get_field("version").max_length
_LOG_TYPES_LIMIT = EventLog._meta.get_field("object_type").max_length


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
    # Why a change was not stored: its objectType or objectId cannot be (``unstorable``).
    skipped: list[str] = field(default_factory=list)

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

    A change whose identity cannot be stored is skipped, its reason in ``skipped``; the
    Event keeps a storable copy of the record (``storable_json``), while the message
    carries ``raw(batch)`` as given. ``full_batches_only`` holds back the new changes that
    do not fill a batch (a poll passes them again with its next page). ``dry_run`` stores
    nothing and reports what would have been stored. Run it inside the caller's
    transaction: the Events and what else the caller records (a poll's cursor, an inbound
    request) commit together.
    """
    storable, skipped = _storable_changes(changes)
    fresh = changes_fresh(instance=instance, changes=storable)
    result = CaptureResult(duplicates=len(storable) - len(fresh), skipped=skipped)
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
                    raw=storable_json(
                        change.record
                        if isinstance(change.record, dict)
                        else {"value": change.record}
                    ),
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
        object_type=",".join(sorted({change.object_type for change in batch}))[:_LOG_TYPES_LIMIT],
        # An unpaired surrogate can only be inside a JSON string: its \\uXXXX escape keeps
        # the JSON the same and makes the text encodable.
        body=dumps(message).encode("utf-8", "backslashreplace").decode("utf-8"),
        status=initial_status(instance),
        next_attempt_at=now,
    )


def storable_text(text: str) -> str:
    """``text`` with what the database cannot store (NUL, unpaired surrogates) replaced by
    U+FFFD."""
    return _UNSTORABLE.sub("\ufffd", text)


def storable_json(value: Any) -> Any:
    """``value``, or when it holds what a jsonb column refuses a copy with strings and keys
    through ``storable_text`` and NaN and ±Infinity (which Python's JSON reads) as the
    strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``."""
    return _storable_copy(value) if _needs_copy(value) else value


def _needs_copy(value: Any) -> bool:
    # Most records hold none of it, and the C encoder tells in a third of the time a walk
    # through every value in Python takes. A string that merely spells one (``"NaN"``)
    # costs the walk, nothing more.
    text = json.dumps(value, ensure_ascii=False)
    if "\\u0000" in text or "NaN" in text or "Infinity" in text:
        return True
    if text.isascii():
        return False
    try:
        text.encode()
    except UnicodeEncodeError:  # an unpaired surrogate
        return True
    return False


def _storable_copy(value: Any) -> Any:
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        return {storable_text(str(key)): _storable_copy(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_storable_copy(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return json.dumps(value)
    return value


def unstorable(change: Change) -> str | None:
    """Why ``change`` cannot be stored as an Event, or None: an objectType or objectId
    longer than its column, or holding characters no database text can."""
    for name, value in (("objectType", change.object_type), ("objectId", change.object_id)):
        if len(value) > _LIMITS[name]:
            problem = (
                f"is {len(value)} characters long, over the {_LIMITS[name]} that can be stored"
            )
        elif _UNSTORABLE.search(value):
            problem = "holds a NUL character or an unpaired surrogate, which cannot be stored"
        else:
            continue
        return (
            f"skipped a change of {_excerpt(change.object_type)} {_excerpt(change.object_id)}: "
            f"its {name} {problem} (check the poller's idField or the element's webhook "
            "mapping)"
        )
    return None


def _excerpt(value: str, limit: int = 40) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "…")


def _storable_changes(changes: Sequence[Change]) -> tuple[list[Change], list[str]]:
    """The changes that can be stored, with storable versions, and why the others cannot."""
    storable, skipped = [], []
    for change in changes:
        reason = unstorable(change)
        if reason:
            skipped.append(reason)
        else:
            storable.append(_storable_version(change))
    return storable, skipped


def _storable_version(change: Change) -> Change:
    """``change`` with a version the column holds: a longer one (a webhook's comes from the
    sender) is replaced by its hash, the same every time, so dedupe still works."""
    version = change.version
    if len(version) <= _VERSION_LIMIT and not _UNSTORABLE.search(version):
        return change
    digest = hashlib.sha256(version.encode("utf-8", "surrogatepass")).hexdigest()
    return replace(change, version=f"sha256:{digest}")
