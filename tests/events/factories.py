from __future__ import annotations

import json

import factory
from django.utils import timezone

from events.models import DeliveryAttempt, Event, EventLog
from tests.factories import InstanceFactory


class EventLogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EventLog

    instance = factory.SubFactory(InstanceFactory)
    object_type = "incidents"
    body = factory.LazyFunction(
        lambda: json.dumps({"message": {"events": [], "raw": {}}, "elementKey": "desk"})
    )


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    instance = factory.SubFactory(InstanceFactory)
    event_log = None
    object_type = "incidents"
    object_id = factory.Sequence(lambda n: str(1000 + n))
    event_type = "UPDATED"
    event_date = factory.LazyFunction(timezone.now)
    raw = factory.LazyAttribute(lambda e: {"id": int(e.object_id), "subject": "Printer on fire"})
    version = factory.Sequence(lambda n: f"v{n}")


class DeliveryAttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeliveryAttempt

    event_log = factory.SubFactory(EventLogFactory)
    status_code = 200
    response_body = "ok"
    duration_ms = 42
