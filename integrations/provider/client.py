"""HTTP access to a provider: authenticated sessions, retries, rate limits and paging.

Everything provider-specific comes from the element definition: ``auth`` (see
``provider/auth.py``), ``pagination`` (see ``provider/pagination.py``) and ``rateLimit``
(see ``provider/retries.py``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from importlib import metadata
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from django.conf import settings

from integrations.models import Instance
from integrations.provider import auth
from integrations.provider.pagination import Page, PageRequest, Paginator
from integrations.provider.retries import RateLimit
from integrations.provider.urlguard import UnsafeURL, check_url, guarded_session

EXCERPT_CHARS = 200
# A worker should not sit idle longer than this; beyond it the poller reschedules instead.
MAX_WAIT = 120.0
NETWORK_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


def _version() -> str:
    try:
        return metadata.version("tributary")
    except metadata.PackageNotFoundError:
        return "dev"


USER_AGENT = f"Tributary/{_version()}"


class ProviderError(Exception):
    """Anything that went wrong talking to a provider. ``permanent`` errors will not go away
    by retrying later (bad credentials, unknown route); the others might."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        permanent: bool = False,
        excerpt: str = "",
    ):
        super().__init__(message)
        self.status = status
        self.permanent = permanent
        self.excerpt = excerpt


class PageCapReached(ProviderError):
    """The element's ``maxPages`` was reached while the provider still had a next page: the
    caller should narrow its window, e.g. restart after ``last_record``."""

    def __init__(self, message: str, *, last_record: dict | None, pages: int):
        super().__init__(message)
        self.last_record = last_record
        self.pages = pages


def excerpt(text: str) -> str:
    text = re.sub(r"\s+", " ", text or "").strip()
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


def build_session(instance: Instance) -> requests.Session:
    """A session for one instance, authenticated as the element says."""
    scheme = auth.usable_scheme(instance)
    if scheme is None:
        needs = "; ".join(
            f"{offered['type']} needs {', '.join(auth.missing_credentials(instance, offered))}"
            for offered in auth.schemes(instance)
        )
        raise ProviderError(
            f"{instance.element.name} instance {instance} has no usable credentials: {needs}.",
            permanent=True,
        )
    session = guarded_session()
    session.headers.update({"Accept": "application/json", "User-Agent": USER_AGENT})
    session.auth = auth.request_auth(instance, scheme)
    return session


