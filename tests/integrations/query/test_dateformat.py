from datetime import UTC, datetime

import pytest

from integrations.query import resolve_zone
from integrations.query.dateformat import (
    DateFormatError,
    format_datetime,
    parse_datetime,
    pattern_errors,
)

# The instant of CE's format table (reference 4c): 2017-08-30T19:19:29.258Z, a Wednesday.
AT = datetime(2017, 8, 30, 19, 19, 29, 258000, tzinfo=UTC)
WINTER = datetime(2017, 1, 15, 8, 0, 0, tzinfo=UTC)

# Expected strings are what Java 17's SimpleDateFormat (Locale.ENGLISH) prints.
CE_FORMATS = [
    ("yyyy-MM-dd'T'HH:mm:ssXXX", "UTC", "2017-08-30T19:19:29Z"),
    ("yyyy-MM-dd'T'HH:mm:ssXXX", "America/Denver", "2017-08-30T13:19:29-06:00"),
    ("yyyy-MM-dd'T'HH:mm:ssZ", "UTC", "2017-08-30T19:19:29+0000"),
    ("yyyy-MM-dd'T'HH:mm:ssZ", "America/Denver", "2017-08-30T13:19:29-0600"),
    ("yyyy-MM-dd'T'HH:mm:ss'Z'", "UTC", "2017-08-30T19:19:29Z"),
    ("yyyy-MM-dd", "UTC", "2017-08-30"),
    ("yyyy/MM/dd HH:mm:ss", "UTC", "2017/08/30 19:19:29"),
    ("MM/dd/yyyy'T'HH:mm:ssXXX", "UTC", "08/30/2017T19:19:29Z"),
    ("MM/dd/yyyy'T'HH:mm:ssXXX", "-6:00", "08/30/2017T13:19:29-06:00"),
    ("MM/dd/yyyy", "UTC", "08/30/2017"),
    ("dd/MM/yyyy'T'HH:mm:ssXXX", "UTC", "30/08/2017T19:19:29Z"),
    ("dd/MM/yyyy'T'HH:mm:ssXXX", "-6:00", "30/08/2017T13:19:29-06:00"),
    ("dd/MM/yyyy", "UTC", "30/08/2017"),
    ("EEE, dd MMM yyyy HH:mm:ss Z", "UTC", "Wed, 30 Aug 2017 19:19:29 +0000"),
    ("EEE, dd MMM yyyy HH:mm:ss Z", "PST", "Wed, 30 Aug 2017 12:19:29 -0700"),
]


@pytest.mark.parametrize("pattern, zone, expected", CE_FORMATS)
def test_it_formats_the_ce_date_formats_as_java_does(pattern, zone, expected):
    assert format_datetime(AT, pattern, tz=resolve_zone(zone)) == expected


@pytest.mark.parametrize(
    "pattern, expected",
    [
        ("y yy yyy yyyy yyyyy", "2017 17 2017 2017 02017"),
        ("M MM MMM MMMM MMMMM", "8 08 Aug August August"),
        ("d dd D DDD F u", "30 30 242 242 5 3"),
        ("E EE EEE EEEE G", "Wed Wed Wed Wednesday AD"),
        ("H HH h hh k K a", "19 19 7 07 19 7 PM"),
        ("m mm s ss", "19 19 29 29"),
        ("S SS SSS SSSS", "258 258 258 0258"),
        ("z Z X XX XXX", "UTC +0000 Z Z Z"),
        ("HH 'o''clock', '''quoted''' -- ,.:/", "19 o'clock, 'quoted' -- ,.:/"),
        ("yyyyMMddHHmmss", "20170830191929"),
        ("milliseconds", "1504120769258"),
        ("timestamp", "1504120769"),
        ("seconds", "1504120769"),
    ],
)
def test_it_formats_each_pattern_letter_as_java_does(pattern, expected):
    assert format_datetime(AT, pattern) == expected


