from datetime import UTC, datetime

import pytest

from integrations.query.placeholders import (
    PlaceholderError,
    placeholders_in,
    render_template,
    template_errors,
)

AT = datetime(2017, 8, 30, 19, 19, 29, 258000, tzinfo=UTC)
WINTER = datetime(2017, 1, 15, 8, 0, 0, 7000, tzinfo=UTC)
ISO = "yyyy-MM-dd'T'HH:mm:ssXXX"


@pytest.mark.parametrize(
    "template, expected",
    [
        ("${date:yyyy-MM-dd'T'HH:mm:ssXXX}", "2017-08-30T19:19:29Z"),
        ("${gmtDate:yyyy-MM-dd'T'HH:mm:ss'Z'}", "2017-08-30T19:19:29Z"),
        ("${gmtDate:yyyy-MM-dd'T'HH:mm:ssXXX}", "2017-08-30T19:19:29Z"),
        ("${gmtDate:yyyy-MM-dd HH:mm:ss}", "2017-08-30 19:19:29"),
        ("${gmtDate:yyyy-MM-dd'T'HH:mm:ssZ}", "2017-08-30T19:19:29+0000"),
        ("${gmtDate:EEE, dd MMM yyyy HH:mm:ss z}", "Wed, 30 Aug 2017 19:19:29 GMT"),
        ("${date:EEE, dd MMM yyyy HH:mm:ss z}", "Wed, 30 Aug 2017 19:19:29 UTC"),
        ("${date:MM/dd/yyyy}", "08/30/2017"),
        ("${date:hh:mm a}", "07:19 PM"),
        ("${date:yyyy-MM-dd'T'HH:mm:ss.SSS'Z'}", "2017-08-30T19:19:29.258Z"),
        ("${date}", "2017-08-30T19:19:29Z"),
        ("${gmtDate}", "2017-08-30T19:19:29Z"),
        (f"${{dateTimeZone:PST:{ISO}}}", "2017-08-30T12:19:29-07:00"),
        (f"${{DateTimeZone:PST:{ISO}}}", "2017-08-30T12:19:29-07:00"),
        ("${dateTimeZone:PST:z}", "PDT"),
        (f"${{dateTimeZone:-8:00:{ISO}}}", "2017-08-30T11:19:29-08:00"),
        (f"${{dateTimeZone:+6:00:{ISO}}}", "2017-08-31T01:19:29+06:00"),
        (f"${{dateTimeZone:-06:00:{ISO}}}", "2017-08-30T13:19:29-06:00"),
        ("${dateTimeZone:-8:00:HH:mm z}", "11:19 GMT-08:00"),
        ("${dateTimeZone:-8:HH:mm}", "11:19"),
        (f"${{dateTimeZone:America/Denver:{ISO}}}", "2017-08-30T13:19:29-06:00"),
        (f"${{dateTimeZone:MST:{ISO}}}", "2017-08-30T12:19:29-07:00"),
        (f"${{dateTimeZone:EST:{ISO}}}", "2017-08-30T14:19:29-05:00"),
        (f"${{dateTimeZone:GMT:{ISO}}}", "2017-08-30T19:19:29Z"),
        ("${dateTimeZone:-8:00}", "2017-08-30T11:19:29-08:00"),
        ("${dateTimeZone:America/Denver}", "2017-08-30T13:19:29-06:00"),
        ("${epoch}", "1504120769258"),
        ("${epoch:s}", "1504120769"),
        ("${epoch:ms}", "1504120769258"),
        ("${epoch:us}", "1504120769258000"),
        ("${milliseconds}", "1504120769258"),
    ],
)
def test_it_fills_each_placeholder(template, expected):
    assert render_template(template, at=AT) == expected


@pytest.mark.parametrize(
    "template, expected",
    [
        (f"${{dateTimeZone:PST:{ISO}}}", "2017-01-15T00:00:00-08:00"),
        (f"${{dateTimeZone:America/Denver:{ISO}}}", "2017-01-15T01:00:00-07:00"),
        (f"${{dateTimeZone:-8:00:{ISO}}}", "2017-01-15T00:00:00-08:00"),
        ("${dateTimeZone:PST:z}", "PST"),
        ("${epoch:us}", "1484467200007000"),
    ],
)
def test_it_follows_daylight_saving_time_in_winter(template, expected):
    assert render_template(template, at=WINTER) == expected


def test_it_fills_a_whole_poller_url():
    template = (
        "/hubs/crm/companies/{id}/contacts?where=lastModifiedDate>="
        "'${gmtDate:yyyy-MM-dd'T'HH:mm:ssXXX}' and created > '${epoch:s}'&orderBy=x"
    )
    assert render_template(template, at=AT) == (
        "/hubs/crm/companies/{id}/contacts?where=lastModifiedDate>="
        "'2017-08-30T19:19:29Z' and created > '1504120769'&orderBy=x"
    )


def test_it_fills_repeated_placeholders():
    assert render_template("from=${date}&to=${date}", at=AT) == (
        "from=2017-08-30T19:19:29Z&to=2017-08-30T19:19:29Z"
    )


