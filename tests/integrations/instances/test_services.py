"""The instance write service: what only the admin asks of it (events on for many instances,
provider data as given, another owner) and the token rotation."""

import pytest
import responses

from integrations.instances import (
    InstanceJSONError,
    instance_update,
    instance_webhook_token_rotate,
    instances_events_set,
)
from integrations.models import Instance
from tests.factories import InstanceFactory, UserFactory


@pytest.fixture
def ready(desk, user):
    return InstanceFactory(element=desk, owner=user, name="Ready")


@pytest.fixture
def without_url(desk, user):
    return InstanceFactory(element=desk, owner=user, name="No URL", callback_url="")


def test_turning_events_on_refuses_each_instance_the_api_would(ready, without_url):
    switch = instances_events_set(queryset=Instance.objects.all(), enabled=True)

    assert switch.changed == 1
    assert switch.refused == [
        (without_url, ["event.notification.callback.url: required when events are enabled"])
    ]
    assert Instance.objects.get(pk=ready.pk).events_enabled is True
    assert Instance.objects.get(pk=without_url.pk).events_enabled is False


def test_turning_events_on_creates_the_element_default_pollers(ready):
    instances_events_set(queryset=Instance.objects.all(), enabled=True)

    assert sorted(ready.poller_objects.values_list("name", flat=True)) == ["contacts", "incidents"]


def test_turning_events_off_is_never_refused(desk, user):
    bad = InstanceFactory(
        element=desk,
        owner=user,
        events_enabled=True,
        configuration={"site.address": "acme.desk.com", "event.notification.batch.size": "0"},
    )

    switch = instances_events_set(queryset=Instance.objects.all(), enabled=False)

    assert (switch.changed, switch.refused) == (1, [])
    assert Instance.objects.get(pk=bad.pk).events_enabled is False


@responses.activate
def test_provider_data_as_given_replaces_the_stored_without_an_exchange(ready):
    given = {"oauth_token": "request-token", "oauth_verifier": "verifier", "secret": "s"}

    instance_update(instance=ready, data={"providerData": given}, provider_data_as_given=True)

    assert Instance.objects.get(pk=ready.pk).provider_data == given
    assert len(responses.calls) == 0


def test_provider_data_as_given_cannot_be_the_mask(ready):
    with pytest.raises(InstanceJSONError) as refused:
        instance_update(
            instance=ready,
            data={"providerData": {"oauth_token": "********"}},
            provider_data_as_given=True,
        )

    assert refused.value.errors == [
        "providerData.oauth_token: ******** is the mask shown in place of a secret; "
        "give the real value"
    ]


def test_an_update_can_hand_the_instance_to_another_owner(ready):
    other = UserFactory(username="bob")

    instance_update(instance=ready, data={}, owner=other)

    assert Instance.objects.get(pk=ready.pk).owner == other


def test_rotating_the_webhook_token_changes_it(ready):
    before = ready.webhook_token

    instance_webhook_token_rotate(instance=ready)

    assert Instance.objects.get(pk=ready.pk).webhook_token not in ("", before)
