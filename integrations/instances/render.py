"""An instance rendered back as Cloud Elements' instance JSON, with every secret masked."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from integrations.instances.config import MASK, column_configuration
from integrations.instances.pollers_config import POLLER_CONFIGURATION, poller_object_render
from integrations.models import Instance


def render_instance(instance: Instance) -> dict[str, Any]:
    """The instance in Cloud Elements' shape, with every secret masked."""
    configuration = dict(instance.configuration)
    configuration.update(dict.fromkeys(instance.secrets, MASK))
    configuration.update(column_configuration(instance))
    resources = poller_configuration_render(instance)
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


def poller_configuration_render(instance: Instance) -> dict[str, dict[str, Any]]:
    """The instance's ``event.poller.configuration``: one resource spec per poller object."""
    return {row.name: poller_object_render(row) for row in instance.poller_objects.all()}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
