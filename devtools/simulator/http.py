"""Transport-neutral request and response values passed between server and handlers."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

JSON_TYPE = "application/json; charset=utf-8"


@dataclass
class Request:
    method: str
    path: str
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    host: str = "127.0.0.1"

    @property
    def params(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query, keep_blank_values=True)

    def header(self, name: str) -> str:
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), "")

    def json(self) -> Any:
        """The JSON body; raises ValueError when it is not JSON."""
        if not self.body.strip():
            return {}
        return json.loads(self.body)


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    # Set by fault injection: close the socket instead of answering.
    reset: bool = False


def json_response(status: int, payload: Any, *, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(payload, separators=(",", ":")).encode()
    extra = dict(headers or {})
    if status >= 400:
        extra.setdefault("Cache-Control", "no-cache")
    elif status == 200:
        extra.setdefault("ETag", '"' + hashlib.md5(body, usedforsecurity=False).hexdigest() + '"')
    return Response(status, body, JSON_TYPE, extra)


def message(status: int, text: str) -> Response:
    return json_response(status, {"message": text})


def not_found() -> Response:
    return message(404, "Resource Not Found")


def method_not_allowed() -> Response:
    return message(405, "Method Not Allowed")
