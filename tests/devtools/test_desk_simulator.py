from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests
from requests_oauthlib import OAuth1, OAuth1Session
from requests_oauthlib.oauth1_session import TokenRequestDenied

from devtools.simulator import DeskSimulator
from devtools.simulator.activity import Activity

# A whole minute, so rate-limit windows in these tests start fresh at NOW.
NOW = datetime(2016, 11, 22, 23, 0, 0, tzinfo=UTC)
CASE_KEYS = [
    "id",
    "blurb",
    "changed_at",
    "created_at",
    "custom_fields",
    "description",
    "external_id",
    "first_opened_at",
    "first_resolved_at",
    "label_ids",
    "labels",
    "language",
    "locked_until",
    "opened_at",
    "priority",
    "received_at",
    "resolved_at",
    "status",
    "subject",
    "type",
    "updated_at",
    "active_at",
    "active_attachments_count",
    "active_notes_count",
    "has_pending_interactions",
    "has_failed_interactions",
    "route_status",
    "_links",
]


@pytest.fixture
def sim():
    with DeskSimulator(seed_cases=7, seed_customers=4, now=NOW) as simulator:
        yield simulator


def get(sim: DeskSimulator, path: str, **kwargs) -> requests.Response:
    kwargs.setdefault("auth", sim.oauth1())
    return requests.get(sim.url + path, timeout=5, **kwargs)


def ids(response: requests.Response) -> list[int]:
    return [entry["id"] for entry in response.json()["_embedded"]["entries"]]


def href(response: requests.Response, name: str) -> str | None:
    link = response.json()["_links"][name]
    return link and link["href"]


def test_it_returns_the_recorded_page_envelope_on_the_first_page(sim):
    response = get(sim, "/api/v2/cases?per_page=3")

    body = response.json()
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert list(body) == ["page", "total_entries", "_links", "_embedded"]
    assert list(body["_links"]) == ["self", "first", "last", "next", "previous"]
    assert (body["page"], body["total_entries"]) == (1, 7)
    assert body["_links"]["self"] == {"class": "page", "href": "/api/v2/cases?page=1&per_page=3"}
    assert href(response, "last") == "/api/v2/cases?page=3&per_page=3"
    assert href(response, "next") == "/api/v2/cases?page=2&per_page=3"
    assert href(response, "previous") is None
    assert ids(response) == [3011, 3012, 3013]


def test_it_nulls_next_on_the_last_page(sim):
    response = get(sim, "/api/v2/cases?page=3&per_page=3")

    assert ids(response) == [3017]
    assert href(response, "next") is None
    assert href(response, "previous") == "/api/v2/cases?page=2&per_page=3"


def test_it_adds_page_and_per_page_to_links_and_keeps_other_params(sim):
    response = get(sim, "/api/v2/cases?embed=customer")

    assert href(response, "self") == "/api/v2/cases?embed=customer&page=1&per_page=50"
    assert href(response, "next") is None
    entry = response.json()["_embedded"]["entries"][0]
    customer = entry["_embedded"]["customer"]
    assert customer["_links"]["self"]["href"] == entry["_links"]["customer"]["href"]


def test_it_uses_the_2014_envelope_order_for_customers(sim):
    response = get(sim, "/api/v2/customers?per_page=2")

    body = response.json()
    assert list(body) == ["total_entries", "page", "_links", "_embedded"]
    assert list(body["_links"]) == ["self", "first", "last", "previous", "next"]
    assert body["_links"]["next"] == {
        "href": "/api/v2/customers?page=2&per_page=2",
        "class": "page",
    }


def test_it_serves_cases_in_the_2016_key_order_with_whole_second_timestamps(sim):
    case = get(sim, "/api/v2/cases/3011").json()

    assert list(case) == CASE_KEYS
    assert case["_links"]["self"] == {"class": "case", "href": "/api/v2/cases/3011"}
    assert datetime.strptime(case["updated_at"], "%Y-%m-%dT%H:%M:%SZ").tzinfo is None
    assert case["created_at"] < case["updated_at"] < "2016-11-22T23:00:00Z"


