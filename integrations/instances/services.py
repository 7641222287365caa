"""Every write of an instance, whichever interface asks: the Apps API, the admin, the
``import_instance`` command and the demo.

An instance is written from the Cloud Elements instance JSON, validated by
``integrations/instances/config.py``; a change is a partial instance JSON (PATCH semantics)
merged over what is stored and validated whole. ``events_enabled_at``, from which the first
poll takes its baseline (on the provider's clock), is stamped in ``_instance_write`` only.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from integrations.instances.config import (
    ENABLED,
    MASK,
    InstanceJSONError,
    ParsedInstance,
    column_configuration,
    instance_json_parse,
    parse_for_element,
)
from integrations.instances.pollers_config import POLLER_CONFIGURATION, POLLER_URLS, show
from integrations.instances.render import poller_configuration_render
from integrations.models import Instance, PollerObject
from integrations.provider import OAuthError, provider_data_provision

# The columns an instance write sets: a poll or a delivery may be writing others meanwhile.
_INSTANCE_FIELDS = [
    "name",
    "tags",
    "configuration",
    "secrets",
    "provider_data",
    "events_enabled",
    "events_enabled_at",
    "vendor_type",
    "callback_url",
    "refresh_interval",
]


@dataclass
class EventsSwitch:
    """What turning events on or off did: how many instances changed, and the instances
    that were refused with the reasons."""

    changed: int = 0
    refused: list[tuple[Instance, list[str]]] = field(default_factory=list)


def instance_create(
    *, owner: AbstractBaseUser, data: Any, provider_data_as_given: bool = False
) -> Instance:
    """Create an instance and its poller objects from an instance JSON.

    OAuth providerData is exchanged with the provider first, unless
    ``provider_data_as_given`` (the admin, where an operator pastes tokens); nothing is
    created when the JSON is invalid or the exchange fails (InstanceJSONError).
    """
    parsed = instance_json_parse(data=data)
    provider_data = parsed.provider_data
    if not provider_data_as_given:
        provider_data = _provision(parsed, provider_data)
    instance = Instance(element=parsed.element, owner=owner)
    return _instance_write(instance, parsed, provider_data=provider_data)


def instance_update_parse(
    *, instance: Instance, data: Any, provider_data_as_given: bool = False
) -> ParsedInstance:
    """Validate a partial instance JSON against ``instance`` without writing anything.

    Given configuration keys are merged over the stored ones (``null`` removes a key; the
    mask ``********`` leaves a secret unchanged) and the result is validated as a whole.
    Given providerData is merged over the stored, or replaces it with
    ``provider_data_as_given``.
    """
    if not isinstance(data, dict):
        raise InstanceJSONError([f"the instance JSON must be an object, got {show(data)}"])
    element = data.get("element")
    if element is not None and (
        not isinstance(element, dict) or element.get("key") != instance.element.key
    ):
        raise InstanceJSONError(
            [f"element.key: an instance's element cannot change (it is {instance.element.key})"]
        )
    merged = _merged(instance, data, provider_data_as_given=provider_data_as_given)
    return parse_for_element(element=instance.element, data=merged)


def instance_update(
    *,
    instance: Instance,
    data: Any,
    owner: AbstractBaseUser | None = None,
    provider_data_as_given: bool = False,
) -> Instance:
    """Apply a partial instance JSON (see ``instance_update_parse``) and return the instance.

    A given poller configuration is the new set of resources: rows whose name stays keep
    their poll state (cursor, next poll, failures), others are created or deleted. Given
    providerData is exchanged with the provider unless ``provider_data_as_given``. Staff may
    hand the instance to another ``owner``.
    """
    parsed = instance_update_parse(
        instance=instance, data=data, provider_data_as_given=provider_data_as_given
    )
    provider_data = instance.provider_data
    if "providerData" in data:
        provider_data = parsed.provider_data
        if not provider_data_as_given:
            provider_data = _provision(parsed, provider_data)
    if owner is not None:
        instance.owner = owner
    return _instance_write(instance, parsed, provider_data=provider_data)


def instance_delete(*, instance: Instance) -> None:
    """Delete an instance with its poller objects, events and deliveries."""
    instance.delete()


def instances_events_set(*, queryset: QuerySet[Instance], enabled: bool) -> EventsSwitch:
    """Turn events on or off for many instances.

    Turning on is a PATCH of ``event.notification.enabled`` for each instance that is off,
    validated as the API validates it: an instance that could not have events on (no
    callback URL, a bad event key, ...) is refused and left off. Turning off is never
    refused: it is how an operator stops a misconfigured instance.
    """
    switch = EventsSwitch()
    if not enabled:
        now = timezone.now()
        switch.changed = queryset.filter(events_enabled=True).update(
            events_enabled=False, updated_at=now
        )
        return switch
    for instance in queryset.filter(events_enabled=False).select_related("element"):
        try:
            instance_update(instance=instance, data={"configuration": {ENABLED: "true"}})
        except InstanceJSONError as exc:
            switch.refused.append((instance, exc.errors))
        else:
            switch.changed += 1
    return switch


def instance_capture_restart(*, instance: Instance, since: datetime) -> None:
    """Capture afresh from ``since``, as if events had just been enabled then: the pollers'
    cursors, baselines and failures are cleared and their first poll (which sets a new
    baseline on the provider's clock) is due now."""
    with transaction.atomic():
        Instance.objects.filter(pk=instance.pk).update(events_enabled_at=since)
        instance.events_enabled_at = since
        PollerObject.objects.filter(instance=instance).update(
            cursor=None,
            baseline=None,
            next_poll_at=None,
            locked_until=None,
            consecutive_failures=0,
        )


def instance_webhook_token_rotate(*, instance: Instance) -> None:
    """Give the instance a new inbound webhook token; its old webhook URLs stop working."""
    instance.rotate_webhook_token()


def poller_object_update(
    *, poller_object: PollerObject, enabled: bool | None = None, changes: dict | None = None
) -> PollerObject:
    """Pause or resume one polled resource, and/or merge ``changes`` into its poller
    configuration (``None`` removes a field). The changed configuration is validated with
    the whole instance, as a PATCH of ``event.poller.configuration`` would be; the poll
    state (cursor, failures) is kept."""
    if changes:
        instance = poller_object.instance
        resources = poller_configuration_render(instance)
        resources[poller_object.name] = configuration_merge(
            current=resources[poller_object.name], changes=changes
        )
        instance_update(
            instance=instance, data={"configuration": {POLLER_CONFIGURATION: resources}}
        )
    if enabled is not None:
        PollerObject.objects.filter(pk=poller_object.pk).update(enabled=enabled)
    poller_object.refresh_from_db()
    return poller_object


def configuration_merge(
    *, current: dict[str, Any], changes: dict[str, Any], masked: Container[str] = ()
) -> dict[str, Any]:
    """``current`` with ``changes`` merged in: ``None`` removes a key, and the mask
    ``********`` leaves a key listed in ``masked`` (the stored secrets) unchanged."""
    merged = dict(current)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        elif not (value == MASK and key in masked):
            merged[key] = value
    return merged


def _instance_write(
    instance: Instance, parsed: ParsedInstance, *, provider_data: dict[str, Any]
) -> Instance:
    with transaction.atomic():
        if parsed.events_enabled and not instance.events_enabled:
            instance.events_enabled_at = timezone.now()
        instance.name = parsed.name
        instance.tags = parsed.tags
        instance.configuration = parsed.configuration
        instance.secrets = parsed.secrets
        instance.provider_data = provider_data
        instance.events_enabled = parsed.events_enabled
        instance.vendor_type = parsed.vendor_type
        instance.callback_url = parsed.callback_url
        instance.refresh_interval = parsed.refresh_interval
        if instance.pk is None:
            instance.save()
        else:
            instance.save(update_fields=[*_INSTANCE_FIELDS, "owner", "updated_at"])
        _poller_objects_sync(instance, parsed.poller_objects)
    return instance


def _provision(parsed: ParsedInstance, provider_data: dict[str, Any]) -> dict[str, Any]:
    configuration = {**parsed.configuration, **parsed.secrets}
    try:
        return provider_data_provision(
            element=parsed.element, configuration=configuration, provider_data=provider_data
        )
    except OAuthError as exc:
        raise InstanceJSONError([f"providerData: {exc}"]) from exc


def _merged(
    instance: Instance, data: dict[str, Any], *, provider_data_as_given: bool
) -> dict[str, Any]:
    """The whole instance JSON after applying the partial ``data`` to what is stored."""
    configuration: dict[str, Any] = {
        **instance.configuration,
        **instance.secrets,
        **column_configuration(instance),
    }
    resources = poller_configuration_render(instance)
    if resources:
        configuration[POLLER_CONFIGURATION] = resources
    given = data.get("configuration")
    if isinstance(given, dict):
        if POLLER_URLS in given and POLLER_CONFIGURATION not in given:
            configuration.pop(POLLER_CONFIGURATION, None)
        configuration = configuration_merge(
            current=configuration, changes=given, masked=instance.secrets
        )
    elif given is not None:
        configuration = given  # invalid: let the parser report it

    provider_data = data.get("providerData")
    if provider_data is None:
        provider_data = instance.provider_data
    elif isinstance(provider_data, dict) and not provider_data_as_given:
        provider_data = {
            **instance.provider_data,
            **{key: value for key, value in provider_data.items() if value != MASK},
        }
    return {
        "name": data.get("name", instance.name),
        "tags": data.get("tags", instance.tags),
        "providerData": provider_data,
        "configuration": configuration,
    }


def _poller_objects_sync(instance: Instance, resources: dict[str, dict[str, Any]]) -> None:
    rows = {row.name: row for row in instance.poller_objects.all()}
    for name, fields in resources.items():
        row = rows.pop(name, None)
        if row is None:
            PollerObject.objects.create(instance=instance, name=name, **fields)
            continue
        for field_name, value in fields.items():
            setattr(row, field_name, value)
        # Only the spec: the poll state of a kept resource must survive the update.
        row.save(update_fields=list(fields))
    if rows:
        PollerObject.objects.filter(pk__in=[row.pk for row in rows.values()]).delete()
