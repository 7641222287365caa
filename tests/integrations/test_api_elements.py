import copy
import logging
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from devtools.simulator import DeskSimulator
from integrations.elements import element_upsert
from tests.api_helpers import BASE, client_for, desk_instance_json

CALLBACK = "https://app.example.com/oauth/callback"
TOKEN_QUERY = {"apiKey": "k", "callbackUrl": CALLBACK, "siteAddress": "acme.desk.com"}


@pytest.fixture
def api(desk, user):
    return client_for(user)


@pytest.fixture
def staff_api(desk, staff):
    return client_for(staff)


@pytest.fixture
def sim():
    with DeskSimulator(seed_cases=1, seed_customers=1) as simulator:
        yield simulator


@pytest.fixture
def oauth2_element(desk):
    definition = copy.deepcopy(desk.definition)
    definition.update(key="acme2", name="Acme OAuth 2")
    definition["auth"] = {
        "type": "oauth2",
        "clientId": "oauth.api.key",
        "clientSecret": "oauth.api.secret",
        "callbackUrl": "oauth.callback.url",
        "tokenUrl": "{site}/oauth/token",
        "authorizeUrl": "{site}/oauth/authorize",
        "scope": "read write",
    }
    element, _ = element_upsert(definition=definition)
    return element


def test_it_lists_elements(api):
    body = api.get(f"{BASE}/elements").json()

    assert [element["key"] for element in body] == ["desk"]


def test_it_describes_an_element(api):
    body = api.get(f"{BASE}/elements/desk").json()

    assert body["authentication"] == {"type": "oauth1", "alternatives": ["basic"]}
    assert body["resources"]["incidents"]["events"] == ["CREATED", "UPDATED", "DELETED"]
    assert body["resources"]["incidents"]["vendorName"] == "cases"
    assert "incidents" in body["events"]["event.poller.configuration"]
    assert "definition" not in body


def test_it_answers_an_unknown_element_with_404(api):
    assert api.get(f"{BASE}/elements/nope").status_code == 404


def test_it_runs_the_whole_oauth1_connect_flow_through_the_api(api, sim):
    site = {"siteAddress": sim.url, "apiKey": "demo-key"}
    secrets = {"apiSecret": "demo-secret", "callbackUrl": CALLBACK}

    token = api.post(f"{BASE}/elements/desk/oauth/token", {**site, **secrets}, format="json")
    assert token.status_code == 200
    request_token = token.json()
    url = api.get(
        f"{BASE}/elements/desk/oauth/url", {**site, "requestToken": request_token["token"]}
    )
    assert url.json()["oauthUrl"].startswith(f"{sim.url}/oauth/authorize?oauth_token=")
    callback = requests.get(url.json()["oauthUrl"], allow_redirects=False, timeout=5)
    verifier = parse_qs(urlsplit(callback.headers["Location"]).query)["oauth_verifier"][0]
    data = desk_instance_json(**{"site.address": sim.url, "oauth.api.key": "demo-key"})
    data["configuration"]["oauth.api.secret"] = "demo-secret"
    data["providerData"] = {
        "oauth_token": request_token["token"],
        "secret": request_token["secret"],
        "oauth_verifier": verifier,
    }

    created = api.post(f"{BASE}/instances", data, format="json")

    assert created.status_code == 201, created.json()


@responses.activate
def test_it_maps_site_address_to_the_elements_site_key(api):
    responses.post(
        "https://acme.desk.com/oauth/request_token",
        body="oauth_token=rt&oauth_token_secret=rs&oauth_callback_confirmed=true",
    )
    query = {
        "apiKey": "k",
        "apiSecret": "s",
        "callbackUrl": CALLBACK,
        "siteAddress": "acme.desk.com",
    }

    response = api.get(f"{BASE}/elements/desk/oauth/token", query)

    assert response.json() == {"token": "rt", "secret": "rs"}


@responses.activate
def test_it_answers_400_when_the_provider_refuses(api):
    responses.post("https://acme.desk.com/oauth/request_token", status=401, body="bad consumer")
    query = {
        "apiKey": "k",
        "apiSecret": "s",
        "callbackUrl": CALLBACK,
        "siteAddress": "acme.desk.com",
    }

    response = api.get(f"{BASE}/elements/desk/oauth/token", query)

    assert response.status_code == 400
    assert "HTTP 401" in response.json()["message"]


@responses.activate
def test_it_takes_the_app_secret_in_a_post_body(api, caplog):
    caplog.set_level(logging.DEBUG)
    responses.post(
        "https://acme.desk.com/oauth/request_token",
        body="oauth_token=rt&oauth_token_secret=rs&oauth_callback_confirmed=true",
    )
    body = {**TOKEN_QUERY, "apiSecret": "PostedSecret-4Fz8Lm"}

    response = api.post(f"{BASE}/elements/desk/oauth/token", body, format="json")

    assert response.json() == {"token": "rt", "secret": "rs"}
    (call,) = responses.calls
    assert "PostedSecret-4Fz8Lm" not in call.request.url
    assert all("PostedSecret-4Fz8Lm" not in record.getMessage() for record in caplog.records)


