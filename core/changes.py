"""The normalized change: what polling and inbound webhooks both produce, and what the one
capture path (``events/capture.py``) stores as Events and delivers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import models


class EventType(models.TextChoices):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    DELETED = "DELETED"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True)
class Change:
    """One change of one provider object.

    ``version`` makes it unique per instance, objectType and objectId: a change captured
    once is never stored (nor delivered) again. ``record`` is the provider's raw record.
    """

    object_type: str
    object_id: str
    event_type: str
    date: datetime | None
    record: Any
    version: str = ""
