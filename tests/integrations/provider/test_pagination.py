import copy

import pytest
import responses
from responses.matchers import query_param_matcher

from integrations.models import Element
from integrations.provider import PageCapReached, ProviderClient, ProviderError
from tests.factories import InstanceFactory, desk_element

SEARCH = "https://acme.desk.com/api/v2/cases/search"


def hal_page(ids, next_href):
    return {
        "total_entries": 5,
        "_links": {"next": {"class": "page", "href": next_href} if next_href else None},
        "_embedded": {"entries": [{"id": i} for i in ids]},
    }


def next_href(page):
    return f"/api/v2/cases/search?since_updated_at=10&page={page}&per_page=2"


def client_for(pagination=None):
    definition = copy.deepcopy(desk_element().definition)
    if pagination is not None:
        definition["key"] = f"desk-{pagination['type']}"
        definition["pagination"] = pagination
        element = Element.objects.create(
            key=definition["key"], name="Desk.com", hub="helpdesk", definition=definition
        )
        return ProviderClient(InstanceFactory(element=element), sleep=lambda s: None)
    return ProviderClient(InstanceFactory(), sleep=lambda s: None)


def add_hal_pages(count):
    ids = [[1, 2], [3, 4], [5]]
    for page in range(1, count + 1):
        responses.get(
            SEARCH,
            json=hal_page(ids[page - 1], next_href(page + 1) if page < 3 else None),
            match=[
                query_param_matcher({"since_updated_at": "10", "page": str(page), "per_page": "2"})
            ],
        )


@responses.activate
def test_it_follows_hal_next_links_over_three_pages(db):
    add_hal_pages(3)

    pages = list(client_for().iter_pages("/cases/search", {"since_updated_at": "10"}, page_size=2))

    assert [[r["id"] for r in page.records] for page in pages] == [[1, 2], [3, 4], [5]]
    assert [page.number for page in pages] == [1, 2, 3]
    assert pages[1].url == "https://acme.desk.com" + next_href(2)
    assert len(responses.calls) == 3


@responses.activate
def test_it_yields_each_page_before_requesting_the_next(db):
    add_hal_pages(3)

    pages = client_for().iter_pages("/cases/search", {"since_updated_at": "10"}, page_size=2)
    next(pages)

    assert len(responses.calls) == 1


@responses.activate
def test_it_clamps_the_page_size_to_the_elements_maximum(db):
    responses.get(SEARCH, json=hal_page([1], None))

    list(client_for().iter_pages("/cases/search", {}, page_size=1000))

    assert responses.calls[0].request.params == {"page": "1", "per_page": "100"}


@responses.activate
def test_it_clamps_the_page_size_to_the_instances_configured_maximum(db):
    instance = InstanceFactory(
        configuration={
            "site.address": "acme.desk.com",
            "oauth.api.key": "consumer-key",
            "pagination.max": "20",
        }
    )
    responses.get(SEARCH, json=hal_page([1], None))

    list(ProviderClient(instance).iter_pages("/cases/search", {}, page_size=50))

    assert responses.calls[0].request.params == {"page": "1", "per_page": "20"}


@responses.activate
def test_it_raises_page_cap_reached_after_max_pages(db):
    add_hal_pages(3)
    pages = client_for().iter_pages(
        "/cases/search", {"since_updated_at": "10"}, page_size=2, resource={"maxPages": 2}
    )

    seen = [next(pages), next(pages)]
    with pytest.raises(PageCapReached) as caught:
        next(pages)

    assert [page.number for page in seen] == [1, 2]
    assert caught.value.last_record == {"id": 4}
    assert caught.value.pages == 2
    assert len(responses.calls) == 2


@responses.activate
def test_it_does_not_signal_the_cap_when_the_last_allowed_page_is_the_last(db):
    add_hal_pages(3)

    pages = list(
        client_for().iter_pages(
            "/cases/search", {"since_updated_at": "10"}, page_size=2, resource={"maxPages": 3}
        )
    )

    assert len(pages) == 3


@responses.activate
def test_it_refuses_a_next_link_to_another_host(db):
    responses.get(SEARCH, json=hal_page([1, 2], "https://evil.example.com/api/v2/cases?page=2"))
    pages = client_for().iter_pages("/cases/search", {}, page_size=2)

    next(pages)
    with pytest.raises(ProviderError) as caught:
        next(pages)

    assert caught.value.permanent
    assert "evil.example.com" in str(caught.value)
    assert len(responses.calls) == 1


@responses.activate
def test_it_names_the_missing_items_path(db):
    responses.get(SEARCH, json={"_links": {"next": None}, "entries": []})

    with pytest.raises(ProviderError) as caught:
        list(client_for().iter_pages("/cases/search", {}, page_size=2))

    assert "'_embedded.entries'" in str(caught.value)
    assert '{"_links": {"next": null}, "entries": []}' in str(caught.value)


@responses.activate
def test_it_follows_link_headers(db):
    client = client_for({"type": "link", "itemsPath": "", "pageSizeParam": "per_page"})
    cases = "https://acme.desk.com/api/v2/cases"
    responses.get(
        cases,
        json=[{"id": 1}, {"id": 2}],
        headers={"Link": f'<{cases}?per_page=2&page=2>; rel="next", <{cases}?page=9>; rel="last"'},
        match=[query_param_matcher({"per_page": "2"})],
    )
    responses.get(
        cases, json=[{"id": 3}], match=[query_param_matcher({"per_page": "2", "page": "2"})]
    )

    pages = list(client.iter_pages("/cases", {}, page_size=2))

    assert [[r["id"] for r in page.records] for page in pages] == [[1, 2], [3]]


@responses.activate
def test_it_stops_numbered_pages_at_a_short_page(db):
    client = client_for(
        {"type": "page", "itemsPath": "items", "pageParam": "p", "pageSizeParam": "size"}
    )
    cases = "https://acme.desk.com/api/v2/cases"
    responses.get(
        cases,
        json={"items": [{"id": 1}, {"id": 2}]},
        match=[query_param_matcher({"p": "1", "size": "2"})],
    )
    responses.get(
        cases, json={"items": [{"id": 3}]}, match=[query_param_matcher({"p": "2", "size": "2"})]
    )

    pages = list(client.iter_pages("/cases", {}, page_size=2))

    assert [len(page.records) for page in pages] == [2, 1]
    assert len(responses.calls) == 2


@responses.activate
def test_it_follows_cursors_until_they_run_out(db):
    client = client_for(
        {
            "type": "cursor",
            "itemsPath": "data",
            "cursorParam": "after",
            "nextCursorPath": "meta.next",
            "pageSizeParam": "limit",
        }
    )
    cases = "https://acme.desk.com/api/v2/cases"
    responses.get(
        cases,
        json={"data": [{"id": 1}], "meta": {"next": "c2"}},
        match=[query_param_matcher({"q": "x", "limit": "1"})],
    )
    responses.get(
        cases,
        json={"data": [{"id": 2}], "meta": {"next": None}},
        match=[query_param_matcher({"q": "x", "limit": "1", "after": "c2"})],
    )

    pages = list(client.iter_pages("/cases", {"q": "x"}, page_size=1))

    assert [page.records for page in pages] == [[{"id": 1}], [{"id": 2}]]
