"""Events, deliveries and attempts are records: the admin shows them and never edits them."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import Truncator

from core.admin import ReadOnlyAdminMixin
from core.http import redacted_headers
from events.delivery import with_holds
from events.models import DeliveryAttempt, Event, EventLog
from events.operations import (
    deliveries_redeliver,
    deliveries_release_held,
    notifications_reactivate,
)
from integrations.admin import InstanceAdmin, pretty_json
from integrations.models import Instance

MAX_ADMIN_REDELIVERIES = 50


def pretty_json_text(text: str) -> SafeString:
    """A JSON document stored as text, indented; shown as stored when it is not JSON."""
    try:
        return pretty_json(json.loads(text))
    except ValueError:
        return format_html("<pre>{}</pre>", text)


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class EventInline(ReadOnlyInline):
    model = Event
    fields = ("object_type", "object_id", "event_type", "event_date", "source")
    readonly_fields = fields


class DeliveryAttemptInline(ReadOnlyInline):
    model = DeliveryAttempt
    fields = ("started_at", "trigger", "status_code", "duration_ms", "error", "response_excerpt")
    readonly_fields = fields

    @admin.display(description="Response")
    def response_excerpt(self, obj: DeliveryAttempt) -> str:
        return Truncator(obj.response_body).chars(200)


@admin.register(EventLog)
class EventLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "delivery_id",
        "instance",
        "instance__element",
        "source",
        "object_type",
        "status",
        "attempt_count",
        "last_status_code",
        "next_attempt_at",
        "order",
        "created_at",
    )
    list_filter = ("status", "source", "object_type", "instance__element")
    list_select_related = ("instance", "instance__element")
    search_fields = ("delivery_id", "events__object_id")
    date_hierarchy = "created_at"
    inlines = [EventInline, DeliveryAttemptInline]
    fields = (
        "delivery_id",
        "instance",
        "source",
        "object_type",
        "status",
        "attempt_count",
        "failures",
        "first_failed_at",
        "last_status_code",
        "last_error",
        "next_attempt_at",
        "order",
        "order_released_at",
        "created_at",
        "updated_at",
        "delivered_at",
        "body_pretty",
    )
    readonly_fields = fields
    actions = ("redeliver", "release_held")

    def get_queryset(self, request: HttpRequest) -> QuerySet[EventLog]:
        return with_holds(super().get_queryset(request))

    @admin.action(description="Redeliver (same ids, new attempts)")
    def redeliver(self, request: HttpRequest, queryset: QuerySet[EventLog]) -> None:
        if queryset.count() > MAX_ADMIN_REDELIVERIES:
            self.message_user(
                request,
                f"Select at most {MAX_ADMIN_REDELIVERIES} deliveries, or use "
                "`python manage.py redeliver --instance ID --since ISO8601`.",
                messages.ERROR,
            )
            return
        ids = queryset.order_by("created_at", "id").values_list("pk", flat=True)
        redelivery = deliveries_redeliver(event_log_ids=ids, background=True)
        self.message_user(request, redelivery.queued_message("for redelivery"), messages.SUCCESS)

    @admin.action(
        description="Release held deliveries (later deliveries of their objects stop waiting)"
    )
    def release_held(self, request: HttpRequest, queryset: QuerySet[EventLog]) -> None:
        if queryset.count() > MAX_ADMIN_REDELIVERIES:
            self.message_user(
                request,
                f"Select at most {MAX_ADMIN_REDELIVERIES} deliveries, or use "
                "`python manage.py release_held ID`.",
                messages.ERROR,
            )
            return
        ids = list(queryset.order_by("id").values_list("pk", flat=True))
        release = deliveries_release_held(event_log_ids=ids, background=True)
        self.message_user(request, release.message, messages.SUCCESS)

    @admin.display(description="Order")
    def order(self, obj: EventLog) -> str:
        """Per-object ordering: what this delivery waits for, or how many wait for it."""
        parts = []
        if obj.held_behind:
            parts.append(f"held behind delivery {obj.held_behind}")
        if obj.holding_count:
            noun = "delivery" if obj.holding_count == 1 else "deliveries"
            parts.append(f"holds {obj.holding_count} later {noun}")
        return "; ".join(parts) or "-"

    @admin.display(description="Body")
    def body_pretty(self, obj: EventLog) -> SafeString:
        return pretty_json_text(obj.body)


@admin.register(Event)
class EventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "object_type",
        "object_id",
        "event_type",
        "instance",
        "instance__element",
        "source",
        "event_date",
        "event_log",
        "created_at",
    )
    list_filter = ("event_type", "source", "object_type", "instance__element")
    list_select_related = ("instance", "instance__element", "event_log")
    search_fields = ("object_id", "event_log__delivery_id")
    date_hierarchy = "created_at"
    fields = (
        "instance",
        "event_log",
        "object_type",
        "object_id",
        "event_type",
        "event_date",
        "poll_date",
        "source",
        "version",
        "created_at",
        "raw_pretty",
    )
    readonly_fields = fields

    @admin.display(description="Raw record")
    def raw_pretty(self, obj: Event) -> SafeString:
        return pretty_json(obj.raw)


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "event_log",
        "event_log__instance",
        "trigger",
        "started_at",
        "status_code",
        "duration_ms",
        "error_excerpt",
    )
    list_filter = ("trigger", "status_code", "event_log__status", "event_log__instance__element")
    list_select_related = ("event_log", "event_log__instance")
    search_fields = ("event_log__delivery_id",)
    date_hierarchy = "started_at"
    fields = (
        "event_log",
        "trigger",
        "started_at",
        "status_code",
        "duration_ms",
        "error",
        "request_headers_pretty",
        "response_body_pre",
    )
    readonly_fields = fields

    @admin.display(description="Error")
    def error_excerpt(self, obj: DeliveryAttempt) -> str:
        return Truncator(obj.error).chars(80)

    @admin.display(description="Request headers")
    def request_headers_pretty(self, obj: DeliveryAttempt) -> SafeString:
        return pretty_json(redacted_headers(obj.request_headers or {}))

    @admin.display(description="Response body")
    def response_body_pre(self, obj: DeliveryAttempt) -> SafeString:
        return format_html("<pre>{}</pre>", obj.response_body)


@admin.action(description="Reactivate notifications and send queued deliveries")
def reactivate_notifications(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Instance]
) -> None:
    for instance in queryset:
        reactivation = notifications_reactivate(instance=instance, background=True)
        modeladmin.message_user(request, reactivation.message, messages.SUCCESS)


# The Instance admin lives in integrations, which knows nothing of deliveries.
InstanceAdmin.actions = (*InstanceAdmin.actions, reactivate_notifications)