def test_it_leaves_a_template_without_placeholders_alone():
    template = "/hubs/marketing/conversations?orderBy=updated_at desc"
    assert render_template(template, at=AT) == template


def test_it_converts_the_instant_to_the_zone_asked_for():
    at = datetime.fromisoformat("2017-08-30T13:19:29-06:00")
    assert render_template("${date:HH:mm XXX}|${epoch:s}", at=at) == "19:19 Z|1504120769"


def test_it_lists_the_placeholders_as_written():
    template = "a=${date:yyyy-MM-dd'T'HH:mm:ssXXX}&b=${epoch}&c={id}&d=${unclosed"
    assert placeholders_in(template) == ["${date:yyyy-MM-dd'T'HH:mm:ssXXX}", "${epoch}"]


@pytest.mark.parametrize(
    "template, errors",
    [
        ("/hubs/crm/contacts?where=x>='${gmtDate:yyyy-MM-dd}'", []),
        ("/hubs/crm/contacts/{id}", []),
        (
            "x=${foo}",
            ["unknown placeholder ${foo}: use date, gmtDate, dateTimeZone, epoch or milliseconds"],
        ),
        (
            "x=${gmtdate:yyyy}",
            [
                "unknown placeholder ${gmtdate:yyyy}: use date, gmtDate, dateTimeZone, epoch or "
                "milliseconds"
            ],
        ),
        (
            "x=${epoch:xs}",
            [
                "${epoch:xs} has an unknown epoch unit 'xs': use ${epoch:s}, ${epoch:ms} or "
                "${epoch:us}"
            ],
        ),
        (
            "x=${epoch:0}",
            [
                "${epoch:0} has an unknown epoch unit '0': use ${epoch:s}, ${epoch:ms} or "
                "${epoch:us}"
            ],
        ),
        ("x=${milliseconds:ms}", ["${milliseconds:ms} takes no format: write ${milliseconds}"]),
        (
            "x=${date:yyyy-MM-ddTHH:mm}",
            [
                "${date:yyyy-MM-ddTHH:mm}: unknown pattern letter 'T' at position 11: put literal "
                "text in single quotes, as in 'T'"
            ],
        ),
        (
            "x=${gmtDate:yyyy-MM-dd'T'HH:mm:ssXXX'}",
            [
                "${gmtDate:yyyy-MM-dd'T'HH:mm:ssXXX'}: unterminated quote at position 25: close "
                "the quoted text with ', or write '' for a literal quote"
            ],
        ),
        (
            "x=${date:}",
            [
                "${date:}: the date format is empty: write a pattern such as "
                "yyyy-MM-dd'T'HH:mm:ssXXX"
            ],
        ),
        (
            "x=${dateTimeZone:Mars/Base:yyyy}",
            [
                "${dateTimeZone:Mars/Base:yyyy}: unknown time zone 'Mars/Base': use an IANA name "
                "(America/Denver), an abbreviation (UTC, GMT, PST, MST, EST, CST) or an offset "
                "(-8:00, +05:30, +0530, GMT-8)"
            ],
        ),
        (
            "x=${dateTimeZone}",
            [
                "${dateTimeZone} needs a time zone and a date format, as in "
                "${dateTimeZone:America/Denver:yyyy-MM-dd'T'HH:mm:ssXXX}"
            ],
        ),
        (
            "x=${dateTimeZone:PST:}",
            ["${dateTimeZone:PST:} has an empty date format: write one after the zone"],
        ),
        (
            "x=${dateTimeZone:PST:yyyy-Q}",
            [
                "${dateTimeZone:PST:yyyy-Q}: unknown pattern letter 'Q' at position 6: put "
                "literal text in single quotes, as in 'T'"
            ],
        ),
        (
            "a=${foo}&b=${epoch:xs}&c=${date:yyyy",
            [
                "unknown placeholder ${foo}: use date, gmtDate, dateTimeZone, epoch or "
                "milliseconds",
                "${epoch:xs} has an unknown epoch unit 'xs': use ${epoch:s}, ${epoch:ms} or "
                "${epoch:us}",
                "unterminated ${ at position 26: close the placeholder with }",
            ],
        ),
    ],
)
def test_it_lists_every_problem_in_a_template(template, errors):
    assert template_errors(template) == errors


def test_it_refuses_to_render_an_invalid_template():
    with pytest.raises(PlaceholderError) as error:
        render_template("x=${foo}&y=${epoch:xs}", at=AT)
    assert str(error.value) == (
        "unknown placeholder ${foo}: use date, gmtDate, dateTimeZone, epoch or milliseconds; "
        "${epoch:xs} has an unknown epoch unit 'xs': use ${epoch:s}, ${epoch:ms} or ${epoch:us}"
    )


def test_it_refuses_a_naive_instant():
    with pytest.raises(ValueError, match="aware datetime"):
        render_template("${epoch}", at=datetime(2017, 8, 30))
