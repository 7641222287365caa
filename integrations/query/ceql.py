"""CEQL, the ``where`` part of a Cloud Elements hub query: parsing and evaluation.

Grammar (keywords are case-insensitive; AND binds tighter than OR)::

    expr       := and_expr (OR and_expr)*
    and_expr   := primary (AND primary)*
    primary    := '(' expr ')' | name predicate
    predicate  := ('=' | '!=' | '<>' | '<' | '>' | '<=' | '>=') value
                | [NOT] LIKE value            -- '%' any run, '_' one character
                | [NOT] IN '(' value (',' value)* ')'
                | IS [NOT] NULL

Names are identifiers with dots (``user.id``, ``items.0.id``) or backticked
(`` `created date` ``). Values are single-quoted strings (``''`` or ``\\'`` for a
quote), numbers, ``true``/``false``/``null``, backticked text (CE: "wrapping a value
in the ` character will ensure a column does not get split"), or a bare word running
to the next space, comma or parenthesis, as in CE's own ``mdate>=2017-02-28T16:11:29-06:00``.
``= null`` and ``!= null`` mean ``IS NULL`` and ``IS NOT NULL``.
"""

from __future__ import annotations

import functools
import math
import operator
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from integrations.query.paths import get_path

Value = str | int | float | bool | None

COMPARISON_OPERATORS = ("=", "!=", "<", ">", "<=", ">=")


class CEQLSyntaxError(ValueError):
    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} at position {position}")
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

LITERALS = {"NULL": None, "TRUE": True, "FALSE": False}
KEYWORDS = frozenset({"AND", "OR", "NOT", "LIKE", "IN", "IS", *LITERALS})
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
# A bare value never starts with an operator character, so `a == 5` is an error.
_BARE_VALUE = re.compile(r"[^\s(),'`=<>!][^\s(),'`]*")
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")
_SPACE = re.compile(r"\s*")
# Longest first, so '<=' is not read as '<' followed by '='.
_OPERATORS = ("<=", ">=", "!=", "<>", "=", "<", ">")


def parse(where: str) -> Expr:
    """Parse a where clause; raise CEQLSyntaxError naming the position of the problem."""
    return _Parser(where).parse()


