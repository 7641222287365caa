"""Polling GitHub issues: since= and Link-header pagination (provider HTTP mocked)."""

from datetime import UTC, datetime, timedelta
from email.utils import formatdate

import pytest
import responses
from responses import matchers

from events.models import Event
from events.polling import PollError, poll_object
from integrations.elements import ELEMENTS_DIR, element_upsert, read_element_file
from integrations.instances import instance_create
from integrations.models import Instance
from integrations.provider import ProviderClient

ENABLED = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
ISSUES = "https://api.github.com/repos/acme/widgets/issues"
PAGE_2 = "https://api.github.com/repositories/42/issues?page=2"


@pytest.fixture
def instance(db, user):
    element_upsert(definition=read_element_file(ELEMENTS_DIR / "github.json"))
    created = instance_create(
        owner=user,
        data={
            "element": {"key": "github"},
            "name": "Widgets repo",
            "configuration": {
                "github.owner": "acme",
                "github.repo": "widgets",
                "github.token": "ghp_example",
                "event.notification.enabled": "true",
                "event.notification.callback.url": "https://app.example.com/hook",
            },
        },
    )
    Instance.objects.filter(pk=created.pk).update(events_enabled_at=ENABLED)
    return Instance.objects.get(pk=created.pk)


def issue(number, created, updated):
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    return {
        "id": 5000 + number,
        "number": number,
        "created_at": (ENABLED + timedelta(minutes=created)).strftime(stamp),
        "updated_at": (ENABLED + timedelta(minutes=updated)).strftime(stamp),
    }


@responses.activate
def test_it_polls_issues_since_the_cursor_following_link_headers(instance):
    first = responses.get(
        ISSUES,
        json=[issue(1, 1, 1), issue(2, -600, 2)],
        # GitHub's clock, as its Date header gives it: the same as ours here.
        headers={
            "Link": f'<{PAGE_2}>; rel="next", <{PAGE_2}>; rel="last"',
            "Date": formatdate(usegmt=True),
        },
        match=[
            matchers.query_param_matcher(
                {
                    "since": "2026-11-28T08:59:00Z",
                    "state": "all",
                    "sort": "updated",
                    "direction": "asc",
                    "per_page": "100",
                },
                strict_match=False,
            ),
            matchers.header_matcher({"Authorization": "Bearer ghp_example"}),
        ],
    )
    responses.get(PAGE_2, json=[issue(3, 3, 3)])
    poller = instance.poller_objects.get(name="issues")

    result = poll_object(
        poller_object_id=poller.pk, client=ProviderClient(instance, sleep=lambda s: None)
    )

    assert first.call_count == 1
    assert result.pages == 2
    assert sorted(Event.objects.values_list("object_id", "event_type")) == [
        ("5001", "CREATED"),
        ("5002", "UPDATED"),
        ("5003", "CREATED"),
    ]
    poller.refresh_from_db()
    assert poller.cursor == ENABLED + timedelta(minutes=3)


@responses.activate
def test_renewed_oauth2_tokens_survive_a_poll_that_fails_afterwards(instance):
    instance.configuration["authentication.type"] = "oauth2"
    instance.configuration["oauth.api.key"] = "client-id"
    instance.secrets["oauth.api.secret"] = "client-secret"
    instance.provider_data = {"access_token": "old-token", "refresh_token": "refresh-1"}
    instance.save()
    responses.get(ISSUES, status=401, json={"message": "Bad credentials"})
    responses.post(
        "https://github.com/login/oauth/access_token",
        json={"access_token": "new-token", "refresh_token": "refresh-2", "expires_in": 3600},
    )
    responses.get(ISSUES, status=500, json={"message": "Server Error"})
    poller = instance.poller_objects.get(name="issues")
    client = ProviderClient(Instance.objects.get(pk=instance.pk), sleep=lambda s: None)

    with pytest.raises(PollError):
        poll_object(poller_object_id=poller.pk, client=client)

    stored = Instance.objects.get(pk=instance.pk).provider_data
    assert stored["access_token"] == "new-token"
    assert stored["refresh_token"] == "refresh-2"
