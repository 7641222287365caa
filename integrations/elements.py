"""Element definitions shipped as data in ``integrations/elements/<key>.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from integrations.models import Element

ELEMENTS_DIR = Path(__file__).resolve().parent / "elements"


def read_element_file(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def shipped_definitions() -> list[dict[str, Any]]:
    return [read_element_file(path) for path in sorted(ELEMENTS_DIR.glob("*.json"))]


def element_upsert(*, definition: dict[str, Any]) -> tuple[Element, bool]:
    """Create or update the element ``definition["key"]``; return it and whether it changed."""
    fields = {"name": definition["name"], "hub": definition["hub"], "definition": definition}
    element = Element.objects.filter(key=definition["key"]).first()
    if element is None:
        return Element.objects.create(key=definition["key"], **fields), True
    if all(getattr(element, name) == value for name, value in fields.items()):
        return element, False
    for name, value in fields.items():
        setattr(element, name, value)
    element.save()
    return element, True


def validate_definition(definition: Any) -> list[str]:
    """Problems with an element definition, each naming the key at fault; empty when valid."""
    if not isinstance(definition, dict):
        return ["the element definition must be a JSON object"]
    errors = []
    for key in ("key", "name", "hub"):
        if not isinstance(definition.get(key), str) or not definition.get(key):
            errors.append(f"{key}: required (a non-empty string)")
    return errors
