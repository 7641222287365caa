"""CEQL, the ``where`` part of a Cloud Elements hub query: its expression tree and text
(``syntax.py``), parsing (``parser.py``) and evaluation against a record
(``evaluation.py``)."""

from __future__ import annotations

from integrations.query.ceql.evaluation import evaluate, parse_instant
from integrations.query.ceql.parser import parse
from integrations.query.ceql.syntax import (
    COMPARISON_OPERATORS,
    And,
    CEQLSyntaxError,
    Comparison,
    Expr,
    InList,
    IsNull,
    Like,
    Or,
    Value,
    conjuncts,
    unparse,
)

__all__ = [
    "COMPARISON_OPERATORS",
    "And",
    "CEQLSyntaxError",
    "Comparison",
    "Expr",
    "InList",
    "IsNull",
    "Like",
    "Or",
    "Value",
    "conjuncts",
    "evaluate",
    "parse",
    "parse_instant",
    "unparse",
]
