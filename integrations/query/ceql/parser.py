"""Parsing a CEQL where clause into the expression tree of ``syntax.py``.

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

import math
import re

from integrations.query.ceql.syntax import (
    NAME,
    NUMBER,
    And,
    CEQLSyntaxError,
    Comparison,
    Expr,
    InList,
    IsNull,
    Like,
    Or,
    Value,
    text_of,
)

LITERALS = {"NULL": None, "TRUE": True, "FALSE": False}
KEYWORDS = frozenset({"AND", "OR", "NOT", "LIKE", "IN", "IS", *LITERALS})
# A bare value never starts with an operator character, so `a == 5` is an error.
_BARE_VALUE = re.compile(r"[^\s(),'`=<>!][^\s(),'`]*")
_SPACE = re.compile(r"\s*")
# Longest first, so '<=' is not read as '<' followed by '='.
_OPERATORS = ("<=", ">=", "!=", "<>", "=", "<", ">")


# Far beyond any real filter, and small enough that parsing (recursive) and evaluating every
# fetched record against the clause stay cheap whatever is written.
MAX_LENGTH = 2000
MAX_DEPTH = 20
MAX_TERMS = 100


def parse(where: str) -> Expr:
    """Parse a where clause; raise CEQLSyntaxError naming the position of the problem, or the
    limit exceeded (MAX_LENGTH characters, MAX_DEPTH nested parentheses, MAX_TERMS
    conditions)."""
    if len(where) > MAX_LENGTH:
        raise CEQLSyntaxError(
            f"the where clause is {len(where)} characters long; at most {MAX_LENGTH} are allowed"
        )
    return _Parser(where).parse()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.depth = 0
        self.terms = 0

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
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise CEQLSyntaxError(
                    f"parentheses are nested more than {MAX_DEPTH} deep; "
                    f"write the where clause with fewer levels",
                    start,
                )
            self.pos += 1
            expr = self.or_expr()
            self.skip_space()
            if not self.peek(")"):
                raise CEQLSyntaxError(
                    f"expected ')' to close the '(' at position {start}, found {self.snippet()}",
                    self.pos,
                )
            self.pos += 1
            self.depth -= 1
            return expr
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise CEQLSyntaxError(
                f"the where clause has more than {MAX_TERMS} conditions; "
                f"filter on fewer fields or values",
                self.space_end(),
            )
        field = self.name()
        return self.predicate(field)

    def name(self) -> str:
        self.skip_space()
        start = self.pos
        if self.peek("`"):
            return self.backticked("name")
        match = NAME.match(self.text, self.pos)
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
            return Like(field, text_of(pattern), negated)
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
        if NUMBER.fullmatch(word):
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
        match = NAME.match(self.text, end)
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
        word = NAME.match(rest)
        return repr(word.group() if word else rest[0])


def _combine(kind: type[And] | type[Or], items: list[Expr]) -> Expr:
    if len(items) == 1:
        return items[0]
    flat: list[Expr] = []
    for item in items:
        flat.extend(item.items if isinstance(item, kind) else [item])
    return kind(tuple(flat))
