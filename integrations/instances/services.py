"""Instance writes shared by the admin and the instance JSON: turning events on and off, and
keeping secret configuration keys apart from the plain ones.

Creating and updating an instance from the Cloud Elements instance JSON is
``integrations/instance_json.py``.
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from integrations.instances.config import MASK
from integrations.models import Element, Instance, PollerObject


def instances_set_events(*, queryset: QuerySet[Instance], enabled: bool) -> int:
    """Turn events on or off; return how many instances changed. Turning on stamps
    ``events_enabled_at``, the baseline of the first poll."""
    now = timezone.now()
    if enabled:
        return queryset.filter(events_enabled=False).update(
            events_enabled=True, events_enabled_at=now, updated_at=now
        )
    return queryset.filter(events_enabled=True).update(events_enabled=False, updated_at=now)


def configuration_split(
    *, element: Element, configuration: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a configuration into its plain and its secret keys, as the element defines them."""
    plain, secret = {}, {}
    for key, value in configuration.items():
        (secret if element.is_secret_key(key) else plain)[key] = value
    return plain, secret


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


def instances_visible_to(*, user: Any) -> QuerySet[Instance]:
    """The instances ``user`` may see and change: their own, or all of them for staff."""
    instances = Instance.objects.select_related("element")
    return instances if user.is_staff else instances.filter(owner=user)


def instance_delete(*, instance: Instance) -> None:
    """Delete an instance with its poller objects, events and deliveries."""
    instance.delete()


def poller_object_update(
    *, poller_object: PollerObject, enabled: bool | None = None, changes: dict | None = None
) -> PollerObject:
    """Pause or resume one polled resource, and/or merge ``changes`` into its poller
    configuration (``None`` removes a field). The changed configuration is validated with
    the whole instance, as a PATCH of ``event.poller.configuration`` would be; the poll
    state (cursor, failures) is kept."""
    # instance_json imports this module (configuration_merge): import it here.
    from integrations.instances.instance_json import instance_update
    from integrations.instances.pollers_config import POLLER_CONFIGURATION, poller_object_render

    if changes:
        instance = poller_object.instance
        resources = {row.name: poller_object_render(row) for row in instance.poller_objects.all()}
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
