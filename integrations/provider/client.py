"""HTTP access to a provider: GET a JSON document or page through a listing, on the
instance's session.

Everything provider-specific comes from the element definition: ``auth`` (see
``provider/auth.py``), ``pagination`` (see ``provider/pagination.py``) and ``rateLimit``
(see ``provider/retries.py``, which decides whether and when a request is sent again).

The first answer's ``Date`` header is noted (``ProviderClient.provider_date``): the provider's
clock, which a poll compares with ours (``ProviderDate.skew``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings

from core.http import bounded_request
from integrations.models import Instance
from integrations.provider import auth
from integrations.provider.errors import (
    PageCapReached,
    ProviderError,
    answer_error,
    describe,
    display_url,
)
from integrations.provider.pagination import Page, PageRequest, Paginator
from integrations.provider.renewal import token_renew
from integrations.provider.retries import NO_ANSWER, Retries
from integrations.provider.session import build_session
from integrations.provider.urlguard import UnsafeURL, check_url

# An HTTP-date is 29 characters ("Sun, 06 Nov 1994 08:49:37 GMT"); anything much longer is not one.
MAX_DATE_HEADER = 64


@dataclass(frozen=True)
class ProviderDate:
    """The provider's clock as one answer's ``Date`` header gave it, and when we read the
    answer (``time.monotonic()``)."""

    date: datetime
    read_at: float

    def skew(self, *, now: datetime, started: float) -> float:
        """The provider's clock minus ours, in seconds, ours being ``now`` at the monotonic
        instant ``started`` (a poll's ``now`` and start), so a poll given a simulated ``now``
        measures against it.

        The header has whole-second resolution and is stamped before we read the answer, so
        this is a lower bound: at most 1 s plus the time the answer took to reach us below
        the true skew, never above it.
        """
        ours = now + timedelta(seconds=self.read_at - started)
        return (self.date - ours).total_seconds()


def header_date(response: requests.Response) -> datetime | None:
    """The answer's ``Date`` (RFC 7231 HTTP-date) as an aware datetime; None when it is
    missing or not a date."""
    value = response.headers.get("Date") or ""
    if not value or len(value) > MAX_DATE_HEADER:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # "-0000" (RFC 2822: the zone is unknown) parses naive; HTTP dates are always GMT.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class ProviderClient:
    """Talks to the provider of one instance. ``sleep`` is injectable so tests never wait."""

    def __init__(
        self,
        instance: Instance,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], Any] = time.sleep,
        max_retries: int | None = None,
        backoff: float = 1.0,
    ):
        self.instance = instance
        self.element = instance.element
        self.name = self.element.name
        self.session = session if session is not None else build_session(instance)
        self.sleep = sleep
        self.base_url = self.element.base_url(instance.configuration)
        self.retries = Retries(
            self.name,
            self.element.definition.get("rateLimit", {}),
            backoff=backoff,
            max_retries=max_retries,
        )
        # Set once an OAuth 2 renewal stored new tokens on ``instance``.
        self.renewed = False
        # The Date header of the first answer that had a valid one (since ``clock_watch``).
        self.provider_date: ProviderDate | None = None

    def resolve(self, path_or_url: str) -> str:
        """The absolute URL for a path below the API root (``/cases``), a root-relative href
        (``/api/v2/cases?page=2``) or an absolute URL; only the API's own origin is allowed,
        so credentials are never sent elsewhere."""
        base = urlsplit(self.base_url)
        root = self._origin()
        base_path = base.path.rstrip("/")
        target = path_or_url
        if "://" not in target and not target.startswith("//"):
            under_base = base_path and (
                target == base_path or target.startswith((base_path + "/", base_path + "?"))
            )
            if not under_base:
                target = base_path + "/" + target.lstrip("/")
        url = urljoin(root + "/", target)
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
            raise ProviderError(
                f"Refusing to request {parts.scheme}://{parts.netloc}{parts.path} for "
                f"{self.name}: it is not on the API's own site {root}.",
                permanent=True,
            )
        return url

    def get_json(
        self, path_or_url: str, params: dict | None = None
    ) -> tuple[Any, requests.Response]:
        """GET a JSON document: retried while the provider is unavailable or rate-limited,
        a ``ProviderError`` when it refuses or does not answer with JSON."""
        url = self.resolve(path_or_url)
        where = display_url(url, params)
        response = self._send(url, params, where)
        return _json_of(response, self.name, where), response

    def iter_pages(
        self,
        path: str,
        params: dict[str, str],
        *,
        page_size: int,
        resource: dict | None = None,
    ) -> Iterator[Page]:
        """Yield the pages of a listing one at a time. Raises ``PageCapReached`` after the
        last page ``maxPages`` allows when the provider still has a next one."""
        definition = self.element.definition.get("pagination", {})
        configured = self.instance.config_value(definition.get("maxPageSizeKey", ""))
        pager = Paginator(
            definition,
            page_size=page_size,
            resource=resource,
            configured_max=int(configured) if str(configured or "").isdigit() else None,
        )
        request: PageRequest | None = pager.first(path, params)
        number = 0
        while request is not None:
            number += 1
            url = self.resolve(request.url)
            where = display_url(url, request.params)
            body, response = self.get_json(url, request.params)
            records = pager.records(body)
            if records is None:
                raise answer_error(
                    f"{self.name} returned a page without a list at "
                    f"'{pager.items_path or '(the body)'}' on GET {where}",
                    response,
                )
            following = pager.next(request, body, response, records)
            if following == request:
                raise ProviderError(
                    f"{self.name} gave GET {where} as the next page of itself; stopped paging."
                )
            yield Page(records=records, number=number, url=self._origin() + where)
            if following is not None and pager.max_pages and number >= pager.max_pages:
                raise PageCapReached(
                    f"{self.name} still had more pages after {number} pages of {path} "
                    f"(the element's maxPages); narrow the query window.",
                    last_record=records[-1] if records else None,
                    pages=number,
                )
            request = following

    def _origin(self) -> str:
        base = urlsplit(self.base_url)
        return f"{base.scheme}://{base.netloc}"

    def _send(self, url: str, params: dict | None, where: str) -> requests.Response:
        """One request, sent again for as long as ``self.retries`` says."""
        attempt = 0
        renewed = False
        while True:
            pause = self.retries.wait_before_request()
            if pause > 0:
                self.sleep(pause)
            bearer = self._bearer()
            if bearer is not None and bearer.expired():
                self._renew(bearer)
            try:
                response = self._get(url, params, where)
            except NO_ANSWER as exc:
                self.sleep(self.retries.wait_after_no_answer(exc, attempt=attempt, where=where))
                attempt += 1
                continue
            self.retries.note_answer(response)
            self._note_date(response)
            if response.status_code < 300:
                return response
            if response.status_code == 401 and bearer is not None and not renewed:
                self._renew(bearer)
                renewed = True
                continue
            self.sleep(self.retries.wait_after_refusal(response, attempt=attempt, where=where))
            attempt += 1

    def _get(self, url: str, params: dict | None, where: str) -> requests.Response:
        """Send once and read the answer, within TRIBUTARY_PROVIDER_TIMEOUT and
        TRIBUTARY_PROVIDER_MAX_BYTES; no answer, or none read whole, is left to the caller to
        retry."""
        try:
            check_url(url, purpose=f"{self.name}'s API")
            return bounded_request(
                self.session,
                "GET",
                url,
                params=params,
                seconds=settings.TRIBUTARY_PROVIDER_TIMEOUT,
                max_bytes=settings.TRIBUTARY_PROVIDER_MAX_BYTES,
                allow_redirects=False,  # a redirect could lead to a private address
            )
        except UnsafeURL as exc:
            raise ProviderError(str(exc), permanent=True) from exc
        except NO_ANSWER:
            raise
        except requests.RequestException as exc:
            raise ProviderError(
                f"Could not send GET {where} to {self.name}: {describe(exc)}", permanent=True
            ) from exc

    def clock_watch(self) -> None:
        """Note the Date header of the next answer that has one, in ``provider_date``."""
        self.provider_date = None

    def _note_date(self, response: requests.Response) -> None:
        # The first answer only: a later one may come after a wait (a rate limit, a retry)
        # that an injected ``sleep`` only pretended to take.
        if self.provider_date is None and (date := header_date(response)) is not None:
            self.provider_date = ProviderDate(date, time.monotonic())

    def _bearer(self) -> auth.BearerAuth | None:
        return self.session.auth if isinstance(self.session.auth, auth.BearerAuth) else None

    def _renew(self, bearer: auth.BearerAuth) -> None:
        if token_renew(self.session, bearer, name=self.name):
            self.renewed = True


def _json_of(response: requests.Response, name: str, where: str) -> Any:
    if response.status_code == 204:
        return None
    try:
        return response.json()
    except ValueError:
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        content_type = content_type or "no content type"
        what = (
            "malformed or truncated JSON" if "json" in content_type else "a body that is not JSON"
        )
        raise answer_error(
            f"{name} returned {what} ({content_type}, {response.status_code}) on GET {where}",
            response,
        ) from None
