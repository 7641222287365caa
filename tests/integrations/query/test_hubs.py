from __future__ import annotations

from urllib.parse import quote, urlencode

import pytest

from integrations.models import Element
from integrations.query import HubError, VendorQuery, resolve
from integrations.query.ceql import And, Comparison, Or, parse
from tests.integrations.query.child import run_in_a_child

SORT = {"sort_field": "updated_at", "sort_direction": "asc"}
SINCE = "2016-08-11T03:00:53"


@pytest.mark.parametrize(
    ("value", "since"),
    [
        (f"{SINCE}Z", "1470884453"),
        (f"{SINCE}+00:00", "1470884453"),
        (f"{SINCE}-06:00", "1470906053"),
        (f"{SINCE}.999Z", "1470884453"),
    ],
)
def test_it_sends_updated_after_as_desk_since_updated_at(desk, value, since):
    query = resolve(desk, f"/hubs/helpdesk/incidents?where=updated_at>'{value}'")

    assert query == VendorQuery(
        resource="incidents",
        path="/cases/search",
        params={"since_updated_at": since, **SORT},
        page_size=50,
        client_filter=None,
        vendor_terms=[Comparison("updated_at", ">", value)],
    )


@pytest.mark.parametrize(
    ("where", "params"),
    [
        (f"updated_at>='{SINCE}Z'", {"since_updated_at": "1470884452"}),
        (f"updated_at>='{SINCE}.5Z'", {"since_updated_at": "1470884453"}),
        (f"updated_at<='{SINCE}Z'", {"max_updated_at": "1470884453"}),
        (f"updated_at<'{SINCE}Z'", {"max_updated_at": "1470884452"}),
        (f"created_at>'{SINCE}Z'", {"since_created_at": "1470884453"}),
        ("id>3000", {"since_id": "3000"}),
        ("id>=3000", {"since_id": "2999"}),
        ("id<3000", {"max_id": "2999"}),
        ("id<='3000'", {"max_id": "3000"}),
        (
            f"updated_at>'{SINCE}Z' AND updated_at<='2016-08-12T00:00:00Z'",
            {"since_updated_at": "1470884453", "max_updated_at": "1470960000"},
        ),
    ],
)
def test_it_maps_boundaries_onto_desk_whole_second_parameters(desk, where, params):
    query = resolve(desk, f"/hubs/helpdesk/incidents?where={where}")

    assert (query.path, query.params, query.client_filter) == (
        "/cases/search",
        {**params, **SORT},
        None,
    )


def test_it_filters_untranslatable_terms_on_the_client(desk):
    query = resolve(desk, f"/hubs/helpdesk/incidents?where=updated_at>'{SINCE}Z' AND status='open'")

    assert query.path == "/cases/search"
    assert query.params == {"since_updated_at": "1470884453", **SORT}
    assert query.client_filter == Comparison("status", "=", "open")
    assert query.matches({"status": "open"})
    assert not query.matches({"status": "closed"})


@pytest.mark.parametrize(
    "where",
    [
        f"updated_at='{SINCE}Z'",
        f"updated_at!='{SINCE}Z'",
        "updated_at IS NOT NULL",
        "id IN (1, 2)",
        "id=5",
        "subject LIKE 'Welcome%'",
    ],
)
def test_it_keeps_operators_desk_lacks_on_the_client(desk, where):
    query = resolve(desk, f"/hubs/helpdesk/incidents?where={where}")

    assert (query.path, query.params, query.client_filter) == ("/cases", SORT, parse(where))


def test_it_filters_or_clauses_entirely_on_the_client(desk):
    where = f"updated_at>'{SINCE}Z' OR status='open'"

    query = resolve(desk, f"/hubs/helpdesk/incidents?where={where}")

    assert query.path == "/cases"
    assert query.params == SORT
    assert query.vendor_terms == []
    assert query.client_filter == Or(
        (Comparison("updated_at", ">", f"{SINCE}Z"), Comparison("status", "=", "open"))
    )
    assert query.matches({"updated_at": "2016-08-11T03:22:47Z", "status": "closed"})
    assert not query.matches({"updated_at": "2016-08-11T03:00:53Z", "status": "closed"})


def test_it_sends_a_second_term_for_the_same_parameter_to_the_client(desk):
    query = resolve(
        desk, f"/hubs/helpdesk/incidents?where=updated_at>'{SINCE}Z' AND updated_at>='{SINCE}Z'"
    )

    assert query.params == {"since_updated_at": "1470884453", **SORT}
    assert query.client_filter == Comparison("updated_at", ">=", f"{SINCE}Z")


def test_it_combines_several_client_terms_with_and(desk):
    query = resolve(desk, "/hubs/helpdesk/incidents?where=status='open' AND id>5 AND priority>3")

    assert query.params == {"since_id": "5", **SORT}
    assert query.client_filter == And(
        (Comparison("status", "=", "open"), Comparison("priority", ">", 3))
    )


