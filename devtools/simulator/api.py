"""The /api/v2 resources: cases, customers, companies and users.

GET lists, searches and shows each; POST creates and PATCH updates cases and customers;
DELETE /customers/{id} deletes a customer (204; it then 404s and is gone from lists and
searches). Desk's API cannot delete a case (405): the simulator's operator control
``DELETE /_simulator/cases/{id}`` can (control.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from . import query
from .http import Request, Response, json_response, message, method_not_allowed, not_found
from .records import API, Record, id_from_href
from .store import NotFound, Store, ValidationError

Handler = Callable[..., Response]


def list_or_search(kind: str, *, search: bool = False, scope: str | None = None) -> Handler:
    """`scope` narrows to a parent's records, e.g. a customer's cases."""

    def handler(store: Store, request: Request, parent: str | None = None) -> Response:
        params = request.params
        users = kind == "users"
        page, per_page = query.paging(
            params,
            max_per_page=query.USERS_MAX_PER_PAGE if users else query.MAX_PER_PAGE,
            capped=not users,
        )
        records = store.all(kind)
        if scope is not None:
            params_for_scope = [(scope, parent or "")]
            records = _filter(store, kind, records, params_for_scope)
        if search:
            records = query.range_filter(records, params)
        # Lists take a few documented filters; searches take them all.
        records = _filter(store, kind, records, params, search=search)
        records = query.sort(records, params, kind)
        envelope = query.page_envelope(
            request.path, params, records, page, per_page, style=2016 if kind == "cases" else 2014
        )
        entries = envelope["_embedded"]["entries"]
        envelope["_embedded"]["entries"] = [_shape(store, kind, r, params) for r in entries]
        return json_response(200, envelope)

    return handler


def _filter(
    store: Store, kind: str, records: list[Record], params: query.Params, *, search: bool = True
) -> list[Record]:
    if kind == "cases":
        if not search:
            params = [(k, v) for k, v in params if k in ("customer_id", "company_id")]
        customers = {c["id"]: c for c in store.all("customers")}
        return query.case_filters(records, params, customers)
    if kind == "customers":
        if "company_id" in dict(params):
            wanted = dict(params)["company_id"]
            records = [r for r in records if _company_id(r) == wanted]
        return query.customer_filters(records, params) if search else records
    if kind == "companies" and search:
        return query.company_filters(records, params)
    return records


def _company_id(customer: Record) -> str:
    company = customer["_links"]["company"] or {}
    return str(id_from_href(company.get("href")))


def _shape(store: Store, kind: str, record: Record, params: query.Params) -> Record:
    """Apply `fields=` and `embed=customer`."""
    fields = query.csv(params, "fields")
    if fields:
        record = {k: v for k, v in record.items() if k in fields or k in ("id", "_links")}
    if kind == "cases" and "customer" in (query.csv(params, "embed") or []):
        try:
            customer_id = id_from_href(record["_links"]["customer"]["href"])
            record["_embedded"] = {"customer": store.get("customers", customer_id or 0)}
        except NotFound:
            record["_embedded"] = {"customer": None}
    return record


def show(kind: str) -> Handler:
    def handler(store: Store, request: Request, record_id: str) -> Response:
        try:
            if kind == "cases" and record_id.startswith("e-"):
                record = store.case_by_external_id(record_id[2:])
            else:
                record = store.get(kind, int(record_id))
        except (NotFound, ValueError):
            return not_found()
        return json_response(200, _shape(store, kind, record, request.params))

    return handler


def show_me(store: Store, request: Request) -> Response:
    users = store.all("users")
    return json_response(200, users[0]) if users else not_found()


def create(kind: str) -> Handler:
    def handler(store: Store, request: Request) -> Response:
        fields = _body(request)
        if isinstance(fields, Response):
            return fields
        try:
            create_record = store.create_case if kind == "cases" else store.create_customer
            record = create_record(fields)
        except ValidationError as exc:
            return _invalid(exc)
        location = f"http://{request.host}{API}/{kind}/{record['id']}"
        return json_response(201, record, headers={"Location": location})

    return handler


def update(kind: str) -> Handler:
    def handler(store: Store, request: Request, record_id: str) -> Response:
        fields = _body(request)
        if isinstance(fields, Response):
            return fields
        fields.pop("suppress_rules", None)
        try:
            if kind == "cases":
                record = store.update_case(int(record_id), fields)
            else:
                record = store.update_customer(int(record_id), fields)
        except NotFound:
            return not_found()
        except ValidationError as exc:
            return _invalid(exc)
        return json_response(200, record)

    return handler


def delete(kind: str) -> Handler:
    def handler(store: Store, request: Request, record_id: str) -> Response:
        try:
            store.delete(kind, int(record_id))
        except NotFound:
            return not_found()
        return Response(204, content_type=None)

    return handler


def _body(request: Request) -> dict[str, Any] | Response:
    try:
        body = request.json()
    except ValueError:
        return message(400, "Request body must be a JSON object")
    if not isinstance(body, dict):
        return message(400, "Request body must be a JSON object")
    return body


def _invalid(exc: ValidationError) -> Response:
    return json_response(422, {"message": "Validation Failed", "errors": exc.errors})


ID = r"(?P<record_id>\d+)"
ROUTES: list[tuple[re.Pattern[str], dict[str, Handler]]] = [
    (re.compile(p), methods)
    for p, methods in [
        (r"/cases", {"GET": list_or_search("cases"), "POST": create("cases")}),
        (r"/cases/search", {"GET": list_or_search("cases", search=True)}),
        (r"/cases/(?P<record_id>\d+|e-[^/]+)", {"GET": show("cases"), "PATCH": update("cases")}),
        (r"/customers", {"GET": list_or_search("customers"), "POST": create("customers")}),
        (r"/customers/search", {"GET": list_or_search("customers", search=True)}),
        (
            rf"/customers/{ID}",
            {"GET": show("customers"), "PATCH": update("customers"), "DELETE": delete("customers")},
        ),
        (
            r"/customers/(?P<parent>\d+)/cases",
            {"GET": list_or_search("cases", scope="customer_id")},
        ),
        (r"/companies", {"GET": list_or_search("companies")}),
        (r"/companies/search", {"GET": list_or_search("companies", search=True)}),
        (rf"/companies/{ID}", {"GET": show("companies")}),
        (r"/companies/(?P<parent>\d+)/cases", {"GET": list_or_search("cases", scope="company_id")}),
        (
            r"/companies/(?P<parent>\d+)/customers",
            {"GET": list_or_search("customers", scope="company_id")},
        ),
        (r"/users", {"GET": list_or_search("users")}),
        (r"/users/me", {"GET": show_me}),
        (rf"/users/{ID}", {"GET": show("users")}),
    ]
]


def dispatch(store: Store, request: Request) -> Response:
    """`request.path` starts with /api/v2; unknown paths 404, known paths 405 on other verbs."""
    path = request.path[len(API) :].rstrip("/") or "/"
    for pattern, methods in ROUTES:
        match = pattern.fullmatch(path)
        if match is None:
            continue
        handler = methods.get(request.method)
        if handler is None:
            return method_not_allowed()
        try:
            return handler(store, request, **match.groupdict())
        except query.BadRequest as exc:
            return message(400, str(exc))
    return not_found()
