"""Shapes of the Apps API for poller objects, events and deliveries (read-only renderings,
plus the small request bodies of the poller and redelivery endpoints)."""

from __future__ import annotations

import json
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.changes import EventType
from events.models import EventLog, Source
from integrations.instances import (
    poller_clock_describe,
    poller_object_render,
    poller_reconcile_describe,
    poller_reconcile_state,
    poller_stalled_reason,
)
from integrations.models import PollerObject


class ReconciliationSerializer(serializers.Serializer):
    intervalHours = serializers.IntegerField(
        allow_null=True,
        help_text="Hours between scans of the provider's ids (event.poller.reconcile.interval); "
        "null: no scan.",
    )
    lastCompleteAt = serializers.DateTimeField(
        allow_null=True, help_text="When the last complete scan finished."
    )
    last = serializers.JSONField(
        allow_null=True,
        help_text='The last scan, complete or not: {"at", "outcome" ("complete", "failed" or '
        '"refused"), "scanned" (ids seen), "known" (ids known before), "deleted" (DELETED '
        'events emitted), "pages", "message"}; null: none yet.',
    )
    summary = serializers.CharField(help_text="The same in words.")
    warning = serializers.CharField(
        allow_null=True, help_text="Set when the last scan failed or was refused."
    )


class PollerStateSerializer(serializers.Serializer):
    cursor = serializers.DateTimeField(allow_null=True)
    lastPollDate = serializers.DateTimeField(source="last_poll_at", allow_null=True)
    lastSuccessDate = serializers.DateTimeField(source="last_success_at", allow_null=True)
    lastResult = serializers.DictField(source="last_result")
    lastError = serializers.CharField(source="last_error")
    lastErrorDate = serializers.DateTimeField(source="last_error_at", allow_null=True)
    nextPollDate = serializers.DateTimeField(source="next_poll_at", allow_null=True)
    consecutiveFailures = serializers.IntegerField(source="consecutive_failures")
    baseline = serializers.DateTimeField(
        allow_null=True,
        help_text="When events were enabled (or capture restarted, or the backfill date), on "
        "the provider's clock, as the first poll set it: no change at or before it is an event.",
    )
    clockSkewSeconds = serializers.FloatField(
        source="clock_skew",
        allow_null=True,
        help_text="The provider's clock minus ours, in seconds, from the Date header of the "
        "last poll's first answer (at most about a second below the truth); null: not known.",
    )
    clock = serializers.SerializerMethodField(help_text="The provider's clock, in words.")
    clockWarning = serializers.SerializerMethodField(
        help_text="Set when the skew is more than the poller's lookback: what it means and "
        "what to do."
    )
    reconciliation = serializers.SerializerMethodField()

    def get_clock(self, poller: PollerObject) -> str:
        return poller_clock_describe(poller).text

    def get_clockWarning(self, poller: PollerObject) -> str | None:
        return poller_clock_describe(poller).warning or None

    @extend_schema_field(ReconciliationSerializer)
    def get_reconciliation(self, poller: PollerObject) -> dict[str, Any]:
        line = poller_reconcile_describe(poller, now=self.context.get("now") or timezone.now())
        state = {**poller_reconcile_state(poller), "summary": line.text}
        return ReconciliationSerializer({**state, "warning": line.warning or None}).data


class PollerSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The resource key; the objectType of its events.")
    instanceId = serializers.IntegerField(source="instance_id")
    enabled = serializers.BooleanField(help_text="false: paused, not polled.")
    stalled = serializers.SerializerMethodField()
    stalledReason = serializers.SerializerMethodField()
    configuration = serializers.SerializerMethodField()
    state = serializers.SerializerMethodField()

    def _stalled_reason(self, poller: PollerObject) -> str:
        return poller_stalled_reason(poller, now=self.context.get("now") or timezone.now())

    @extend_schema_field(
        serializers.BooleanField(
            help_text="true: no successful poll for 3 refresh intervals, or 3 failures in a row."
        )
    )
    def get_stalled(self, poller: PollerObject) -> bool:
        return bool(self._stalled_reason(poller))

    @extend_schema_field(
        serializers.CharField(allow_null=True, help_text="Why the poller is stalled; null if not.")
    )
    def get_stalledReason(self, poller: PollerObject) -> str | None:
        return self._stalled_reason(poller) or None

    @extend_schema_field(
        serializers.DictField(help_text="The resource's event.poller.configuration entry.")
    )
    def get_configuration(self, poller: PollerObject) -> dict[str, Any]:
        return poller_object_render(poller)

    @extend_schema_field(PollerStateSerializer)
    def get_state(self, poller: PollerObject) -> dict[str, Any]:
        return PollerStateSerializer(poller, context=self.context).data


