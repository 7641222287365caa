"""Placeholders in poller URL templates, filled with the poll's "since" instant.

The forms are Cloud Elements' (reference section 4):

* ``${date:FMT}`` - in the server's zone, which for Tributary is UTC;
* ``${gmtDate:FMT}`` - in GMT;
* ``${dateTimeZone:ZONE:FMT}`` (also ``${DateTimeZone:...}``) - in ZONE, which may itself hold
  a colon (``-8:00``); see ``integrations.query.timezones.resolve_zone`` for the accepted zones;
* ``${epoch}`` and ``${milliseconds}`` - epoch milliseconds; ``${epoch:s|ms|us}`` - epoch
  seconds, milliseconds or microseconds.

FMT is a Java SimpleDateFormat pattern. Without one (``${date}``, ``${gmtDate}``,
``${dateTimeZone:PST}``) the format is ``yyyy-MM-dd'T'HH:mm:ssXXX``: CE never documented its
default, and this is the form CE's own examples use most.

A placeholder ends at the first ``}``; formats never contain one. Values are inserted as they
are: encoding the URL is the caller's job. Positions in messages count from 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo

from integrations.query.dateformat import format_datetime, pattern_errors
from integrations.query.timezones import ZoneError, resolve_zone

DEFAULT_FORMAT = "yyyy-MM-dd'T'HH:mm:ssXXX"

_GMT = timezone(timedelta(0), "GMT")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_UNITS = {"s": 1_000_000, "ms": 1_000, "us": 1}
_DESCRIPTORS = "use date, gmtDate, dateTimeZone, epoch or milliseconds"


class PlaceholderError(ValueError):
    """A URL template that cannot be filled in; the message lists every problem."""


@dataclass(frozen=True)
class _Spec:
    zone: tzinfo | None = None
    pattern: str = ""
    epoch_unit: str = ""

    def render(self, at: datetime) -> str:
        if self.epoch_unit:
            return str((at - _EPOCH) // timedelta(microseconds=_EPOCH_UNITS[self.epoch_unit]))
        return format_datetime(at, self.pattern, tz=self.zone)


def _scan(template: str) -> tuple[list[tuple[int, int]], list[str]]:
    spans, errors = [], []
    start = template.find("${")
    while start != -1:
        end = template.find("}", start)
        if end == -1:
            errors.append(
                f"unterminated ${{ at position {start + 1}: close the placeholder with }}"
            )
            break
        spans.append((start, end + 1))
        start = template.find("${", end + 1)
    return spans, errors


def placeholders_in(template: str) -> list[str]:
    """The placeholders of ``template`` as written, e.g. ``["${gmtDate:yyyy-MM-dd}"]``."""
    return [template[start:end] for start, end in _scan(template)[0]]


def _spec(text: str) -> tuple[_Spec | None, list[str]]:
    name, colon, rest = text[2:-1].partition(":")
    if name in ("date", "gmtDate"):
        zone = UTC if name == "date" else _GMT
        return _dated(text, zone, rest if colon else DEFAULT_FORMAT)
    if name in ("dateTimeZone", "DateTimeZone"):
        return _zoned(text, rest)
    if name == "epoch":
        unit = rest if colon else "ms"
        if unit not in _EPOCH_UNITS:
            return None, [
                f"{text} has an unknown epoch unit {unit!r}: use ${{epoch:s}}, ${{epoch:ms}} "
                "or ${epoch:us}"
            ]
        return _Spec(epoch_unit=unit), []
    if name == "milliseconds":
        if colon:
            return None, [f"{text} takes no format: write ${{milliseconds}}"]
        return _Spec(epoch_unit="ms"), []
    return None, [f"unknown placeholder {text}: {_DESCRIPTORS}"]


def _dated(text: str, zone: tzinfo, pattern: str) -> tuple[_Spec | None, list[str]]:
    if errors := pattern_errors(pattern):
        return None, [f"{text}: {error}" for error in errors]
    return _Spec(zone=zone, pattern=pattern), []


def _zoned(text: str, rest: str) -> tuple[_Spec | None, list[str]]:
    if not rest:
        return None, [
            f"{text} needs a time zone and a date format, as in "
            f"${{dateTimeZone:America/Denver:{DEFAULT_FORMAT}}}"
        ]
    # The zone holds at most one colon ("-8:00"), so it ends at the first or second colon;
    # the longer reading wins when it names a zone, so "-8:00:HH" is not zone -8, format "00:HH".
    parts = rest.split(":")
    readings = [(rest, DEFAULT_FORMAT)]
    readings += [(":".join(parts[:n]), ":".join(parts[n:])) for n in (2, 1) if len(parts) > n]
    problem = ""
    for zone_name, pattern in readings:
        try:
            zone = resolve_zone(zone_name)
        except ZoneError as error:
            problem = str(error)
            continue
        if not pattern:
            return None, [f"{text} has an empty date format: write one after the zone"]
        return _dated(text, zone, pattern)
    return None, [f"{text}: {problem}"]


def _parse(template: str) -> tuple[list[tuple[int, int, _Spec]], list[str]]:
    spans, scan_errors = _scan(template)
    specs, errors = [], []
    for start, end in spans:
        spec, problems = _spec(template[start:end])
        if spec:
            specs.append((start, end, spec))
        errors += problems
    return specs, errors + scan_errors


def template_errors(template: str) -> list[str]:
    """Every problem in a poller URL template; empty when it can be rendered."""
    return _parse(template)[1]


def render_template(template: str, *, at: datetime) -> str:
    """``template`` with every placeholder filled in with the instant ``at``."""
    if at.tzinfo is None:
        raise ValueError("render_template needs an aware datetime, got a naive one")
    specs, errors = _parse(template)
    if errors:
        raise PlaceholderError("; ".join(errors))
    pieces, position = [], 0
    for start, end, spec in specs:
        pieces += [template[position:start], spec.render(at)]
        position = end
    return "".join(pieces) + template[position:]
