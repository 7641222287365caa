"""The typed event.* settings: what the write service stored, and rows an older admin saved
unchecked, read through the same checks."""

from dataclasses import replace
from datetime import UTC, datetime

from integrations.instances import EventSettings, InstanceFinder, event_settings, instance_create
from tests.api_helpers import desk_instance_json
from tests.factories import InstanceFactory


def test_it_reads_what_the_service_stored(desk, user):
    data = desk_instance_json(
        **{
            "event.notification.batch.size": "25",
            "event.notification.callback.headers": '{"X-Api-Key": "k-1"}',
            "event.poller.backfill.since": "2024-01-31T00:00:00Z",
            "event.notification.signature.key": "sign-me",
            "event.notification.basic.username": "deliveries",
            "event.notification.basic.password": "pw",
            "event.notification.instance.finder": "site.address | account.site",
        }
    )

    settings = event_settings(instance_create(owner=user, data=data))

    assert settings == EventSettings(
        batch_size=25,
        backfill_since=datetime(2024, 1, 31, tzinfo=UTC),
        callback_headers={"X-Api-Key": "k-1"},
        signature_key="sign-me",
        basic_username="deliveries",
        basic_password="pw",
        instance_finder=InstanceFinder("site.address", "account.site"),
    )


def test_it_reads_raw_strings_an_older_admin_stored(db):
    instance = InstanceFactory(
        configuration={
            "event.notification.batch.size": "25",
            "event.notification.callback.headers": '{"X-Api-Key": "k-1"}',
            "event.poller.backfill.since": "2024-01-31T00:00:00",
        }
    )

    settings = event_settings(instance)

    assert (settings.batch_size, settings.callback_headers, settings.backfill_since) == (
        25,
        {"X-Api-Key": "k-1"},
        datetime(2024, 1, 31, tzinfo=UTC),
    )


def test_it_takes_the_default_for_a_stored_value_that_is_not_valid(db):
    instance = InstanceFactory(
        configuration={
            "event.notification.batch.size": "0",
            "event.notification.callback.headers": '["X-Api-Key"]',
            "event.poller.backfill.since": "last tuesday",
            "event.notification.instance.finder": "no pipe",
        },
        secrets={"event.notification.signature.key": 42},
    )

    settings = event_settings(instance)

    assert replace(settings, problems={}) == EventSettings()
    assert set(settings.problems) == {
        "event.notification.batch.size",
        "event.notification.callback.headers",
        "event.poller.backfill.since",
        "event.notification.instance.finder",
        "event.notification.signature.key",
    }


def test_it_says_why_a_delivery_cannot_be_built_without_quoting_the_secret(db):
    instance = InstanceFactory(
        secrets={
            "event.notification.callback.headers": {"X-Price": "€ 10"},
            "event.notification.signature.key": "whsec_",
        }
    )

    problems = event_settings(instance).delivery_problems

    assert problems == [
        "event.notification.callback.headers: header X-Price: character 1 of its value is not "
        "Latin-1 (ISO-8859-1), the only text a header can carry; percent-encode or base64 the "
        "value",
        "event.notification.signature.key: nothing follows whsec_; a key starting with whsec_ "
        "is a Standard Webhooks key, whsec_ followed by the key's bytes in base64 (such as "
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw); without that prefix, a key is used as given",
    ]
    assert "€" not in " ".join(problems)


def test_it_has_no_delivery_problem_when_the_settings_are_valid(db):
    instance = InstanceFactory(
        secrets={
            "event.notification.callback.headers": {"X-Api-Key": "k-1"},
            "event.notification.signature.key": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        }
    )

    assert event_settings(instance).delivery_problems == []


def test_it_has_defaults_for_an_instance_without_event_settings(db):
    assert event_settings(InstanceFactory(configuration={})) == EventSettings(batch_size=10)