def _no_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
    return request


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
        self.rate_limit = RateLimit(self.element.definition.get("rateLimit", {}), backoff=backoff)
        self.max_retries = max_retries if max_retries is not None else self.rate_limit.max_retries
        self._pause = 0.0
        # Set once an OAuth 2 renewal stored new tokens on ``instance``.
        self.renewed = False

    # URLs

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

    def display_url(self, url: str, params: dict[str, str] | None = None) -> str:
        """The URL as shown in messages: path and query, without auth added by the session."""
        prepared = requests.PreparedRequest()
        prepared.prepare_url(url, params)
        return prepared.path_url

    # Requests

    def get_json(
        self, path_or_url: str, params: dict | None = None
    ) -> tuple[Any, requests.Response]:
        """GET a JSON document: retried while the provider is unavailable or rate-limited,
        a ``ProviderError`` when it refuses or does not answer with JSON."""
        url = self.resolve(path_or_url)
        where = self.display_url(url, params)
        response = self._send(url, params, where)
        return self._decode(response, where), response

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
            where = self.display_url(url, request.params)
            body, response = self.get_json(url, request.params)
            records = pager.records(body)
            if records is None:
                text = excerpt(response.text)
                raise ProviderError(
                    f"{self.name} returned a page without a list at "
                    f"'{pager.items_path or '(the body)'}' on GET {where}: {text}",
                    status=response.status_code,
                    excerpt=text,
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
        attempt = 0
        renewed = False
        while True:
            self._wait_for_window()
            bearer = self._bearer()
            if bearer is not None and bearer.expired():
                self._renew(bearer)
            try:
                check_url(url, purpose=f"{self.name}'s API")
                response = self.session.get(
                    url,
                    params=params,
                    timeout=settings.TRIBUTARY_PROVIDER_TIMEOUT,
                    allow_redirects=False,  # a redirect could lead to a private address
                )
            except UnsafeURL as exc:
                raise ProviderError(str(exc), permanent=True) from exc
            except NETWORK_ERRORS as exc:
                if attempt >= self.max_retries:
                    raise ProviderError(
                        f"{self.name} did not answer GET {where} "
                        f"({attempt + 1} attempts): {_describe(exc)}"
                    ) from exc
                self.sleep(self.rate_limit.backoff_wait(attempt))
                attempt += 1
                continue
            except requests.RequestException as exc:
                raise ProviderError(
                    f"Could not send GET {where} to {self.name}: {_describe(exc)}", permanent=True
                ) from exc
            self._note_window(response)
            status = response.status_code
            if status < 300:
                return response
            if status == 401 and bearer is not None and not renewed:
                self._renew(bearer)
                renewed = True
                continue
            wait = self.rate_limit.retry_wait(response, attempt)
            if wait is None:
                raise self._status_error(response, where, attempts=attempt + 1)
            if attempt >= self.max_retries:
                raise self._status_error(response, where, attempts=attempt + 1, permanent=False)
            if wait > MAX_WAIT:
                text = excerpt(response.text)
                raise ProviderError(
                    f"{self.name} answered {status} on GET {where} and asked to wait "
                    f"{wait:.0f} s, longer than {MAX_WAIT:.0f} s; try again later: {text}",
                    status=status,
                    excerpt=text,
                )
            self.sleep(wait)
            # The retry wait already covers any slow-down the response asked for.
            self._pause = 0.0
            attempt += 1

    def _note_window(self, response: requests.Response) -> None:
        pause = self.rate_limit.window_pause(response)
        if pause is not None:
            self._pause = pause

    def _wait_for_window(self) -> None:
        pause, self._pause = self._pause, 0.0
        if pause > MAX_WAIT:
            raise ProviderError(
                f"{self.name}'s rate limit is used up for the next {pause:.0f} s, longer than "
                f"{MAX_WAIT:.0f} s; try again later."
            )
        if pause > 0:
            self.sleep(pause)

    def _status_error(
        self,
        response: requests.Response,
        where: str,
        *,
        attempts: int,
        permanent: bool | None = None,
    ) -> ProviderError:
        status = response.status_code
        text = excerpt(response.text)
        tries = f" ({attempts} attempts)" if attempts > 1 else ""
        message = f"{self.name} answered {status} on GET {where}{tries}: {text}"
        if status in (401, 403):
            message += " Check the instance's credentials."
        if 300 <= status < 400:
            location = urlsplit(response.headers.get("Location", ""))
            # Without the query: it could carry a token.
            target = location.path
            if location.netloc:
                target = f"{location.scheme}://{location.netloc}{target}"
            message = (
                f"{self.name} redirected GET {where} to {target or 'nowhere'}{tries}; Tributary "
                f"does not follow redirects: check the instance's site address."
            )
        if permanent is None:
            permanent = 300 <= status < 500
        return ProviderError(message, status=status, permanent=permanent, excerpt=text)

    def _decode(self, response: requests.Response, where: str) -> Any:
        if response.status_code == 204:
            return None
        try:
            return response.json()
        except ValueError:
            content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
            content_type = content_type or "no content type"
            text = excerpt(response.text)
            what = (
                "malformed or truncated JSON"
                if "json" in content_type
                else "a body that is not JSON"
            )
            raise ProviderError(
                f"{self.name} returned {what} ({content_type}, {response.status_code}) "
                f"on GET {where}: {text}",
                status=response.status_code,
                excerpt=text,
            ) from None

    # OAuth 2 renewal

    def _bearer(self) -> auth.BearerAuth | None:
        return self.session.auth if isinstance(self.session.auth, auth.BearerAuth) else None

    def _renew(self, bearer: auth.BearerAuth) -> None:
        used = bearer.access_token
        # Another worker may have renewed the token meanwhile; a refresh token is often
        # single-use, so renewing again with the old one would fail.
        bearer.instance.refresh_from_db(fields=["provider_data"])
        if bearer.access_token != used and not bearer.expired():
            return
        url = bearer.token_url()
        form = bearer.refresh_form()
        if not form["refresh_token"] or not url:
            raise ProviderError(
                f"The {self.name} access token of instance {bearer.instance} is no longer "
                f"valid and cannot be renewed (no refresh token or token URL); re-authorize "
                f"the instance.",
                permanent=True,
            )
        where = self.display_url(url)
        try:
            check_url(url, purpose=f"{self.name}'s token URL")
            response = self.session.post(
                url,
                data=form,
                auth=_no_auth,
                timeout=settings.TRIBUTARY_PROVIDER_TIMEOUT,
                allow_redirects=False,
            )
        except UnsafeURL as exc:
            raise ProviderError(str(exc), permanent=True) from exc
        except requests.RequestException as exc:
            raise ProviderError(
                f"{self.name} did not answer POST {where} to renew the access token: "
                f"{_describe(exc)}"
            ) from exc
        try:
            body = response.json() if response.ok else None
        except ValueError:
            body = None
        if not isinstance(body, dict) or not body.get("access_token"):
            text = excerpt(response.text)
            raise ProviderError(
                f"{self.name} refused to renew the access token ({response.status_code} on "
                f"POST {where}): {text} Re-authorize the instance.",
                status=response.status_code,
                permanent=response.status_code < 500,
                excerpt=text,
            )
        bearer.store(body)
        self.renewed = True


def _describe(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.Timeout):
        return f"no answer within {settings.TRIBUTARY_PROVIDER_TIMEOUT} s"
    return connection_problem(exc)


def connection_problem(exc: requests.RequestException) -> str:
    """What went wrong on the wire, without the URL, which could carry an API key in its
    query string: the innermost reason (DNS, refused connection) or, for a connection
    closed without an answer, the OS error (connection reset by peer)."""
    inner = exc.args[0] if exc.args else None
    reason = getattr(inner, "reason", None)
    if reason is not None:
        return str(reason)
    if isinstance(inner, urllib3.exceptions.ProtocolError) and inner.args:
        cause = inner.args[-1]
        detail = getattr(cause, "strerror", None) or str(cause)
        return f"the connection was closed without an answer ({detail})"
    return type(exc).__name__