@pytest.mark.parametrize("fmt", ["unix", "iso"])
def test_it_searches_since_updated_at_exclusively_and_max_updated_at_inclusively(sim, fmt):
    sim.update_case(3012)
    sim.advance(1)
    sim.update_case(3014)
    boundary = str(int(NOW.timestamp())) if fmt == "unix" else "2016-11-22T23:00:00Z"

    since = get(sim, "/api/v2/cases/search", params={"since_updated_at": boundary})
    until = get(sim, "/api/v2/cases/search", params={"max_updated_at": boundary})

    assert ids(since) == [3014]
    assert 3012 in ids(until)
    assert 3014 not in ids(until)
    assert href(since, "self") == (
        f"/api/v2/cases/search?since_updated_at={boundary.replace(':', '%3A')}&page=1&per_page=50"
    )


def test_it_searches_customers_by_since_id_and_email(sim):
    email = sim.store.get("customers", 34290813)["emails"][0]["value"]

    by_id = get(sim, "/api/v2/customers/search?since_id=34290813")
    by_email = get(sim, "/api/v2/customers/search", params={"email": email})

    assert ids(by_id) == [34290814, 34290815]
    assert ids(by_email) == [34290813]


def test_it_rejects_an_unparseable_date_with_400(sim):
    response = get(sim, "/api/v2/cases/search?since_updated_at=yesterday")

    assert response.status_code == 400
    assert "since_updated_at" in response.json()["message"]


def test_it_clamps_per_page_to_100_and_to_1000_for_users():
    with DeskSimulator(seed_cases=120, seed_customers=2, now=NOW) as sim:
        cases = get(sim, "/api/v2/cases?per_page=500")
        users = get(sim, "/api/v2/users?per_page=5000")

    assert len(ids(cases)) == 100
    assert href(cases, "next") == "/api/v2/cases?page=2&per_page=100"
    assert href(users, "self") == "/api/v2/users?page=1&per_page=1000"


def test_it_caps_page_at_500(sim):
    last_allowed = get(sim, "/api/v2/cases/search?page=500")
    past_cap = get(sim, "/api/v2/cases/search?page=501")

    assert last_allowed.status_code == 200
    assert ids(last_allowed) == []
    assert past_cap.status_code == 400
    assert past_cap.json() == {"message": "page must be less than or equal to 500"}


def test_it_rejects_a_wrong_consumer_secret(sim):
    auth = OAuth1("demo-key", "wrong", "demo-token", "demo-token-secret")

    response = get(sim, "/api/v2/cases", auth=auth)

    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}


def test_it_rejects_an_unknown_access_token(sim):
    response = get(sim, "/api/v2/cases", auth=OAuth1("demo-key", "demo-secret", "x", "y"))

    assert response.status_code == 401


def test_it_rejects_a_replayed_nonce(sim):
    session = requests.Session()
    prepared = requests.Request("GET", sim.url + "/api/v2/cases", auth=sim.oauth1()).prepare()

    first = session.send(prepared, timeout=5)
    replay = session.send(prepared, timeout=5)

    assert (first.status_code, replay.status_code) == (200, 401)


def test_it_accepts_basic_auth(sim):
    ok = get(sim, "/api/v2/cases/3011", auth=("admin@example.com", "password"))
    wrong = get(sim, "/api/v2/cases/3011", auth=("admin@example.com", "nope"))
    anonymous = get(sim, "/api/v2/cases/3011", auth=None)

    assert ok.json()["id"] == 3011
    assert (wrong.status_code, anonymous.status_code) == (401, 401)