@responses.activate
def test_cloud_elements_get_form_still_works_and_is_never_logged(api, caplog):
    caplog.set_level(logging.DEBUG)
    responses.post("https://acme.desk.com/oauth/request_token", status=401, body="no")
    query = {**TOKEN_QUERY, "apiSecret": "QuerySecret-6Hs1Dn"}

    response = api.get(f"{BASE}/elements/desk/oauth/token", query)

    assert response.status_code == 400
    lines = [f"{record.getMessage()} {record.args!r}" for record in caplog.records]
    assert lines and all("QuerySecret-6Hs1Dn" not in line for line in lines)


def test_the_schema_documents_post_and_marks_the_get_form_deprecated(api):
    schema = api.get(f"{BASE}/schema/", HTTP_ACCEPT="application/json").json()

    operations = schema["paths"]["/elements/api-v2/elements/{key}/oauth/token"]
    assert operations["get"]["deprecated"] is True
    assert "post" in operations
    assert "deprecated" not in operations["post"]


def test_a_post_names_missing_oauth_parameters(api):
    response = api.post(
        f"{BASE}/elements/desk/oauth/token",
        {"apiKey": "k", "siteAddress": "acme.desk.com"},
        format="json",
    )

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"apiSecret", "callbackUrl"}


def test_it_names_missing_oauth_parameters(api):
    response = api.get(
        f"{BASE}/elements/desk/oauth/token", {"apiKey": "k", "siteAddress": "acme.desk.com"}
    )

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"apiSecret", "callbackUrl"}


def test_it_builds_an_oauth2_authorize_url_with_state(api, oauth2_element):
    query = {"apiKey": "client-1", "callbackUrl": CALLBACK, "siteAddress": "acme.example.com"}

    body = api.get(f"{BASE}/elements/acme2/oauth/url", {**query, "state": "s-1"}).json()

    params = parse_qs(urlsplit(body["oauthUrl"]).query)
    assert body["oauthUrl"].startswith("https://acme.example.com/oauth/authorize?")
    assert params["client_id"] == ["client-1"]
    assert params["redirect_uri"] == [CALLBACK]
    assert params["state"] == ["s-1"] == [body["state"]]


def test_it_generates_an_oauth2_state_when_none_is_given(api, oauth2_element):
    query = {"apiKey": "client-1", "callbackUrl": CALLBACK, "siteAddress": "acme.example.com"}

    body = api.get(f"{BASE}/elements/acme2/oauth/url", query).json()

    assert len(body["state"]) >= 16


def test_it_refuses_element_changes_from_non_staff(api, desk):
    response = api.patch(f"{BASE}/elements/desk", {"name": "Mine"}, format="json")

    assert response.status_code == 403
    assert api.post(f"{BASE}/elements", desk.definition, format="json").status_code == 403


def test_it_lets_staff_create_an_element(staff_api, desk):
    definition = {**copy.deepcopy(desk.definition), "key": "desk2", "name": "Desk two"}

    response = staff_api.post(f"{BASE}/elements", definition, format="json")

    assert response.status_code == 201
    assert response.json()["definition"]["key"] == "desk2"


def test_it_refuses_a_second_element_with_the_same_key(staff_api, desk):
    response = staff_api.post(f"{BASE}/elements", desk.definition, format="json")

    assert response.status_code == 400
    assert "key" in response.json()["errors"]


def test_it_validates_an_element_like_the_admin(staff_api):
    response = staff_api.patch(
        f"{BASE}/elements/desk", {"auth": {"type": "carrier-pigeon"}}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "auth.type": ["must be one of oauth1, oauth2, basic, apikey"]
    }


def test_it_lets_staff_rename_an_element(staff_api):
    response = staff_api.patch(
        f"{BASE}/elements/desk", {"name": "Desk.com (legacy)"}, format="json"
    )

    assert response.status_code == 200
    assert staff_api.get(f"{BASE}/elements/desk").json()["name"] == "Desk.com (legacy)"


def test_it_refuses_to_change_an_elements_key(staff_api):
    response = staff_api.patch(f"{BASE}/elements/desk", {"key": "other"}, format="json")

    assert response.status_code == 400
    assert "key" in response.json()["errors"]


def test_it_needs_the_site_address_of_a_site_bound_element(api):
    response = api.get(f"{BASE}/elements/desk/oauth/url", {"requestToken": "rt"})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["siteAddress"]


def test_it_refuses_a_site_address_that_is_no_host(api):
    query = {"requestToken": "rt", "siteAddress": ",ó¹"}

    response = api.get(f"{BASE}/elements/desk/oauth/url", query)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["siteAddress"]
