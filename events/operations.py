"""What an operator can ask for, whichever interface asks: redeliver, reactivate an
instance's notifications, release the deliveries held behind one (per-object ordering), send
what is due, poll now.

The web (admin, event log, API) passes ``background=True``: what is quick (choosing the
deliveries, lifting a suspension) happens at once, and the sending or polling is queued for a
worker when the request's transaction commits; nothing calls out to a callback or a provider
during a web request. Commands pass ``background=False`` and a ``progress`` callback: the
work runs in the command, step by step. The worker's tasks (events/tasks.py) run the same
delivery and polling services as the commands do here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from core.http import is_success
from events.delivery import (
    Progress,
    deliveries_due,
    deliveries_send,
    deliveries_since,
    delivery_order_release,
    instance_notifications_reactivate,
)
from events.models import DeliveryAttempt
from events.polling import PollResult, poll_object
from events.tasks import deliveries_enqueue_in_order, poll_enqueue, redeliveries_enqueue
from integrations.models import Instance, PollerObject


class PollerNotFound(Exception):
    """The instance has no poller object of that name (or none at all)."""


@dataclass(frozen=True)
class Deliveries:
    """The deliveries an action sent (``queued`` False) or queued for a worker, in order."""

    event_log_ids: list[int]
    queued: bool
    attempts: list[DeliveryAttempt | None] = field(default_factory=list)

    @property
    def delivered(self) -> int:
        return sum(1 for attempt in self.attempts if attempt and is_success(attempt.status_code))

    @property
    def failed(self) -> int:
        """Sent, and not answered with a 2xx."""
        return sum(
            1 for attempt in self.attempts if attempt and not is_success(attempt.status_code)
        )

    def queued_message(self, purpose: str) -> str:
        count = len(self.event_log_ids)
        if count == 1:
            return f"Queued 1 delivery {purpose}; a worker sends it within seconds."
        return f"Queued {count} deliveries {purpose}; a worker sends them within seconds."


@dataclass(frozen=True)
class Reactivation:
    instance: Instance
    deliveries: Deliveries

    @property
    def message(self) -> str:
        done = f"Notifications of {self.instance} reactivated"
        if not self.deliveries.event_log_ids:
            return f"{done}; no deliveries were queued."
        return f"{done}. {self.deliveries.queued_message('to send in order')}"


def deliveries_redeliver(
    *, event_log_ids: Sequence[int], background: bool, progress: Progress | None = None
) -> Deliveries:
    """Send these deliveries again by hand, one after the other: same ids, new attempts; a
    failure starts the retry schedule over."""
    ids = list(event_log_ids)
    if background:
        redeliveries_enqueue(event_log_ids=ids)
        return Deliveries(ids, queued=True)
    attempts = deliveries_send(event_log_ids=ids, redeliver=True, progress=progress)
    return Deliveries(ids, queued=False, attempts=attempts)


def instance_deliveries_redeliver(
    *,
    instance: Instance,
    since: datetime,
    background: bool,
    progress: Progress | None = None,
) -> Deliveries:
    """Redeliver every delivery of ``instance`` created at or after ``since``, oldest first."""
    ids = list(deliveries_since(instance=instance, since=since).values_list("id", flat=True))
    return deliveries_redeliver(event_log_ids=ids, background=background, progress=progress)


def notifications_reactivate(
    *, instance: Instance, background: bool, progress: Progress | None = None
) -> Reactivation:
    """Lift the instance's suspension now, then send its queued deliveries, oldest first."""
    ids = instance_notifications_reactivate(instance=instance)
    if background:
        deliveries_enqueue_in_order(event_log_ids=ids)
        return Reactivation(instance, Deliveries(ids, queued=True))
    attempts = deliveries_send(event_log_ids=ids, progress=progress)
    return Reactivation(instance, Deliveries(ids, queued=False, attempts=attempts))


@dataclass(frozen=True)
class Release:
    """Deliveries released by an operator (``event_log_ids``) and what they held back."""

    event_log_ids: list[int]
    deliveries: Deliveries

    @property
    def message(self) -> str:
        ids = self.event_log_ids
        one = len(ids) == 1
        which = f"delivery {ids[0]}" if one else "deliveries " + ", ".join(map(str, ids))
        it = "it" if one else "them"
        done = f"Later deliveries of the objects of {which} no longer wait for {it}"
        sent = self.deliveries
        if not sent.event_log_ids:
            return f"{done}; none was held behind {it}."
        if sent.queued:
            return f"{done}. {sent.queued_message(f'held behind {it} to send in order')}"
        return f"{done}. Sent {sent.delivered} of {len(sent.event_log_ids)} held behind {it}."


def deliveries_release_held(
    *, event_log_ids: Sequence[int], background: bool, progress: Progress | None = None
) -> Release:
    """Release held deliveries: let later deliveries of these deliveries' objects go ahead of
    them (per-object ordering), typically of a failed one that the app has given up on.
    From now on these hold nothing back; the deliveries they held are sent, oldest first,
    each checked again (one that shares an object with another earlier undelivered delivery
    waits for that one)."""
    now = timezone.now()
    released: set[int] = set()
    for event_log_id in event_log_ids:
        released.update(delivery_order_release(event_log_id=event_log_id, now=now))
    ids = sorted(released)
    if background:
        deliveries_enqueue_in_order(event_log_ids=ids)
        return Release(list(event_log_ids), Deliveries(ids, queued=True))
    attempts = deliveries_send(event_log_ids=ids, progress=progress)
    return Release(list(event_log_ids), Deliveries(ids, queued=False, attempts=attempts))


def deliveries_send_due(*, progress: Progress | None = None) -> Deliveries:
    """Send every due delivery now, here (the worker's sweep queues the same ones)."""
    ids = deliveries_due()
    return Deliveries(
        ids, queued=False, attempts=deliveries_send(event_log_ids=ids, progress=progress)
    )


def instance_pollers(*, instance: Instance, name: str = "") -> list[PollerObject]:
    """The instance's poller objects by name, or only the one named ``name``."""
    pollers = instance.poller_objects.order_by("name")
    if name:
        pollers = pollers.filter(name=name)
    if found := list(pollers):
        return found
    if not name:
        raise PollerNotFound(f"Instance {instance.pk} has no poller objects.")
    known = ", ".join(instance.poller_objects.values_list("name", flat=True)) or "none"
    raise PollerNotFound(f"Instance {instance.pk} has no poller object {name!r} (known: {known}).")


def poller_poll(
    *,
    poller: PollerObject,
    background: bool,
    dry_run: bool = False,
    progress: Callable[[PollResult], None] | None = None,
) -> PollResult | None:
    """Poll one poller object now. Queued: returns None. Here: returns the result, and
    raises PollSkipped or PollError (recorded on the poller object) like ``poll_object``."""
    if background:
        if dry_run:
            raise ValueError("a dry run reports what it finds: run it here, not on a worker")
        poll_enqueue(poller_object_id=poller.pk)
        return None
    return poll_object(poller_object_id=poller.pk, dry_run=dry_run, progress=progress)
