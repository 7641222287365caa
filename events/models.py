from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.changes import EventType
from integrations.models import Instance


class PlainInsertMixin:
    """Keeps bulk inserts of this column out of PostgreSQL's UNNEST form (Django 5.2): psycopg
    escapes large text inside arrays with Python regexes, which made bulk_create of events
    several times slower than plain VALUES (bench/poll_ingest.py). Django skips UNNEST for
    any field that has ``get_placeholder``."""

    def get_placeholder(self, value, compiler, connection) -> str:
        return "%s"


class PayloadJSONField(PlainInsertMixin, models.JSONField):
    pass


class PayloadTextField(PlainInsertMixin, models.TextField):
    pass


class Source(models.TextChoices):
    POLLING = "polling", "Polling"
    WEBHOOK = "webhook", "Webhook"


class EventLog(models.Model):
    """One delivery: a notification message of up to N events, POSTed to the callback URL."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        RETRYING = "retrying", "Retrying"
        FAILED = "failed", "Failed"
        QUEUED = "queued", "Queued"

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="event_logs")
    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.POLLING)
    object_type = models.CharField(max_length=200, blank=True)
    # The exact JSON text that is POSTed; signatures are computed over these bytes.
    body = PayloadTextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    # Failed attempts since the delivery was last (re)started; the retry schedule counts them.
    failures = models.PositiveIntegerField(default=0)
    first_failed_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # Per-object ordering (``event.notification.ordering`` = ``object``): the earlier,
    # undelivered delivery sharing an object with this one that it waits for.
    held_by = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="holding"
    )
    # An operator let later deliveries of this one's objects go ahead of it.
    order_released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "retrying"]),
                name="eventlog_due_idx",
            ),
            models.Index(fields=["instance", "-created_at"], name="eventlog_instance_idx"),
            # Event log pages: keyset on (created_at, id), alone or within a status.
            models.Index(fields=["created_at", "id"], name="eventlog_created_id_idx"),
            models.Index(fields=["status", "created_at", "id"], name="eventlog_status_idx"),
        ]

    def __str__(self) -> str:
        return f"Delivery {self.delivery_id} ({self.status})"


class InboundWebhook(models.Model):
    """A provider's webhook request as received, kept with the events it produced."""

    element = models.ForeignKey(
        "integrations.Element", on_delete=models.CASCADE, related_name="inbound_webhooks"
    )
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    method = models.CharField(max_length=8)
    # Credentials and signatures are redacted; the rest is as sent.
    headers = models.JSONField(default=dict)
    body = models.TextField(blank=True)
    delivery_id = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"Webhook {self.pk} for {self.element_id} at {self.received_at:%Y-%m-%d %H:%M:%S}"


class Event(models.Model):
    """One normalized change. ``version`` makes it unique: the same change is stored once."""

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="events")
    event_log = models.ForeignKey(
        EventLog, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    inbound = models.ForeignKey(
        InboundWebhook, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    object_type = models.CharField(max_length=200)
    object_id = models.CharField(max_length=500)
    event_type = models.CharField(max_length=16, choices=EventType.choices)
    event_date = models.DateTimeField()
    poll_date = models.DateTimeField(null=True, blank=True)
    raw = PayloadJSONField(default=dict)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.POLLING)
    # The record's updated value plus a hash of its content (polling) or the provider's
    # delivery id (webhooks).
    version = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["instance", "object_type", "object_id", "version"],
                name="event_unique_version",
            )
        ]
        indexes = [
            models.Index(fields=["instance", "object_type", "object_id"], name="event_object_idx"),
            models.Index(fields=["created_at"], name="event_created_idx"),
            # Event log search by objectId, whatever the instance or type.
            models.Index(fields=["object_id"], name="event_object_id_idx"),
            # The event log's eventType and objectType filters (a semi-join on the deliveries):
            # a rare type is found from its few events instead of probing every delivery.
            models.Index(fields=["event_type", "event_log"], name="event_type_log_idx"),
            models.Index(fields=["object_type", "event_log"], name="event_objecttype_log_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.object_type}/{self.object_id}"


class KnownObject(models.Model):
    """An object of a reconciling poller (``event.poller.reconcile.interval``): captured by a
    poll or seen in a complete scan of the provider's ids. A known object missing from a
    complete scan was deleted at the provider (events/reconcile.py)."""

    poller_object = models.ForeignKey(
        "integrations.PollerObject", on_delete=models.CASCADE, related_name="known_objects"
    )
    object_id = models.CharField(max_length=500)
    # The last record captured or scanned: the raw record of its DELETED event.
    record = PayloadJSONField(default=dict)
    # When it was last captured or seen in a scan.
    seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["poller_object", "object_id"], name="knownobject_unique_id"
            )
        ]
        indexes = [models.Index(fields=["poller_object", "seen_at"], name="knownobject_seen_idx")]

    def __str__(self) -> str:
        return f"{self.poller_object_id}:{self.object_id}"


class DeliveryAttempt(models.Model):
    """One HTTP attempt of a delivery, written before it is sent and updated with the outcome."""

    class Trigger(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        MANUAL = "manual", "Manual"

    event_log = models.ForeignKey(EventLog, on_delete=models.CASCADE, related_name="attempts")
    started_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    request_headers = models.JSONField(default=dict, blank=True)
    response_body = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.SCHEDULED)

    class Meta:
        ordering = ["started_at", "id"]

    def __str__(self) -> str:
        return f"Attempt {self.pk} of {self.event_log_id}: {self.status_code or self.error[:40]}"


class Heartbeat(models.Model):
    """The worker's sign of life: the ``heartbeat`` schedule stamps ``beat_at`` every minute.

    ``setup_schedules`` creates the row, so a heartbeat that never came can be told from one
    that is merely not due yet (events/health.py)."""

    name = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    beat_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Heartbeat {self.name} at {self.beat_at}"
