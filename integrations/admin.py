"""The integrations admin: elements, instances and their poller objects.

Instances are written only through the instance service (``integrations.instances``): the
form, the bulk actions and a poller object's pause/resume validate as the Apps API does.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import Truncator

from integrations.forms import ElementForm, InstanceAdminForm
from integrations.instances import (
    StateLine,
    instance_webhook_token_rotate,
    instances_events_set,
    poller_clock_describe,
    poller_object_render,
    poller_object_update,
    poller_reconcile_describe,
    poller_stalled_reason,
    pollers_stalled,
    skew_words,
)
from integrations.models import Element, Instance, PollerObject

admin.site.site_header = "Tributary administration"
admin.site.site_title = "Tributary"
admin.site.index_title = "Integrations and events"

POLL_STATE_FIELDS = (
    "stalled",
    "provider_clock",
    "baseline",
    "reconciliation",
    "cursor",
    "next_poll_at",
    "last_poll_at",
    "last_success_at",
    "last_error",
    "last_error_at",
    "consecutive_failures",
    "last_result_pretty",
)
POLLER_SPEC_HELP = (
    "Edited on the instance's page, in Poller configuration (event.poller.configuration), or "
    "with PATCH /instances/{id}/pollers/{name}: both validate it with the whole instance."
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


def _state_line(line: StateLine) -> SafeString | str:
    if not line.warning:
        return line.text
    return format_html(
        '{}<br><strong style="color: var(--error-fg)">Warning</strong>: {}',
        line.text,
        line.warning,
    )


@admin.display(description="Provider clock")
def provider_clock(obj: PollerObject) -> SafeString | str:
    """The provider's clock as the last poll measured it (events/baseline.py)."""
    return _state_line(poller_clock_describe(obj))


@admin.display(description="Delete reconciliation")
def reconciliation(obj: PollerObject) -> SafeString | str:
    """event.poller.reconcile.interval and the last scan (events/reconcile.py)."""
    return _state_line(poller_reconcile_describe(obj, now=timezone.now()))


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


@admin.display(description="Configuration")
def resource_spec(obj: PollerObject) -> SafeString:
    """The resource spec as event.poller.configuration holds it."""
    return pretty_json(poller_object_render(obj))


class PollerObjectInline(admin.StackedInline):
    """Read-only: the spec is edited in the instance's Poller configuration, and a resource
    is paused or resumed on its own page (the "View" link)."""

    model = PollerObject
    extra = 0
    show_change_link = True
    fields = ("name", "enabled", "resource_spec", *POLL_STATE_FIELDS)
    readonly_fields = fields
    resource_spec = staticmethod(resource_spec)
    stalled = staticmethod(stalled)
    provider_clock = staticmethod(provider_clock)
    reconciliation = staticmethod(reconciliation)

    def has_add_permission(self, request: HttpRequest, obj: Instance | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Instance | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Instance | None = None) -> bool:
        return False

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
                    "poller_configuration",
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

    def get_readonly_fields(self, request: HttpRequest, obj: Instance | None = None) -> tuple:
        # An instance's element cannot change (the service refuses it, as the API does).
        return self.readonly_fields + (("element",) if obj else ())

    def get_inlines(self, request: HttpRequest, obj: Instance | None) -> list:
        return self.inlines if obj else []

    def save_form(self, request: HttpRequest, form: InstanceAdminForm, change: bool) -> Instance:
        """Writes through the instance service, which ``form.clean`` validated with; the
        poller objects inline is read-only, so nothing on the page can fail afterwards."""
        return form.save()

    def save_model(
        self, request: HttpRequest, obj: Instance, form: InstanceAdminForm, change: bool
    ) -> None:
        """Saved by ``save_form``."""

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
        switch = instances_events_set(queryset=queryset, enabled=True)
        for instance, errors in switch.refused:
            for error in errors:
                self.message_user(
                    request, f"Events were not turned on for {instance}: {error}", messages.ERROR
                )
        self.message_user(
            request, f"Events turned on for {switch.changed} instance(s).", messages.SUCCESS
        )

    @admin.action(description="Turn events off")
    def turn_events_off(self, request: HttpRequest, queryset: QuerySet[Instance]) -> None:
        switch = instances_events_set(queryset=queryset, enabled=False)
        self.message_user(
            request, f"Events turned off for {switch.changed} instance(s).", messages.SUCCESS
        )

    @admin.action(description="Rotate webhook token")
    def rotate_webhook_token(self, request: HttpRequest, queryset: QuerySet[Instance]) -> None:
        instances = list(queryset)
        for instance in instances:
            instance_webhook_token_rotate(instance=instance)
        self.message_user(
            request,
            f"Rotated the webhook token of {len(instances)} instance(s). The old webhook URLs "
            "no longer work: give the new ones to the provider.",
            messages.WARNING,
        )


@admin.register(PollerObject)
class PollerObjectAdmin(admin.ModelAdmin):
    """A resource is paused or resumed here; its spec is edited with the instance."""

    list_display = (
        "name",
        "instance",
        "instance__element",
        "enabled",
        "stalled",
        "clock",
        "next_poll_at",
        "last_success_at",
        "consecutive_failures",
        "last_error_excerpt",
    )
    list_filter = ("enabled", StalledFilter, "name", "instance__element")
    list_select_related = ("instance", "instance__element")
    search_fields = ("name", "instance__name", "instance__id__exact")
    readonly_fields = ("instance", "name", "resource_spec", *POLL_STATE_FIELDS)
    resource_spec = staticmethod(resource_spec)
    stalled = staticmethod(stalled)
    provider_clock = staticmethod(provider_clock)
    reconciliation = staticmethod(reconciliation)
    fieldsets = (
        (None, {"fields": ("instance", "name", "enabled")}),
        ("Configuration", {"fields": ("resource_spec",), "description": POLLER_SPEC_HELP}),
        ("Poll state", {"fields": POLL_STATE_FIELDS}),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A resource is added in its instance's Poller configuration.
        return False

    def save_model(
        self, request: HttpRequest, obj: PollerObject, form: forms.ModelForm, change: bool
    ) -> None:
        poller_object_update(poller_object=obj, enabled=form.cleaned_data["enabled"])

    @admin.display(description="Provider clock", ordering="clock_skew")
    def clock(self, obj: PollerObject) -> SafeString | str:
        if obj.clock_skew is None:
            return "-"
        words = skew_words(obj.clock_skew).removesuffix(" of").removesuffix(" with")
        if abs(obj.clock_skew) <= obj.lookback:
            return words
        return format_html('<strong style="color: var(--error-fg)">{}</strong>', words)

    @admin.display(description="Last error")
    def last_error_excerpt(self, obj: PollerObject) -> str:
        return Truncator(obj.last_error).chars(80)

    @admin.display(description="Last result")
    def last_result_pretty(self, obj: PollerObject) -> SafeString:
        return pretty_json(obj.last_result)
