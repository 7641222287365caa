"""Dotted-path lookups into provider JSON: ``user.id``, ``_embedded.entries``, ``emails.0``."""

from __future__ import annotations

from typing import Any

_MISSING = object()


def get_path(data: Any, path: str, default: Any = None) -> Any:
    if not path:
        return data
    current = data
    for part in path.split("."):
        if isinstance(current, dict):
            current = current.get(part, _MISSING)
        elif isinstance(current, list) and part.lstrip("-").isdigit():
            index = int(part)
            current = current[index] if -len(current) <= index < len(current) else _MISSING
        else:
            current = _MISSING
        if current is _MISSING:
            return default
    return current
