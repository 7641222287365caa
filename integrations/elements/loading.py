"""Loading element definitions: the JSON shipped beside this module (``<key>.json``) or given
by path, validated (``validation/``) and stored. docs/elements.md describes the format key by
key."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.db import transaction

from integrations.elements.validation import validate_definition
from integrations.models import Element

__all__ = [
    "ELEMENTS_DIR",
    "InvalidDefinition",
    "element_upsert",
    "elements_load",
    "read_element_file",
    "shipped_definitions",
]

ELEMENTS_DIR = Path(__file__).resolve().parent


class InvalidDefinition(ValueError):
    """One or more element definitions are invalid; ``errors`` lists every problem."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("\n".join(errors))


def read_element_file(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def shipped_definitions() -> list[dict[str, Any]]:
    return [read_element_file(path) for path in sorted(ELEMENTS_DIR.glob("*.json"))]


def element_upsert(*, definition: dict[str, Any]) -> tuple[Element, bool]:
    """Create or update the element ``definition["key"]``; return it and whether it changed.

    Raises InvalidDefinition when the definition is invalid; nothing is saved then."""
    errors = validate_definition(definition)
    if errors:
        raise InvalidDefinition(errors)
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


def elements_load(*, paths: Iterable[Path] = ()) -> list[tuple[str, str]]:
    """Validate every definition file under ``paths`` (files or directories; the shipped
    definitions when empty), then save them all in one transaction.

    Returns ``(outcome, key)`` pairs, outcome being created, updated or unchanged. Raises
    InvalidDefinition with ``<file>: <problem>`` lines, saving nothing, if any file is invalid.
    """
    files, errors = _definition_files(list(paths) or [ELEMENTS_DIR])
    definitions: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for path in files:
        label = _label(path)
        definition, problems = _read_and_validate(path)
        errors += [f"{label}: {problem}" for problem in problems]
        if problems:
            continue
        key = definition["key"]
        if key in seen:
            errors.append(f'{label}: key "{key}" is also defined in {seen[key]}')
            continue
        seen[key] = label
        definitions.append(definition)
    if errors:
        raise InvalidDefinition(errors)
    outcomes = []
    with transaction.atomic():
        for definition in definitions:
            existed = Element.objects.filter(key=definition["key"]).exists()
            _, changed = element_upsert(definition=definition)
            outcome = "unchanged" if not changed else "updated" if existed else "created"
            outcomes.append((outcome, definition["key"]))
    return outcomes


def _definition_files(paths: list[Path]) -> tuple[list[Path], list[str]]:
    files: list[Path] = []
    errors: list[str] = []
    for path in paths:
        if path.is_dir():
            found = sorted(path.glob("*.json"))
            if not found:
                errors.append(f"{_label(path)}: no element definitions (*.json) in this directory")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            errors.append(f"{_label(path)}: no such file or directory")
    return files, errors


def _read_and_validate(path: Path) -> tuple[Any, list[str]]:
    try:
        definition = read_element_file(path)
    except json.JSONDecodeError as exc:
        return None, [f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"]
    except UnicodeDecodeError:
        return None, ["not UTF-8 text; save the file as UTF-8"]
    except OSError as exc:
        return None, [f"cannot be read ({exc.strerror})"]
    return definition, validate_definition(definition)


def _label(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
