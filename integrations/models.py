from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from integrations.crypto import EncryptedJSONField

# Configuration keys that always hold secrets, whatever the element says. The app's callback
# headers carry its API keys and tokens: their values are secrets too.
SECRET_CONFIG_KEYS = frozenset(
    {
        "event.notification.signature.key",
        "event.notification.basic.password",
        "event.notification.callback.headers",
    }
)
# A key whose last dotted segment is one of these is a secret (oauth.api.secret, ...).
SECRET_KEY_SEGMENTS = frozenset({"secret", "password", "token", "apitoken", "privatekey"})


def new_webhook_token() -> str:
    return secrets.token_urlsafe(32)


class Element(models.Model):
    """A connector definition. ``definition`` holds the whole element as shipped in
    ``integrations/elements/<key>.json``; docs/elements.md describes the format."""

    key = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    hub = models.SlugField(max_length=64)
    definition = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key})"

    @property
    def auth(self) -> dict[str, Any]:
        return self.definition.get("auth", {})

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.definition.get("resources", {})

    @property
    def events_definition(self) -> dict[str, Any]:
        return self.definition.get("events", {})

    @property
    def poller_defaults(self) -> dict[str, dict[str, Any]]:
        return self.events_definition.get("pollerDefaults", {})

    @property
    def default_refresh_interval(self) -> int:
        return int(self.events_definition.get("defaultRefreshInterval", 15))

    def site_url(self, configuration: dict[str, Any]) -> str:
        """The provider's site root for an instance configuration, without a trailing slash.

        A bare host (``acme.desk.com``) gets the element's default scheme; a value with a
        scheme (``http://127.0.0.1:8765``, for simulators) is used as given.
        """
        site = self.definition.get("site", {})
        key = site.get("configKey")
        value = str(configuration.get(key) or "").strip() if key else ""
        if not value:
            value = site.get("default", "")
        if value and "://" not in value:
            value = f"{site.get('defaultScheme', 'https')}://{value}"
        return value.rstrip("/")

    def base_url(self, configuration: dict[str, Any]) -> str:
        """The vendor API root: ``baseUrl`` with ``{site}`` filled in."""
        template = self.definition.get("baseUrl", "{site}")
        return template.replace("{site}", self.site_url(configuration)).rstrip("/")

    def is_secret_key(self, key: str) -> bool:
        if key in SECRET_CONFIG_KEYS:
            return True
        for item in self.definition.get("configuration", []):
            if item.get("key") == key and "secret" in item:
                return bool(item["secret"])
        return key.rsplit(".", 1)[-1].lower() in SECRET_KEY_SEGMENTS


class Instance(models.Model):
    """One authenticated connection to one provider account."""

    class VendorType(models.TextChoices):
        POLLING = "polling", "Polling"
        WEBHOOK = "webhook", "Webhook"

    element = models.ForeignKey(Element, on_delete=models.PROTECT, related_name="instances")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="instances"
    )
    name = models.CharField(max_length=200)
    tags = models.JSONField(default=list, blank=True)
    # Non-secret configuration keys other than the ones held in columns below.
    configuration = models.JSONField(default=dict, blank=True)
    # Secret configuration keys (oauth.api.secret, event.notification.signature.key, ...).
    secrets = EncryptedJSONField(default=dict, blank=True)
    provider_data = EncryptedJSONField(default=dict, blank=True)

    events_enabled = models.BooleanField(default=False)
    events_enabled_at = models.DateTimeField(null=True, blank=True)
    vendor_type = models.CharField(
        max_length=16, choices=VendorType.choices, default=VendorType.POLLING
    )
    callback_url = models.URLField(max_length=2000, blank=True)
    refresh_interval = models.PositiveIntegerField(
        null=True, blank=True, help_text="Minutes between polls; empty uses the element default."
    )
    webhook_token = models.CharField(max_length=64, unique=True, default=new_webhook_token)
    # Set when deliveries kept failing (or the callback answered 410): new deliveries are
    # queued, not sent, until someone reactivates notifications.
    notifications_suspended_at = models.DateTimeField(null=True, blank=True)
    notifications_suspended_reason = models.TextField(blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "-created_at"], name="instance_owner_idx")]

    def __str__(self) -> str:
        return f"{self.name} (#{self.pk})"

    @property
    def effective_refresh_interval(self) -> int:
        return max(1, self.refresh_interval or self.element.default_refresh_interval)

    def config_value(self, key: str, default: Any = None) -> Any:
        """A configuration value, secret or not."""
        if key in self.secrets:
            return self.secrets[key]
        return self.configuration.get(key, default)

    def rotate_webhook_token(self) -> None:
        self.webhook_token = new_webhook_token()
        self.save(update_fields=["webhook_token", "updated_at"])


class PollerObjectQuerySet(models.QuerySet):
    def active(self) -> PollerObjectQuerySet:
        """The pollers that should be polling: see ``PollerObject.is_active``."""
        return self.filter(
            enabled=True,
            instance__events_enabled=True,
            instance__vendor_type=Instance.VendorType.POLLING,
        )


class PollerObject(models.Model):
    """One polled resource of an instance, parsed from ``event.poller.configuration``."""

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="poller_objects")
    name = models.CharField(max_length=200, help_text="Resource key; the event objectType.")
    url = models.CharField(max_length=2000)
    id_field = models.CharField(max_length=200)
    dates_configuration = models.JSONField(default=dict, blank=True)
    filter_by_updated_date = models.BooleanField(default=True)
    filter_by_current_date = models.BooleanField(default=False)
    created_check_tolerance = models.PositiveIntegerField(null=True, blank=True)
    page_size = models.PositiveIntegerField(null=True, blank=True)
    poll_delay = models.PositiveIntegerField(default=0, help_text="Seconds.")
    lookback = models.PositiveIntegerField(default=60, help_text="Seconds.")
    deleted_marker = models.JSONField(null=True, blank=True)
    # Fields of the resource spec Tributary does not interpret, kept for round-trips.
    extra = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)

    # Poll state.
    cursor = models.DateTimeField(null=True, blank=True)
    next_poll_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_poll_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_result = models.JSONField(default=dict, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    # The provider's clock. ``baseline`` is the moment events were enabled (or capture
    # restarted, or the backfill date) on the provider's clock, set by the first poll: no
    # change at or before it is an event. ``clock_skew`` is the provider's clock minus ours
    # in seconds, measured from the Date header of the last poll's first answer.
    baseline = models.DateTimeField(null=True, blank=True)
    clock_skew = models.FloatField(null=True, blank=True)
    # Delete reconciliation (events/reconcile.py, ``event.poller.reconcile.interval``): when
    # the last complete scan of the provider's ids finished, and the last scan's outcome.
    reconciled_at = models.DateTimeField(null=True, blank=True)
    reconcile_result = models.JSONField(default=dict, blank=True)

    objects = PollerObjectQuerySet.as_manager()

    class Meta:
        ordering = ["instance_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["instance", "name"], name="pollerobject_unique_name")
        ]
        indexes = [
            models.Index(
                fields=["next_poll_at"], condition=Q(enabled=True), name="pollerobject_due_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.instance_id}:{self.name}"

    @property
    def is_active(self) -> bool:
        """Enabled, of an instance with events on by polling: the one rule for "should this
        poller be polling", shared by the dispatcher, the stalled check and the status."""
        instance = self.instance
        return (
            self.enabled
            and instance.events_enabled
            and instance.vendor_type == Instance.VendorType.POLLING
        )
