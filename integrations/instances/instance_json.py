"""Instances from the Cloud Elements instance JSON: create, update (PATCH) and render back.

Parsing and validation live in ``integrations/instance_config.py`` (top level and ``event.*``
keys) and ``integrations/poller_config.py`` (``event.poller.configuration``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from integrations.instances.config import (
    MASK,
    InstanceJSONError,
    ParsedInstance,
    column_configuration,
    instance_json_parse,
    parse_for_element,
)
from integrations.instances.pollers_config import (
    POLLER_CONFIGURATION,
    POLLER_URLS,
    poller_object_render,
    show,
)
from integrations.instances.services import configuration_merge
from integrations.models import Instance, PollerObject
from integrations.provider.oauth import OAuthError, provider_data_provision

__all__ = [
    "InstanceJSONError",
    "instance_create",
    "instance_json_parse",
    "instance_update",
    "render_instance",
]


def instance_create(*, owner: AbstractBaseUser, data: Any) -> Instance:
    """Create an instance and its poller objects from an instance JSON.

    OAuth providerData is exchanged with the provider first; nothing is created when the JSON
    is invalid or the exchange fails (InstanceJSONError).
    """
    parsed = instance_json_parse(data=data)
    provider_data = _provision(parsed, parsed.provider_data)
    with transaction.atomic():
        instance = Instance.objects.create(
            element=parsed.element,
            owner=owner,
            name=parsed.name,
            tags=parsed.tags,
            configuration=parsed.configuration,
            secrets=parsed.secrets,
            provider_data=provider_data,
            events_enabled=parsed.events_enabled,
            events_enabled_at=timezone.now() if parsed.events_enabled else None,
            vendor_type=parsed.vendor_type,
            callback_url=parsed.callback_url,
            refresh_interval=parsed.refresh_interval,
        )
        for name, fields in parsed.poller_objects.items():
            PollerObject.objects.create(instance=instance, name=name, **fields)
    return instance


def instance_update(*, instance: Instance, data: Any) -> Instance:
    """Apply a partial instance JSON (PATCH semantics) and return the updated instance.

    Given configuration keys are merged over the stored ones (``null`` removes a key; the
    mask ``********`` leaves a secret unchanged), and the merged result is validated as a
    whole. A given poller configuration is the new set of resources: rows whose name stays keep
    their poll state (cursor, next poll, failures), others are created or deleted.
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
    parsed = parse_for_element(element=instance.element, data=_merged(instance, data))
    provider_data = instance.provider_data
    if "providerData" in data:
        provider_data = _provision(parsed, parsed.provider_data)

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
        # Only these columns: a poll or delivery may be writing others at the same time.
        instance.save(update_fields=[*_INSTANCE_FIELDS, "updated_at"])
        _poller_objects_sync(instance, parsed.poller_objects)
    return instance


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


def render_instance(instance: Instance) -> dict[str, Any]:
    """The instance in Cloud Elements' shape, with every secret masked."""
    configuration = dict(instance.configuration)
    configuration.update(dict.fromkeys(instance.secrets, MASK))
    configuration.update(column_configuration(instance))
    resources = _poller_configuration(instance)
    if resources:
        configuration[POLLER_CONFIGURATION] = resources
    element = instance.element
    return {
        "id": instance.pk,
        "name": instance.name,
        "element": {"key": element.key, "name": element.name, "id": element.pk},
        "configuration": configuration,
        "providerData": dict.fromkeys(instance.provider_data, MASK),
        "tags": list(instance.tags),
        "eventsEnabled": instance.events_enabled,
        "createdDate": _iso(instance.created_at),
        "updatedDate": _iso(instance.updated_at),
    }


def _provision(parsed: ParsedInstance, provider_data: dict[str, Any]) -> dict[str, Any]:
    configuration = {**parsed.configuration, **parsed.secrets}
    try:
        return provider_data_provision(
            element=parsed.element, configuration=configuration, provider_data=provider_data
        )
    except OAuthError as exc:
        raise InstanceJSONError([f"providerData: {exc}"]) from exc


def _merged(instance: Instance, data: dict[str, Any]) -> dict[str, Any]:
    """The whole instance JSON after applying the partial ``data`` to what is stored."""
    configuration: dict[str, Any] = {
        **instance.configuration,
        **instance.secrets,
        **column_configuration(instance),
    }
    resources = _poller_configuration(instance)
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
    if isinstance(provider_data, dict):
        provider_data = {
            **instance.provider_data,
            **{key: value for key, value in provider_data.items() if value != MASK},
        }
    elif provider_data is None:
        provider_data = instance.provider_data
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


def _poller_configuration(instance: Instance) -> dict[str, dict[str, Any]]:
    return {row.name: poller_object_render(row) for row in instance.poller_objects.all()}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