def test_it_resolves_contacts_to_customer_search(desk):
    query = resolve(desk, f"/hubs/helpdesk/contacts?where=updated_at>'{SINCE}Z'")

    assert (query.resource, query.path, query.params) == (
        "contacts",
        "/customers/search",
        {"since_updated_at": "1470884453", **SORT},
    )


def test_it_filters_users_on_the_client_as_desk_has_no_user_filters(desk):
    query = resolve(desk, f"/hubs/helpdesk/users?where=updated_at>'{SINCE}Z'")

    assert query == VendorQuery(
        resource="users",
        path="/users",
        params={},
        page_size=50,
        client_filter=Comparison("updated_at", ">", f"{SINCE}Z"),
    )


def test_it_lists_a_resource_without_a_where_clause(desk):
    query = resolve(desk, "/hubs/helpdesk/organizations")

    assert query == VendorQuery(
        resource="organizations", path="/companies", params={}, page_size=50
    )
    assert query.matches({})


@pytest.mark.parametrize(
    "url",
    [
        "/hubs/helpdesk/incidents?where=updated_at%3E%272016-08-11T03%3A00%3A53%2B00%3A00%27",
        "/hubs/helpdesk/incidents?"
        + urlencode({"where": "updated_at>'2016-08-11T03:00:53+00:00'"}),
        "/hubs/helpdesk/incidents?where=" + quote("updated_at>'2016-08-11T03:00:53+00:00'"),
        "/hubs/helpdesk/incidents?where=updated_at>'2016-08-11T03:00:53+00:00'",
        "/hubs/helpdesk/incidents?where=updated_at%3E'2016-08-11T03:00:53+00:00'",
        "/hubs/helpdesk/incidents?where=updated_at > '2016-08-11T03:00:53+00:00'",
    ],
)
def test_it_reads_encoded_and_raw_where_values(desk, url):
    query = resolve(desk, url)

    assert query.params == {"since_updated_at": "1470884453", **SORT}
    assert query.vendor_terms[0].value == "2016-08-11T03:00:53+00:00"


def test_it_reads_plus_as_space_in_a_fully_encoded_where(desk):
    url = "/hubs/helpdesk/incidents?" + urlencode({"where": "status = 'open' AND id > 5"})

    query = resolve(desk, url)

    assert query.params == {"since_id": "5", **SORT}
    assert query.client_filter == Comparison("status", "=", "open")


def test_it_keeps_ampersands_inside_quoted_raw_values(desk):
    query = resolve(desk, "/hubs/helpdesk/incidents?where=company='A&B'&pageSize=10")

    assert query.client_filter == Comparison("company", "=", "A&B")
    assert query.page_size == 10


@pytest.mark.parametrize(
    ("url", "argument", "expected"),
    [
        ("/hubs/helpdesk/incidents", None, 50),
        ("/hubs/helpdesk/incidents", 20, 20),
        ("/hubs/helpdesk/incidents?pageSize=30", 20, 30),
        ("/hubs/helpdesk/incidents?pageSize=500", None, 100),
        ("/hubs/helpdesk/incidents", 10000, 100),
        ("/hubs/helpdesk/users?pageSize=5000", None, 1000),
        ("/hubs/helpdesk/users", 500, 500),
    ],
)
def test_it_clamps_page_size_to_the_vendor_maximum(desk, url, argument, expected):
    assert resolve(desk, url, page_size=argument).page_size == expected


@pytest.mark.parametrize(
    ("url", "argument", "message"),
    [
        (
            "/hubs/helpdesk/incidents?pageSize=0",
            None,
            "pageSize must be a whole number of at least 1, got '0'",
        ),
        (
            "/hubs/helpdesk/incidents?pageSize=ten",
            None,
            "pageSize must be a whole number of at least 1, got 'ten'",
        ),
        ("/hubs/helpdesk/incidents", 0, "pageSize must be a whole number of at least 1, got 0"),
    ],
)
def test_it_rejects_bad_page_sizes(desk, url, argument, message):
    with pytest.raises(HubError) as info:
        resolve(desk, url, page_size=argument)
    assert str(info.value) == message


