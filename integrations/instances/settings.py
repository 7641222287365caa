"""The ``event.*`` settings of an instance, typed.

They are validated once, when the instance is written (``integrations/instances/config.py``
through the write service, which stores each value as its check returns it); readers take an
``EventSettings`` and never re-parse a raw configuration string.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from integrations.instances.config import EVENT_KEYS
from integrations.instances.pollers_config import Invalid
from integrations.models import Instance

logger = logging.getLogger(__name__)

BATCH_SIZE = "event.notification.batch.size"
BACKFILL_SINCE = "event.poller.backfill.since"
CALLBACK_HEADERS = "event.notification.callback.headers"
SIGNATURE_KEY = "event.notification.signature.key"
BASIC_USERNAME = "event.notification.basic.username"
BASIC_PASSWORD = "event.notification.basic.password"
INSTANCE_FINDER = "event.notification.instance.finder"
DEFAULT_BATCH_SIZE = 10


@dataclass(frozen=True)
class InstanceFinder:
    """``configKey|jsonPath``: an inbound webhook belongs to the instance whose
    configuration value at ``config_key`` equals the body's value at ``json_path``."""

    config_key: str
    json_path: str


@dataclass(frozen=True)
class EventSettings:
    batch_size: int = DEFAULT_BATCH_SIZE
    backfill_since: datetime | None = None
    callback_headers: dict[str, str] = field(default_factory=dict)
    signature_key: str = ""
    basic_username: str = ""
    basic_password: str = ""
    instance_finder: InstanceFinder | None = None


def event_settings(instance: Instance) -> EventSettings:
    """The typed ``event.*`` settings of ``instance``; a setting that is missing or not
    valid takes its default."""
    since = _stored(instance, BACKFILL_SINCE)
    finder = _stored(instance, INSTANCE_FINDER)
    config_key, _, json_path = finder.partition("|") if finder else ("", "", "")
    return EventSettings(
        batch_size=_stored(instance, BATCH_SIZE) or DEFAULT_BATCH_SIZE,
        backfill_since=_aware(datetime.fromisoformat(since)) if since else None,
        callback_headers=dict(_stored(instance, CALLBACK_HEADERS) or {}),
        signature_key=_stored(instance, SIGNATURE_KEY) or "",
        basic_username=_stored(instance, BASIC_USERNAME) or "",
        basic_password=_stored(instance, BASIC_PASSWORD) or "",
        instance_finder=InstanceFinder(config_key.strip(), json_path.strip()) if finder else None,
    )


def _stored(instance: Instance, key: str) -> Any:
    """The value of ``key`` as the write service's check returns it, or None when it is
    not set. Rows written before every write was checked may hold a raw string ("25", a
    JSON text of headers) or a value the check refuses: the same check reads them."""
    value = instance.config_value(key)
    if value is None or value == "":
        return None
    try:
        return EVENT_KEYS[key](value)
    except Invalid:
        # The value may be a secret: name the key only.
        logger.warning("Instance %s: ignoring its invalid %s; using the default", instance.pk, key)
        return None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
