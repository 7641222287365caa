"""The ``event.*`` settings of an instance, typed.

They are validated once, when the instance is written (``integrations/instances/config.py``
through the write service, which stores each value as its check returns it); readers take an
``EventSettings`` and never re-parse a raw configuration string.

A row written before a check existed may hold a value the check now refuses. Such a setting
takes its default, and ``problems`` says why; a delivery is not sent without the headers,
signature or Basic auth it was configured with (``delivery_problems``): it fails, saying so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from integrations.instances.capture_config import ORDERING, RECONCILE_INTERVAL, reconcile_every
from integrations.instances.config import EVENT_KEYS, invalid_message
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
# What a delivery's request is built from.
DELIVERY_KEYS = (CALLBACK_HEADERS, SIGNATURE_KEY, BASIC_USERNAME, BASIC_PASSWORD)


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
    # "none" or "object": whether a delivery may overtake an earlier one of the same object.
    ordering: str = "none"
    # Hours between scans of the provider's ids: for every object, or per object type.
    reconcile_hours: int | dict[str, int] | None = None
    # "<key>: <why>" per stored setting that is not valid (and took its default).
    problems: dict[str, str] = field(default_factory=dict)

    @property
    def delivery_problems(self) -> list[str]:
        """Why a delivery's request cannot be built as configured; empty when it can."""
        return [self.problems[key] for key in DELIVERY_KEYS if key in self.problems]

    @property
    def ordered_by_object(self) -> bool:
        return self.ordering == "object"

    def reconcile_every(self, object_type: str) -> timedelta | None:
        """How often the provider's ids of ``object_type`` are scanned; None: never."""
        return reconcile_every(self.reconcile_hours, object_type)


def event_settings(instance: Instance) -> EventSettings:
    """The typed ``event.*`` settings of ``instance``; a setting that is missing or not
    valid takes its default (and, when not valid, a line in ``problems``)."""
    problems: dict[str, str] = {}

    def stored(key: str) -> Any:
        return _stored(instance, key, problems)

    since = stored(BACKFILL_SINCE)
    finder = stored(INSTANCE_FINDER)
    config_key, _, json_path = finder.partition("|") if finder else ("", "", "")
    return EventSettings(
        batch_size=stored(BATCH_SIZE) or DEFAULT_BATCH_SIZE,
        backfill_since=_aware(datetime.fromisoformat(since)) if since else None,
        callback_headers=dict(stored(CALLBACK_HEADERS) or {}),
        signature_key=stored(SIGNATURE_KEY) or "",
        basic_username=stored(BASIC_USERNAME) or "",
        basic_password=stored(BASIC_PASSWORD) or "",
        instance_finder=InstanceFinder(config_key.strip(), json_path.strip()) if finder else None,
        ordering=stored(ORDERING) or "none",
        reconcile_hours=stored(RECONCILE_INTERVAL),
        problems=problems,
    )


def _stored(instance: Instance, key: str, problems: dict[str, str]) -> Any:
    """The value of ``key`` as the write service's check returns it, or None when it is
    not set. Rows written before every write was checked may hold a raw string ("25", a
    JSON text of headers) or a value the check refuses: the same check reads them."""
    value = instance.config_value(key)
    if value is None or value == "":
        return None
    try:
        return EVENT_KEYS[key](value)
    except Invalid as exc:
        problems[key] = f"{key}: {invalid_message(instance.element, key, value, exc)}"
        # The message never quotes a secret; the log names the key only all the same.
        logger.warning("Instance %s: its %s is not valid", instance.pk, key)
        return None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
