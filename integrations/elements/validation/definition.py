"""Validation of a whole element definition: its top-level keys, ``configuration`` and
``site``, then each section in turn; webhooks are checked by ``inbound.spec_errors``, which
knows their format."""

from __future__ import annotations

import json
from typing import Any

from integrations.elements.inbound import spec_errors as webhook_spec_errors
from integrations.elements.validation import auth, pollers, resources
from integrations.elements.validation.checker import KINDS as VALUE_KINDS
from integrations.elements.validation.checker import Checker

KINDS = VALUE_KINDS | auth.KINDS | resources.KINDS | pollers.KINDS

_RATE_LIMIT = {
    "retryStatuses": "statuses",
    "transientStatuses": "statuses",
    "retryAfterHeaders": "strings",
    "limitHeader": "string",
    "remainingHeader": "string",
    "resetHeader": "string",
    "resetFormat": ("delaySeconds", "epochSeconds"),
    "defaultRetryAfter": "positive",
    "maxRetries": "natural",
}


def validate_definition(definition: Any) -> list[str]:
    """Problems with an element definition, each ``<json path>: <what is expected>``;
    empty when the definition is valid. docs/elements.md describes the format key by key."""
    if not isinstance(definition, dict):
        return ["the element definition must be a JSON object"]
    checker = Checker(definition, KINDS)
    d = definition
    for key, kind in (("key", "slug"), ("name", "string"), ("hub", "slug")):
        if key in d:
            checker.check(kind, key, d[key])
        else:
            checker.error(key, "required")
    if "description" in d:
        checker.check("text", "description", d["description"])
    if "configuration" in d:
        _configuration(checker, d["configuration"])
    if "site" in d:
        _site(checker, d["site"])
    if "baseUrl" in d:
        checker.check("url", "baseUrl", d["baseUrl"])
    checker.section("auth", auth.check_auth)
    checker.section("pagination", resources.check_pagination)
    if "rateLimit" in d:
        checker.fields("rateLimit", d["rateLimit"], {}, _RATE_LIMIT)
    checker.section("resources", resources.check_resources)
    if "events" in d:
        pollers.check_events(checker, "events", d["events"])
    if "webhooks" in d:
        checker.errors += webhook_spec_errors(d["webhooks"], config_keys=set(checker.config_keys))
    return checker.errors


def _configuration(checker: Checker, items: Any) -> None:
    if not isinstance(items, list):
        checker.error("configuration", "must be a list of configuration items")
        return
    optional = {"required": "boolean", "secret": "boolean", "default": "text"}
    for index, item in enumerate(items):
        path = f"configuration[{index}]"
        if not checker.fields(path, item, {"key": "string"}, optional):
            continue
        key = item.get("key")
        if key in checker.config_keys:
            checker.error(f"{path}.key", f"{json.dumps(key)} is declared twice")
        elif isinstance(key, str):
            checker.config_keys.append(key)


def _site(checker: Checker, value: Any) -> None:
    optional = {"configKey": "config", "defaultScheme": ("https", "http"), "default": "string"}
    valid = checker.fields("site", value, {}, optional)
    if valid and "configKey" not in value and "default" not in value:
        checker.error("site", "needs configKey or default")
