"""Plumbing shared by the Apps API views: cursor pagination, permissions, and the schema
hooks that keep the OpenAPI document truthful."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import SAFE_METHODS, BasePermission


class NewestFirst(CursorPagination):
    """Newest first; ``cursor`` from the ``next``/``previous`` links, ``pageSize`` up to 200."""

    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "pageSize"
    max_page_size = 200

    def decode_cursor(self, request):
        """DRF's cursor with its position checked: a crafted one is a 404, not a database
        error."""
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            try:
                instant = parse_datetime(cursor.position)
                valid = instant is not None and instant.astimezone(UTC) is not None
            except (ValueError, OverflowError):
                valid = False
            if not valid:
                raise NotFound(self.invalid_cursor_message)
        return cursor


class ReadOnlyUnlessStaff(BasePermission):
    message = "Only staff can create or change elements."

    def has_permission(self, request, view) -> bool:
        return request.method in SAFE_METHODS or bool(request.user and request.user.is_staff)


# Schema hooks ---------------------------------------------------------------------------

# What any operation may answer besides its documented success.
ERROR_RESPONSES = {
    "400": "The request is invalid; `errors` names every field or configuration key at fault.",
    "401": "No valid credentials: send `Authorization: Token <key>`.",
    "403": "Authenticated, but not allowed to do this (only staff change elements).",
    "404": "No such object, or it belongs to another user.",
    "405": "The method is not allowed on this path.",
    "406": "The Accept header asks for a format the API cannot produce.",
    "413": "The request body is larger than 1 MiB.",
    "415": "The body is not JSON (send `Content-Type: application/json`).",
    "429": "Too many requests for this token; retry after `Retry-After` seconds.",
}
ERROR_SCHEMA = {
    "type": "object",
    "description": "Every API error has this shape.",
    "properties": {
        "message": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["message", "errors"],
}


def without_trailing_slash_routes(endpoints: list[tuple], **kwargs: Any) -> list[tuple]:
    """Document each path once, as Cloud Elements wrote it: without the trailing slash that
    the API also accepts."""
    return [endpoint for endpoint in endpoints if not endpoint[0].endswith("/")]


def with_error_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Add the shared Error schema and the error statuses to every operation."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for code, description in ERROR_RESPONSES.items():
                if code in ("413", "415") and method not in ("post", "put", "patch"):
                    continue
                operation["responses"].setdefault(
                    code, {"description": description, "content": reference}
                )
    return result