@pytest.mark.parametrize(
    "hour, minute, expected",
    [
        (0, 5, "12:05 AM 00 24 0"),
        (11, 59, "11:59 AM 11 11 11"),
        (12, 0, "12:00 PM 12 12 0"),
        (23, 30, "11:30 PM 23 23 11"),
    ],
)
def test_it_writes_twelve_hour_clocks_as_java_does(hour, minute, expected):
    value = datetime(2017, 8, 30, hour, minute, tzinfo=UTC)
    assert format_datetime(value, "hh:mm a HH k K") == expected


@pytest.mark.parametrize(
    "zone, value, expected",
    [
        ("UTC", AT, "UTC +0000 Z Z Z"),
        ("GMT", AT, "GMT +0000 Z Z Z"),
        ("PST", AT, "PDT -0700 -07 -0700 -07:00"),
        ("PST", WINTER, "PST -0800 -08 -0800 -08:00"),
        ("America/Denver", AT, "MDT -0600 -06 -0600 -06:00"),
        ("EST", AT, "EST -0500 -05 -0500 -05:00"),
        ("-8:00", AT, "GMT-08:00 -0800 -08 -0800 -08:00"),
        ("+0530", AT, "GMT+05:30 +0530 +05 +0530 +05:30"),
        ("+00:00", AT, "GMT+00:00 +0000 Z Z Z"),
        ("Asia/Kolkata", AT, "IST +0530 +05 +0530 +05:30"),
        ("Etc/GMT+8", AT, "GMT-08:00 -0800 -08 -0800 -08:00"),
    ],
)
def test_it_writes_zones_and_offsets_as_java_does(zone, value, expected):
    assert format_datetime(value, "z Z X XX XXX", tz=resolve_zone(zone)) == expected


def test_it_converts_to_the_zone_before_formatting():
    assert format_datetime(AT, "yyyy-MM-dd HH:mm", tz=resolve_zone("+6:00")) == "2017-08-31 01:19"


def test_it_refuses_a_naive_datetime():
    with pytest.raises(ValueError, match="aware datetime"):
        format_datetime(datetime(2017, 8, 30), "yyyy")


@pytest.mark.parametrize(
    "pattern, errors",
    [
        ("yyyy-MM-dd'T'HH:mm:ssXXX", []),
        ("'o''clock' ''", []),
        ("milliseconds", []),
        ("timestamp", []),
        (
            "yyyy-MM-dd'T'HH:mm:ssXXX'",
            [
                "unterminated quote at position 25: close the quoted text with ', or write '' "
                "for a literal quote"
            ],
        ),
        (
            "yyyy-Q",
            [
                "unknown pattern letter 'Q' at position 6: put literal text in single quotes, "
                "as in 'T'"
            ],
        ),
        (
            "yyyy-MM-ddTHH:mm:ss",
            [
                "unknown pattern letter 'T' at position 11: put literal text in single quotes, "
                "as in 'T'"
            ],
        ),
        ("XXXX", ["XXXX at position 1 is not a pattern: use X (-08), XX (-0800) or XXX (-08:00)"]),
        (
            "HH zzzz",
            [
                "zzzz at position 4 (long time zone name) is not supported: "
                "use z (PST), Z (-0800) or XXX (-08:00)"
            ],
        ),
        (
            "yyyy-ww",
            [
                "pattern letter 'w' at position 6 (week of year) is not supported, as its "
                "numbering depends on the locale: use y, M, d, D or E"
            ],
        ),
        ("", ["the date format is empty: write a pattern such as yyyy-MM-dd'T'HH:mm:ssXXX"]),
        (
            "bb 'c",
            [
                "unknown pattern letter 'b' at position 1: put literal text in single quotes, "
                "as in 'T'",
                "unterminated quote at position 4: close the quoted text with ', or write '' "
                "for a literal quote",
            ],
        ),
    ],
)
def test_it_lists_pattern_errors_with_positions(pattern, errors):
    assert pattern_errors(pattern) == errors


def test_it_refuses_to_format_with_a_bad_pattern():
    with pytest.raises(DateFormatError, match="date format 'yyyyQ': unknown pattern letter 'Q'"):
        format_datetime(AT, "yyyyQ")


