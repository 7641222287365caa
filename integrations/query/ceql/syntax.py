"""The CEQL expression tree, and its text: ``unparse`` writes an expression back as CEQL."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

Value = str | int | float | bool | None

COMPARISON_OPERATORS = ("=", "!=", "<", ">", "<=", ">=")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")


class CEQLSyntaxError(ValueError):
    """A where clause that cannot be read, or one over a limit (``position`` is then None)."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message if position is None else f"{message} at position {position}")
        self.position = position


@dataclass(frozen=True)
class Comparison:
    field: str
    op: str
    value: Value


@dataclass(frozen=True)
class InList:
    field: str
    values: tuple[Value, ...]
    negated: bool = False


@dataclass(frozen=True)
class IsNull:
    field: str
    negated: bool = False


@dataclass(frozen=True)
class Like:
    field: str
    pattern: str
    negated: bool = False


@dataclass(frozen=True)
class And:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Expr, ...]


Expr = Comparison | InList | IsNull | Like | And | Or


def conjuncts(expr: Expr) -> list[Expr]:
    """The top-level AND terms: ``a AND (b OR c)`` gives ``[a, b OR c]``."""
    return list(expr.items) if isinstance(expr, And) else [expr]


def text_of(value: Any) -> str:
    """A value as text, booleans as CEQL writes them (``true``, ``false``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def unparse(expr: Expr) -> str:
    """CEQL text for an expression; ``parse(unparse(e)) == e``."""
    if isinstance(expr, And | Or):
        joiner = " AND " if isinstance(expr, And) else " OR "
        return joiner.join(
            f"({unparse(item)})" if isinstance(item, Or) else unparse(item) for item in expr.items
        )
    name = expr.field if NAME.fullmatch(expr.field) else f"`{expr.field}`"
    if isinstance(expr, Comparison):
        return f"{name} {expr.op} {_literal(expr.value)}"
    not_ = "NOT " if expr.negated else ""
    if isinstance(expr, IsNull):
        return f"{name} IS {not_}NULL"
    if isinstance(expr, Like):
        return f"{name} {not_}LIKE {_literal(expr.pattern)}"
    values = ", ".join(_literal(value) for value in expr.values)
    return f"{name} {not_}IN ({values})"


def _literal(value: Value) -> str:
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int | float):
        return repr(value)
    return "'" + value.replace("'", "''") + "'"
