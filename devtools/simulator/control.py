"""/_simulator/*: unauthenticated test controls, so tests in other processes can drive it.

GET    /_simulator/requests         request log: method, path, query, status, time, fault
DELETE /_simulator/requests         clear the log
GET    /_simulator/faults           pending faults
POST   /_simulator/faults           {"kind": "status", "status": 500, "query": "page=2",
                                     "path": "/cases", "method": "GET", "times": 1, ...}
DELETE /_simulator/faults           drop pending faults
GET    /_simulator/clock            {"now": "...Z", "frozen": true}
POST   /_simulator/clock            {"now": ISO | Unix | null, "frozen": true, "advance": 60}
POST   /_simulator/cases            create without validation (timestamps may be given)
PATCH  /_simulator/cases/{id}       update; "system": true moves updated_at only
DELETE /_simulator/cases/{id}       delete, gone from every read (Desk's API cannot: an
                                     operator's purge, for delete reconciliation)
POST   /_simulator/customers        create
PATCH  /_simulator/customers/{id}   update
DELETE /_simulator/customers/{id}   delete (as DELETE /api/v2/customers/{id}, without auth)
POST   /_simulator/reset            back to the start state (data, clock, tokens, faults, log)
"""

from __future__ import annotations

import re
from dataclasses import fields
from typing import Any, Protocol

from .clock import Clock, iso, parse_time
from .faults import Fault, Faults
from .http import Request, Response, json_response, message, not_found
from .store import NotFound, Store, ValidationError

PREFIX = "/_simulator/"
FAULT_FIELDS = {f.name for f in fields(Fault)} - {"id"}


class App(Protocol):
    """What the control endpoints drive: the simulator app (``app.py``), which routes
    ``/_simulator/`` requests here."""

    clock: Clock
    store: Store
    faults: Faults

    def reset(self) -> None: ...

    def requests_log(self) -> list[dict[str, Any]]: ...

    def clear_log(self) -> None: ...


def dispatch(app: App, request: Request) -> Response:
    path = request.path[len(PREFIX) :].rstrip("/")
    try:
        body = request.json() if request.method in ("POST", "PATCH") else {}
    except ValueError:
        return message(400, "Request body must be JSON")
    if not isinstance(body, dict):
        return message(400, "Request body must be a JSON object")
    try:
        return _route(app, request.method, path, body)
    except ValidationError as exc:
        return json_response(422, {"message": "Validation Failed", "errors": exc.errors})
    except NotFound:
        return not_found()
    except (TypeError, ValueError) as exc:
        return message(400, str(exc))


def _route(app: App, method: str, path: str, body: dict[str, Any]) -> Response:
    record = re.fullmatch(r"(cases|customers)/(\d+)", path)
    match method, path:
        case "GET", "requests":
            return json_response(200, {"requests": app.requests_log()})
        case "DELETE", "requests":
            app.clear_log()
            return Response(204, content_type=None)
        case "GET", "faults":
            return json_response(200, {"faults": [f.as_dict() for f in app.faults.pending()]})
        case "POST", "faults":
            unknown = set(body) - FAULT_FIELDS
            if unknown:
                raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
            return json_response(201, app.faults.add(Fault(**body)).as_dict())
        case "DELETE", "faults":
            app.faults.clear()
            return Response(204, content_type=None)
        case "GET", "clock":
            return _clock(app)
        case "POST", "clock":
            if "now" in body:
                now = body["now"]
                frozen = bool(body.get("frozen", True))
                app.clock.set(None if now is None else parse_time(now), frozen=frozen)
            if "advance" in body:
                app.clock.advance(float(body["advance"]))
            return _clock(app)
        case "POST", "reset":
            app.reset()
            return _clock(app)
        case "POST", "cases":
            return json_response(201, app.store.create_case(body, strict=False))
        case "POST", "customers":
            return json_response(201, app.store.create_customer(body, raw=True))
        case "PATCH", _ if record and record[1] == "cases":
            by_user = not body.pop("system", False)
            return json_response(
                200, app.store.update_case(int(record[2]), body, by_user=by_user, raw=True)
            )
        case "PATCH", _ if record:
            return json_response(200, app.store.update_customer(int(record[2]), body, raw=True))
        case "DELETE", _ if record:
            app.store.delete(record[1], int(record[2]))
            return Response(204, content_type=None)
    return not_found()


def _clock(app: App) -> Response:
    return json_response(200, {"now": iso(app.clock.now()), "frozen": app.clock.frozen})
