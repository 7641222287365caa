"""Provider text made inert for a page: characters a browser would act on or hide are
spelled out, and excerpts are bounded. Templates escape the rest."""

from __future__ import annotations

import re

EXCERPT_LIMIT = 300
# Characters a browser would act on or hide rather than show: C1 controls, bidirectional
# overrides, zero-width marks, lone surrogates (undecodable bytes surfacing as text).
INVISIBLE = re.compile("[\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\ud800-\udfff]")


def inert(text: str) -> str:
    """Text with invisible or direction-changing characters spelled out as \\uXXXX."""
    return INVISIBLE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def excerpt(text: str) -> str:
    return inert(text[:EXCERPT_LIMIT]) + ("…" if len(text) > EXCERPT_LIMIT else "")
