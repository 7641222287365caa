import copy
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from oauthlib.common import Request
from oauthlib.oauth1.rfc5849 import signature

from integrations.elements import element_upsert
from integrations.instances import InstanceJSONError, instance_create
from integrations.models import Instance
from integrations.provider import oauth1_authorize_url, oauth1_request_token, oauth2_authorize_url

ACCESS_TOKEN_URL = "https://acme.desk.com/oauth/access_token"
CONFIG = {"site.address": "acme.desk.com"}


def instance_json(provider_data, element="desk", **configuration):
    return {
        "element": {"key": element},
        "providerData": provider_data,
        "configuration": {
            "site.address": "acme.desk.com",
            "oauth.api.key": "consumer-key",
            "oauth.api.secret": "consumer-secret",
            "oauth.callback.url": "https://app.example.com/oauth/callback",
            **configuration,
        },
        "name": "Acme",
    }


VERIFIED = {"oauth_token": "request-token", "oauth_verifier": "verifier-1", "secret": "req-secret"}


def text_headers(request):
    return {
        name: value.decode() if isinstance(value, bytes) else value
        for name, value in request.headers.items()
    }


def oauth_params(request):
    return dict(
        signature.collect_parameters(headers=text_headers(request), exclude_oauth_signature=False)
    )


def signed_with(request, consumer_secret, token_secret):
    oauth_request = Request(request.url, http_method=request.method, body=request.body)
    oauth_request.params = signature.collect_parameters(
        uri_query=urlsplit(request.url).query, headers=text_headers(request)
    )
    oauth_request.signature = oauth_params(request)["oauth_signature"]
    return signature.verify_hmac_sha1(oauth_request, consumer_secret, token_secret)


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


@responses.activate
def test_it_exchanges_an_oauth1_verifier_for_an_access_token(desk, user):
    responses.post(ACCESS_TOKEN_URL, body="oauth_token=access-1&oauth_token_secret=access-s")

    instance = instance_create(owner=user, data=instance_json(VERIFIED))

    request = responses.calls[0].request
    params = oauth_params(request)
    assert params["oauth_signature_method"] == "HMAC-SHA1"
    assert (params["oauth_token"], params["oauth_verifier"]) == ("request-token", "verifier-1")
    assert params["oauth_consumer_key"] == "consumer-key"
    assert signed_with(request, "consumer-secret", "req-secret")
    instance.refresh_from_db()
    assert instance.provider_data == {"oauth_token": "access-1", "secret": "access-s"}


@responses.activate
def test_it_exchanges_at_the_site_given_with_a_scheme(desk, user):
    url = "http://127.0.0.1:8765/oauth/access_token"
    responses.post(url, body="oauth_token=access-1&oauth_token_secret=access-s")

    instance_create(
        owner=user, data=instance_json(VERIFIED, **{"site.address": "http://127.0.0.1:8765"})
    )

    assert responses.calls[0].request.url == url


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (
            {"status": 401, "body": "oauth_problem=token_rejected"},
            f"providerData: {ACCESS_TOKEN_URL} answered HTTP 401: 'oauth_problem=token_rejected'",
        ),
        (
            {"status": 200, "body": "<html>Maintenance</html>"},
            f"providerData: {ACCESS_TOKEN_URL} answered HTTP 200 without a token: "
            "'<html>Maintenance</html>'",
        ),
        (
            {"body": requests.ConnectionError("connection refused")},
            f"providerData: could not reach {ACCESS_TOKEN_URL}: ConnectionError: "
            "'connection refused'",
        ),
        (
            {"body": requests.ReadTimeout()},
            f"providerData: {ACCESS_TOKEN_URL} did not answer within 30 s",
        ),
        (
            {"body": "oauth_token=" + "x" * 1024 * 1024},
            f"providerData: {ACCESS_TOKEN_URL} answered with more than 1 MB, far more than a "
            "token (TRIBUTARY_OAUTH_MAX_BYTES): check the site address and the element's auth "
            "URLs",
        ),
    ],
    ids=["refused", "garbage", "unreachable", "too slow", "too large"],
)
@responses.activate
def test_it_creates_nothing_and_reports_the_provider_answer_when_the_exchange_fails(
    desk, user, answer, message
):
    responses.post(ACCESS_TOKEN_URL, **answer)

    with pytest.raises(InstanceJSONError) as caught:
        instance_create(owner=user, data=instance_json(VERIFIED))

    assert caught.value.errors == [message]
    assert not Instance.objects.exists()


