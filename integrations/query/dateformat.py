"""Java ``SimpleDateFormat`` patterns, as Cloud Elements used them in poller configuration.

Formatting reproduces Java's output with the English locale, field for field (``S`` is
milliseconds padded to the letter count, ``yy`` is the last two digits of the year, ``h`` runs
1-12, ``z`` names fixed offsets ``GMT-08:00``). Positions in error messages count from 1.

Where a date format is expected, three special values stand for epoch numbers instead of a
pattern, as CE's HubSpot and Intercom elements use them: ``milliseconds`` (epoch ms),
``timestamp`` and ``seconds`` (epoch s).

Parsing is lenient where providers are, and stricter than Java where Java silently goes wrong:

* fractional seconds after ``ss`` are accepted even if the pattern has no ``S``;
* ``S`` digits are a decimal fraction (Java counts them as milliseconds, so it reads ``.1`` as
  1 ms and ``.123456`` as two minutes); both agree on three digits;
* ``z``, ``Z`` and ``X`` each accept ``Z``, ``-08``, ``-0800``, ``-08:00``, ``GMT-8`` or a zone
  name; text after the end of the pattern is ignored, as Java does;
* impossible dates (month 13) are errors instead of being rolled over;
* a two-digit year lands within 80 years before and 20 after today, as in Java;
* a local time that a DST change makes ambiguous or skips is read as standard time, as Java's
  ``Calendar`` does.

Week-based letters (``w``, ``W``, ``Y``) and long zone names (``zzzz``) are valid in Java but
depend on locale data, so Tributary reports them as unsupported instead of guessing.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from functools import lru_cache

from integrations.query.timezones import ZoneError, offset_text, zone_in_text

# The special date formats, with the microseconds in one unit of each.
EPOCH_FORMATS = {"milliseconds": 1_000, "timestamp": 1_000_000, "seconds": 1_000_000}

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NUMERIC = set("yMLdDFuHkKhmsS")
_TEXT = set("GEa")
_ZONES = set("zZX")
_UNSUPPORTED = {"w": "week of year", "W": "week in month", "Y": "week year"}
_QUOTE_HINT = "put literal text in single quotes, as in 'T'"


class DateFormatError(ValueError):
    """A date pattern, a zone or a date value that cannot be used; the message says why."""


@dataclass(frozen=True)
class _Field:
    letter: str
    count: int
    position: int

    @property
    def numeric(self) -> bool:
        return self.letter in _NUMERIC and not (self.letter in "ML" and self.count >= 3)


# ---------------------------------------------------------------------------------- patterns


@lru_cache(maxsize=256)
def _compile(pattern: str) -> tuple[tuple[_Field | str, ...], tuple[str, ...]]:
    tokens: list[_Field | str] = []
    errors: list[str] = []
    literal: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if char == "'":
            if pattern.startswith("''", i):
                literal.append("'")
                i += 2
                continue
            end = i + 1
            while end < n and (pattern[end] != "'" or pattern.startswith("''", end)):
                literal.append(pattern[end])
                end += 2 if pattern.startswith("''", end) else 1
            if end >= n:
                errors.append(
                    f"unterminated quote at position {i + 1}: close the quoted text with ', "
                    "or write '' for a literal quote"
                )
            i = end + 1
        elif char.isascii() and char.isalpha():
            end = i
            while end < n and pattern[end] == char:
                end += 1
            field = _Field(char, end - i, i + 1)
            if problem := _field_problem(field):
                errors.append(problem)
            if literal:
                tokens.append("".join(literal))
                literal = []
            tokens.append(field)
            i = end
        else:
            literal.append(char)
            i += 1
    if literal:
        tokens.append("".join(literal))
    return tuple(tokens), tuple(errors)


def _field_problem(field: _Field) -> str | None:
    letters = field.letter * field.count
    where = f"at position {field.position}"
    if field.letter in _UNSUPPORTED:
        return (
            f"pattern letter '{field.letter}' {where} ({_UNSUPPORTED[field.letter]}) is not "
            "supported, as its numbering depends on the locale: use y, M, d, D or E"
        )
    if field.letter == "X" and field.count > 3:
        return f"{letters} {where} is not a pattern: use X (-08), XX (-0800) or XXX (-08:00)"
    if field.letter == "z" and field.count > 3:
        return (
            f"{letters} {where} (long time zone name) is not supported: "
            "use z (PST), Z (-0800) or XXX (-08:00)"
        )
    if field.letter not in _NUMERIC | _TEXT | _ZONES:
        return f"unknown pattern letter '{field.letter}' {where}: {_QUOTE_HINT}"
    return None


def pattern_errors(pattern: str) -> list[str]:
    """Every problem with a SimpleDateFormat pattern (or special value); empty when usable."""
    if pattern in EPOCH_FORMATS:
        return []
    if not pattern:
        return ["the date format is empty: write a pattern such as yyyy-MM-dd'T'HH:mm:ssXXX"]
    return list(_compile(pattern)[1])


def _tokens(pattern: str) -> tuple[_Field | str, ...]:
    if errors := pattern_errors(pattern):
        raise DateFormatError(f"date format {pattern!r}: " + "; ".join(errors))
    return _compile(pattern)[0]


# -------------------------------------------------------------------------------- formatting


def format_datetime(value: datetime, pattern: str, *, tz: tzinfo | None = None) -> str:
    """``value`` in ``tz`` (default UTC) written as Java's SimpleDateFormat writes it."""
    if value.tzinfo is None:
        raise ValueError("format_datetime needs an aware datetime, got a naive one")
    if pattern in EPOCH_FORMATS:
        return str(_epoch_micros(value) // EPOCH_FORMATS[pattern])
    local = value.astimezone(tz or UTC)
    return "".join(
        token if isinstance(token, str) else _format_field(token, local)
        for token in _tokens(pattern)
    )


def _epoch_micros(value: datetime) -> int:
    return (value - _EPOCH) // timedelta(microseconds=1)


def _format_field(field: _Field, dt: datetime) -> str:
    letter, count = field.letter, field.count
    numbers = {
        "y": dt.year,
        "M": dt.month,
        "L": dt.month,
        "d": dt.day,
        "D": dt.timetuple().tm_yday,
        "F": (dt.day - 1) // 7 + 1,
        "u": dt.isoweekday(),
        "H": dt.hour,
        "k": dt.hour or 24,
        "K": dt.hour % 12,
        "h": dt.hour % 12 or 12,
        "m": dt.minute,
        "s": dt.second,
        "S": dt.microsecond // 1000,
    }
    if letter == "y" and count == 2:
        return f"{dt.year % 100:02d}"
    if letter in "ML" and count >= 3:
        return MONTHS[dt.month - 1] if count >= 4 else MONTHS[dt.month - 1][:3]
    if letter in numbers:
        return f"{numbers[letter]:0{count}d}"
    if letter == "E":
        return WEEKDAYS[dt.weekday()] if count >= 4 else WEEKDAYS[dt.weekday()][:3]
    if letter == "a":
        return "AM" if dt.hour < 12 else "PM"
    if letter == "G":
        return "AD"
    if letter == "z":
        return _zone_name(dt)
    if letter == "Z":
        return offset_text(dt.utcoffset(), separator="")
    if dt.utcoffset() == timedelta(0):
        return "Z"
    text = offset_text(dt.utcoffset(), separator=":")
    return {1: text[:3], 2: text.replace(":", "")}.get(count, text)


def _zone_name(dt: datetime) -> str:
    name = dt.tzname() or ""
    # Java names zones without a letter abbreviation by their offset: "GMT-08:00".
    if not name or re.fullmatch(r"(UTC)?[+-][\d:]+", name):
        return "GMT" + offset_text(dt.utcoffset(), separator=":")
    return name


# ----------------------------------------------------------------------------------- parsing


def parse_datetime(value: str | int | float, pattern: str, *, tz: tzinfo | None = None) -> datetime:
    """A provider's date read with ``pattern``, as an aware UTC datetime.

    ``tz`` (default UTC) is the zone of text that carries no zone or offset of its own.
    """
    if pattern in EPOCH_FORMATS:
        return _parse_epoch(value, pattern)
    if not isinstance(value, str):
        raise DateFormatError(
            f"{value!r} is a number, but the date format {pattern!r} expects text: "
            "use the date format milliseconds or timestamp for epoch numbers"
        )
    return _Parser(value, pattern).parse(tz or UTC)


def _parse_epoch(value: str | int | float, pattern: str) -> datetime:
    text = str(value).strip()
    bad = isinstance(value, bool) or (isinstance(value, float) and not math.isfinite(value))
    if bad or not re.fullmatch(r"-?\d+(\.\d+)?([eE][+-]?\d+)?", text):
        raise DateFormatError(
            f"{value!r} is not an epoch number, as the date format {pattern!r} expects: "
            "for dates written as text, configure a pattern such as yyyy-MM-dd'T'HH:mm:ssXXX"
        )
    try:
        micros = (Decimal(text) * EPOCH_FORMATS[pattern]).to_integral_value(ROUND_FLOOR)
        return _EPOCH + timedelta(microseconds=int(micros))
    except (OverflowError, InvalidOperation):
        raise DateFormatError(
            f"{value!r} is out of range for the date format {pattern!r}: "
            "check that the provider's unit is milliseconds or seconds (timestamp)"
        ) from None


class _Parser:
    def __init__(self, text: str, pattern: str):
        self.text, self.pattern, self.pos = text, pattern, 0
        self.values: dict[str, int] = {}
        self.fraction = 0
        self.zone: tzinfo | None = None

    def fail(self, expected: str) -> DateFormatError:
        return DateFormatError(
            f"{self.text!r} does not match the date format {self.pattern!r}: expected {expected} "
            f"at position {self.pos + 1}; check the provider's dates and the configured format"
        )

    def parse(self, default_zone: tzinfo) -> datetime:
        tokens = _tokens(self.pattern)
        for index, token in enumerate(tokens):
            following = tokens[index + 1] if index + 1 < len(tokens) else None
            if isinstance(token, str):
                if not self.text.startswith(token, self.pos):
                    raise self.fail(repr(token))
                self.pos += len(token)
            elif token.numeric:
                self.number(token, following)
            elif token.letter in _ZONES:
                self.zone = self.read_zone(token)
            else:
                self.word(token)
        return self.build(default_zone)

    def number(self, field: _Field, following: _Field | str | None) -> None:
        # Java reads adjacent numeric fields ("yyyyMMdd") by the letter count.
        abutting = isinstance(following, _Field) and following.numeric
        digits_pattern = rf"\d{{{field.count}}}" if abutting else r"\d+"
        match = re.compile(digits_pattern).match(self.text, self.pos)
        if not match:
            raise self.fail(f"{field.letter * field.count} (digits)")
        self.pos = match.end()
        digits = match.group()
        if field.letter == "S":
            self.fraction = int(digits[:6].ljust(6, "0"))
            return
        value = int(digits)
        if field.letter == "y" and field.count <= 2 and len(digits) == 2:
            start = date.today().year - 80
            value += start // 100 * 100 + (100 if value < start % 100 else 0)
        self.values[field.letter] = value
        lenient_fraction = field.letter == "s" and not (
            (isinstance(following, _Field) and following.letter == "S")
            or (isinstance(following, str) and following[0] in ".,")
        )
        if lenient_fraction and (extra := re.compile(r"[.,](\d+)").match(self.text, self.pos)):
            self.fraction = int(extra.group(1)[:6].ljust(6, "0"))
            self.pos = extra.end()

    def word(self, field: _Field) -> None:
        choices = {
            "M": [*MONTHS, *(month[:3] for month in MONTHS)],
            "L": [*MONTHS, *(month[:3] for month in MONTHS)],
            "E": [*WEEKDAYS, *(day[:3] for day in WEEKDAYS)],
            "a": ["AM", "PM"],
            "G": ["AD"],
        }[field.letter]
        for index, choice in enumerate(choices):
            if self.text[self.pos : self.pos + len(choice)].lower() == choice.lower():
                self.pos += len(choice)
                if field.letter in "ML":
                    self.values["M"] = index % 12 + 1
                elif field.letter == "a":
                    self.values["a"] = index
                return
        raise self.fail(f"{field.letter * field.count} ({', '.join(choices[:3])}, ...)")

    def read_zone(self, field: _Field) -> tzinfo:
        try:
            found = zone_in_text(self.text, self.pos)
        except ZoneError as error:
            raise DateFormatError(str(error)) from None
        if found is None:
            raise self.fail(f"{field.letter * field.count} (a time zone such as Z, -08:00 or PST)")
        zone, self.pos = found
        return zone

    def build(self, default_zone: tzinfo) -> datetime:
        v = self.values
        hour = v.get("H", v.get("k", 0) % 24)
        if "h" in v or "K" in v:
            hour = v.get("h", v.get("K", 0)) % 12 + 12 * v.get("a", 0)
        try:
            day = date(v.get("y", 1970), v.get("M", 1), v.get("d", 1))
            if "D" in v and "M" not in v and "d" not in v:
                day = date(day.year, 1, 1) + timedelta(days=v["D"] - 1)
            local = datetime(
                day.year, day.month, day.day, hour, v.get("m", 0), v.get("s", 0), self.fraction
            )
        except (ValueError, OverflowError) as error:
            raise DateFormatError(
                f"{self.text!r} read with the date format {self.pattern!r} is not a valid date "
                f"({error})"
            ) from None
        return _localize(local, self.zone or default_zone).astimezone(UTC)


def _localize(local: datetime, zone: tzinfo) -> datetime:
    first, second = local.replace(tzinfo=zone), local.replace(tzinfo=zone, fold=1)
    if first.utcoffset() != second.utcoffset() and second.dst() == timedelta(0):
        return second
    return first
