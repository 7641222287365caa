"""Walking an element definition: a ``Checker`` collects ``<json path>: <problem>`` messages,
checking each value by its kind, either a name in ``Checker.kinds`` or a tuple of the values
allowed. The kinds any section may use (strings, numbers, paths, URLs) are here; a
section's own kinds live beside its checks."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

URL_PLACEHOLDERS = ("{site}",)

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_FIELD_PATH = re.compile(r"^[^.\s]+(\.[^.\s]+)*$")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")

Kind = str | tuple[str, ...]
KindCheck = Callable[["Checker", str, Any], None]


class Checker:
    """Walks one definition. ``config_keys`` are the configuration keys it declares, known
    once the ``configuration`` section has been checked."""

    def __init__(self, definition: dict[str, Any], kinds: Mapping[str, KindCheck]) -> None:
        self.definition = definition
        self.kinds = kinds
        self.errors: list[str] = []
        self.config_keys: list[str] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append(f"{path}: {message}")

    def section(self, name: str, check: KindCheck) -> None:
        """Check a required top-level section."""
        if name in self.definition:
            check(self, name, self.definition[name])
        else:
            self.error(name, "required")

    def fields(self, path: str, value: Any, required: dict, optional: dict) -> bool:
        """Check an object's required and optional keys by kind; unknown keys are errors
        because a misspelt optional key would otherwise be silently ignored."""
        if not isinstance(value, dict):
            self.error(path, "must be an object")
            return False
        known_kinds = {**required, **optional}
        for key in required:
            if key not in value:
                self.error(f"{path}.{key}", "required")
        for key, item in value.items():
            if key in known_kinds:
                self.check(known_kinds[key], f"{path}.{key}", item)
            elif key != "description":
                self.error(f"{path}.{key}", f"unknown key (known: {known(known_kinds)})")
        return True

    def variant(
        self, path: str, value: Any, variants: Mapping[str, tuple[dict, dict]]
    ) -> tuple[str, dict, dict] | None:
        """An object whose ``type`` picks one of ``variants``: that type with its required
        and optional keys, or None once what is wrong has been reported."""
        if not isinstance(value, dict):
            self.error(path, "must be an object")
            return None
        kind = value.get("type")
        if not isinstance(kind, str) or kind not in variants:
            self.error(f"{path}.type", f"must be one of {', '.join(variants)}")
            return None
        required, optional = variants[kind]
        return kind, required, {"type": "string", **optional}

    def check(self, kind: Kind, path: str, value: Any) -> None:
        if isinstance(kind, tuple):
            if value not in kind:
                self.error(path, f"must be one of {', '.join(kind)}")
        else:
            self.kinds[kind](self, path, value)


def positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def known(names: Iterable[str]) -> str:
    return ", ".join(names) or "none"


def is_string(checker: Checker, path: str, value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        checker.error(path, "must be a non-empty string")


def is_text(checker: Checker, path: str, value: Any) -> None:
    if not isinstance(value, str):
        checker.error(path, "must be a string")


def is_slug(checker: Checker, path: str, value: Any) -> None:
    if not isinstance(value, str) or not _SLUG.match(value):
        checker.error(path, "must be lowercase letters, digits, - or _ (at most 64)")


def is_boolean(checker: Checker, path: str, value: Any) -> None:
    if not isinstance(value, bool):
        checker.error(path, "must be true or false")


def is_positive(checker: Checker, path: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        checker.error(path, "must be a positive integer")


def is_natural(checker: Checker, path: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        checker.error(path, "must be an integer, 0 or more")


def is_field(checker: Checker, path: str, value: Any) -> None:
    if not isinstance(value, str) or not _FIELD_PATH.match(value):
        checker.error(path, "must be a dotted field path such as _embedded.entries")


def is_optional_field(checker: Checker, path: str, value: Any) -> None:
    if value != "":
        is_field(checker, path, value)


def is_api_path(checker: Checker, path: str, value: Any) -> None:
    if not isinstance(value, str) or not value.startswith("/"):
        checker.error(path, "must be a path relative to baseUrl, starting with /")


def is_config(checker: Checker, path: str, value: Any) -> None:
    if not isinstance(value, str) or value not in checker.config_keys:
        declared = f"declared: {known(checker.config_keys)}"
        checker.error(path, f"{json.dumps(value)} is not a configuration key ({declared})")


def is_url(checker: Checker, path: str, value: Any) -> None:
    if not isinstance(value, str) or not value.startswith(("{site}", "https://", "http://")):
        checker.error(path, "must be an http(s) URL or start with {site}")
        return
    for placeholder in _PLACEHOLDER.findall(value):
        if placeholder not in URL_PLACEHOLDERS:
            checker.error(path, f"unknown placeholder {placeholder} (known: {{site}})")
    if "{site}" in value and "site" not in checker.definition:
        checker.error(path, "uses {site} but the definition has no site section")


def is_strings(checker: Checker, path: str, value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        checker.error(path, "must be a list of non-empty strings")


def is_statuses(checker: Checker, path: str, value: Any) -> None:
    valid = isinstance(value, list) and all(
        isinstance(v, int) and not isinstance(v, bool) and 400 <= v <= 599 for v in value
    )
    if not valid:
        checker.error(path, "must be a list of HTTP error statuses (400-599)")


def is_string_map(checker: Checker, path: str, value: Any) -> None:
    if not isinstance(value, dict) or not all(isinstance(v, str) and v for v in value.values()):
        checker.error(path, "must be an object of query parameter names to string values")


KINDS: dict[str, KindCheck] = {
    "string": is_string,
    "text": is_text,
    "slug": is_slug,
    "boolean": is_boolean,
    "positive": is_positive,
    "natural": is_natural,
    "field": is_field,
    "optional_field": is_optional_field,
    "api_path": is_api_path,
    "config": is_config,
    "url": is_url,
    "strings": is_strings,
    "statuses": is_statuses,
    "string_map": is_string_map,
}