@pytest.mark.parametrize("pattern, zone, text", CE_FORMATS)
def test_it_reads_back_what_it_writes(pattern, zone, text):
    expected = AT.replace(microsecond=0) if "ss" in pattern else datetime(2017, 8, 30, tzinfo=UTC)
    assert parse_datetime(text, pattern, tz=resolve_zone(zone)) == expected


@pytest.mark.parametrize(
    "text, pattern, zone, expected",
    [
        ("2017-08-30T13:19:29-06:00", "yyyy-MM-dd'T'HH:mm:ssXXX", "UTC", "2017-08-30 19:19:29"),
        ("2017-08-30T19:19:29+05:30", "yyyy-MM-dd'T'HH:mm:ssXXX", "UTC", "2017-08-30 13:49:29"),
        ("2017-08-30T19:19:29Z", "yyyy-MM-dd'T'HH:mm:ss'Z'", "EST", "2017-08-31 00:19:29"),
        ("2017-08-30T19:19:29", "yyyy-MM-dd'T'HH:mm:ss", "America/Denver", "2017-08-31 01:19:29"),
        ("2017-01-30T19:19:29", "yyyy-MM-dd'T'HH:mm:ss", "America/Denver", "2017-01-31 02:19:29"),
        ("2017/08/30 19:19:29", "yyyy/MM/dd HH:mm:ss", "PST", "2017-08-31 02:19:29"),
        (
            "Wed, 30 Aug 2017 19:19:29 -0700",
            "EEE, dd MMM yyyy HH:mm:ss Z",
            "UTC",
            "2017-08-31 02:19:29",
        ),
        (
            "Wed, 30 Aug 2017 19:19:29 PDT",
            "EEE, dd MMM yyyy HH:mm:ss z",
            "UTC",
            "2017-08-31 02:19:29",
        ),
        (
            "Wed, 30 Aug 2017 19:19:29 PST",
            "EEE, dd MMM yyyy HH:mm:ss z",
            "UTC",
            "2017-08-31 03:19:29",
        ),
        (
            "Wed, 30 Aug 2017 19:19:29 GMT",
            "EEE, dd MMM yyyy HH:mm:ss z",
            "PST",
            "2017-08-30 19:19:29",
        ),
        ("2017-08-30 19:19 GMT-08:00", "yyyy-MM-dd HH:mm z", "UTC", "2017-08-31 03:19:00"),
        ("2017-08-30T19:19:29-07", "yyyy-MM-dd'T'HH:mm:ssX", "UTC", "2017-08-31 02:19:29"),
        ("20170830191929", "yyyyMMddHHmmss", "UTC", "2017-08-30 19:19:29"),
        ("170830", "yyMMdd", "UTC", "2017-08-30 00:00:00"),
        ("12:05 AM 2017-08-30", "hh:mm a yyyy-MM-dd", "UTC", "2017-08-30 00:05:00"),
        ("12:05 PM 2017-08-30", "hh:mm a yyyy-MM-dd", "UTC", "2017-08-30 12:05:00"),
        ("01:05 pm 2017-08-30", "hh:mm a yyyy-MM-dd", "UTC", "2017-08-30 13:05:00"),
        ("30 august 2017", "dd MMMM yyyy", "UTC", "2017-08-30 00:00:00"),
        ("2017-242", "yyyy-DDD", "UTC", "2017-08-30 00:00:00"),
        # Java ignores text after the pattern.
        ("2017-08-30T19:19:29Z", "yyyy-MM-dd", "UTC", "2017-08-30 00:00:00"),
        # An hour that DST makes ambiguous or skips is read as standard time, as Java does.
        ("2018-11-04 01:30", "yyyy-MM-dd HH:mm", "America/New_York", "2018-11-04 06:30:00"),
        ("2018-03-11 02:30", "yyyy-MM-dd HH:mm", "America/New_York", "2018-03-11 07:30:00"),
    ],
)
def test_it_parses_provider_dates_as_java_does(text, pattern, zone, expected):
    parsed = parse_datetime(text, pattern, tz=resolve_zone(zone))
    assert parsed.tzinfo == UTC
    assert parsed.strftime("%Y-%m-%d %H:%M:%S") == expected