def test_it_ignores_order_by_and_keeps_the_resource_sort(desk):
    query = resolve(desk, "/hubs/helpdesk/incidents?orderBy=created_at desc")

    assert query.params == SORT


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "/hubs/crm/contacts",
            "unknown hub 'crm' in '/hubs/crm/contacts'; element 'desk' serves the 'helpdesk' hub",
        ),
        (
            "/hubs/helpdesk/tickets?where=id>1",
            "unknown resource 'tickets' in '/hubs/helpdesk/tickets?where=id>1'; "
            "the 'helpdesk' hub has: contacts, incidents, organizations, users",
        ),
        ("/hubs/helpdesk", "a hub URL looks like /hubs/<hub>/<resource>, got '/hubs/helpdesk'"),
        (
            "/hubs/helpdesk/incidents?fields=id",
            "unsupported query parameter 'fields' in '/hubs/helpdesk/incidents?fields=id'; "
            "a hub URL takes where, pageSize, orderBy",
        ),
        (
            "/hubs/helpdesk/incidents?where=id>1&where=id>2",
            "a query parameter is given twice in '/hubs/helpdesk/incidents?where=id>1&where=id>2'",
        ),
        (
            "/hubs/helpdesk/incidents?where=updated_at>",
            "invalid where clause 'updated_at>': expected a value after '>' at position 11",
        ),
        (
            "/hubs/helpdesk/incidents?where=updated_at>'yesterday'",
            "updated_at > 'yesterday': updated_at takes an ISO 8601 date-time "
            "such as '2016-08-11T03:00:53Z'",
        ),
        ("/hubs/helpdesk/incidents?where=id>'many'", "id > 'many': id takes a number"),
    ],
)
def test_it_names_what_is_wrong_with_a_hub_url(desk, url, message):
    with pytest.raises(HubError) as info:
        resolve(desk, url)
    assert str(info.value) == message


RESOLVE = """
try:
    resolve(DESK, args[0])
    print(json.dumps("resolved"))
except HubError as exc:
    print(json.dumps(str(exc)))
"""


@pytest.mark.parametrize(
    "value", ["1e999999999", "1E-999999999", "1e9_999_999_999", "1e999999999 "]
)
def test_it_refuses_a_number_with_a_huge_exponent_at_once(value):
    where = f"updated_at>'{value}'"

    message = run_in_a_child(RESOLVE, f"/hubs/helpdesk/incidents?where={where}")

    assert message == (
        f"updated_at > '{value}': the exponent of updated_at's value is out of range; "
        "write the number with an exponent of at most 30"
    )


def test_it_reads_a_number_with_a_small_exponent(desk):
    query = resolve(desk, "/hubs/helpdesk/incidents?where=updated_at>1.47e9")

    assert query.params["since_updated_at"] == "1470000000"


def test_it_passes_vendor_paths_through(desk):
    query = resolve(desk, "/cases/search?status=open,pending&since_id=5&page=3&per_page=25")

    assert query == VendorQuery(
        resource="incidents",
        path="/cases/search",
        params={"status": "open,pending", "since_id": "5"},
        page_size=25,
    )


def test_it_passes_unknown_vendor_paths_through(desk):
    query = resolve(desk, "/cases/3625/replies", page_size=500)

    assert query == VendorQuery(resource="", path="/cases/3625/replies", params={}, page_size=100)


def element(filters, **resource):
    return Element(
        key="acme",
        hub="crm",
        definition={
            "pagination": {"defaultPageSize": 20},
            "resources": {"contacts": {"listPath": "/contacts", "filters": filters, **resource}},
        },
    )


@pytest.mark.parametrize(
    ("spec", "where", "params"),
    [
        (
            {">=": "modified_since", "format": "iso8601"},
            "mdate>='2017-02-28T16:11:29-06:00'",
            {"modified_since": "2017-02-28T22:11:29Z"},
        ),
        (
            {">": "after", "format": "epochMillis"},
            "mdate>='2017-02-28T22:11:29.250Z'",
            {"after": "1488319889249"},
        ),
        (
            {">=": "from", "<": "to", "format": "epochSeconds"},
            "mdate>'2017-02-28T22:11:29Z' AND mdate<='2017-03-01T00:00:00Z'",
            {"from": "1488319890", "to": "1488326401"},
        ),
        ({"=": "owner"}, "mdate='ann'", {"owner": "ann"}),
        ({"=": "flag"}, "mdate=true", {"flag": "true"}),
    ],
)
def test_it_formats_vendor_filters_per_the_element(spec, where, params):
    query = resolve(element({"mdate": spec}), f"/hubs/crm/contacts?where={where}")

    assert (query.path, query.params, query.client_filter) == ("/contacts", params, None)


def test_it_does_not_shift_boundaries_on_formats_without_whole_units():
    query = resolve(
        element({"mdate": {">": "after", "format": "iso8601"}}),
        "/hubs/crm/contacts?where=mdate>='2017-02-28T22:11:29Z'",
    )

    assert query.params == {}
    assert query.client_filter == Comparison("mdate", ">=", "2017-02-28T22:11:29Z")


def test_it_names_an_unknown_filter_format():
    with pytest.raises(HubError) as info:
        resolve(
            element({"mdate": {">": "after", "format": "unix"}}),
            "/hubs/crm/contacts?where=mdate>1",
        )
    assert str(info.value) == (
        "resource 'contacts' filter 'mdate' has unknown format 'unix'; "
        "known: epochSeconds, epochMillis, iso8601, integer, string"
    )
