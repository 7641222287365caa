"""Paging, search filters, sorting and the HAL page envelope."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from .clock import epoch, parse_time
from .records import Record, id_from_href

Params = list[tuple[str, str]]

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 100
USERS_MAX_PER_PAGE = 1000
MAX_PAGE = 500

SORT_FIELDS = {
    "cases": ("id", "created_at", "updated_at", "changed_at", "received_at", "priority", "status"),
    "customers": ("id", "created_at", "updated_at", "first_name", "last_name"),
    "companies": ("id", "name", "created_at", "updated_at"),
    "users": ("id", "name"),
}
RANGE_FIELDS = ("created_at", "updated_at", "id")


class BadRequest(Exception):
    pass


def first(params: Params, name: str) -> str | None:
    return next((v for k, v in params if k == name), None)


def csv(params: Params, name: str) -> list[str] | None:
    """Desk joins array parameters with commas (status=open,pending)."""
    value = first(params, name)
    if value is None or value == "":
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


def paging(params: Params, *, max_per_page: int, capped: bool) -> tuple[int, int]:
    page = _int_or(first(params, "page"), 1)
    per_page = _int_or(first(params, "per_page"), DEFAULT_PER_PAGE)
    per_page = max(1, min(per_page, max_per_page))
    page = max(1, page)
    if capped and page > MAX_PAGE:
        # Not documented by Desk: the 500-page cap is documented, the response past it is
        # not. This status and message are the simulator's choice.
        raise BadRequest(f"page must be less than or equal to {MAX_PAGE}")
    return page, per_page


def _int_or(value: str | None, default: int) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default


def range_filter(records: list[Record], params: Params) -> list[Record]:
    """since_* is exclusive, max_* inclusive; dates as Unix seconds or ISO 8601."""
    for name in RANGE_FIELDS:
        for prefix, keep in (("since_", _gt), ("max_", _le)):
            raw = first(params, prefix + name)
            if raw in (None, ""):
                continue
            bound = _bound(prefix + name, raw, name == "id")
            key = _id_key if name == "id" else _time_key(name)
            records = [r for r in records if keep(key(r), bound)]
    return records


def _bound(param: str, raw: str, is_id: bool) -> int:
    try:
        return int(raw) if is_id else int(parse_time(raw).timestamp())
    except ValueError as exc:
        kind = "an integer id" if is_id else "Unix seconds or ISO 8601 (2016-11-22T23:36:49Z)"
        raise BadRequest(f"{param} must be {kind}, got {raw!r}") from exc


def _gt(value: int | None, bound: int) -> bool:
    return value is not None and value > bound


def _le(value: int | None, bound: int) -> bool:
    return value is not None and value <= bound


def _id_key(record: Record) -> int:
    return record["id"]


def _time_key(name: str) -> Callable[[Record], int | None]:
    return lambda r: epoch(r[name]) if r.get(name) else None


def case_filters(
    records: list[Record], params: Params, customers: dict[int, Record]
) -> list[Record]:
    statuses, types, labels = csv(params, "status"), csv(params, "channels"), csv(params, "labels")
    priorities, ids = csv(params, "priority"), csv(params, "case_id")
    emails = {e.lower() for e in csv(params, "email") or []}
    text = {k: (first(params, k) or "").lower() for k in ("subject", "description", "q")}
    customer_ids = csv(params, "customer_id")
    company_ids = csv(params, "company_id")

    def customer(r: Record) -> Record:
        return customers.get(id_from_href(r["_links"]["customer"]["href"])) or {}

    def keep(r: Record) -> bool:
        haystack = " ".join(str(r[k] or "") for k in ("subject", "description", "blurb")).lower()
        company = (customer(r).get("_links") or {}).get("company") or {}
        return all(
            (
                statuses is None or r["status"] in statuses,
                types is None or r["type"] in types,
                labels is None or bool(set(labels) & set(r["labels"])),
                priorities is None or str(r["priority"]) in priorities,
                ids is None or str(r["id"]) in ids,
                not emails or bool(emails & _emails(customer(r))),
                text["subject"] in (r["subject"] or "").lower(),
                text["description"] in (r["description"] or "").lower(),
                text["q"] in haystack,
                customer_ids is None or str(customer(r).get("id")) in customer_ids,
                company_ids is None or str(id_from_href(company.get("href"))) in company_ids,
            )
        )

    return [r for r in records if keep(r)]


def customer_filters(records: list[Record], params: Params) -> list[Record]:
    emails = {e.lower() for e in csv(params, "email") or []}
    phones = set(csv(params, "phone") or [])
    exact = {k: csv(params, k) for k in ("first_name", "last_name", "external_id")}
    full_name = (first(params, "full_name") or "").lower()
    q = (first(params, "q") or "").lower()

    def keep(r: Record) -> bool:
        name = f"{r['first_name']} {r['last_name']}".lower()
        return all(
            (
                not emails or bool(emails & _emails(r)),
                not phones or bool(phones & {p["value"] for p in r["phone_numbers"]}),
                all(v is None or str(r[k]) in v for k, v in exact.items()),
                full_name in name,
                not q or q in name or any(q in e for e in _emails(r)),
            )
        )

    return [r for r in records if keep(r)]


def _emails(customer: Record) -> set[str]:
    return {e["value"].lower() for e in customer.get("emails") or []}


def company_filters(records: list[Record], params: Params) -> list[Record]:
    q = (first(params, "q") or "").lower()
    return [r for r in records if q in r["name"].lower() or any(q in d for d in r["domains"])]


def sort(records: list[Record], params: Params, kind: str) -> list[Record]:
    field = first(params, "sort_field") or "id"
    if field not in SORT_FIELDS[kind]:
        field = "id"
    reverse = (first(params, "sort_direction") or "asc").lower() == "desc"
    return sorted(
        records, key=lambda r: (r.get(field) is None, r.get(field), r["id"]), reverse=reverse
    )


def page_envelope(
    path: str,
    params: Params,
    records: list[Record],
    page: int,
    per_page: int,
    *,
    style: int = 2016,
) -> dict[str, Any]:
    """The recorded HAL page. `style` picks the recorded key order: 2016 (cases) puts `page`
    first, `next` before `previous` and `class` before `href`; 2014 is the reverse."""
    total = len(records)
    last = max(1, -(-total // per_page))
    kept = [(k, v) for k, v in params if k not in ("page", "per_page")]

    def href(n: int) -> dict[str, Any]:
        query = urlencode([*kept, ("page", str(n)), ("per_page", str(per_page))])
        target = f"{path}?{query}"
        if style == 2016:
            return {"class": "page", "href": target}
        return {"href": target, "class": "page"}

    links: dict[str, Any] = {"self": href(page), "first": href(1), "last": href(last)}
    nxt = href(page + 1) if page < last else None
    prev = href(page - 1) if page > 1 else None
    if style == 2016:
        links.update(next=nxt, previous=prev)
    else:
        links.update(previous=prev, next=nxt)
    entries = records[(page - 1) * per_page : page * per_page]
    head = (
        {"page": page, "total_entries": total}
        if style == 2016
        else {
            "total_entries": total,
            "page": page,
        }
    )
    return {**head, "_links": links, "_embedded": {"entries": entries}}
