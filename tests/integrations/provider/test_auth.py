import base64
import copy
import time

import pytest
import responses
from oauthlib.oauth1 import Client
from oauthlib.oauth1.rfc5849.utils import parse_authorization_header

from integrations.models import Element, Instance
from integrations.provider import ProviderClient, ProviderError
from integrations.provider.session import build_session
from tests.factories import InstanceFactory, desk_element

CASES = "https://acme.desk.com/api/v2/cases"
TOKEN_URL = "https://acme.desk.com/oauth/token"


def sent_header(name, call=0):
    # OAuth1 signing leaves the prepared headers as bytes.
    value = responses.calls[call].request.headers[name]
    return value.decode() if isinstance(value, bytes) else value


def element_with_auth(auth):
    definition = copy.deepcopy(desk_element().definition)
    definition["key"] = f"desk-{auth['type']}"
    definition["auth"] = auth
    return Element.objects.create(
        key=definition["key"], name="Desk.com", hub="helpdesk", definition=definition
    )


def oauth2_instance(**provider_data):
    element = element_with_auth(
        {
            "type": "oauth2",
            "tokenUrl": "{site}/oauth/token",
            "clientId": "oauth.api.key",
            "clientSecret": "oauth.api.secret",
        }
    )
    return InstanceFactory(element=element, provider_data=provider_data)


@responses.activate
def test_it_signs_requests_with_oauth1_hmac_sha1(db):
    responses.get(CASES, json={})
    ProviderClient(InstanceFactory()).get_json("/cases")

    header = sent_header("Authorization")
    params = dict(parse_authorization_header(header))
    assert params["oauth_signature_method"] == "HMAC-SHA1"
    assert params["oauth_consumer_key"] == "consumer-key"
    assert params["oauth_token"] == "access-token"
    expected = Client(
        "consumer-key",
        client_secret="consumer-secret",
        resource_owner_key="access-token",
        resource_owner_secret="access-secret",
        nonce=params["oauth_nonce"],
        timestamp=params["oauth_timestamp"],
    ).sign(CASES)[1]["Authorization"]
    assert header == expected


@responses.activate
def test_it_sends_accept_json_and_a_tributary_user_agent(db):
    responses.get(CASES, json={})
    ProviderClient(InstanceFactory()).get_json("/cases")

    assert sent_header("Accept") == "application/json"
    assert sent_header("User-Agent").startswith("Tributary/")


@responses.activate
def test_it_uses_basic_auth_when_the_instance_has_no_oauth_token(db):
    instance = InstanceFactory(
        provider_data={},
        configuration={"site.address": "acme.desk.com", "username": "agent@acme.com"},
        secrets={"password": "s3cret"},
    )
    responses.get(CASES, json={})
    ProviderClient(instance).get_json("/cases")

    expected = base64.b64encode(b"agent@acme.com:s3cret").decode()
    assert responses.calls[0].request.headers["Authorization"] == f"Basic {expected}"


@responses.activate
def test_it_uses_the_scheme_the_configuration_names(db):
    instance = InstanceFactory(
        configuration={
            "site.address": "acme.desk.com",
            "oauth.api.key": "consumer-key",
            "authentication.type": "basic",
            "username": "agent@acme.com",
        },
        secrets={"oauth.api.secret": "consumer-secret", "password": "s3cret"},
    )
    responses.get(CASES, json={})
    ProviderClient(instance).get_json("/cases")

    assert responses.calls[0].request.headers["Authorization"].startswith("Basic ")


@responses.activate
def test_it_sends_the_api_key_in_the_defined_header(db):
    element = element_with_auth(
        {"type": "apikey", "key": "api.key", "in": "header", "name": "X-Api-Key", "prefix": "Token"}
    )
    instance = InstanceFactory(element=element, secrets={"api.key": "k-123"})
    responses.get(CASES, json={})
    ProviderClient(instance).get_json("/cases")

    assert responses.calls[0].request.headers["X-Api-Key"] == "Token k-123"


