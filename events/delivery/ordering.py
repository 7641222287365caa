"""Per-object ordering (``event.notification.ordering`` = ``object``): a delivery never
overtakes an earlier undelivered delivery of the same instance that carries one of its objects
(same objectType and objectId; earlier: a lower id; undelivered: any status but delivered).

A scheduled send that finds such an earlier delivery, its *blocker*, does not send: it records
the earliest one in ``held_by`` and leaves the delivery waiting, unclaimed and not counted as an
attempt. The hold stands while the blocker is undelivered and not released by an operator
(``order_released_at``); claims and the sweep pass a delivery by while it does. When the
blocker is delivered or released, the run that did it sends the deliveries it held next, each
checked again: one that shares an object with another earlier undelivered delivery waits for
that one in turn. A hold written just as its blocker was delivered no longer stands, so the
sweep finds that delivery due: races heal without a lock.

What it costs: a failed delivery (a 410, or its retries exhausted) holds its objects back until
it is redelivered or an operator releases it ("Release held deliveries"), whatever happens to
the instance's suspension. A manual redelivery is an operator's choice and is never held.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import (
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from events.models import Event, EventLog

# Deliveries that hold later ones back: any status but delivered, and not released.
UNDELIVERED = (
    EventLog.Status.PENDING,
    EventLog.Status.RETRYING,
    EventLog.Status.FAILED,
    EventLog.Status.QUEUED,
)
BLOCKING = Q(status__in=UNDELIVERED, order_released_at__isnull=True)
# Held deliveries still to send (a queued one goes when its instance is reactivated).
WAITING = (EventLog.Status.PENDING, EventLog.Status.RETRYING, EventLog.Status.QUEUED)


def not_held() -> Q:
    """Deliveries without a hold that stands: none recorded, or its blocker delivered,
    released, or gone (pruned)."""
    blocker = EventLog.objects.filter(BLOCKING, pk=OuterRef("held_by_id"))
    return Q(held_by__isnull=True) | ~Exists(blocker)


def delivery_blocker(*, event_log: EventLog) -> int | None:
    """The earliest undelivered, unreleased delivery of the instance before ``event_log``
    that carries one of its objects, or None. One query: for each of the delivery's events,
    the earlier events of its object (index ``event_object_idx``) and their deliveries."""
    # The delivery id as an expression, not a column: SQLite, without statistics, would
    # otherwise find the smallest one by walking the (object_type, event_log) index through
    # every event of the type instead of looking up the object's few events.
    log_id = ExpressionWrapper(F("event_log_id") + 0, output_field=IntegerField())
    earlier = (
        Event.objects.filter(
            instance_id=event_log.instance_id,
            object_type=OuterRef("object_type"),
            object_id=OuterRef("object_id"),
            event_log__status__in=UNDELIVERED,
            event_log__order_released_at__isnull=True,
        )
        .annotate(log_id=log_id)
        .filter(log_id__lt=event_log.pk)
        .order_by()
        .values("instance_id")
        .annotate(first=Min("log_id"))
        .values("first")
    )
    found = (
        Event.objects.filter(event_log_id=event_log.pk)
        .order_by()
        .aggregate(blocker=Min(Subquery(earlier, output_field=IntegerField())))
    )
    return found["blocker"]


def delivery_hold(*, event_log_id: int, blocker_id: int, if_blocking: bool = True) -> bool:
    """Leave the claimed delivery waiting for ``blocker_id`` and release the claim. False,
    nothing written, when the blocker was delivered or released since it was found (unless
    ``if_blocking`` is False)."""
    held = EventLog.objects.filter(pk=event_log_id)
    if if_blocking:
        held = held.filter(Exists(EventLog.objects.filter(BLOCKING, pk=blocker_id)))
    return held.update(held_by_id=blocker_id, locked_until=None) == 1


def holds_release(*, blocker_id: int) -> list[int]:
    """The deliveries ``blocker_id`` held, now that it is delivered or released: their hold is
    lifted; returns those to send now, in id order (each is checked again when it is sent)."""
    held = list(
        EventLog.objects.filter(held_by_id=blocker_id, status__in=WAITING)
        .order_by("id")
        .values_list("id", "status")
    )
    if not held:
        return []
    EventLog.objects.filter(held_by_id=blocker_id).update(held_by=None)
    return [pk for pk, status in held if status != EventLog.Status.QUEUED]


def delivery_order_release(*, event_log_id: int, now: datetime) -> list[int]:
    """An operator lets later deliveries of this delivery's objects go ahead of it: it holds
    nothing back from now on. Returns the deliveries it held that are to be sent now."""
    EventLog.objects.filter(pk=event_log_id, order_released_at__isnull=True).update(
        order_released_at=now
    )
    return holds_release(blocker_id=event_log_id)


def with_holds(rows: QuerySet[EventLog]) -> QuerySet[EventLog]:
    """``rows`` with ``held_behind`` (the id of the earlier delivery each one waits for, or
    None) and ``holding_count`` (how many later deliveries wait for it): two index lookups a row.
    A hold counts only while it stands (its blocker undelivered and not released)."""
    blocker = EventLog.objects.filter(BLOCKING, pk=OuterRef("held_by_id")).order_by()
    blocker = blocker.values("pk")[:1]
    waiting = (
        EventLog.objects.filter(held_by_id=OuterRef("pk"), status__in=WAITING)
        .order_by()
        .values("held_by_id")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return rows.annotate(
        held_behind=Subquery(blocker, output_field=IntegerField()),
        holding_count=Case(
            When(BLOCKING, then=Coalesce(Subquery(waiting), Value(0))),
            default=Value(0),
            output_field=IntegerField(),
        ),
    )
