"""The ``event.*`` settings of an instance, typed.

They are validated once, when the instance is written (``integrations/instances/config.py``
through the write service); readers take an ``EventSettings`` and never re-parse a raw
configuration string.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from integrations.models import Instance

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
    """The typed ``event.*`` settings of ``instance``, as its write service stored them."""
    configuration, secrets = instance.configuration, instance.secrets
    finder = configuration.get(INSTANCE_FINDER)
    config_key, _, json_path = finder.partition("|") if finder else ("", "", "")
    since = configuration.get(BACKFILL_SINCE)
    return EventSettings(
        batch_size=configuration.get(BATCH_SIZE, DEFAULT_BATCH_SIZE),
        backfill_since=_aware(datetime.fromisoformat(since)) if since else None,
        callback_headers=dict(configuration.get(CALLBACK_HEADERS) or {}),
        signature_key=secrets.get(SIGNATURE_KEY, ""),
        basic_username=configuration.get(BASIC_USERNAME, ""),
        basic_password=secrets.get(BASIC_PASSWORD, ""),
        instance_finder=InstanceFinder(config_key.strip(), json_path.strip()) if finder else None,
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