@responses.activate
def test_it_stores_provider_data_without_a_verifier_as_given(desk, user):
    access = {"oauth_token": "access-1", "secret": "access-s"}

    instance = instance_create(owner=user, data=instance_json(access))

    instance.refresh_from_db()
    assert instance.provider_data == access
    assert len(responses.calls) == 0


def test_it_needs_the_request_token_secret_with_a_verifier(desk, user):
    provider_data = {"oauth_token": "request-token", "oauth_verifier": "verifier-1"}

    with pytest.raises(InstanceJSONError) as caught:
        instance_create(owner=user, data=instance_json(provider_data))

    assert caught.value.errors == [
        "providerData: secret is required with oauth_verifier (the request token and its secret)"
    ]


@responses.activate
def test_it_gets_an_oauth1_request_token_with_the_callback(desk):
    responses.post(
        "https://acme.desk.com/oauth/request_token",
        body="oauth_token=req-1&oauth_token_secret=req-s&oauth_callback_confirmed=true",
    )

    token = oauth1_request_token(
        element=desk,
        configuration=CONFIG,
        api_key="consumer-key",
        api_secret="consumer-secret",
        callback_url="https://app.example.com/oauth/callback",
    )

    assert token == {"token": "req-1", "secret": "req-s"}
    params = oauth_params(responses.calls[0].request)
    assert params["oauth_callback"] == "https://app.example.com/oauth/callback"


def test_it_builds_the_oauth1_authorize_url_of_the_site(desk):
    url = oauth1_authorize_url(element=desk, configuration=CONFIG, request_token="req-1")

    assert url == "https://acme.desk.com/oauth/authorize?oauth_token=req-1"


@responses.activate
def test_it_exchanges_an_oauth2_code_for_tokens(oauth2_element, user):
    responses.post(
        "https://acme.desk.com/oauth/token",
        json={"access_token": "at-1", "refresh_token": "rt-1", "expires_in": 3600},
    )

    instance = instance_create(owner=user, data=instance_json({"code": "code-1"}, "acme2"))

    form = parse_qs(responses.calls[0].request.body)
    assert form["grant_type"] == ["authorization_code"]
    assert form["code"] == ["code-1"]
    assert form["redirect_uri"] == ["https://app.example.com/oauth/callback"]
    assert (form["client_id"], form["client_secret"]) == (["consumer-key"], ["consumer-secret"])
    instance.refresh_from_db()
    assert instance.provider_data["access_token"] == "at-1"
    assert instance.provider_data["refresh_token"] == "rt-1"
    assert instance.provider_data["expires_at"] > 0


@responses.activate
def test_it_reports_a_refused_oauth2_code(oauth2_element, user):
    responses.post("https://acme.desk.com/oauth/token", status=400, json={"error": "invalid_grant"})

    with pytest.raises(InstanceJSONError) as caught:
        instance_create(owner=user, data=instance_json({"code": "code-1"}, "acme2"))

    assert caught.value.errors == [
        "providerData: https://acme.desk.com/oauth/token answered HTTP 400: "
        """'{"error": "invalid_grant"}'"""
    ]


def test_it_builds_the_oauth2_authorize_url(oauth2_element):
    url = oauth2_authorize_url(
        element=oauth2_element,
        configuration=CONFIG,
        client_id="client-1",
        redirect_uri="https://app.example.com/cb",
        state="s-1",
    )

    parts = urlsplit(url)
    assert url.startswith("https://acme.desk.com/oauth/authorize?")
    assert parse_qs(parts.query) == {
        "response_type": ["code"],
        "client_id": ["client-1"],
        "redirect_uri": ["https://app.example.com/cb"],
        "scope": ["read write"],
        "state": ["s-1"],
    }