class PollerUpdateSerializer(serializers.Serializer):
    enabled = serializers.BooleanField(required=False, help_text="false pauses, true resumes.")
    configuration = serializers.DictField(
        required=False,
        help_text="Fields merged into the resource's poller configuration (url, idField, "
        "datesConfiguration, pageSize, ...); null removes a field.",
    )


class PollQueuedSerializer(serializers.Serializer):
    name = serializers.CharField()
    instanceId = serializers.IntegerField()
    queued = serializers.BooleanField()


class EventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    instanceId = serializers.IntegerField(source="instance_id")
    elementKey = serializers.CharField(source="instance.element.key")
    objectType = serializers.CharField(source="object_type")
    objectId = serializers.CharField(source="object_id")
    eventType = serializers.ChoiceField(source="event_type", choices=EventType.choices)
    eventDate = serializers.DateTimeField(source="event_date")
    pollDate = serializers.DateTimeField(source="poll_date", allow_null=True)
    source = serializers.ChoiceField(choices=Source.choices)
    createdDate = serializers.DateTimeField(source="created_at")
    deliveryId = serializers.UUIDField(source="event_log.delivery_id", allow_null=True)
    raw = serializers.JSONField(help_text="The provider's record as it was read.")


class AttemptSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    startedDate = serializers.DateTimeField(source="started_at")
    statusCode = serializers.IntegerField(source="status_code", allow_null=True)
    durationMs = serializers.IntegerField(source="duration_ms", allow_null=True)
    error = serializers.CharField()
    trigger = serializers.CharField()
    requestHeaders = serializers.DictField(source="request_headers")
    responseBody = serializers.CharField(source="response_body")


class DeliverySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    deliveryId = serializers.UUIDField(source="delivery_id")
    instanceId = serializers.IntegerField(source="instance_id")
    objectType = serializers.CharField(source="object_type")
    source = serializers.ChoiceField(choices=Source.choices)
    status = serializers.ChoiceField(choices=EventLog.Status.choices)
    attemptCount = serializers.IntegerField(source="attempt_count")
    lastStatusCode = serializers.IntegerField(source="last_status_code", allow_null=True)
    lastError = serializers.CharField(source="last_error")
    nextAttemptDate = serializers.DateTimeField(source="next_attempt_at", allow_null=True)
    createdDate = serializers.DateTimeField(source="created_at")
    updatedDate = serializers.DateTimeField(source="updated_at")
    deliveredDate = serializers.DateTimeField(source="delivered_at", allow_null=True)
    heldBy = serializers.IntegerField(
        source="held_behind",
        allow_null=True,
        help_text="Per-object ordering (event.notification.ordering = object): the id of the "
        "earlier, undelivered delivery of one of its objects that this one waits for; null "
        "when it waits for none.",
    )
    holding = serializers.IntegerField(
        source="holding_count",
        help_text="How many later deliveries of its objects wait for this one (per-object "
        "ordering); POST .../release lets them go ahead.",
    )
    orderReleasedDate = serializers.DateTimeField(
        source="order_released_at",
        allow_null=True,
        help_text="When an operator let later deliveries of its objects go ahead of it.",
    )


class DeliveryDetailSerializer(DeliverySerializer):
    message = serializers.SerializerMethodField()
    attempts = AttemptSerializer(many=True, read_only=True)

    @extend_schema_field(
        serializers.JSONField(help_text="The notification exactly as POSTed to the callback.")
    )
    def get_message(self, event_log: EventLog) -> Any:
        return json.loads(event_log.body)


class RedeliverSinceSerializer(serializers.Serializer):
    since = serializers.DateTimeField(
        help_text="Redeliver every delivery of the instance created at or after this time."
    )


class RedeliveryQueuedSerializer(serializers.Serializer):
    deliveries = serializers.ListField(child=serializers.IntegerField())
    queued = serializers.IntegerField()


class ReleasedSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The delivery released: it holds nothing back now.")
    deliveries = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="The deliveries it held, queued for a worker, which sends them oldest first.",
    )
    queued = serializers.IntegerField()


class ReactivatedSerializer(serializers.Serializer):
    instanceId = serializers.IntegerField()
    queuedDeliveries = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Queued for a worker, which sends them oldest first.",
    )
