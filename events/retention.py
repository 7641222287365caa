"""Pruning history older than ``TRIBUTARY_RETENTION_DAYS``, keeping what is still needed.

Deleted: delivered and failed EventLogs (with their attempts), Events and inbound webhook
requests older than the retention period. Kept whatever their age:

- undelivered EventLogs (pending, retrying, queued) and their Events: they are still to be
  sent;
- Events a poller may read again: the next poll re-reads everything changed after
  ``cursor − pollDelay − lookback`` (events/polling.py) and skips what it finds already
  stored, so an Event of that (instance, objectType) dated after that moment must stay or
  the same change would be emitted twice.

Rows go in batches, each its own short transaction: memory and lock time stay bounded
however much has piled up.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet

from events.models import DeliveryAttempt, Event, EventLog, InboundWebhook
from events.polling import window_start
from integrations.models import PollerObject

BATCH_SIZE = 500
UNDELIVERED = (EventLog.Status.PENDING, EventLog.Status.RETRYING, EventLog.Status.QUEUED)
LABELS = {
    Event._meta.label: "events",
    EventLog._meta.label: "eventLogs",
    DeliveryAttempt._meta.label: "attempts",
    InboundWebhook._meta.label: "inboundWebhooks",
}


@dataclass
class PruneResult:
    cutoff: datetime
    dry_run: bool = False
    deleted: Counter = field(default_factory=Counter)
    # Events older than the cutoff that stay: undelivered, or inside a poller's overlap.
    kept_events: int = 0

    def summary(self) -> dict:
        return {
            "cutoff": self.cutoff.isoformat(),
            "dryRun": self.dry_run,
            **{name: self.deleted[name] for name in LABELS.values()},
            "keptEvents": self.kept_events,
        }


def overlap_start(poller: PollerObject, *, now: datetime) -> datetime:
    """The oldest change the poller's next poll reads again."""
    return window_start(poller, now) - timedelta(seconds=poller.poll_delay + poller.lookback)


def events_prunable(*, cutoff: datetime, now: datetime) -> Iterator[QuerySet[Event]]:
    """The Events that may go, as one queryset per poller plus one for the rest."""
    old = Event.objects.filter(created_at__lt=cutoff).exclude(event_log__status__in=UNDELIVERED)
    pollers = PollerObject.objects.select_related("instance").order_by("pk")
    for poller in pollers.iterator(chunk_size=500):
        yield old.filter(
            instance_id=poller.instance_id,
            object_type=poller.name,
            event_date__lt=overlap_start(poller, now=now),
        )
    polled = PollerObject.objects.filter(
        instance_id=OuterRef("instance_id"), name=OuterRef("object_type")
    )
    yield old.exclude(Exists(polled))


def event_logs_prunable(*, cutoff: datetime) -> QuerySet[EventLog]:
    return EventLog.objects.filter(created_at__lt=cutoff).exclude(status__in=UNDELIVERED)


def events_prune(
    *, now: datetime, days: int, batch_size: int = BATCH_SIZE, dry_run: bool = False
) -> PruneResult:
    """Delete (or with ``dry_run`` count) what is older than ``days`` days and not needed."""
    if days < 1:
        raise ValueError(f"the retention period must be at least 1 day, not {days}")
    result = PruneResult(cutoff=now - timedelta(days=days), dry_run=dry_run)
    for events in events_prunable(cutoff=result.cutoff, now=now):
        _prune(events, result, batch_size=batch_size)
    _prune(event_logs_prunable(cutoff=result.cutoff), result, batch_size=batch_size)
    _prune(
        InboundWebhook.objects.filter(received_at__lt=result.cutoff), result, batch_size=batch_size
    )
    old_events = Event.objects.filter(created_at__lt=result.cutoff).count()
    result.kept_events = old_events - (result.deleted["events"] if dry_run else 0)
    return result


def _prune(queryset: QuerySet, result: PruneResult, *, batch_size: int) -> None:
    if result.dry_run:
        result.deleted[LABELS[queryset.model._meta.label]] += queryset.count()
        if queryset.model is EventLog:
            attempts = DeliveryAttempt.objects.filter(event_log__in=queryset).count()
            result.deleted["attempts"] += attempts
        return
    while True:
        ids = list(queryset.values_list("pk", flat=True)[:batch_size])
        if not ids:
            return
        with transaction.atomic():
            # The same filter again: a row that changed since (a redelivery) is not deleted.
            deleted, counts = queryset.filter(pk__in=ids).only("pk").delete()
        for label, count in counts.items():
            result.deleted[LABELS.get(label, label)] += count
        if not deleted:
            return