def conjuncts(expr: Expr) -> list[Expr]:
    """The top-level AND terms: ``a AND (b OR c)`` gives ``[a, b OR c]``."""
    return list(expr.items) if isinstance(expr, And) else [expr]


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def parse(self) -> Expr:
        expr = self.or_expr()
        self.skip_space()
        if self.pos < len(self.text):
            raise CEQLSyntaxError(f"expected AND, OR or the end, found {self.snippet()}", self.pos)
        return expr

    def or_expr(self) -> Expr:
        items = [self.and_expr()]
        while self.accept_keyword("OR"):
            items.append(self.and_expr())
        return _combine(Or, items)

    def and_expr(self) -> Expr:
        items = [self.primary()]
        while self.accept_keyword("AND"):
            items.append(self.primary())
        return _combine(And, items)

    def primary(self) -> Expr:
        self.skip_space()
        if self.peek("("):
            start = self.pos
            self.pos += 1
            expr = self.or_expr()
            self.skip_space()
            if not self.peek(")"):
                raise CEQLSyntaxError(
                    f"expected ')' to close the '(' at position {start}, found {self.snippet()}",
                    self.pos,
                )
            self.pos += 1
            return expr
        field = self.name()
        return self.predicate(field)

    def name(self) -> str:
        self.skip_space()
        start = self.pos
        if self.peek("`"):
            return self.backticked("name")
        match = _NAME.match(self.text, self.pos)
        if not match or match.group().upper() in KEYWORDS:
            raise CEQLSyntaxError(f"expected a field name, found {self.snippet()}", start)
        self.pos = match.end()
        return match.group()

    def predicate(self, field: str) -> Expr:
        self.skip_space()
        for op in _OPERATORS:
            if self.peek(op):
                self.pos += len(op)
                op = "!=" if op == "<>" else op
                value = self.value(after=op)
                if value is None and op in ("=", "!="):
                    return IsNull(field, negated=op == "!=")
                return Comparison(field, op, value)
        if self.accept_keyword("IS"):
            negated = self.accept_keyword("NOT")
            if not self.accept_keyword("NULL"):
                after = "IS NOT" if negated else "IS"
                raise CEQLSyntaxError(f"expected NULL after {after}", self.space_end())
            return IsNull(field, negated)
        negated = self.accept_keyword("NOT")
        if self.accept_keyword("LIKE"):
            pattern = self.value(after="LIKE")
            return Like(field, _text(pattern), negated)
        if self.accept_keyword("IN"):
            return InList(field, self.value_list(), negated)
        expected = "LIKE or IN after NOT" if negated else f"an operator after '{field}'"
        raise CEQLSyntaxError(f"expected {expected}, found {self.snippet()}", self.space_end())

    def value_list(self) -> tuple[Value, ...]:
        self.skip_space()
        if not self.peek("("):
            raise CEQLSyntaxError(f"expected '(' after IN, found {self.snippet()}", self.pos)
        self.pos += 1
        values = [self.value(after="(")]
        while True:
            self.skip_space()
            if self.peek(","):
                self.pos += 1
                values.append(self.value(after=","))
            elif self.peek(")"):
                self.pos += 1
                return tuple(values)
            else:
                raise CEQLSyntaxError(
                    f"expected ',' or ')' in the IN list, found {self.snippet()}", self.pos
                )

    def value(self, *, after: str) -> Value:
        self.skip_space()
        if self.peek("'"):
            return self.quoted()
        if self.peek("`"):
            return self.backticked("value")
        match = _BARE_VALUE.match(self.text, self.pos)
        if not match or match.group().upper() in KEYWORDS - LITERALS.keys():
            raise CEQLSyntaxError(f"expected a value after '{after}'", self.pos)
        self.pos = match.end()
        word = match.group()
        if word.upper() in LITERALS:
            return LITERALS[word.upper()]
        if _NUMBER.fullmatch(word):
            if not any(c in word for c in ".eE"):
                return int(word)
            # 1e999 is no float: kept as written, it still compares as a number.
            return number if math.isfinite(number := float(word)) else word
        return word

    def quoted(self) -> str:
        start = self.pos
        self.pos += 1
        chars = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            pair = self.text[self.pos : self.pos + 2]
            if pair in ("''", "\\'", "\\\\"):
                chars.append(pair[1])
                self.pos += 2
            elif char == "'":
                self.pos += 1
                return "".join(chars)
            else:
                chars.append(char)
                self.pos += 1
        raise CEQLSyntaxError("unterminated string starting", start)

    def backticked(self, what: str) -> str:
        start = self.pos
        end = self.text.find("`", start + 1)
        if end < 0:
            raise CEQLSyntaxError(f"unterminated backticked {what} starting", start)
        self.pos = end + 1
        return self.text[start + 1 : end]

    def accept_keyword(self, keyword: str) -> bool:
        end = self.space_end()
        match = _NAME.match(self.text, end)
        if match and match.group().upper() == keyword:
            self.pos = match.end()
            return True
        return False

    def peek(self, token: str) -> bool:
        return self.text.startswith(token, self.pos)

    def skip_space(self) -> None:
        self.pos = self.space_end()

    def space_end(self) -> int:
        return _SPACE.match(self.text, self.pos).end()

    def snippet(self) -> str:
        rest = self.text[self.space_end() :]
        if not rest:
            return "the end"
        word = _NAME.match(rest)
        return repr(word.group() if word else rest[0])


def _combine(kind: type[And] | type[Or], items: list[Expr]) -> Expr:
    if len(items) == 1:
        return items[0]
    flat: list[Expr] = []
    for item in items:
        flat.extend(item.items if isinstance(item, kind) else [item])
    return kind(tuple(flat))


def unparse(expr: Expr) -> str:
    """CEQL text for an expression; ``parse(unparse(e)) == e``."""
    if isinstance(expr, And | Or):
        joiner = " AND " if isinstance(expr, And) else " OR "
        return joiner.join(
            f"({unparse(item)})" if isinstance(item, Or) else unparse(item) for item in expr.items
        )
    name = expr.field if _NAME.fullmatch(expr.field) else f"`{expr.field}`"
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


# Evaluation

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
        return bool(_like_regex(expr.pattern).fullmatch(_text(value))) != expr.negated
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
        return _text(left).lower(), _text(right).lower()
    if isinstance(left, int | float) or isinstance(right, int | float):
        a, b = _number(left), _number(right)
        if a is not None and b is not None:
            return a, b
    a, b = parse_instant(_text(left)), parse_instant(_text(right))
    if a is not None and b is not None:
        return a, b
    return _text(left), _text(right)


def _number(value: Any) -> Decimal | None:
    text = _text(value)
    if not _NUMBER.fullmatch(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@functools.lru_cache(maxsize=256)
def _like_regex(pattern: str) -> re.Pattern[str]:
    parts = []
    chars = iter(pattern)
    for char in chars:
        if char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        elif char == "\\":
            parts.append(re.escape(next(chars, "\\")))
        else:
            parts.append(re.escape(char))
    # Case-insensitive, as LIKE is in Salesforce SOQL and MySQL, which CE fronted most.
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


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
