"""An instance rendered back as Cloud Elements' instance JSON, with every secret masked and
the credentials of every URL (``https://user:password@host``) masked too."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from core.http import url_without_credentials
from integrations.instances.config import MASK, column_configuration
from integrations.instances.pollers_config import POLLER_CONFIGURATION, poller_object_render
from integrations.models import Element, Instance


def render_instance(instance: Instance) -> dict[str, Any]:
    """The instance in Cloud Elements' shape, with every secret masked."""
    element = instance.element
    configuration = dict(instance.configuration)
    configuration.update(dict.fromkeys(instance.secrets, MASK))
    configuration.update(column_configuration(instance))
    configuration = {key: _shown(element, key, value) for key, value in configuration.items()}
    resources = poller_configuration_render(instance)
    if resources:
        configuration[POLLER_CONFIGURATION] = resources
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


def _shown(element: Element, key: str, value: Any) -> Any:
    # A key the element came to call secret after the value was stored is masked all the same.
    if element.is_secret_key(key):
        return MASK
    return url_without_credentials(value) if isinstance(value, str) else value


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