def test_it_assumes_utc_for_text_without_a_zone():
    assert parse_datetime("2017-08-30 19:19", "yyyy-MM-dd HH:mm") == datetime(
        2017, 8, 30, 19, 19, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "text, pattern, microsecond",
    [
        ("2016-08-11T03:00:53.123Z", "yyyy-MM-dd'T'HH:mm:ss'Z'", 123000),
        ("2016-08-11T03:00:53.123456Z", "yyyy-MM-dd'T'HH:mm:ssXXX", 123456),
        ("2016-08-11T03:00:53,5", "yyyy-MM-dd'T'HH:mm:ss", 500000),
        ("2016-08-11T03:00:53.258Z", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX", 258000),
        # Java would read ".5" as 5 ms and ".1234567" as 1234567 ms.
        ("2016-08-11T03:00:53.5Z", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX", 500000),
        ("2016-08-11T03:00:53.1234567Z", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX", 123456),
    ],
)
def test_it_accepts_fractional_seconds(text, pattern, microsecond):
    assert parse_datetime(text, pattern) == datetime(2016, 8, 11, 3, 0, 53, microsecond, tzinfo=UTC)


@pytest.mark.parametrize(
    "value, pattern",
    [
        (1504120769258, "milliseconds"),
        ("1504120769258", "milliseconds"),
        (" 1504120769258 ", "milliseconds"),
        (1504120769258.0, "milliseconds"),
        (1504120769.258, "timestamp"),
        ("1504120769.258", "seconds"),
    ],
)
def test_it_parses_epoch_numbers(value, pattern):
    assert parse_datetime(value, pattern) == AT


def test_it_parses_epoch_seconds_to_the_second():
    assert parse_datetime(1504120769, "timestamp") == AT.replace(microsecond=0)


@pytest.mark.parametrize(
    "value, pattern, message",
    [
        (
            "2017-08-30 19:19",
            "yyyy-MM-dd HH:mm:ss",
            "'2017-08-30 19:19' does not match the date format 'yyyy-MM-dd HH:mm:ss': "
            "expected ':' at position 17; check the provider's dates and the configured format",
        ),
        (
            "Wed, 30 Agu 2017",
            "EEE, dd MMM yyyy",
            "'Wed, 30 Agu 2017' does not match the date format 'EEE, dd MMM yyyy': "
            "expected MMM (January, February, March, ...) at position 9; check the provider's "
            "dates and the configured format",
        ),
        (
            "2017-08-30 19:19 Mars",
            "yyyy-MM-dd HH:mm z",
            "'2017-08-30 19:19 Mars' does not match the date format 'yyyy-MM-dd HH:mm z': "
            "expected z (a time zone such as Z, -08:00 or PST) at position 18; check the "
            "provider's dates and the configured format",
        ),
        (
            "2017-02-30",
            "yyyy-MM-dd",
            "'2017-02-30' read with the date format 'yyyy-MM-dd' is not a valid date "
            "(day is out of range for month)",
        ),
        (
            1504120769258,
            "yyyy-MM-dd",
            "1504120769258 is a number, but the date format 'yyyy-MM-dd' expects text: "
            "use the date format milliseconds or timestamp for epoch numbers",
        ),
        (
            "2017-08-30",
            "milliseconds",
            "'2017-08-30' is not an epoch number, as the date format 'milliseconds' expects: "
            "for dates written as text, configure a pattern such as yyyy-MM-dd'T'HH:mm:ssXXX",
        ),
        (True, "timestamp", "True is not an epoch number, as the date format 'timestamp' expects"),
        (
            "1" + "0" * 20,
            "milliseconds",
            "'100000000000000000000' is out of range for the date format 'milliseconds': check "
            "that the provider's unit is milliseconds or seconds (timestamp)",
        ),
        ("2017", "yyyyQ", "date format 'yyyyQ': unknown pattern letter 'Q' at position 5"),
    ],
)
def test_it_names_the_value_and_pattern_that_do_not_match(value, pattern, message):
    with pytest.raises(DateFormatError) as error:
        parse_datetime(value, pattern)
    assert str(error.value).startswith(message)
