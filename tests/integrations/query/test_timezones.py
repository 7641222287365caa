from datetime import UTC, datetime, timedelta

import pytest

from integrations.query import ZoneError, resolve_zone
from integrations.query.dateformat import format_datetime

SUMMER = datetime(2017, 8, 30, 19, 19, 29, 258000, tzinfo=UTC)
WINTER = datetime(2017, 1, 15, 8, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "name, summer, winter, z",
    [
        ("UTC", 0, 0, "UTC"),
        ("Z", 0, 0, "UTC"),
        ("GMT", 0, 0, "GMT"),
        ("PST", -7, -8, "PDT"),
        ("pst", -7, -8, "PDT"),
        ("PDT", -7, -7, "PDT"),
        ("EST", -5, -5, "EST"),
        ("EDT", -4, -4, "EDT"),
        ("MST", -7, -7, "MST"),
        ("MDT", -6, -6, "MDT"),
        ("CST", -5, -6, "CDT"),
        ("CDT", -5, -5, "CDT"),
        ("AKST", -9, -9, "AKST"),
        ("HST", -10, -10, "HST"),
        ("CET", 2, 1, "CEST"),
        ("CEST", 2, 2, "CEST"),
        ("JST", 9, 9, "JST"),
        ("AEST", 10, 10, "AEST"),
        ("IST", 5.5, 5.5, "IST"),
        # Java's BST is Bangladesh; Java names it "BDT", which tzdata lacks.
        ("BST", 6, 6, "GMT+06:00"),
        ("America/Denver", -6, -7, "MDT"),
        ("Europe/London", 1, 0, "BST"),
        ("-8:00", -8, -8, "GMT-08:00"),
        ("+6:00", 6, 6, "GMT+06:00"),
        ("-08:00", -8, -8, "GMT-08:00"),
        ("+0530", 5.5, 5.5, "GMT+05:30"),
        ("GMT-8", -8, -8, "GMT-08:00"),
        ("UTC+01:00", 1, 1, "GMT+01:00"),
        (" -06:00 ", -6, -6, "GMT-06:00"),
    ],
)
def test_it_resolves_zones_as_java_does(name, summer, winter, z):
    zone = resolve_zone(name)
    assert SUMMER.astimezone(zone).utcoffset() == timedelta(hours=summer)
    assert WINTER.astimezone(zone).utcoffset() == timedelta(hours=winter)
    assert format_datetime(SUMMER, "z", tz=zone) == z


@pytest.mark.parametrize(
    "name, message",
    [
        (
            "Mars/Base",
            "unknown time zone 'Mars/Base': use an IANA name (America/Denver), an abbreviation "
            "(UTC, GMT, PST, MST, EST, CST) or an offset (-8:00, +05:30, +0530, GMT-8)",
        ),
        ("", "unknown time zone '': use an IANA name"),
        ("../etc/passwd", "unknown time zone '../etc/passwd': use an IANA name"),
        ("-8:00:yyyy", "unknown time zone '-8:00:yyyy': use an IANA name"),
        ("+25:00", "offset '+25:00' is out of range: hours go to 18"),
    ],
)
def test_it_refuses_unknown_zones(name, message):
    with pytest.raises(ZoneError) as error:
        resolve_zone(name)
    assert str(error.value).startswith(message)
