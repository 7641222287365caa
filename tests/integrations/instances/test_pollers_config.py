"""Save-time validation of poller URL templates and date settings."""

import pytest

from integrations.instances import InstanceJSONError, instance_json_parse

PATH = "event.poller.configuration.incidents"


def desk_with(incidents):
    return {
        "element": {"key": "desk"},
        "name": "Acme",
        "providerData": {"oauth_token": "t", "secret": "s"},
        "configuration": {
            "site.address": "acme.desk.com",
            "oauth.api.key": "k",
            "oauth.api.secret": "s",
            "event.notification.enabled": "true",
            "event.notification.callback.url": "https://app.example.com/hook",
            "event.poller.configuration": {"incidents": {"idField": "id", **incidents}},
        },
    }


def errors_for(incidents):
    with pytest.raises(InstanceJSONError) as caught:
        instance_json_parse(data=desk_with(incidents))
    return caught.value.errors


@pytest.mark.parametrize(
    ("incidents", "expected"),
    [
        (
            {"url": "/hubs/helpdesk/incidents?where=updated_at>'${today}'"},
            f"{PATH}.url: unknown placeholder ${{today}}",
        ),
        (
            {"url": "/hubs/helpdesk/incidents?where=updated_at>'${date:yyyy-QQ-dd}'"},
            f"{PATH}.url: ${{date:yyyy-QQ-dd}}: unknown pattern letter 'Q'",
        ),
        (
            {"url": "/hubs/helpdesk/tickets?where=updated_at>'${gmtDate:yyyy-MM-dd}'"},
            f"{PATH}.url: ",
        ),
        (
            {"url": "/hubs/helpdesk/incidents?where=updated_at>>'${epoch:s}'"},
            f"{PATH}.url: ",
        ),
        (
            {
                "url": "/hubs/helpdesk/incidents?where=updated_at>'${epoch:s}'",
                "datesConfiguration": {"updatedDateFormat": "yyyy-MM-dd'T'HH:mm:ssQ"},
            },
            f"{PATH}.datesConfiguration.updatedDateFormat: unknown pattern letter 'Q'",
        ),
        (
            {
                "url": "/hubs/helpdesk/incidents?where=updated_at>'${epoch:s}'",
                "datesConfiguration": {"updatedDateTimezone": "Mars/Olympus"},
            },
            f"{PATH}.datesConfiguration.updatedDateTimezone: ",
        ),
    ],
    ids=["placeholder", "pattern-letter", "resource", "ceql", "date-format", "zone"],
)
def test_it_rejects_a_bad_template_when_the_configuration_is_saved(desk, incidents, expected):
    errors = errors_for(incidents)

    assert len(errors) == 1, errors
    assert errors[0].startswith(expected), errors


def test_it_names_the_known_resources_for_an_unknown_one(desk):
    (error,) = errors_for({"url": "/hubs/helpdesk/tickets?where=updated_at>'${epoch:s}'"})

    assert "tickets" in error
    assert "incidents" in error


def test_it_accepts_every_cloud_elements_placeholder_form(desk):
    for template in (
        "/hubs/helpdesk/incidents?where=updated_at>'${date:yyyy-MM-dd'T'HH:mm:ssXXX}'",
        "/hubs/helpdesk/incidents?where=updated_at>'${gmtDate:yyyy-MM-dd'T'HH:mm:ss'Z'}'",
        "/hubs/helpdesk/incidents?where=updated_at>'${dateTimeZone:-8:00:yyyy-MM-dd'T'HH:mm:ssXXX}'",
        "/hubs/helpdesk/incidents?where=updated_at>'${dateTimeZone:PST:yyyy-MM-dd'T'HH:mm:ssXXX}'",
    ):
        parsed = instance_json_parse(data=desk_with({"url": template}))
        assert parsed.poller_objects["incidents"]["url"] == template
