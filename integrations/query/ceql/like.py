"""CEQL's LIKE: ``%`` matches any run of characters, ``_`` exactly one, ``\\`` makes the next
character literal; case-insensitive, as LIKE is in Salesforce SOQL and MySQL, which Cloud
Elements fronted most.

A pattern is never turned into one regular expression: ``%`` as ``.*`` backtracks, and a
dozen of them against a few dozen characters would keep a worker busy for minutes on every
poll. Instead the pattern is cut at each ``%`` into segments. A segment has no repetition, so
it matches a fixed number of characters, and the leftmost place for each segment in turn is
always a right one (whatever a later place would match, ``%`` absorbs the gap). No choice is
revisited: a match costs at most ``len(text) × len(pattern)`` character comparisons.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

# Each segment is compiled on its own, so a character matches exactly as it did in the
# single expression LIKE used to be (Unicode case folding included).
_FLAGS = re.IGNORECASE | re.DOTALL


class _Segment(NamedTuple):
    regex: re.Pattern[str]
    width: int  # characters matched: one per literal or ``_``


def like(pattern: str, text: str) -> bool:
    """Whether all of ``text`` matches the LIKE ``pattern``."""
    first, *rest = _segments(pattern)
    if not rest:
        return first.regex.fullmatch(text) is not None
    *middle, last = rest
    # The first segment starts the text and the last ends it; each has a fixed width.
    end = len(text) - last.width
    if end < first.width or not first.regex.match(text) or not last.regex.match(text, end):
        return False
    position = first.width
    for segment in middle:
        found = segment.regex.search(text, position, end)
        if found is None:
            return False
        position = found.end()
    return True


@functools.lru_cache(maxsize=256)
def _segments(pattern: str) -> tuple[_Segment, ...]:
    """The pattern cut at each unescaped ``%``: literal characters, and ``.`` for ``_``."""
    segments: list[_Segment] = []
    parts: list[str] = []
    chars = iter(pattern)
    for char in chars:
        if char == "%":
            segments.append(_Segment(re.compile("".join(parts), _FLAGS), len(parts)))
            parts = []
        elif char == "_":
            parts.append(".")
        elif char == "\\":
            parts.append(re.escape(next(chars, "\\")))
        else:
            parts.append(re.escape(char))
    segments.append(_Segment(re.compile("".join(parts), _FLAGS), len(parts)))
    return tuple(segments)
