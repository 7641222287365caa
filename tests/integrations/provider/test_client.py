import pytest
import responses

from integrations.provider import ProviderError

CASES = "https://acme.desk.com/api/v2/cases"


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
