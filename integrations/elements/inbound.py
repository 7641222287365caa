"""Inbound provider webhooks, as the element defines them: verification and normalization.

An element's ``webhooks`` section says how a request is verified (none, Basic auth against
configuration keys, or an HMAC of the body in a header) and how its body becomes changes (a
declarative mapping, or a Python normalizer registered by element key for providers a mapping
cannot express). docs/elements.md describes the format.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from core.changes import Change, EventType
from integrations.query import DateFormatError, get_path, parse_datetime

HMAC_ALGORITHMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}
DEFAULT_BATCH_SIZE = 20


class VerificationError(Exception):
    """The request is not from the provider (bad or missing signature or credentials)."""


class NormalizationError(ValueError):
    """The body does not have the shape the element's mapping expects."""


Normalizer = Callable[[Any, Mapping[str, str]], list[Change]]
_normalizers: dict[str, Normalizer] = {}


def register_normalizer(element_key: str) -> Callable[[Normalizer], Normalizer]:
    """The escape hatch: ``@register_normalizer("acme")`` on a function (body, headers) →
    list of Change, used when the element's ``webhooks.normalizer`` names it."""

    def register(function: Normalizer) -> Normalizer:
        _normalizers[element_key] = function
        return function

    return register


def header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


# Verification --------------------------------------------------------------------------


def verify(
    spec: dict[str, Any], *, config: Callable[[str], Any], headers: Mapping[str, str], body: bytes
) -> None:
    """Raise VerificationError unless the request passes the element's check. ``config``
    reads the instance's configuration (secrets included)."""
    check = spec.get("verify") or {"type": "none"}
    kind = check.get("type", "none")
    if kind == "none":
        return
    if kind == "basic":
        _verify_basic(check, config, headers)
    elif kind == "hmac":
        _verify_hmac(check, config, headers, body)
    else:
        raise VerificationError(f"unknown verification type {kind!r}")


def _verify_basic(check: dict, config: Callable[[str], Any], headers: Mapping[str, str]) -> None:
    expected_user = str(config(check["username"]) or "")
    expected_password = str(config(check["password"]) or "")
    if not expected_user or not expected_password:
        raise VerificationError(
            f"the instance has no {check['username']} / {check['password']} to check against"
        )
    given = header(headers, "Authorization") or ""
    scheme, _, encoded = given.partition(" ")
    if scheme.lower() != "basic":
        raise VerificationError("Basic credentials are required")
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise VerificationError("the Basic credentials are not valid base64") from None
    same_user = hmac.compare_digest(user.encode(), expected_user.encode())
    same_password = hmac.compare_digest(password.encode(), expected_password.encode())
    if not (same_user and same_password):
        raise VerificationError("wrong Basic credentials")


def _verify_hmac(
    check: dict, config: Callable[[str], Any], headers: Mapping[str, str], body: bytes
) -> None:
    secret = config(check["secretKey"])
    if not secret:
        raise VerificationError(f"the instance has no {check['secretKey']} to verify with")
    given = header(headers, check["header"])
    if not given:
        raise VerificationError(f"the {check['header']} header is missing")
    prefix = check.get("prefix", "")
    if prefix and not given.startswith(prefix):
        raise VerificationError(f"the {check['header']} header does not start with {prefix!r}")
    digest = hmac.new(
        str(secret).encode(), body, HMAC_ALGORITHMS[check.get("algorithm", "sha256")]
    ).digest()
    if check.get("encoding", "hex") == "base64":
        expected = base64.b64encode(digest).decode()
    else:
        expected = digest.hex()
    if not hmac.compare_digest(given[len(prefix) :].strip().encode(), expected.encode()):
        raise VerificationError(f"the {check['header']} signature does not match the body")


# Normalization -------------------------------------------------------------------------


