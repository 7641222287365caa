"""Evaluating a CEQL expression against a provider record, as the vendor would have: the
terms a vendor cannot apply itself are checked here, record by record."""

from __future__ import annotations

import operator
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from integrations.query.ceql.like import like
from integrations.query.ceql.syntax import (
    NUMBER,
    And,
    Comparison,
    Expr,
    IsNull,
    Like,
    Or,
    Value,
    text_of,
)
from integrations.query.paths import get_path

_MISSING = object()


def _field_value(record: dict[str, Any], field: str) -> Any:
    # A key holding the whole name, dots included, wins over the dotted path.
    if field in record:
        return record[field]
    return get_path(record, field, _MISSING)


def evaluate(expr: Expr, record: dict[str, Any]) -> bool:
    """Whether ``record`` satisfies ``expr``. As in SQL, a missing or null field fails
    every comparison (``!=``, ``NOT LIKE`` and ``NOT IN`` too) and satisfies IS NULL."""
    if isinstance(expr, And):
        return all(evaluate(item, record) for item in expr.items)
    if isinstance(expr, Or):
        return any(evaluate(item, record) for item in expr.items)
    value = _field_value(record, expr.field)
    if isinstance(expr, IsNull):
        return (value is _MISSING or value is None) != expr.negated
    if value is _MISSING or value is None or isinstance(value, dict | list):
        return False
    if isinstance(expr, Comparison):
        return compare(value, expr.op, expr.value)
    if isinstance(expr, Like):
        return like(expr.pattern, text_of(value)) != expr.negated
    found = any(compare(value, "=", item) for item in expr.values)
    return found != expr.negated


_OPERATOR_FUNCTIONS = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}


def compare(left: Any, op: str, right: Value) -> bool:
    """``left op right``: numerically when either side is a number and both read as
    numbers, as instants when both are ISO 8601 date-times, otherwise as text."""
    if left is None or right is None:
        return False
    a, b = _comparable(left, right)
    return _OPERATOR_FUNCTIONS[op](a, b)


def _comparable(left: Any, right: Any) -> tuple[Any, Any]:
    if isinstance(left, bool) or isinstance(right, bool):
        return text_of(left).lower(), text_of(right).lower()
    if isinstance(left, int | float) or isinstance(right, int | float):
        a, b = _number(left), _number(right)
        if a is not None and b is not None:
            return a, b
    a, b = parse_instant(text_of(left)), parse_instant(text_of(right))
    if a is not None and b is not None:
        return a, b
    return text_of(left), text_of(right)


def _number(value: Any) -> Decimal | None:
    text = text_of(value)
    if not NUMBER.fullmatch(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


_INSTANT = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"(Z|z|[+-]\d{1,2}(?::?\d{2})?)?"
)


def parse_instant(text: str) -> datetime | None:
    """An ISO 8601 date or date-time as an aware datetime (no offset means UTC), or None.

    Accepts the offsets CE's date formats produce: ``Z``, ``+00:00``, ``-0600``, ``-6:00``.
    """
    match = _INSTANT.fullmatch(text.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        return datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
            micros, tzinfo=_zone(offset),
        )  # fmt: skip
    except ValueError:
        return None


def _zone(offset: str | None) -> timezone:
    if not offset or offset in "Zz":
        return UTC
    sign = -1 if offset[0] == "-" else 1
    digits = offset[1:].replace(":", "")
    hours, minutes = (digits[:-2], digits[-2:]) if len(digits) > 2 else (digits, "0")
    return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))
