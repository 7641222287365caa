from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import Truncator

from integrations.forms import ElementForm, InstanceAdminForm
from integrations.instances.services import instances_set_events
from integrations.instances.stalled import poller_stalled_reason, pollers_stalled
from integrations.models import Element, Instance, PollerObject

admin.site.site_header = "Tributary administration"
admin.site.site_title = "Tributary"
admin.site.index_title = "Integrations and events"

POLL_STATE_FIELDS = (
    "stalled",
    "cursor",
    "next_poll_at",
    "last_poll_at",
    "last_success_at",
    "last_error",
    "last_error_at",
    "consecutive_failures",
    "last_result_pretty",
)
POLLER_CONFIG_FIELDS = (
    "name",
    "enabled",
    "url",
    "id_field",
    "dates_configuration",
    "filter_by_updated_date",
    "filter_by_current_date",
    "created_check_tolerance",
    "page_size",
    "poll_delay",
    "lookback",
    "deleted_marker",
    "extra",
)


def pretty_json(value: Any) -> SafeString:
    """JSON indented inside <pre>, HTML-escaped: provider records may hold markup."""
    return format_html("<pre>{}</pre>", json.dumps(value, ensure_ascii=False, indent=2))


def _keys_set(values: dict[str, Any]) -> SafeString | str:
    if not values:
        return "none"
    return format_html(
        "<ul>{}</ul>",
        format_html_join("", "<li><code>{}</code>: set</li>", ((key,) for key in sorted(values))),
    )


@admin.register(Element)
class ElementAdmin(admin.ModelAdmin):
    form = ElementForm
    list_display = ("key", "name", "hub", "instance_count", "updated_at")
    search_fields = ("key", "name")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Element]:
        return super().get_queryset(request).annotate(instance_count=Count("instances"))

    def get_fields(self, request: HttpRequest, obj: Element | None = None) -> list[str]:
        if obj is None:
            return ["definition"]
        return ["key", "name", "hub", "definition", "created_at", "updated_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Element | None = None) -> list[str]:
        return [] if obj is None else ["key", "name", "hub", "created_at", "updated_at"]

    @admin.display(description="Instances", ordering="instance_count")
    def instance_count(self, obj: Element) -> int:
        return obj.instance_count


@admin.display(description="Stalled")
def stalled(obj: PollerObject) -> SafeString | str:
    reason = poller_stalled_reason(obj, now=timezone.now()) if obj.pk else ""
    if not reason:
        return "no"
    return format_html('<strong style="color: var(--error-fg)">stalled</strong>: {}', reason)


class StalledFilter(admin.SimpleListFilter):
    title = "stalled"
    parameter_name = "stalled"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [("yes", "Stalled"), ("no", "Not stalled")]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[PollerObject]
    ) -> QuerySet[PollerObject]:
        if self.value() not in ("yes", "no"):
            return queryset
        ids = [poller.pk for poller, _ in pollers_stalled(now=timezone.now(), queryset=queryset)]
        if self.value() == "yes":
            return queryset.filter(pk__in=ids)
        return queryset.exclude(pk__in=ids)


class PollerObjectInline(admin.StackedInline):
    model = PollerObject
    extra = 0
    show_change_link = True
    fields = POLLER_CONFIG_FIELDS + POLL_STATE_FIELDS
    readonly_fields = POLL_STATE_FIELDS
    stalled = staticmethod(stalled)

    @admin.display(description="Last result")
    def last_result_pretty(self, obj: PollerObject) -> SafeString:
        return pretty_json(obj.last_result)


