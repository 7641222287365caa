"""Parsing JSON that someone else sent, within limits.

Python's ``json`` parser recurses once per level of nesting, so ``[`` repeated 100,000 times
raises RecursionError (a server error, not a bad request), and a 1 MB document of nothing but
brackets is parsed in full before anyone can refuse it. ``loads_bounded`` measures the size
and the nesting first, with a linear scan that does not recurse, and only then parses.

It also keeps to strict JSON: ``NaN``, ``Infinity`` and numbers too large for a float (``1e999``)
are refused, because no database column that stores JSON accepts them back.

    from core.json import JSONLimitError, loads_bounded

    try:
        value = loads_bounded(body, max_depth=64, max_bytes=1024 * 1024)
    except JSONLimitError as exc:  # too deep or too large: str(exc) says which and the limit
        ...
    except ValueError as exc:  # not JSON at all (JSONDecodeError, UnicodeDecodeError)
        ...

Every error raised is a ``ValueError``, so ``except ValueError`` covers malformed and
over-limit input alike.
"""

from __future__ import annotations

import json
import math
from array import array
from itertools import accumulate
from typing import Any

DEFAULT_MAX_DEPTH = 64
DEFAULT_MAX_BYTES = 1024 * 1024

# Bytes that are not brackets, deleted before nesting is counted.
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))
# Opening brackets count +1 and closing ones -1, as signed bytes.
_NESTING = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")


class JSONLimitError(ValueError):
    """The document is over a limit (``JSONTooDeep`` or ``JSONTooLarge``); the message names
    the limit."""


class JSONTooDeep(JSONLimitError):
    def __init__(self, max_depth: int) -> None:
        super().__init__(f"the JSON is nested deeper than {max_depth} levels")
        self.max_depth = max_depth


class JSONTooLarge(JSONLimitError):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"the JSON is over {max_bytes} bytes")
        self.max_bytes = max_bytes


def loads_bounded(
    text: str | bytes | bytearray,
    *,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Any:
    """``json.loads(text)``, refusing a document over ``max_bytes`` (UTF-8 bytes for a str)
    with ``JSONTooLarge`` or nested deeper than ``max_depth`` arrays and objects with
    ``JSONTooDeep``, before it is parsed; ``NaN``, ``Infinity`` and ``1e999`` with a
    ``ValueError``. Bytes are decoded as ``json.loads`` decodes them (UTF-8, -16 or -32)."""
    if isinstance(text, bytes | bytearray):
        if len(text) > max_bytes:
            raise JSONTooLarge(max_bytes)
        text = bytes(text).decode(json.detect_encoding(text), "surrogatepass")
    elif _utf8_size_over(text, max_bytes):
        raise JSONTooLarge(max_bytes)
    if nesting_depth(text) > max_depth:
        raise JSONTooDeep(max_depth)
    return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)


def nesting_depth(text: str) -> int:
    """How deeply arrays and objects nest in ``text`` (0 for a scalar), counted without
    parsing: brackets inside strings do not count. For text that is not JSON the count is
    right up to the first mistake, as far as a parser would go."""
    data = text.encode("utf-8", "surrogatepass")  # no multi-byte character has ASCII bytes
    # Escapes go first, so that only the quotes that open and close strings are left: pairs
    # of backslashes, then an escaped quote (in JSON a backslash always escapes one byte).
    data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    outside_strings = b"".join(data.split(b'"')[::2])
    steps = array("b", outside_strings.translate(None, _NOT_BRACKETS).translate(_NESTING))
    return max(0, max(accumulate(steps), default=0))


def _utf8_size_over(text: str, max_bytes: int) -> bool:
    if len(text) > max_bytes:  # at least one byte a character
        return True
    if len(text) * 4 <= max_bytes:  # at most four
        return False
    return len(text.encode("utf-8", "surrogatepass")) > max_bytes


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise ValueError(f"{literal[:40]} is too large a number")
    return value