def normalize(
    spec: dict[str, Any], *, element_key: str, body: Any, headers: Mapping[str, str]
) -> list[Change]:
    """The changes a webhook body carries (unversioned), by the element's mapping or its
    normalizer. An event type the mapping does not know (GitHub's ``ping``) carries no
    change."""
    if spec.get("normalizer"):
        function = _normalizers.get(spec["normalizer"]) or _normalizers.get(element_key)
        if function is None:
            raise NormalizationError(f"no normalizer is registered as {spec['normalizer']!r}")
        return function(body, headers)
    mapping = spec.get("normalize") or {}
    changes_path = mapping.get("changes", "")
    items = get_path(body, changes_path) if changes_path else [body]
    if not isinstance(items, list):
        raise NormalizationError(f"expected a list of changes at {changes_path!r}")
    changes = []
    for index, item in enumerate(items):
        rule = _rule_for(mapping, item, headers)
        if rule is not None:
            changes.append(_change(rule, item, headers, where=f"change {index}"))
    return changes


def _rule_for(mapping: dict, item: Any, headers: Mapping[str, str]) -> dict | None:
    types = mapping.get("types")
    if not types:
        return mapping
    source = mapping.get("typeFrom", "")
    kind, _, name = source.partition(":")
    selector = header(headers, name) if kind == "header" else get_path(item, name)
    return types.get(str(selector)) if selector is not None else None


def _value(spec: Any, item: Any, headers: Mapping[str, str]) -> Any:
    if not isinstance(spec, dict):
        return spec
    if "value" in spec:
        return spec["value"]
    if "header" in spec:
        return header(headers, spec["header"])
    return get_path(item, spec.get("path", ""))


def _change(rule: dict, item: Any, headers: Mapping[str, str], *, where: str) -> Change:
    object_type = _value(rule.get("objectType"), item, headers)
    object_id = _value(rule.get("objectId"), item, headers)
    if object_type in (None, "") or object_id in (None, ""):
        raise NormalizationError(f"{where}: no objectType or objectId where the element maps them")
    event_rule = rule.get("eventType") or {"value": "UNKNOWN"}
    raw_type = _value(event_rule, item, headers)
    mapped = event_rule.get("map", {}).get(str(raw_type)) if isinstance(event_rule, dict) else None
    event_type = mapped or (str(raw_type).upper() if raw_type is not None else "")
    if event_type not in EventType.values:
        event_type = (
            event_rule.get("default", "UNKNOWN") if isinstance(event_rule, dict) else "UNKNOWN"
        )
    return Change(
        object_type=str(object_type),
        object_id=str(object_id),
        event_type=event_type,
        date=_date(rule.get("date"), item, headers, where=where),
        record=get_path(item, rule["record"]) if rule.get("record") else item,
    )


def _date(spec: Any, item: Any, headers: Mapping[str, str], *, where: str) -> datetime | None:
    if not spec:
        return None
    value = _value(spec, item, headers)
    if value in (None, ""):
        return None
    fmt = spec.get("format", "yyyy-MM-dd'T'HH:mm:ssXXX") if isinstance(spec, dict) else None
    try:
        return parse_datetime(value, fmt or "yyyy-MM-dd'T'HH:mm:ssXXX")
    except DateFormatError as exc:
        raise NormalizationError(f"{where}: {exc}") from None


# The definition's webhooks section ---------------------------------------------------------

_VERIFY_FIELDS = {
    "none": (set(), set()),
    "basic": ({"username", "password"}, set()),
    "hmac": ({"header", "secretKey"}, {"algorithm", "encoding", "prefix"}),
}
_RULE_FIELDS = {"objectType", "objectId", "eventType", "date", "record"}
_SOURCES = {"path", "header", "value"}


def spec_errors(spec: Any, *, config_keys: set[str]) -> list[str]:
    """Problems with an element's ``webhooks`` section, each named by its JSON path; never
    raises, whatever the types in it."""
    if not isinstance(spec, dict):
        return ["webhooks: must be an object"]
    allowed = {"verify", "normalize", "normalizer", "deliveryIdHeader", "batchSize", "description"}
    errors = [f"webhooks.{key}: unknown key" for key in sorted(set(spec) - allowed)]
    errors += _verify_errors(spec.get("verify", {"type": "none"}), config_keys)
    if "deliveryIdHeader" in spec and not isinstance(spec["deliveryIdHeader"], str):
        errors.append("webhooks.deliveryIdHeader: must be a header name")
    batch = spec.get("batchSize", DEFAULT_BATCH_SIZE)
    if not isinstance(batch, int) or isinstance(batch, bool) or not 1 <= batch <= 100:
        errors.append("webhooks.batchSize: must be a whole number from 1 to 100")
    if "normalizer" in spec:
        if not isinstance(spec["normalizer"], str):
            errors.append("webhooks.normalizer: must be the key a normalizer is registered as")
    elif not isinstance(spec.get("normalize"), dict):
        errors.append("webhooks.normalize: required (an object), or a normalizer")
    else:
        errors += _mapping_errors(spec["normalize"])
    return errors


