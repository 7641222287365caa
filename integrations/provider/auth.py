"""How requests to a provider are authenticated, read from the element's ``auth`` definition.

An element offers one scheme (``auth``) and possibly ``auth.alternatives`` (each a scheme of its
own, such as Desk's ``{"type": "basic", "username": ..., "password": ...}``). An instance uses
the scheme its configuration names in ``authentication.type`` (Cloud Elements' key), else the
first one it has credentials for. Keys such as ``consumerKey`` or ``key`` name configuration
keys, not values; ``DEFAULT_KEYS`` fills in the ones an element leaves out.

Pure credential wiring: no HTTP and no error handling here; ``session.py`` builds sessions
from it, ``renewal.py`` renews OAuth 2 tokens and ``errors.py`` says what went wrong.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

import requests
from requests.auth import AuthBase, HTTPBasicAuth
from requests_oauthlib import OAuth1

from integrations.models import Instance

SCHEME_CONFIG_KEY = "authentication.type"
# Renew an OAuth 2 token this many seconds before it expires, so a request does not race it.
RENEW_MARGIN = 60

DEFAULT_KEYS = {
    "consumerKey": "oauth.api.key",
    "consumerSecret": "oauth.api.secret",
    "clientId": "oauth.api.key",
    "clientSecret": "oauth.api.secret",
    "callbackUrl": "oauth.callback.url",
    "username": "username",
    "password": "password",
    "key": "api.key",
}


def schemes(instance: Instance) -> list[dict[str, Any]]:
    """The element's schemes, its main one first, each with default configuration keys."""
    main = {k: v for k, v in instance.element.auth.items() if k != "alternatives"}
    found = [main, *instance.element.auth.get("alternatives", [])]
    return [{**DEFAULT_KEYS, "type": "none", **scheme} for scheme in found]


def missing_credentials(instance: Instance, scheme: dict[str, Any]) -> list[str]:
    """What ``scheme`` needs that the instance lacks; empty when it can be used."""
    kind = scheme["type"]
    data = instance.provider_data
    if kind == "none":
        return []
    if kind == "oauth1":
        needed = [
            ("configuration", scheme["consumerKey"], instance.config_value(scheme["consumerKey"])),
            (
                "configuration",
                scheme["consumerSecret"],
                instance.config_value(scheme["consumerSecret"]),
            ),
            ("providerData", "oauth_token", data.get("oauth_token")),
            ("providerData", "secret", data.get("secret")),
        ]
    elif kind == "oauth2":
        token = data.get("access_token") or data.get("refresh_token")
        needed = [("providerData", "access_token or refresh_token", token)]
    elif kind == "basic":
        needed = [
            ("configuration", scheme["username"], instance.config_value(scheme["username"])),
            ("configuration", scheme["password"], instance.config_value(scheme["password"])),
        ]
    elif kind == "apikey":
        needed = [("configuration", scheme["key"], instance.config_value(scheme["key"]))]
    else:
        return [f"an auth type Tributary supports (not {kind!r})"]
    return [f"{where} {key}" for where, key, value in needed if not value]


def usable_scheme(instance: Instance) -> dict[str, Any] | None:
    """The scheme the instance asks for in ``authentication.type``, else the first one it has
    credentials for; None when it has none (``missing_credentials`` says why)."""
    offered = schemes(instance)
    wanted = instance.config_value(SCHEME_CONFIG_KEY)
    if wanted:
        offered = [scheme for scheme in offered if scheme["type"] == wanted]
    for scheme in offered:
        if not missing_credentials(instance, scheme):
            return scheme
    return None


def request_auth(instance: Instance, scheme: dict[str, Any]) -> AuthBase | None:
    kind = scheme["type"]
    if kind == "oauth1":
        return OAuth1(
            client_key=instance.config_value(scheme["consumerKey"]),
            client_secret=instance.config_value(scheme["consumerSecret"]),
            resource_owner_key=instance.provider_data["oauth_token"],
            resource_owner_secret=instance.provider_data["secret"],
            signature_method=scheme.get("signatureMethod", "HMAC-SHA1"),
        )
    if kind == "oauth2":
        return BearerAuth(instance, scheme)
    if kind == "basic":
        return HTTPBasicAuth(
            str(instance.config_value(scheme["username"])),
            str(instance.config_value(scheme["password"])),
        )
    if kind == "apikey":
        key = str(instance.config_value(scheme["key"]))
        return TokenAuth(lambda: key, scheme)
    return None


class TokenAuth(AuthBase):
    """A token placed as the scheme says: ``in`` header (default) or query, ``name`` of the
    header or parameter (default ``Authorization``), ``prefix`` before it in a header."""

    default_prefix = ""

    def __init__(self, token: Callable[[], str], scheme: dict[str, Any]):
        self.token = token
        self.place = scheme.get("in", "header")
        self.name = scheme.get("name", "Authorization")
        self.prefix = scheme.get("prefix", self.default_prefix).strip()

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self.place == "query":
            request.prepare_url(request.url, {self.name: self.token()})
        else:
            request.headers[self.name] = f"{self.prefix} {self.token()}".strip()
        return request


class BearerAuth(TokenAuth):
    """OAuth 2 access token, read from the instance on every request so that a renewed token
    is used as soon as it is stored."""

    default_prefix = "Bearer"

    def __init__(self, instance: Instance, scheme: dict[str, Any]):
        super().__init__(lambda: self.access_token, scheme)
        self.instance = instance
        self.scheme = scheme

    @property
    def access_token(self) -> str:
        return str(self.instance.provider_data.get("access_token") or "")

    def expired(self, now: float | None = None) -> bool:
        if not self.access_token:
            return True
        try:
            deadline = float(self.instance.provider_data["expires_at"]) - RENEW_MARGIN
        except (KeyError, TypeError, ValueError):
            return False
        return deadline <= (time.time() if now is None else now)

    def token_url(self) -> str:
        site = self.instance.element.site_url(self.instance.configuration)
        return str(self.scheme.get("tokenUrl", "")).replace("{site}", site)

    def refresh_form(self) -> dict[str, str]:
        """The form POSTed to the token URL to renew the access token (RFC 6749 §6)."""
        return {
            "grant_type": "refresh_token",
            "refresh_token": str(self.instance.provider_data.get("refresh_token") or ""),
            "client_id": str(self.instance.config_value(self.scheme["clientId"]) or ""),
            "client_secret": str(self.instance.config_value(self.scheme["clientSecret"]) or ""),
        }

    def store(self, answer: dict[str, Any], now: float | None = None) -> None:
        """Save a token answer to the instance's provider data."""
        data = {**self.instance.provider_data, "access_token": answer["access_token"]}
        if answer.get("refresh_token"):
            data["refresh_token"] = answer["refresh_token"]
        data.pop("expires_at", None)
        with contextlib.suppress(KeyError, TypeError, ValueError):
            lifetime = int(answer["expires_in"])
            data["expires_at"] = int(time.time() if now is None else now) + lifetime
        self.instance.provider_data = data
        self.instance.save(update_fields=["provider_data", "updated_at"])