def test_it_answers_429_in_plain_text_past_the_limit_and_recovers_next_window():
    with DeskSimulator(seed_cases=1, seed_customers=1, rate_limit=2, now=NOW) as sim:
        first, second, third = (get(sim, "/api/v2/cases") for _ in range(3))
        sim.advance(59)
        still_limited = get(sim, "/api/v2/cases")
        sim.advance(1)
        recovered = get(sim, "/api/v2/cases")

    assert [first.headers["X-Rate-Limit-Remaining"], second.headers["X-Rate-Limit-Remaining"]] == [
        "1",
        "0",
    ]
    assert third.status_code == 429
    assert third.text == "Too Many Requests"
    assert third.headers["Content-Type"].startswith("text/plain")
    assert third.headers["X-Rate-Limit-Limit"] == "2"
    assert third.headers["X-Rate-Limit-Reset"] == "60"
    assert still_limited.headers["X-Rate-Limit-Reset"] == "1"
    assert still_limited.status_code == 429
    assert recovered.status_code == 200
    assert recovered.headers["X-Rate-Limit-Remaining"] == "1"


def test_it_sends_rate_limit_headers_on_errors(sim):
    response = get(sim, "/api/v2/users/search?test=something")

    assert response.status_code == 404
    assert response.json() == {"message": "Resource Not Found"}
    assert response.headers["X-Rate-Limit-Remaining"] == "299"


def test_it_refuses_to_delete_cases_and_to_write_users(sim):
    delete = requests.delete(sim.url + "/api/v2/cases/3011", auth=sim.oauth1(), timeout=5)
    post = requests.post(sim.url + "/api/v2/users", json={}, auth=sim.oauth1(), timeout=5)

    assert (delete.status_code, post.status_code) == (405, 405)
    assert delete.json() == {"message": "Method Not Allowed"}


def test_it_fails_page_2_once_when_a_500_is_injected(sim):
    sim.inject(status=500, query="page=2")

    page_1 = get(sim, "/api/v2/cases?page=1&per_page=3")
    failed = get(sim, "/api/v2/cases?page=2&per_page=3")
    retried = get(sim, "/api/v2/cases?page=2&per_page=3")

    assert [page_1.status_code, failed.status_code, retried.status_code] == [200, 500, 200]
    assert failed.json() == {"message": "Internal Server Error"}


def test_it_can_answer_200_with_html(sim):
    sim.inject("html", path="/cases")

    response = get(sim, "/api/v2/cases")

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    with pytest.raises(requests.JSONDecodeError):
        response.json()


def test_it_can_truncate_json(sim):
    sim.inject("truncated")

    response = get(sim, "/api/v2/cases")

    assert response.status_code == 200
    assert response.text.startswith('{"page":1,')
    with pytest.raises(requests.JSONDecodeError):
        response.json()


def test_it_can_reset_the_connection(sim):
    sim.inject("reset", path="/api/v2/cases")

    with pytest.raises(requests.ConnectionError):
        get(sim, "/api/v2/cases")
    assert get(sim, "/api/v2/cases").status_code == 200
    assert [e["fault"] for e in sim.requests_log()] == ["reset", None]


def test_it_can_delay_past_a_client_timeout(sim):
    sim.inject("delay", delay=30)

    with pytest.raises(requests.Timeout):
        requests.get(sim.url + "/api/v2/cases", auth=sim.oauth1(), timeout=0.2)


def test_it_runs_the_three_legged_oauth_flow(sim):
    client = OAuth1Session("demo-key", "demo-secret", callback_uri="http://app.test/done")

    request_token = client.fetch_request_token(sim.url + "/oauth/request_token")
    authorize_url = client.authorization_url(sim.url + "/oauth/authorize")
    redirect = requests.get(authorize_url, allow_redirects=False, timeout=5)
    client.parse_authorization_response(redirect.headers["Location"])
    access = client.fetch_access_token(sim.url + "/oauth/access_token")
    response = client.get(sim.url + "/api/v2/users/me", timeout=5)

    assert redirect.status_code == 302
    assert redirect.headers["Location"].startswith("http://app.test/done?oauth_token=")
    assert access["oauth_token"] not in ("demo-token", request_token["oauth_token"])
    assert response.status_code == 200
    assert response.json()["_links"]["self"]["class"] == "user"