def _verify_errors(check: Any, config_keys: set[str]) -> list[str]:
    kind = check.get("type") if isinstance(check, dict) else None
    if not isinstance(kind, str) or kind not in _VERIFY_FIELDS:
        return ["webhooks.verify.type: must be one of none, basic, hmac"]
    required, optional = _VERIFY_FIELDS[kind]
    errors = [f"webhooks.verify.{key}: required" for key in sorted(required - set(check))]
    extra = set(check) - required - optional - {"type", "description"}
    errors += [f"webhooks.verify.{key}: unknown key" for key in sorted(extra)]
    for key in ("username", "password", "secretKey"):
        if key in check and (not isinstance(check[key], str) or check[key] not in config_keys):
            errors.append(f"webhooks.verify.{key}: {check[key]!r} is not a configuration key")
    if "header" in check and not isinstance(check["header"], str):
        errors.append("webhooks.verify.header: must be a header name")
    if "prefix" in check and not isinstance(check["prefix"], str):
        errors.append("webhooks.verify.prefix: must be a string")
    if str(check.get("algorithm", "sha256")) not in HMAC_ALGORITHMS:
        errors.append("webhooks.verify.algorithm: must be one of sha1, sha256, sha512")
    if str(check.get("encoding", "hex")) not in ("hex", "base64"):
        errors.append("webhooks.verify.encoding: must be hex or base64")
    return errors


def _mapping_errors(mapping: dict) -> list[str]:
    errors = []
    if "types" in mapping:
        kind, _, name = str(mapping.get("typeFrom", "")).partition(":")
        if kind not in ("header", "path") or not name:
            errors.append(
                "webhooks.normalize.typeFrom: must be header:<Name> or path:<dotted path>"
            )
        if not isinstance(mapping["types"], dict) or not mapping["types"]:
            return [*errors, "webhooks.normalize.types: must be an object of rules"]
        rules = {f"webhooks.normalize.types.{key}": rule for key, rule in mapping["types"].items()}
    else:
        rules = {"webhooks.normalize": mapping}
    if "changes" in mapping and not isinstance(mapping["changes"], str):
        errors.append("webhooks.normalize.changes: must be a dotted path (empty: the whole body)")
    for path, rule in rules.items():
        errors += _rule_errors(path, rule)
    return errors


def _rule_errors(path: str, rule: Any) -> list[str]:
    if not isinstance(rule, dict):
        return [f"{path}: must be an object"]
    errors = [f"{path}.{key}: required" for key in ("objectType", "objectId") if key not in rule]
    extra = set(rule) - _RULE_FIELDS - {"changes", "types", "typeFrom", "description"}
    errors += [f"{path}.{key}: unknown key" for key in sorted(extra)]
    for key in ("objectType", "objectId", "eventType", "date"):
        value = rule.get(key)
        if key in rule and not (isinstance(value, dict) and _SOURCES & set(value)):
            errors.append(f"{path}.{key}: must be an object with path, header or value")
    event_type = rule.get("eventType")
    if isinstance(event_type, dict):
        mapped = event_type.get("map", {})
        if not isinstance(mapped, dict):
            errors.append(f"{path}.eventType.map: must be an object of provider value → type")
        else:
            for value in mapped.values():
                if value not in EventType.values:
                    errors.append(
                        f"{path}.eventType.map: {value!r} is not one of "
                        f"{', '.join(EventType.values)}"
                    )
    if "record" in rule and not isinstance(rule["record"], str):
        errors.append(f"{path}.record: must be a dotted path")
    return errors
