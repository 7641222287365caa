import json
import time
from email.utils import formatdate

import pytest
import requests
import responses

from integrations.provider import ProviderError, parse_wait

CASES = "https://acme.desk.com/api/v2/cases"


@responses.activate
def test_it_retries_a_500_with_exponential_backoff(client, sleep):
    responses.get(CASES, status=500, body="oops")
    responses.get(CASES, status=502, body="oops")
    responses.get(CASES, json={"ok": True})

    body, _ = client.get_json("/cases")

    assert body == {"ok": True}
    assert sleep.waits == [1.0, 2.0]


@responses.activate
def test_it_retries_the_elements_transient_status(client, sleep):
    responses.get(CASES, status=400, json={"message": "Bad Request"})
    responses.get(CASES, json={"ok": True})

    body, _ = client.get_json("/cases")

    assert body == {"ok": True}
    assert sleep.waits == [1.0]


@responses.activate
def test_it_gives_up_after_repeated_server_errors(client, sleep):
    responses.get(CASES, status=503, body="Service Unavailable")

    with pytest.raises(ProviderError) as caught:
        client.get_json("/cases")

    assert not caught.value.permanent
    assert caught.value.status == 503
    assert str(caught.value) == (
        "Desk.com answered 503 on GET /api/v2/cases (4 attempts): Service Unavailable"
    )
    assert sleep.waits == [1.0, 2.0, 4.0]


@responses.activate
def test_it_gives_up_after_repeated_connection_errors(client, sleep):
    responses.get(CASES, body=requests.ConnectionError("connection refused"))

    with pytest.raises(ProviderError) as caught:
        client.get_json("/cases")

    assert not caught.value.permanent
    assert caught.value.status is None
    assert "did not answer GET /api/v2/cases (4 attempts)" in str(caught.value)
    assert len(responses.calls) == 4
    assert sleep.waits == [1.0, 2.0, 4.0]


@responses.activate
def test_it_retries_after_a_timeout(client, sleep):
    responses.get(CASES, body=requests.ReadTimeout())
    responses.get(CASES, json={"ok": True})

    body, _ = client.get_json("/cases")

    assert body == {"ok": True}
    assert sleep.waits == [1.0]


@responses.activate
def test_it_retries_an_answer_over_the_size_cap_and_then_names_the_cap(client, sleep, settings):
    settings.TRIBUTARY_PROVIDER_MAX_BYTES = 4096
    responses.get(CASES, json={"entries": ["x" * 5000]})

    with pytest.raises(ProviderError) as caught:
        client.get_json("/cases")

    assert not caught.value.permanent
    assert str(caught.value) == (
        "Desk.com answered GET /api/v2/cases with more than 4 KB (4 attempts), the most "
        "Tributary reads of a page (TRIBUTARY_PROVIDER_MAX_BYTES): lower the poller's page "
        "size or raise the limit."
    )
    assert sleep.waits == [1.0, 2.0, 4.0]


@responses.activate
def test_it_reads_an_answer_of_exactly_the_size_cap(client, settings):
    body = {"entries": ["x" * 100]}
    settings.TRIBUTARY_PROVIDER_MAX_BYTES = len(json.dumps(body))
    responses.get(CASES, json=body)

    assert client.get_json("/cases")[0] == body


@responses.activate
def test_it_waits_out_a_429_for_the_reset_header(client, sleep):
    responses.get(CASES, status=429, body="Too Many Requests", headers={"X-Rate-Limit-Reset": "17"})
    responses.get(CASES, json={"ok": True})

    body, _ = client.get_json("/cases")

    assert body == {"ok": True}
    assert sleep.waits == [17.0]


@responses.activate
def test_it_waits_out_a_429_for_retry_after_seconds(client, sleep):
    responses.get(CASES, status=429, headers={"Retry-After": "5"})
    responses.get(CASES, json={})

    client.get_json("/cases")

    assert sleep.waits == [5.0]


@responses.activate
def test_it_waits_the_elements_default_after_a_bare_429(client, sleep):
    responses.get(CASES, status=429, body="Too Many Requests")
    responses.get(CASES, json={})

    client.get_json("/cases")

    assert sleep.waits == [10.0]


@responses.activate
def test_it_waits_out_a_429_for_a_retry_after_date(client, sleep):
    later = formatdate(time.time() + 30, usegmt=True)
    responses.get(CASES, status=429, headers={"Retry-After": later})
    responses.get(CASES, json={})

    client.get_json("/cases")

    assert len(sleep.waits) == 1
    assert 28 <= sleep.waits[0] <= 30


@responses.activate
def test_it_will_not_wait_longer_than_the_cap(client, sleep):
    responses.get(CASES, status=429, body="Too Many Requests", headers={"Retry-After": "3600"})

    with pytest.raises(ProviderError) as caught:
        client.get_json("/cases")

    assert not caught.value.permanent
    assert "asked to wait 3600 s" in str(caught.value)
    assert sleep.waits == []
    assert len(responses.calls) == 1


@responses.activate
def test_it_slows_down_when_no_requests_remain(client, sleep):
    responses.get(
        CASES, json={}, headers={"X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": "42"}
    )
    responses.get(CASES + "/1", json={})

    client.get_json("/cases")
    assert sleep.waits == []
    client.get_json("/cases/1")

    assert sleep.waits == [42.0]


@responses.activate
def test_it_does_not_slow_down_while_requests_remain(client, sleep):
    responses.get(
        CASES, json={}, headers={"X-Rate-Limit-Remaining": "3", "X-Rate-Limit-Reset": "42"}
    )

    client.get_json("/cases")
    client.get_json("/cases")

    assert sleep.waits == []


@responses.activate
def test_it_reports_a_404_as_permanent_without_retrying(client, sleep):
    responses.get(CASES + "/9", status=404, json={"message": "Resource Not Found"})

    with pytest.raises(ProviderError) as caught:
        client.get_json("/cases/9")

    assert caught.value.permanent
    assert caught.value.status == 404
    assert str(caught.value) == (
        'Desk.com answered 404 on GET /api/v2/cases/9: {"message": "Resource Not Found"}'
    )
    assert sleep.waits == []


def test_it_reads_a_wait_in_seconds_a_unix_time_or_an_http_date():
    now = 1_700_000_000

    assert parse_wait("5", now=now) == 5.0
    assert parse_wait(str(now + 30), now=now) == 30.0
    assert parse_wait("30", unix_time=True, now=now) == 0.0
    assert parse_wait(formatdate(now + 60, usegmt=True), now=now) == 60.0
    assert parse_wait("soon", now=now) is None
