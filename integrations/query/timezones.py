"""Time zones as Java names them in date settings and in dates' text.

``resolve_zone`` takes an IANA name (``America/Denver``), one of Java's three-letter IDs
(``PST``), a common abbreviation (``CEST``) or an offset (``-8:00``, ``+0530``, ``GMT-8``).
"""

from __future__ import annotations

import re
from datetime import UTC, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo


class ZoneError(ValueError):
    """A time zone that cannot be used; the message says why and what is accepted."""


# Java's three-letter IDs (ZoneId.SHORT_IDS, which TimeZone.getTimeZone also honours): most
# name a region and follow its daylight saving time; EST, MST and HST are fixed offsets. Note
# Java's BST is Bangladesh, AST is Alaska and IST is India.
_JAVA_SHORT_IDS = {
    "ACT": "Australia/Darwin",
    "AET": "Australia/Sydney",
    "AGT": "America/Argentina/Buenos_Aires",
    "ART": "Africa/Cairo",
    "AST": "America/Anchorage",
    "BET": "America/Sao_Paulo",
    "BST": "Asia/Dhaka",
    "CAT": "Africa/Harare",
    "CNT": "America/St_Johns",
    "CST": "America/Chicago",
    "CTT": "Asia/Shanghai",
    "EAT": "Africa/Addis_Ababa",
    "ECT": "Europe/Paris",
    "IET": "America/Indiana/Indianapolis",
    "IST": "Asia/Kolkata",
    "JST": "Asia/Tokyo",
    "MIT": "Pacific/Apia",
    "NET": "Asia/Yerevan",
    "NST": "Pacific/Auckland",
    "PLT": "Asia/Karachi",
    "PNT": "America/Phoenix",
    "PRT": "America/Puerto_Rico",
    "PST": "America/Los_Angeles",
    "SST": "Pacific/Guadalcanal",
    "VST": "Asia/Ho_Chi_Minh",
}
# Abbreviations Java does not know (it silently falls back to GMT for them); Tributary takes
# them at their fixed offset, in hours.
_FIXED_ABBREVIATIONS = {
    "UTC": 0, "GMT": 0, "UT": 0, "Z": 0,
    "EST": -5, "MST": -7, "HST": -10,
    "EDT": -4, "CDT": -5, "MDT": -6, "PDT": -7, "AKST": -9, "AKDT": -8, "HDT": -9,
    "WEST": 1, "CEST": 2, "EEST": 3, "AWST": 8, "ACST": 9.5, "ACDT": 10.5, "AEST": 10,
    "AEDT": 11, "NZST": 12, "NZDT": 13,
}  # fmt: skip
# In a date's text, as opposed to a zone ID, Java reads an abbreviation as one fixed offset.
_ABBREVIATIONS_IN_TEXT = _FIXED_ABBREVIATIONS | {"PST": -8, "CST": -6, "AST": -4, "BST": 1}

_OFFSET = re.compile(r"(?:GMT|UTC|UT)?([+-])(\d\d?+)(?::?(\d\d))?(?![\d:])")
_ZONE_HELP = (
    "use an IANA name (America/Denver), an abbreviation (UTC, GMT, PST, MST, EST, CST) "
    "or an offset (-8:00, +05:30, +0530, GMT-8)"
)


def _fixed(hours: float, name: str) -> tzinfo:
    if name in ("UTC", "Z"):
        return UTC
    return timezone(timedelta(hours=hours), name)


def _offset_zone(match: re.Match[str]) -> tzinfo:
    sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
    if hours > 18 or minutes > 59:
        raise ZoneError(f"offset {match.group()!r} is out of range: hours go to 18")
    offset = timedelta(hours=hours, minutes=minutes) * (-1 if sign == "-" else 1)
    # Java names a custom zone "GMT-08:00", which is what ``z`` then prints.
    return timezone(offset, "GMT" + offset_text(offset, separator=":"))


def resolve_zone(name: str) -> tzinfo:
    """A time zone from an IANA name, a Java or common abbreviation, or an offset."""
    text = name.strip()
    key = text.upper()
    if key in _JAVA_SHORT_IDS:
        return ZoneInfo(_JAVA_SHORT_IDS[key])
    if key in _FIXED_ABBREVIATIONS:
        return _fixed(_FIXED_ABBREVIATIONS[key], key)
    if offset := _OFFSET.fullmatch(text):
        return _offset_zone(offset)
    if re.fullmatch(r"[A-Za-z][A-Za-z0-9_+/-]*", text):
        try:
            return ZoneInfo(text)
        except (KeyError, ValueError, OSError):
            pass
    raise ZoneError(f"unknown time zone {name!r}: {_ZONE_HELP}")


def zone_in_text(text: str, pos: int) -> tuple[tzinfo, int] | None:
    """The zone written at ``pos`` in a date's text and the position after it; None when no
    zone is written there. An abbreviation in text is one fixed offset, as Java reads it."""
    if offset := _OFFSET.match(text, pos):
        return _offset_zone(offset), offset.end()
    name = re.compile(r"[A-Za-z][A-Za-z0-9_/]*").match(text, pos)
    if name is None:
        return None
    key = name.group().upper()
    if key in _ABBREVIATIONS_IN_TEXT:
        return _fixed(_ABBREVIATIONS_IN_TEXT[key], key), name.end()
    try:
        return resolve_zone(name.group()), name.end()
    except ZoneError:
        return None


def offset_text(offset: timedelta | None, *, separator: str) -> str:
    """An offset as Java writes it: ``-08:00`` with separator ``:``, ``-0800`` with none."""
    minutes = int((offset or timedelta(0)).total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}{separator}{minutes:02d}"
