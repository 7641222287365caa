"""The django-q2 cluster really runs the poll tasks: a qcluster process on the test database."""

import pytest

from events.models import Event
from events.tasks import dispatch_due_polls
from integrations.instance_json import instance_create
from tests.events.conftest import at, desk_instance_json
from tests.processes import start_worker, stop, wait_for

pytestmark = pytest.mark.slow


def test_a_worker_process_polls_the_dispatched_objects(transactional_db, desk, user, sim):
    instance = instance_create(owner=user, data=desk_instance_json(sim.url))
    instance.events_enabled_at = sim.now()
    instance.save(update_fields=["events_enabled_at"])
    at(sim, 5)
    case = sim.create_case(subject="picked up by the worker")
    customer = sim.create_customer(first_name="Grace", last_name="Hopper")

    worker = start_worker()
    try:
        assert dispatch_due_polls() == 2
        wait_for(lambda: Event.objects.count() == 2, timeout=60, what="two events")
    finally:
        output = stop(worker)

    assert set(Event.objects.values_list("object_type", "object_id", "event_type")) == {
        ("incidents", str(case["id"]), "CREATED"),
        ("contacts", str(customer["id"]), "CREATED"),
    }, output
