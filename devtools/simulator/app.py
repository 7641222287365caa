"""One request in, one response out: faults, rate limit, auth, then the API or OAuth."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from typing import Any

from . import api, control
from .auth import Authenticator, Credentials, Unauthorized
from .clock import Clock, iso
from .faults import HTML_PAGE, Fault, Faults
from .http import Request, Response, json_response, message, not_found
from .ratelimit import RateLimiter
from .records import API
from .store import Store

HTML_TYPE = "text/html; charset=utf-8"
FORM_TYPE = "application/x-www-form-urlencoded"
LOG_LIMIT = 10_000


@dataclass
class Options:
    seed_cases: int = 30
    seed_customers: int = 20
    random_seed: int = 2016
    rate_limit: int = 300
    now: datetime | None = None
    credentials: Credentials = field(default_factory=Credentials)


class App:
    def __init__(self, options: Options | None = None) -> None:
        self.options = options or Options()
        self.clock = Clock(self.options.now)
        self.store = Store(
            self.clock,
            seed_cases=self.options.seed_cases,
            seed_customers=self.options.seed_customers,
            random_seed=self.options.random_seed,
        )
        self.auth = Authenticator(self.options.credentials)
        self.rate_limiter = RateLimiter(self.clock, self.options.rate_limit)
        self.faults = Faults()
        # Answers carry a Date header from ``clock``; off, a provider that sends none.
        self.date_header = True
        self.stopping = threading.Event()
        self._log_lock = threading.Lock()
        self._log: list[dict[str, Any]] = []

    def reset(self) -> None:
        """Back to the state right after start: clock, data, tokens, faults, log, budget."""
        self.clock.set(self.options.now)
        self.store.reseed()
        self.auth.reset()
        self.rate_limiter.reset()
        self.faults.clear()
        self.date_header = True
        self.clear_log()

    def handle(self, request: Request) -> Response:
        if request.path.startswith(control.PREFIX):
            return control.dispatch(self, request)
        fault = self.faults.take(request)
        response = self._faulty(request, fault) if fault else self._serve(request)
        self._record(request, response, fault)
        return response

    def _faulty(self, request: Request, fault: Fault) -> Response:
        if fault.kind == "reset":
            return Response(0, reset=True)
        if fault.kind == "delay":
            # Real time on purpose (crash and timeout tests); stop() cuts it short.
            self.stopping.wait(fault.delay)
            return self._serve(request)
        if fault.kind == "truncated":
            response = self._serve(request)
            response.body = response.body[: len(response.body) // 2]
            response.headers.pop("ETag", None)
            return response
        headers = self.rate_limiter.peek() if request.path.startswith(API) else {}
        if fault.kind == "html":
            return Response(200, HTML_PAGE.encode(), HTML_TYPE, headers)
        if fault.html:
            return Response(fault.status, (fault.body or HTML_PAGE).encode(), HTML_TYPE, headers)
        if fault.body is not None:
            return Response(fault.status, fault.body.encode(), "application/json", headers)
        return json_response(fault.status, {"message": _reason(fault.status)}, headers=headers)

    def _serve(self, request: Request) -> Response:
        if request.path == API or request.path.startswith(API + "/"):
            return self._api(request)
        if request.path.startswith("/oauth/"):
            return self._oauth(request)
        return not_found()

    def _api(self, request: Request) -> Response:
        allowed, headers = self.rate_limiter.hit()
        if not allowed:
            # Recorded by clients: plain text, not JSON.
            response = Response(429, b"Too Many Requests", "text/plain; charset=utf-8")
        else:
            try:
                self.auth.check_api(request)
            except Unauthorized:
                response = message(401, "Unauthorized")
            else:
                response = api.dispatch(self.store, request)
        response.headers.update(headers)
        return response

    def _oauth(self, request: Request) -> Response:
        try:
            if request.path == "/oauth/request_token" and request.method in ("GET", "POST"):
                return Response(200, self.auth.request_token(request).encode(), FORM_TYPE)
            if request.path == "/oauth/access_token" and request.method in ("GET", "POST"):
                return Response(200, self.auth.access_token(request).encode(), FORM_TYPE)
            if request.path == "/oauth/authorize" and request.method == "GET":
                token = dict(request.params).get("oauth_token", "")
                location, verifier = self.auth.authorize(token)
                if not location:
                    page = f"<html><body>Verification code: {verifier}</body></html>"
                    return Response(200, page.encode(), HTML_TYPE)
                page = f'<html><body>You are being <a href="{location}">redirected</a>.</body>'
                return Response(302, page.encode(), HTML_TYPE, {"Location": location})
        except Unauthorized:
            return message(401, "Unauthorized")
        return not_found()

    # Request log ------------------------------------------------------------

    def _record(self, request: Request, response: Response, fault: Fault | None) -> None:
        entry = {
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "status": None if response.reset else response.status,
            "time": iso(self.clock.now()),
            "fault": fault.kind if fault else None,
        }
        with self._log_lock:
            self._log.append(entry)
            del self._log[:-LOG_LIMIT]

    def requests_log(self) -> list[dict[str, Any]]:
        with self._log_lock:
            return [dict(e) for e in self._log]

    def clear_log(self) -> None:
        with self._log_lock:
            self._log.clear()


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