@admin.register(Instance)
class InstanceAdmin(admin.ModelAdmin):
    form = InstanceAdminForm
    inlines = [PollerObjectInline]
    list_display = (
        "name",
        "id",
        "element",
        "owner",
        "events_enabled",
        "vendor_type",
        "poller_object_count",
        "created_at",
    )
    list_filter = ("element", "events_enabled", "vendor_type")
    list_select_related = ("element", "owner")
    search_fields = ("name", "id__exact", "owner__username", "callback_url")
    autocomplete_fields = ("owner",)
    actions = ("turn_events_on", "turn_events_off", "rotate_webhook_token")
    readonly_fields = (
        "secret_configuration",
        "provider_data_keys",
        "events_enabled_at",
        "webhook_token",
        "notifications_suspended_at",
        "notifications_suspended_reason",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("name", "element", "owner", "tags")}),
        (
            "Configuration",
            {"fields": ("configuration", "secret_configuration", "replace_secrets")},
        ),
        ("Provider data", {"fields": ("provider_data_keys", "replace_provider_data")}),
        (
            "Events",
            {
                "fields": (
                    "events_enabled",
                    "events_enabled_at",
                    "vendor_type",
                    "callback_url",
                    "refresh_interval",
                    "webhook_token",
                    "notifications_suspended_at",
                    "notifications_suspended_reason",
                )
            },
        ),
        ("History", {"fields": ("created_at", "updated_at")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Instance]:
        return super().get_queryset(request).annotate(poller_object_count=Count("poller_objects"))

    def save_model(
        self, request: HttpRequest, obj: Instance, form: InstanceAdminForm, change: bool
    ) -> None:
        if not change:
            obj.save()
            return
        # Only the form's columns: a poll or a delivery may be writing others at the same time.
        obj.save(update_fields=[*form.saved_fields, "updated_at"])

    @admin.display(description="Poller objects", ordering="poller_object_count")
    def poller_object_count(self, obj: Instance) -> int:
        return obj.poller_object_count

    @admin.display(description="Secret configuration")
    def secret_configuration(self, obj: Instance) -> SafeString | str:
        return _keys_set(obj.secrets or {})

    @admin.display(description="Provider data")
    def provider_data_keys(self, obj: Instance) -> SafeString | str:
        return _keys_set(obj.provider_data or {})

    @admin.action(description="Turn events on")
    def turn_events_on(self, request: HttpRequest, queryset: QuerySet[Instance]) -> None:
        count = instances_set_events(queryset=queryset, enabled=True)
        self.message_user(request, f"Events turned on for {count} instance(s).", messages.SUCCESS)

    @admin.action(description="Turn events off")
    def turn_events_off(self, request: HttpRequest, queryset: QuerySet[Instance]) -> None:
        count = instances_set_events(queryset=queryset, enabled=False)
        self.message_user(request, f"Events turned off for {count} instance(s).", messages.SUCCESS)

    @admin.action(description="Rotate webhook token")
    def rotate_webhook_token(self, request: HttpRequest, queryset: QuerySet[Instance]) -> None:
        instances = list(queryset)
        for instance in instances:
            instance.rotate_webhook_token()
        self.message_user(
            request,
            f"Rotated the webhook token of {len(instances)} instance(s). The old webhook URLs "
            "no longer work: give the new ones to the provider.",
            messages.WARNING,
        )


@admin.register(PollerObject)
class PollerObjectAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "instance",
        "instance__element",
        "enabled",
        "stalled",
        "next_poll_at",
        "last_success_at",
        "consecutive_failures",
        "last_error_excerpt",
    )
    list_filter = ("enabled", StalledFilter, "name", "instance__element")
    list_select_related = ("instance", "instance__element")
    search_fields = ("name", "instance__name", "instance__id__exact")
    autocomplete_fields = ("instance",)
    readonly_fields = POLL_STATE_FIELDS
    stalled = staticmethod(stalled)
    fieldsets = (
        (None, {"fields": ("instance",) + POLLER_CONFIG_FIELDS}),
        ("Poll state", {"fields": POLL_STATE_FIELDS}),
    )

    @admin.display(description="Last error")
    def last_error_excerpt(self, obj: PollerObject) -> str:
        return Truncator(obj.last_error).chars(80)

    @admin.display(description="Last result")
    def last_result_pretty(self, obj: PollerObject) -> SafeString:
        return pretty_json(obj.last_result)
