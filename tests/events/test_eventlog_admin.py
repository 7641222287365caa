"""The admin links to the event log."""

from tests.events.eventlog_data import delivery
from tests.factories import InstanceFactory


def test_it_links_an_instance_to_its_deliveries(admin_client, db):
    instance = InstanceFactory()

    text = admin_client.get(f"/admin/integrations/instance/{instance.pk}/change/").content.decode()

    assert f'href="/events/log/?instance={instance.pk}"' in text


def test_it_links_a_delivery_to_its_event_log_page(admin_client, db):
    event_log = delivery(InstanceFactory())

    text = admin_client.get(f"/admin/events/eventlog/{event_log.pk}/change/").content.decode()

    assert f'href="/events/log/{event_log.pk}/"' in text
    assert "View in event log" in text
