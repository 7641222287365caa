"""OAuth flows with a provider: obtain request tokens, build authorize URLs and exchange what
the app's callback received (providerData) for stored credentials.

The element definition's ``auth`` block says how. URL templates (``requestTokenUrl``,
``authorizeUrl``, ``accessTokenUrl``, ``tokenUrl``) may hold ``{site}``
(``element.site_url(configuration)``); ``consumerKey``, ``consumerSecret``, ``clientId``,
``clientSecret`` and ``callbackUrl`` name *configuration keys*, not values, with the defaults of
``integrations.provider.auth``; ``scope`` is the OAuth 2 scope string.
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any
from urllib.parse import urlencode

import requests
from django.conf import settings
from oauthlib.common import urldecode
from requests_oauthlib import OAuth1

from core.http import AnswerTooLarge, AnswerTooSlow, bounded_request, size_text
from integrations.models import Element
from integrations.provider.auth import DEFAULT_KEYS
from integrations.provider.urlguard import UnsafeURL, check_url, guarded_session


class OAuthError(Exception):
    """The provider refused or botched an OAuth step, or the instance lacks what it needs."""


def provider_data_provision(
    *, element: Element, configuration: dict[str, Any], provider_data: dict[str, Any]
) -> dict[str, Any]:
    """The provider data to store for an instance.

    OAuth 1 providerData with ``oauth_verifier`` holds a request token (``oauth_token``), its
    secret (``secret``) and the verifier: it is exchanged for an access token. OAuth 2
    providerData with ``code`` is exchanged for an access (and refresh) token. Anything else is
    taken as credentials already and stored as given.
    """
    auth_type = element.auth.get("type")
    if auth_type == "oauth1" and provider_data.get("oauth_verifier"):
        return oauth1_access_token(
            element=element,
            configuration=configuration,
            consumer_key=_config_value(element, configuration, "consumerKey"),
            consumer_secret=_config_value(element, configuration, "consumerSecret"),
            request_token=_provider_value(provider_data, "oauth_token"),
            request_secret=_provider_value(provider_data, "secret"),
            verifier=str(provider_data["oauth_verifier"]),
        )
    if auth_type == "oauth2" and provider_data.get("code"):
        return oauth2_access_token(
            element=element,
            configuration=configuration,
            client_id=_config_value(element, configuration, "clientId"),
            client_secret=_config_value(element, configuration, "clientSecret"),
            code=str(provider_data["code"]),
            redirect_uri=_optional_config_value(element, configuration, "callbackUrl"),
        )
    return dict(provider_data)


def oauth1_request_token(
    *,
    element: Element,
    configuration: dict[str, Any],
    api_key: str,
    api_secret: str,
    callback_url: str,
) -> dict[str, str]:
    """A request token from ``auth.requestTokenUrl``: ``{"token": ..., "secret": ...}``."""
    url = _auth_url(element, configuration, "requestTokenUrl")
    auth = OAuth1(
        api_key,
        client_secret=api_secret,
        callback_uri=callback_url,
        signature_method=_signature_method(element),
    )
    answer = _token_request(url, auth=auth)
    return {"token": answer["oauth_token"], "secret": answer["oauth_token_secret"]}


def oauth1_authorize_url(
    *, element: Element, configuration: dict[str, Any], request_token: str
) -> str:
    """Where the user authorizes the request token (``auth.authorizeUrl``)."""
    url = _auth_url(element, configuration, "authorizeUrl")
    return _with_query(url, {"oauth_token": request_token})


def oauth1_access_token(
    *,
    element: Element,
    configuration: dict[str, Any],
    consumer_key: str,
    consumer_secret: str,
    request_token: str,
    request_secret: str,
    verifier: str,
) -> dict[str, str]:
    """Exchange an authorized request token at ``auth.accessTokenUrl``:
    ``{"oauth_token": <access token>, "secret": <access token secret>}``."""
    url = _auth_url(element, configuration, "accessTokenUrl")
    auth = OAuth1(
        consumer_key,
        client_secret=consumer_secret,
        resource_owner_key=request_token,
        resource_owner_secret=request_secret,
        verifier=verifier,
        signature_method=_signature_method(element),
    )
    answer = _token_request(url, auth=auth)
    return {"oauth_token": answer["oauth_token"], "secret": answer["oauth_token_secret"]}


def oauth2_authorize_url(
    *,
    element: Element,
    configuration: dict[str, Any],
    client_id: str,
    redirect_uri: str,
    state: str = "",
    scope: str | None = None,
) -> str:
    """Where the user grants access (``auth.authorizeUrl``, authorization-code flow)."""
    url = _auth_url(element, configuration, "authorizeUrl")
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri}
    scope = element.auth.get("scope") if scope is None else scope
    if scope:
        params["scope"] = scope
    if state:
        params["state"] = state
    return _with_query(url, params)


def oauth2_access_token(
    *,
    element: Element,
    configuration: dict[str, Any],
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str = "",
) -> dict[str, Any]:
    """Exchange an authorization code at ``auth.tokenUrl``: ``access_token`` plus, when the
    provider gives them, ``refresh_token``, ``token_type`` and ``expires_at`` (epoch seconds)."""
    url = _auth_url(element, configuration, "tokenUrl")
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": client_id,
        "client_secret": client_secret,
    }
    if redirect_uri:
        form["redirect_uri"] = redirect_uri
    answer = _token_request(url, data=form, expect="access_token")
    token = {"access_token": answer["access_token"]}
    for key in ("refresh_token", "token_type"):
        if answer.get(key):
            token[key] = answer[key]
    with contextlib.suppress(KeyError, TypeError, ValueError):
        token["expires_at"] = int(time.time()) + int(answer["expires_in"])
    return token


def _token_request(
    url: str, *, auth: OAuth1 | None = None, data: dict | None = None, expect: str = "oauth_token"
) -> dict[str, Any]:
    """POST to a token endpoint; the parsed answer, which holds ``expect``."""
    seconds = settings.TRIBUTARY_PROVIDER_TIMEOUT
    try:
        check_url(url, purpose="the provider's token URL")
        response = bounded_request(
            guarded_session(),
            "POST",
            url,
            auth=auth,
            data=data,
            headers={"Accept": "application/json, application/x-www-form-urlencoded"},
            seconds=seconds,
            max_bytes=settings.TRIBUTARY_OAUTH_MAX_BYTES,
            allow_redirects=False,  # a redirect could lead to a private address
        )
    except UnsafeURL as exc:
        raise OAuthError(str(exc)) from exc
    except AnswerTooLarge as exc:
        raise OAuthError(
            f"{url} answered with more than {size_text(exc.max_bytes)}, far more than a token "
            f"(TRIBUTARY_OAUTH_MAX_BYTES): check the site address and the element's auth URLs"
        ) from exc
    except AnswerTooSlow as exc:
        raise OAuthError(f"{url} sent no complete answer within {seconds} s") from exc
    except requests.Timeout as exc:
        raise OAuthError(f"{url} did not answer within {seconds} s") from exc
    except requests.RequestException as exc:
        raise OAuthError(
            f"could not reach {url}: {type(exc).__name__}: {_excerpt(str(exc))}"
        ) from exc
    if not 200 <= response.status_code < 300:
        raise OAuthError(f"{url} answered HTTP {response.status_code}: {_excerpt(response.text)}")
    answer = _parse_token_body(response.text)
    if not answer.get(expect) or (expect == "oauth_token" and "oauth_token_secret" not in answer):
        raise OAuthError(
            f"{url} answered HTTP {response.status_code} without a token: {_excerpt(response.text)}"
        )
    return answer


def _parse_token_body(text: str) -> dict[str, Any]:
    text = text.strip()
    if text.startswith("{"):
        try:
            parsed = json.loads(text)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    try:
        return dict(urldecode(text))
    except ValueError:
        return {}


def _excerpt(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    if not text:
        return "(empty body)"
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def _signature_method(element: Element) -> str:
    # oauthlib names its methods as the definition does: HMAC-SHA1, HMAC-SHA256, PLAINTEXT...
    return element.auth.get("signatureMethod", "HMAC-SHA1")


def _auth_url(element: Element, configuration: dict[str, Any], name: str) -> str:
    template = element.auth.get(name)
    if not template:
        raise OAuthError(f"the {element.key} element defines no auth.{name}")
    return template.replace("{site}", element.site_url(configuration))


def _with_query(url: str, params: dict[str, str]) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


def _config_value(element: Element, configuration: dict[str, Any], name: str) -> str:
    value = _optional_config_value(element, configuration, name)
    if not value:
        key = element.auth.get(name) or DEFAULT_KEYS.get(name)
        raise OAuthError(f"configuration {key} is required to complete the OAuth exchange")
    return value


def _optional_config_value(element: Element, configuration: dict[str, Any], name: str) -> str:
    key = element.auth.get(name) or DEFAULT_KEYS.get(name)
    return str(configuration.get(key) or "") if key else ""


def _provider_value(provider_data: dict[str, Any], key: str) -> str:
    value = provider_data.get(key)
    if not value:
        raise OAuthError(
            f"{key} is required with oauth_verifier (the request token and its secret)"
        )
    return str(value)
