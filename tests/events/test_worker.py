"""The django-q2 cluster really runs the tasks: a qcluster process on the test database polls
the simulator and delivers to a local receiver."""

import json

import pytest

from events.models import Event, EventLog
from events.tasks import dispatch_due_polls
from integrations.instances import instance_create
from tests.events.conftest import at, desk_instance_json
from tests.processes import start_worker, stop, wait_for

pytestmark = pytest.mark.slow


def test_a_worker_process_polls_and_delivers(transactional_db, desk, user, sim, receiver):
    data = desk_instance_json(sim.url, **{"event.notification.callback.url": receiver.url})
    instance = instance_create(owner=user, data=data)
    instance.events_enabled_at = sim.now()
    instance.save(update_fields=["events_enabled_at"])
    at(sim, 5)
    case = sim.create_case(subject="picked up by the worker")
    customer = sim.create_customer(first_name="Grace", last_name="Hopper")

    worker = start_worker()
    try:
        assert dispatch_due_polls() == 2
        delivered = receiver.wait_for(2, timeout=60)
        wait_for(
            lambda: set(EventLog.objects.values_list("status", flat=True)) == {"delivered"},
            timeout=30,
            what="both deliveries marked delivered",
        )
    finally:
        output = stop(worker)

    assert set(Event.objects.values_list("object_type", "object_id", "event_type")) == {
        ("incidents", str(case["id"]), "CREATED"),
        ("contacts", str(customer["id"]), "CREATED"),
    }, output
    object_types = {
        json.loads(request.body)["message"]["raw"]["objectType"] for request in delivered
    }
    assert object_types == {"incidents", "contacts"}