def test_it_refuses_an_access_token_for_a_wrong_verifier(sim):
    client = OAuth1Session("demo-key", "demo-secret", callback_uri="http://app.test/done")
    client.fetch_request_token(sim.url + "/oauth/request_token")
    authorize_url = client.authorization_url(sim.url + "/oauth/authorize")
    requests.get(authorize_url, allow_redirects=False, timeout=5)

    with pytest.raises(TokenRequestDenied) as denied:
        client.fetch_access_token(sim.url + "/oauth/access_token", verifier="wrong")

    assert denied.value.status_code == 401


def test_it_shows_a_case_patched_to_deleted_in_search(sim):
    sim.advance(30)

    patch = requests.patch(
        sim.url + "/api/v2/cases/3013", json={"status": "deleted"}, auth=sim.oauth1(), timeout=5
    )
    found = get(sim, "/api/v2/cases/search", params={"since_updated_at": "2016-11-22T23:00:00Z"})

    assert patch.json()["updated_at"] == "2016-11-22T23:00:30Z"
    assert found.json()["_embedded"]["entries"][0]["status"] == "deleted"
    assert ids(found) == [3013]


def test_it_gives_two_updates_in_the_same_second_the_same_updated_at(sim):
    def patch(subject: str) -> dict:
        return requests.patch(
            sim.url + "/api/v2/cases/3011", json={"subject": subject}, auth=sim.oauth1(), timeout=5
        ).json()

    first, second = patch("one"), patch("two")

    assert first["updated_at"] == second["updated_at"] == "2016-11-22T23:00:00Z"
    assert second["subject"] == "two"


def test_it_creates_a_case_with_an_absolute_location(sim):
    body = {
        "subject": "Some Subject",
        "type": "email",
        "message": {"direction": "in", "body": "Some Body"},
        "_links": {"customer": {"href": "/api/v2/customers/34290812", "class": "customer"}},
    }

    response = requests.post(sim.url + "/api/v2/cases", json=body, auth=sim.oauth1(), timeout=5)

    assert response.status_code == 201
    assert response.headers["Location"] == sim.url + "/api/v2/cases/3018"
    assert response.json()["created_at"] == "2016-11-22T23:00:00Z"


def test_it_fails_validation_without_type_and_customer_link(sim):
    body = {"subject": "x", "message": {"direction": "in"}}

    response = requests.post(sim.url + "/api/v2/cases", json=body, auth=sim.oauth1(), timeout=5)

    assert response.status_code == 422
    assert response.json() == {
        "message": "Validation Failed",
        "errors": {"type": ["blank"], "_links": {"customer": ["blank"]}},
    }


def test_it_appends_customer_phone_numbers(sim):
    url = sim.url + "/api/v2/customers/34290812"
    phone = {"type": "home", "value": "(415) 555-1234"}
    body = {"phone_numbers_update_action": "append", "phone_numbers": [phone]}

    before = get(sim, "/api/v2/customers/34290812").json()["phone_numbers"]
    after = requests.patch(url, json=body, auth=sim.oauth1(), timeout=5).json()

    assert after["phone_numbers"] == [*before, phone]


def test_it_is_controllable_over_http_without_auth(sim):
    control = sim.url + "/_simulator"

    requests.post(control + "/clock", json={"advance": 90}, timeout=5)
    patched = requests.patch(control + "/cases/3012", json={"subject": "Via control"}, timeout=5)
    requests.post(control + "/faults", json={"kind": "status", "status": 503}, timeout=5)
    failed = get(sim, "/api/v2/cases/3012")
    log = requests.get(control + "/requests", timeout=5).json()["requests"]

    assert patched.json()["updated_at"] == "2016-11-22T23:01:30Z"
    assert failed.status_code == 503
    assert log == [
        {
            "method": "GET",
            "path": "/api/v2/cases/3012",
            "query": "",
            "status": 503,
            "time": "2016-11-22T23:01:30Z",
            "fault": "status",
        }
    ]


