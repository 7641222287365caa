"""Injected faults: the next N matching requests misbehave in a chosen way."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from .http import Request

KINDS = ("status", "html", "truncated", "delay", "reset")

HTML_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>Desk.com - Down for maintenance</title></head>"
    "<body><h1>We'll be right back</h1><p>Desk.com is down for maintenance.</p></body></html>\n"
)


@dataclass
class Fault:
    """`kind` is one of:

    - status:    answer `status` with a JSON `{"message": ...}` body, or `body` as given;
                 `html=True` sends an HTML page instead (what a proxy in front would send)
    - html:      200 with an HTML page instead of JSON
    - truncated: the real answer, cut in half (invalid JSON, consistent Content-Length)
    - delay:     wait `delay` real seconds, then answer normally
    - reset:     close the connection without answering
    """

    kind: str = "status"
    path: str | None = None
    query: str | None = None
    method: str | None = None
    times: int | None = 1
    status: int = 500
    body: str | None = None
    html: bool = False
    delay: float = 0.0
    id: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"fault kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be at least 1, or null for every matching request")

    def matches(self, request: Request) -> bool:
        if self.method and self.method.upper() != request.method:
            return False
        if self.path and self.path not in request.path:
            return False
        if self.query:
            wanted = parse_qsl(self.query, keep_blank_values=True)
            have = request.params
            return all(pair in have for pair in wanted)
        return True

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[Fault] = []
        self._next_id = 1

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            fault.id = self._next_id
            self._next_id += 1
            self._pending.append(fault)
            return fault

    def take(self, request: Request) -> Fault | None:
        """The first pending fault matching `request`, used up once."""
        with self._lock:
            for fault in self._pending:
                if fault.matches(request):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times == 0:
                            self._pending.remove(fault)
                    return fault
        return None

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._pending)

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()
