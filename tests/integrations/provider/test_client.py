import time
from email.utils import formatdate

import pytest
import requests
import responses

from integrations.provider.client import ProviderClient, ProviderError
from tests.factories import InstanceFactory

CASES = "https://acme.desk.com/api/v2/cases"


class FakeSleep:
    def __init__(self):
        self.waits = []

    def __call__(self, seconds):
        self.waits.append(seconds)


@pytest.fixture
def sleep():
    return FakeSleep()


@pytest.fixture
def client(db, sleep):
    return ProviderClient(InstanceFactory(), sleep=sleep)


@responses.activate
def test_it_resolves_paths_below_the_api_root(client):
    responses.get(CASES + "/search", json={"ok": True})

    body, response = client.get_json("/cases/search", {"since_updated_at": "10"})

    assert body == {"ok": True}
    assert response.request.url == CASES + "/search?since_updated_at=10"


@responses.activate
def test_it_joins_root_relative_hrefs_with_the_site_root(client):
    responses.get(CASES, json={})

    client.get_json("/api/v2/cases?page=2&per_page=50")

    assert responses.calls[0].request.url == CASES + "?page=2&per_page=50"


@responses.activate
def test_it_refuses_an_absolute_url_on_another_host(client):
    with pytest.raises(ProviderError) as caught:
        client.get_json("https://evil.example.com/api/v2/cases?page=2")

    assert caught.value.permanent
    assert "evil.example.com" in str(caught.value)
    assert len(responses.calls) == 0


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


@responses.activate
def test_it_says_to_check_credentials_on_401(client):
    responses.get(CASES, status=401, json={"message": "Unauthorized"})

    with pytest.raises(ProviderError) as caught:
        client.get_json("/cases")

    assert caught.value.permanent
    assert "Check the instance's credentials" in str(caught.value)


@responses.activate
def test_it_reports_an_html_body_with_an_excerpt(client):
    responses.get(
        CASES, body="<html><body>Maintenance</body></html>" + "x" * 500, content_type="text/html"
    )

    with pytest.raises(ProviderError) as caught:
        client.get_json("/cases")

    assert not caught.value.permanent
    message = str(caught.value)
    assert message.startswith(
        "Desk.com returned a body that is not JSON (text/html, 200) on GET /api/v2/cases: "
        "<html><body>Maintenance</body></html>xxx"
    )
    assert len(caught.value.excerpt) == 200


@responses.activate
def test_it_reports_truncated_json(client):
    responses.get(
        CASES, body='{"_embedded": {"entries": [{"id": 1', content_type="application/json"
    )

    with pytest.raises(ProviderError) as caught:
        client.get_json("/cases")

    assert not caught.value.permanent
    assert str(caught.value) == (
        "Desk.com returned malformed or truncated JSON (application/json, 200) on GET "
        '/api/v2/cases: {"_embedded": {"entries": [{"id": 1'
    )
