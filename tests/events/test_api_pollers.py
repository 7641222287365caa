import pytest

from tests.api_helpers import BASE, client_for

POLLERS = "event.poller.configuration"


@pytest.fixture
def api(user):
    return client_for(user)


@pytest.fixture
def incidents(desk_instance):
    return f"{BASE}/instances/{desk_instance.pk}/pollers/incidents"


def test_it_lists_an_instances_pollers(api, desk_instance):
    body = api.get(f"{BASE}/instances/{desk_instance.pk}/pollers").json()

    assert [poller["name"] for poller in body] == ["contacts", "incidents"]
    assert body[1]["configuration"]["idField"] == "id"
    assert body[1]["enabled"] is True


def test_it_shows_a_pollers_state(api, incidents):
    state = api.get(incidents).json()["state"]

    assert state["cursor"] is None
    assert state["consecutiveFailures"] == 0
    assert set(state) >= {"lastPollDate", "lastError", "nextPollDate"}


def test_it_pauses_and_resumes_a_poller(api, incidents):
    assert api.patch(incidents, {"enabled": False}, format="json").json()["enabled"] is False
    assert api.get(incidents).json()["enabled"] is False
    assert api.patch(incidents, {"enabled": True}, format="json").json()["enabled"] is True


def test_it_changes_a_pollers_configuration(api, incidents):
    response = api.patch(incidents, {"configuration": {"pageSize": 25}}, format="json")

    assert response.status_code == 200
    assert response.json()["configuration"]["pageSize"] == 25
    assert response.json()["configuration"]["idField"] == "id"


def test_it_names_the_configuration_key_of_a_bad_poller_change(api, incidents):
    response = api.patch(incidents, {"configuration": {"pageSize": "lots"}}, format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [f"configuration.{POLLERS}.incidents.pageSize"]


def test_it_answers_404_for_an_unknown_poller(api, desk_instance):
    assert api.get(f"{BASE}/instances/{desk_instance.pk}/pollers/nope").status_code == 404


def test_it_polls_now(api, incidents, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr("django_q.conf.Conf.SYNC", True)

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{incidents}/poll")

    assert response.status_code == 202
    state = api.get(incidents).json()["state"]
    assert state["lastPollDate"] is not None
    assert state["lastError"] == ""
    assert state["cursor"] is not None


def test_it_flags_a_stalled_poller_with_the_reason(api, desk_instance, incidents):
    desk_instance.poller_objects.filter(name="incidents").update(
        consecutive_failures=3, last_error="HTTP 401 from the provider"
    )

    body = api.get(f"{BASE}/instances/{desk_instance.pk}/pollers").json()

    flags = {poller["name"]: (poller["stalled"], poller["stalledReason"]) for poller in body}
    assert flags == {
        "contacts": (False, None),
        "incidents": (True, "the last 3 polls failed: HTTP 401 from the provider"),
    }
    assert api.get(incidents).json()["stalled"] is True
