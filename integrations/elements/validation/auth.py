"""The ``auth`` section: one scheme and its ``alternatives``, each with the keys its type
needs."""

from __future__ import annotations

from typing import Any

from integrations.elements.validation.checker import Checker, KindCheck

_TOKEN_PLACEMENT = {"in": ("header", "query"), "name": "string", "prefix": "string"}
# type -> (required keys, optional keys), each key -> kind.
_AUTH: dict[str, tuple[dict, dict]] = {
    "oauth1": (
        {
            "consumerKey": "config",
            "consumerSecret": "config",
            "requestTokenUrl": "url",
            "authorizeUrl": "url",
            "accessTokenUrl": "url",
        },
        {
            "signatureMethod": ("HMAC-SHA1", "HMAC-SHA256", "HMAC-SHA512", "PLAINTEXT"),
            "callbackUrl": "config",
        },
    ),
    "oauth2": (
        {"clientId": "config", "clientSecret": "config", "tokenUrl": "url"},
        {
            "grantType": ("authorization_code", "client_credentials"),
            "authorizeUrl": "url",
            "callbackUrl": "config",
            "scope": "text",
            **_TOKEN_PLACEMENT,
        },
    ),
    "basic": ({"username": "config", "password": "config"}, {}),
    "apikey": (
        {"key": "config", "in": ("header", "query"), "name": "string"},
        {"prefix": "string"},
    ),
}


def check_auth(checker: Checker, path: str, value: Any, *, alternative: bool = False) -> None:
    found = checker.variant(path, value, _AUTH)
    if found is None:
        return
    kind, required, optional = found
    if not alternative:
        optional["alternatives"] = "alternatives"
    checker.fields(path, value, required, optional)
    grant = value.get("grantType", "authorization_code")
    if kind == "oauth2" and grant == "authorization_code" and "authorizeUrl" not in value:
        checker.error(f"{path}.authorizeUrl", "required for the authorization_code grant")
    if kind == "apikey" and "prefix" in value and value.get("in") != "header":
        checker.error(f"{path}.prefix", "only allowed when in is header")


def is_alternatives(checker: Checker, path: str, value: Any) -> None:
    if not isinstance(value, list):
        checker.error(path, "must be a list of auth schemes")
        return
    types = [checker.definition["auth"].get("type")]
    for index, scheme in enumerate(value):
        check_auth(checker, f"{path}[{index}]", scheme, alternative=True)
        kind = scheme.get("type") if isinstance(scheme, dict) else None
        if kind in types:
            checker.error(f"{path}[{index}].type", f"{kind} is offered twice")
        types.append(kind)


KINDS: dict[str, KindCheck] = {"alternatives": is_alternatives}
