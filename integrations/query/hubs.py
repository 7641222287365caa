"""Hub URLs (``/hubs/<hub>/<resource>?where=...``) resolved into vendor requests.

A hub resource names a vendor resource in the element definition (``resources``).
Each top-level AND term of the where clause whose field and operator appear in the
resource's ``filters`` becomes a vendor query parameter; every other term (terms under
OR, operators the vendor lacks such as ``=`` on a date) is kept in ``client_filter`` and
checked against each fetched record, so no clause is silently ignored. With a vendor
filter in use the request goes to ``searchPath``, otherwise to ``listPath``; the
resource's ``sort`` parameters are always added.

Whole-unit formats (``epochSeconds``, ``epochMillis``, ``integer``) let one operator
stand in for its neighbour: Desk offers only ``since_updated_at`` (``>``, exclusive) and
``max_updated_at`` (``<=``, inclusive) on whole seconds, so ``>= X`` is sent as
``> ceil(X) - 1s`` and ``< X`` as ``<= ceil(X) - 1s`` (and ``>``/``<=`` likewise via
``>=``/``<`` for vendors with those). This is exact only because the vendor's values
are whole units too.

Query values may be percent-encoded or raw (quotes, spaces, ``+00:00`` offsets).
Percent escapes are always decoded, so a literal ``%`` followed by two hex digits in a
raw URL must be written ``%25``. ``+`` means a space only in a fully encoded value,
where a plus sign would have been ``%2B``. ``orderBy`` is accepted and ignored: the
order sent is the resource's ``sort``, which the poller relies on.

A URL that does not start with ``/hubs/`` is a vendor path and passes through as is,
apart from the element's paging parameters, which the pager owns.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any
from urllib.parse import quote, unquote, unquote_plus

from integrations.models import Element
from integrations.query.ceql import (
    And,
    CEQLSyntaxError,
    Comparison,
    Expr,
    conjuncts,
    evaluate,
    parse,
    parse_instant,
    unparse,
)

HUB_PARAMS = ("where", "pageSize", "orderBy")
FALLBACK_PAGE_SIZE = 100
FORMATS = ("epochSeconds", "epochMillis", "iso8601", "integer", "string")
# Units per second for the date formats sent as counts.
_EPOCH_UNITS = {"epochSeconds": 1, "epochMillis": 1000}
_WHOLE_UNIT_FORMATS = ("epochSeconds", "epochMillis", "integer")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# A value made only of these characters was fully percent-encoded.
_ENCODED = re.compile(r"[A-Za-z0-9_.~%+\-]*")

# Fraction("1e999999999") builds a billion-digit integer, for seconds: a value whose exponent
# (as Fraction reads it, at the end) is past this is refused first.
_MAX_EXPONENT = 30
_EXPONENT = re.compile(r"[eE]([-+]?\d+(?:_\d+)*)\s*\Z")

# On whole units a bound is rounded toward the values it admits.
_ROUNDING = {">": math.floor, "<=": math.floor, ">=": math.ceil, "<": math.ceil}
# `op X` expressed with the neighbouring vendor operator, on whole units.
_SHIFTED = {
    ">=": (">", lambda x: math.ceil(x) - 1),
    "<": ("<=", lambda x: math.ceil(x) - 1),
    ">": (">=", lambda x: math.floor(x) + 1),
    "<=": ("<", lambda x: math.floor(x) + 1),
}


class HubError(ValueError):
    pass


@dataclass
class VendorQuery:
    resource: str
    path: str
    params: dict[str, str]
    page_size: int
    client_filter: Expr | None = None
    vendor_terms: list[Expr] = field(default_factory=list)

    def matches(self, record: dict[str, Any]) -> bool:
        """Whether a fetched record satisfies the terms the vendor did not filter on."""
        return self.client_filter is None or evaluate(self.client_filter, record)


def resolve(
    element: Element,
    url: str,
    *,
    page_size: int | None = None,
    configuration: Mapping[str, Any] | None = None,
) -> VendorQuery:
    """The vendor request for ``url``: a hub URL or a vendor path relative to the
    element's base URL. A ``pageSize`` in the URL wins over ``page_size``; either is
    clamped to the resource's or the element's ``maxPageSize``. Path variables of the
    resource (``/repos/{github.owner}/{github.repo}/issues``) are filled from
    ``configuration`` when it is given."""
    path, _, query = url.partition("?")
    pairs = _query_pairs(query)
    if not path.startswith("/hubs/"):
        return _vendor_path(element, path, pairs, page_size)

    key, resource = _hub_resource(element, unquote(path), url)
    params = dict(pairs)
    for name in params:
        if name not in HUB_PARAMS:
            raise HubError(
                f"unsupported query parameter {name!r} in {url!r}; "
                f"a hub URL takes {', '.join(HUB_PARAMS)}"
            )
    if len(params) < len(pairs):
        raise HubError(f"a query parameter is given twice in {url!r}")

    where = _parse_where(params.get("where", ""))
    vendor_params: dict[str, str] = {}
    vendor_terms: list[Expr] = []
    leftovers: list[Expr] = []
    for term in conjuncts(where) if where else []:
        translated = _vendor_param(key, resource, term)
        if translated is None or translated[0] in vendor_params:
            leftovers.append(term)
        else:
            vendor_params[translated[0]] = translated[1]
            vendor_terms.append(term)

    list_path = resource.get("listPath", "")
    path = resource.get("searchPath", list_path) if vendor_params else list_path
    return VendorQuery(
        resource=key,
        path=_fill_path(path, configuration),
        params={**vendor_params, **resource.get("sort", {}), **resource.get("params", {})},
        page_size=_page_size(element, resource, params.get("pageSize"), page_size),
        client_filter=_conjunction(leftovers),
        vendor_terms=vendor_terms,
    )


def _fill_path(path: str, configuration: Mapping[str, Any] | None) -> str:
    if configuration is None:
        return path

    def value(match: re.Match) -> str:
        name = match.group(1)
        if configuration.get(name) in (None, ""):
            raise HubError(f"the vendor path {path!r} needs the configuration key {name!r}")
        return quote(str(configuration[name]), safe="")

    return re.sub(r"\{([^{}]+)\}", value, path)


def _hub_resource(element: Element, path: str, url: str) -> tuple[str, dict[str, Any]]:
    hub, _, key = path.removeprefix("/hubs/").strip("/").partition("/")
    if not hub or not key:
        raise HubError(f"a hub URL looks like /hubs/<hub>/<resource>, got {url!r}")
    if hub != element.hub:
        raise HubError(
            f"unknown hub {hub!r} in {url!r}; element {element.key!r} "
            f"serves the {element.hub!r} hub"
        )
    if key not in element.resources:
        known = ", ".join(sorted(element.resources)) or "none"
        raise HubError(f"unknown resource {key!r} in {url!r}; the {hub!r} hub has: {known}")
    return key, element.resources[key]


def _vendor_path(
    element: Element, path: str, pairs: list[tuple[str, str]], page_size: int | None
) -> VendorQuery:
    pagination = element.definition.get("pagination", {})
    paging = (pagination.get("pageParam"), pagination.get("pageSizeParam"))
    params = {name: value for name, value in pairs if name not in paging}
    url_size = next((value for name, value in pairs if name == paging[1]), None)
    key, resource = next(
        (
            (key, resource)
            for key, resource in element.resources.items()
            if path in (resource.get("listPath"), resource.get("searchPath"))
        ),
        ("", {}),
    )
    size = _page_size(element, resource, url_size, page_size)
    return VendorQuery(resource=key, path=path, params=params, page_size=size)


def _parse_where(text: str) -> Expr | None:
    if not text.strip():
        return None
    try:
        return parse(text)
    except CEQLSyntaxError as exc:
        shown = text if len(text) <= 80 else f"{text[:77]}..."
        raise HubError(f"invalid where clause {shown!r}: {exc}") from exc


def _vendor_param(key: str, resource: dict[str, Any], term: Expr) -> tuple[str, str] | None:
    """The vendor parameter and value for one term, or None when the vendor cannot
    filter on it."""
    spec = (resource.get("filters") or {}).get(getattr(term, "field", None))
    if not isinstance(term, Comparison) or not spec:
        return None
    fmt = spec.get("format", "string")
    if fmt not in FORMATS:
        raise HubError(
            f"resource {key!r} filter {term.field!r} has unknown format {fmt!r}; "
            f"known: {', '.join(FORMATS)}"
        )
    if fmt not in _WHOLE_UNIT_FORMATS:
        return (spec[term.op], _plain_value(fmt, term)) if term.op in spec else None
    if term.op in spec:
        count = _count(fmt, term)
        if term.op in _ROUNDING:
            return spec[term.op], str(_ROUNDING[term.op](count))
        return (spec[term.op], str(count.numerator)) if count.denominator == 1 else None
    vendor_op, shift = _SHIFTED.get(term.op, (None, None))
    if vendor_op in spec:
        return spec[vendor_op], str(shift(_count(fmt, term)))
    return None


def _count(fmt: str, term: Comparison) -> Fraction:
    """The term's value as a count of the format's unit (seconds, milliseconds, 1)."""
    value = term.value
    if not isinstance(value, bool):
        text = str(value)
        exponent = _EXPONENT.search(text)
        if exponent and abs(int(exponent[1])) > _MAX_EXPONENT:
            raise HubError(
                f"{unparse(term)}: the exponent of {term.field}'s value is out of range; "
                f"write the number with an exponent of at most {_MAX_EXPONENT}"
            )
        try:
            return Fraction(text)
        except ValueError:
            pass
    if fmt == "integer":
        raise HubError(f"{unparse(term)}: {term.field} takes a number")
    instant = parse_instant(str(value)) if isinstance(value, str) else None
    if instant is None:
        raise HubError(
            f"{unparse(term)}: {term.field} takes an ISO 8601 date-time "
            f"such as '2016-08-11T03:00:53Z'"
        )
    delta = instant - _EPOCH
    micros = (delta.days * 86400 + delta.seconds) * 10**6 + delta.microseconds
    return Fraction(micros * _EPOCH_UNITS[fmt], 10**6)


def _plain_value(fmt: str, term: Comparison) -> str:
    value = term.value
    if fmt == "iso8601":
        instant = parse_instant(str(value))
        if instant is None:
            raise HubError(f"{unparse(term)}: {term.field} takes an ISO 8601 date-time")
        text = instant.astimezone(UTC).isoformat(timespec="microseconds")
        return text.removesuffix(".000000+00:00").removesuffix("+00:00") + "Z"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _page_size(
    element: Element, resource: dict[str, Any], from_url: str | None, argument: int | None
) -> int:
    pagination = element.definition.get("pagination", {})
    size = int(pagination.get("defaultPageSize", FALLBACK_PAGE_SIZE))
    for requested in (argument, from_url):
        if requested is None:
            continue
        text = str(requested).strip()
        if not text.isdigit() or int(text) < 1:
            raise HubError(f"pageSize must be a whole number of at least 1, got {requested!r}")
        size = int(text)
    limit = resource.get("maxPageSize") or pagination.get("maxPageSize")
    return min(size, int(limit)) if limit else size


def _conjunction(terms: list[Expr]) -> Expr | None:
    if not terms:
        return None
    return terms[0] if len(terms) == 1 else And(tuple(terms))


def _query_pairs(query: str) -> list[tuple[str, str]]:
    pairs = []
    for part in _split_query(query):
        if part:
            name, _, value = part.partition("=")
            pairs.append((_decode(name), _decode(value)))
    return pairs


def _split_query(query: str) -> list[str]:
    """Split at ``&`` outside quotes, so a raw ``where=name='A&B'`` stays whole."""
    parts, start, quote, index = [], 0, "", 0
    while index < len(query):
        char = query[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = ""
        elif char in "'`":
            quote = char
        elif char == "&":
            parts.append(query[start:index])
            start = index + 1
        index += 1
    parts.append(query[start:])
    return parts


def _decode(text: str) -> str:
    # A fully encoded value would carry a plus sign as %2B, so its '+' is a space; in
    # raw text ('...T19:19:29+00:00') a '+' is a plus sign.
    return unquote_plus(text) if _ENCODED.fullmatch(text) else unquote(text)