@responses.activate
def test_it_sends_the_api_key_as_the_defined_query_parameter(db):
    element = element_with_auth(
        {"type": "apikey", "key": "api.key", "in": "query", "name": "api_key"}
    )
    instance = InstanceFactory(element=element, secrets={"api.key": "k-123"})
    responses.get(CASES, json={})
    ProviderClient(instance).get_json("/cases", {"page": "1"})

    assert responses.calls[0].request.params == {"page": "1", "api_key": "k-123"}


def test_it_names_the_missing_credentials(db):
    instance = InstanceFactory(provider_data={})

    with pytest.raises(ProviderError) as caught:
        build_session(instance)

    assert caught.value.permanent
    assert "oauth1 needs providerData oauth_token, providerData secret" in str(caught.value)
    assert "basic needs configuration username, configuration password" in str(caught.value)


@responses.activate
def test_it_renews_an_oauth2_token_on_401_and_saves_it(db):
    instance = oauth2_instance(access_token="old", refresh_token="r-1")
    responses.get(CASES, status=401, json={"message": "Unauthorized"})
    responses.post(
        TOKEN_URL,
        json={"access_token": "new", "refresh_token": "r-2", "expires_in": 3600},
        match=[
            responses.matchers.urlencoded_params_matcher(
                {
                    "grant_type": "refresh_token",
                    "refresh_token": "r-1",
                    "client_id": "consumer-key",
                    "client_secret": "consumer-secret",
                }
            )
        ],
    )
    responses.get(CASES, json={"ok": True})

    body, _ = ProviderClient(instance).get_json("/cases")

    assert body == {"ok": True}
    assert responses.calls[2].request.headers["Authorization"] == "Bearer new"
    stored = Instance.objects.get(pk=instance.pk).provider_data
    assert stored["access_token"] == "new"
    assert stored["refresh_token"] == "r-2"
    assert stored["expires_at"] > time.time() + 3500


@responses.activate
def test_it_renews_an_expired_oauth2_token_before_the_request(db):
    instance = oauth2_instance(
        access_token="old", refresh_token="r-1", expires_at=int(time.time()) - 10
    )
    responses.post(TOKEN_URL, json={"access_token": "new", "expires_in": 3600})
    responses.get(CASES, json={})

    ProviderClient(instance).get_json("/cases")

    assert [call.request.method for call in responses.calls] == ["POST", "GET"]
    assert responses.calls[1].request.headers["Authorization"] == "Bearer new"


@responses.activate
def test_it_asks_for_reauthorization_when_renewal_is_refused(db):
    instance = oauth2_instance(access_token="old", refresh_token="r-1")
    responses.get(CASES, status=401, json={"message": "Unauthorized"})
    responses.post(TOKEN_URL, status=400, json={"error": "invalid_grant"})

    with pytest.raises(ProviderError) as caught:
        ProviderClient(instance).get_json("/cases")

    assert caught.value.permanent
    assert "invalid_grant" in str(caught.value)
    assert "Re-authorize the instance" in str(caught.value)
    assert Instance.objects.get(pk=instance.pk).provider_data["access_token"] == "old"


@responses.activate
def test_it_reads_a_renewal_answer_only_up_to_the_oauth_cap(db, settings):
    settings.TRIBUTARY_OAUTH_MAX_BYTES = 1024
    instance = oauth2_instance(access_token="old", refresh_token="r-1")
    responses.get(CASES, status=401, json={"message": "Unauthorized"})
    responses.post(TOKEN_URL, json={"access_token": "new", "padding": "x" * 2000})

    with pytest.raises(ProviderError) as caught:
        ProviderClient(instance).get_json("/cases")

    assert not caught.value.permanent
    assert str(caught.value) == (
        "Desk.com answered POST /oauth/token to renew the access token with more than 1 KB, "
        "far more than a token (TRIBUTARY_OAUTH_MAX_BYTES); check the element's token URL."
    )
    assert Instance.objects.get(pk=instance.pk).provider_data["access_token"] == "old"
