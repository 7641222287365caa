"""Validation of element definitions: every problem with a definition, each named by its
JSON path and what is expected there. The whole definition is walked in ``definition.py``;
each section's checks live in the module named after it."""

from __future__ import annotations

from integrations.elements.validation.definition import validate_definition

__all__ = ["validate_definition"]