def test_it_resets_data_and_clock_over_http(sim):
    original = sim.store.get("cases", 3011)
    sim.update_case(3011, subject="Changed")
    sim.advance(3600)

    clock = requests.post(sim.url + "/_simulator/reset", timeout=5).json()

    assert clock["now"] == "2016-11-22T23:00:00Z"
    assert sim.store.get("cases", 3011) == original


def test_it_seeds_the_same_data_every_time():
    one = DeskSimulator(seed_cases=3, seed_customers=2, now=NOW)
    two = DeskSimulator(seed_cases=3, seed_customers=2, now=NOW)
    one.stop()
    two.stop()

    assert one.store.all("cases") == two.store.all("cases")
    assert one.store.all("customers") == two.store.all("customers")


def test_it_makes_changes_as_background_activity(sim):
    activity = Activity(sim.store, random_seed=1)
    sim.advance(60)

    changes = [activity.step() for _ in range(5)]
    recent = get(sim, "/api/v2/cases/search?since_updated_at=2016-11-22T23:00:00Z")

    assert len(changes) == 5
    assert recent.json()["total_entries"] >= 1


def test_it_deletes_a_customer_which_then_404s_and_is_gone_from_lists_and_searches(sim):
    deleted = requests.delete(sim.url + "/api/v2/customers/34290813", auth=sim.oauth1(), timeout=5)

    assert (deleted.status_code, deleted.content) == (204, b"")
    assert get(sim, "/api/v2/customers/34290813").status_code == 404
    assert 34290813 not in ids(get(sim, "/api/v2/customers"))
    assert ids(get(sim, "/api/v2/customers/search?since_id=34290812")) == [34290814, 34290815]
    again = requests.delete(sim.url + "/api/v2/customers/34290813", auth=sim.oauth1(), timeout=5)
    assert again.status_code == 404


def test_it_needs_auth_to_delete_a_customer(sim):
    response = requests.delete(sim.url + "/api/v2/customers/34290813", timeout=5)

    assert response.status_code == 401
    assert get(sim, "/api/v2/customers/34290813").status_code == 200


def test_it_lets_an_operator_delete_cases_and_customers_the_api_cannot(sim):
    control = sim.url + "/_simulator"

    case = requests.delete(control + "/cases/3013", timeout=5)
    customer = requests.delete(control + "/customers/34290812", timeout=5)
    missing = requests.delete(control + "/cases/3013", timeout=5)

    assert (case.status_code, customer.status_code, missing.status_code) == (204, 204, 404)
    assert get(sim, "/api/v2/cases/3013").status_code == 404
    assert 3013 not in ids(get(sim, "/api/v2/cases/search?since_id=3011"))
    assert get(sim, "/api/v2/customers/34290812").status_code == 404


def test_its_helpers_delete_and_never_give_a_deleted_id_again(sim):
    sim.delete_case(3017)
    sim.delete_customer(34290815)

    case = sim.create_case(subject="after a delete")
    customer = sim.create_customer(first_name="After", last_name="Delete")

    assert (case["id"], customer["id"]) == (3018, 34290816)
    assert get(sim, "/api/v2/cases/3017").status_code == 404
    assert get(sim, "/api/v2/customers/34290815").status_code == 404


def test_it_lists_ids_after_since_id_in_id_order(sim):
    sim.update_case(3012, subject="moved to the end of the updated_at order")

    page = get(
        sim, "/api/v2/cases/search?since_id=3011&sort_field=id&sort_direction=asc&per_page=3"
    )

    assert ids(page) == [3012, 3013, 3014]
