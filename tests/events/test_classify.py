import pytest

from events.classify import RecordError, classify
from tests.factories import PollerObjectFactory

DESK_DATES = {
    "updatedDateField": "updated_at",
    "updatedDateFormat": "yyyy-MM-dd'T'HH:mm:ss'Z'",
    "createdDateField": "created_at",
    "createdDateFormat": "yyyy-MM-dd'T'HH:mm:ss'Z'",
}


@pytest.fixture
def poller(db):
    return PollerObjectFactory.build(
        dates_configuration=DESK_DATES,
        deleted_marker={"field": "status", "value": "deleted"},
    )


def record(created, updated, **fields):
    return {"id": 42, "created_at": created, "updated_at": updated, "status": "open", **fields}


@pytest.mark.parametrize(
    ("created", "updated", "tolerance", "expected"),
    [
        ("2016-08-11T03:00:53Z", "2016-08-11T03:00:53Z", None, "CREATED"),
        ("2016-08-11T03:00:53Z", "2016-08-11T03:00:54Z", None, "UPDATED"),
        ("2016-08-11T03:00:53Z", "2016-08-11T03:00:58Z", 5, "CREATED"),
        ("2016-08-11T03:00:53Z", "2016-08-11T03:00:59Z", 5, "UPDATED"),
        # Case 3625 of the 2016 recording: opened and edited 22 minutes later.
        ("2016-08-11T03:00:53Z", "2016-08-11T03:22:47Z", 60, "UPDATED"),
    ],
)
def test_it_compares_created_and_updated_within_the_tolerance(
    poller, created, updated, tolerance, expected
):
    poller.created_check_tolerance = tolerance

    assert classify(record(created, updated), poller).change.event_type == expected


def test_it_reads_the_tolerance_from_dates_configuration_too(poller):
    poller.dates_configuration = {**DESK_DATES, "createdCheckTolerance": "10"}

    classified = classify(record("2016-08-11T03:00:53Z", "2016-08-11T03:01:00Z"), poller)

    assert classified.change.event_type == "CREATED"


def test_it_marks_a_record_with_the_deleted_marker_as_deleted(poller):
    classified = classify(
        record("2016-01-01T00:00:00Z", "2016-08-11T00:00:00Z", status="deleted"), poller
    )

    assert classified.change.event_type == "DELETED"


def test_it_is_unknown_without_dates_to_compare(poller):
    poller.dates_configuration = {}

    assert classify({"id": 1}, poller).change.event_type == "UNKNOWN"


def test_it_takes_the_object_id_from_a_dotted_id_field(poller):
    poller.id_field = "ticket.number"

    classified = classify(
        {"ticket": {"number": 7}, **record("2016-01-01T00:00:00Z", "2016-01-01T00:00:00Z")}, poller
    )

    assert classified.change.object_id == "7"


def test_it_refuses_a_record_without_an_id(poller):
    with pytest.raises(RecordError, match="idField 'id'"):
        classify({"updated_at": "2016-01-01T00:00:00Z"}, poller)


def test_it_refuses_a_date_that_does_not_match_the_format(poller):
    with pytest.raises(RecordError, match="updated_at"):
        classify(record("2016-01-01T00:00:00Z", "yesterday"), poller)


def test_it_parses_epoch_milliseconds_and_time_zones(poller):
    poller.dates_configuration = {
        "updatedDateField": "modified",
        "updatedDateFormat": "milliseconds",
        "createdDateField": "created",
        "createdDateFormat": "yyyy-MM-dd HH:mm:ss",
        "createdDateTimezone": "PST",
    }

    classified = classify(
        {"id": 1, "modified": 1470884453000, "created": "2016-08-10 20:00:53"}, poller
    )

    assert classified.updated.isoformat() == "2016-08-11T03:00:53+00:00"
    assert classified.created.isoformat() == "2016-08-11T03:00:53+00:00"
    assert classified.change.event_type == "CREATED"


def test_it_gives_different_versions_to_different_contents_in_the_same_second(poller):
    first = classify(record("2016-01-01T00:00:00Z", "2016-08-11T00:00:00Z", subject="a"), poller)
    second = classify(record("2016-01-01T00:00:00Z", "2016-08-11T00:00:00Z", subject="b"), poller)
    again = classify(record("2016-01-01T00:00:00Z", "2016-08-11T00:00:00Z", subject="a"), poller)

    assert first.change.version != second.change.version
    assert first.change.version == again.change.version


def test_it_hands_capture_the_record_as_a_change_of_the_pollers_object_type(poller):
    polled = record("2016-01-01T00:00:00Z", "2016-08-11T00:00:00Z")

    change = classify(polled, poller).change

    assert change.object_type == poller.name
    assert change.record == polled
    assert change.date.isoformat() == "2016-08-11T00:00:00+00:00"
