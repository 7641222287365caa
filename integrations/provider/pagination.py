"""How a provider's listing is paged, read from the element's ``pagination`` definition.

Pure: it says which request comes next and where the records are; ``ProviderClient.iter_pages``
sends the requests and reports errors. Types:

- ``hal``: ``pageParam=1`` and ``pageSizeParam`` on the first request, then the href at
  ``nextPath`` until it is null (Desk.com).
- ``page``: ``pageParam`` 1, 2, ... until a page is short or empty.
- ``cursor``: ``cursorParam`` taken from ``nextCursorPath`` until it is empty.
- ``link``: the RFC 8288 ``Link: <...>; rel="next"`` header (GitHub).
- ``none``: one request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

MISSING: Any = object()


@dataclass
class Page:
    records: list[dict]
    number: int
    url: str


@dataclass(frozen=True)
class PageRequest:
    url: str
    params: dict[str, str] | None


def dig(body: Any, path: str) -> Any:
    """The value at a dotted ``path`` (``_embedded.entries``) of a JSON body, or ``MISSING``.
    An empty path is the body itself."""
    value = body
    for part in path.split(".") if path else []:
        if not isinstance(value, dict) or part not in value:
            return MISSING
        value = value[part]
    return value


class Paginator:
    def __init__(
        self,
        definition: dict[str, Any],
        *,
        page_size: int,
        resource: dict | None = None,
        configured_max: int | None = None,
    ):
        """``page_size`` is clamped to ``maxPageSize`` (the resource's, else the element's) and
        to ``configured_max`` (the instance's ``maxPageSizeKey`` value)."""
        resource = resource or {}
        self.kind = definition.get("type", "none")
        self.items_path = definition.get("itemsPath", "")
        self.definition = definition
        self.max_pages = resource.get("maxPages", definition.get("maxPages"))
        limits = [resource.get("maxPageSize", definition.get("maxPageSize")), configured_max]
        self.page_size = min([page_size, *(limit for limit in limits if limit)])

    def first(self, path: str, params: dict[str, str]) -> PageRequest:
        return PageRequest(path, {**params, **self._paging_params()})

    def records(self, body: Any) -> list[dict] | None:
        """The records of a page, or None when the body does not hold them."""
        items = dig(body, self.items_path)
        return items if isinstance(items, list) else None

    def next(
        self,
        request: PageRequest,
        body: Any,
        response: requests.Response,
        records: list[dict],
    ) -> PageRequest | None:
        if self.kind == "hal":
            href = dig(body, self.definition.get("nextPath", "_links.next.href"))
            return PageRequest(href, None) if href and isinstance(href, str) else None
        if self.kind == "link":
            url = response.links.get("next", {}).get("url")
            return PageRequest(url, None) if url else None
        if self.kind == "page":
            if len(records) < self.page_size:
                return None
            page_param = self.definition.get("pageParam", "page")
            page = int((request.params or {}).get(page_param, self.start_page)) + 1
            return PageRequest(request.url, {**(request.params or {}), page_param: str(page)})
        if self.kind == "cursor":
            cursor = dig(body, self.definition.get("nextCursorPath", "next_cursor"))
            if cursor is MISSING or cursor in (None, ""):
                return None
            cursor_param = self.definition.get("cursorParam", "cursor")
            return PageRequest(request.url, {**(request.params or {}), cursor_param: str(cursor)})
        return None

    @property
    def start_page(self) -> int:
        return int(self.definition.get("startPage", 1))

    def _paging_params(self) -> dict[str, str]:
        params = {}
        if self.kind in ("hal", "page"):
            params[self.definition.get("pageParam", "page")] = str(self.start_page)
        size_param = self.definition.get("pageSizeParam")
        if size_param and self.kind != "none":
            params[size_param] = str(self.page_size)
        return params
