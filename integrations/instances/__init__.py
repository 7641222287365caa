"""Instances: the Cloud Elements instance JSON, the one service that writes it, its typed
``event.*`` settings and when a poller is stalled.

Other apps and the interfaces import from here:

- ``services``: every write (create, PATCH, events on/off, delete, poller pause/resume and
  change, webhook-token rotation); ``config``/``pollers_config`` parse and validate for it.
- ``render``: an instance back as instance JSON, secrets masked.
- ``selectors``: which instances a user may see.
- ``settings``: ``event_settings(instance)``, the typed ``event.*`` keys.
- ``stalled``: the one definition of a stalled poller.
- ``capture_config``: ordering and delete-reconciliation settings, and how a resource's ids
  are scanned (``id_scan``).
- ``poller_state``: a poller's provider clock and delete reconciliation, in plain words.
"""

from __future__ import annotations

from integrations.instances.capture_config import IdScan, id_scan
from integrations.instances.config import InstanceJSONError, ParsedInstance, instance_json_parse
from integrations.instances.poller_state import (
    StateLine,
    poller_clock_describe,
    poller_reconcile_describe,
    poller_reconcile_state,
    skew_words,
)
from integrations.instances.pollers_config import Invalid, poller_object_render
from integrations.instances.render import poller_configuration_render, render_instance
from integrations.instances.selectors import instances_visible_to
from integrations.instances.services import (
    EventsSwitch,
    instance_capture_restart,
    instance_create,
    instance_delete,
    instance_update,
    instance_update_parse,
    instance_webhook_token_rotate,
    instances_events_set,
    poller_object_update,
)
from integrations.instances.settings import (
    INSTANCE_FINDER,
    EventSettings,
    InstanceFinder,
    event_settings,
)
from integrations.instances.stalled import poller_stalled_reason, pollers_stalled

__all__ = [
    "INSTANCE_FINDER",
    "EventSettings",
    "EventsSwitch",
    "IdScan",
    "InstanceFinder",
    "InstanceJSONError",
    "Invalid",
    "ParsedInstance",
    "StateLine",
    "event_settings",
    "id_scan",
    "instance_capture_restart",
    "instance_create",
    "instance_delete",
    "instance_json_parse",
    "instance_update",
    "instance_update_parse",
    "instance_webhook_token_rotate",
    "instances_events_set",
    "instances_visible_to",
    "poller_clock_describe",
    "poller_configuration_render",
    "poller_object_render",
    "poller_object_update",
    "poller_reconcile_describe",
    "poller_reconcile_state",
    "poller_stalled_reason",
    "pollers_stalled",
    "render_instance",
    "skew_words",
]
