"""One JSON error shape for the Apps API, whatever went wrong:

    {"message": "<what was wrong and what to do>", "errors": {"<field or key path>": ["..."]}}

``errors`` names the exact key at fault (``configuration.event.poller.configuration.incidents
.url``) and is ``{}`` when no single field is to blame (401, 404, 405, 415, 429, ...).
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.views import exception_handler as drf_exception_handler

from integrations.elements import InvalidDefinition
from integrations.instances import InstanceJSONError
from integrations.provider import OAuthError

NON_FIELD = "non_field_errors"
# Instance JSON keys outside ``configuration``; any other key path is a configuration key.
TOP_LEVEL = re.compile(r"^(name|tags|providerData|element|configuration)(\[|\.|$)")
# "<key path>: <problem>": a key path has no whitespace.
KEY_PATH = re.compile(r"^(\S+?): (.+)$", re.DOTALL)


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "request_too_large"


class ProviderRefused(APIException):
    """An OAuth step failed at the provider; the app's credentials or site are the usual cause."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "provider_refused"


def error_body(message: str, errors: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {"message": message, "errors": errors or {}}


def keyed_errors(messages: list[str], *, prefix_configuration: bool) -> dict[str, list[str]]:
    """``<key path>: <problem>`` messages as field errors. With ``prefix_configuration``
    (instance JSON) a configuration key path gets the ``configuration.`` prefix."""
    errors: dict[str, list[str]] = {}
    for message in messages:
        match = KEY_PATH.match(message)
        if match is None:
            errors.setdefault(NON_FIELD, []).append(message)
            continue
        key, problem = match.groups()
        if prefix_configuration and not TOP_LEVEL.match(key):
            key = f"configuration.{key}"
        errors.setdefault(key, []).append(problem)
    return errors


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested validation detail as ``{"dotted.path": [messages]}``."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        flat = {}
        for index, value in enumerate(detail):
            flat.update(_flatten(value, f"{prefix}[{index}]"))
        return flat
    items = detail if isinstance(detail, list) else [detail]
    return {prefix or NON_FIELD: [str(item) for item in items]}


def _summary(errors: dict[str, list[str]]) -> str:
    parts = [
        message if key == NON_FIELD else f"{key}: {message}"
        for key, messages in errors.items()
        for message in messages
    ]
    return "; ".join(parts) or "The request is invalid."


def exception_handler(exc: Exception, context: dict[str, Any]):
    """DRF's EXCEPTION_HANDLER: every API error in the shape above."""
    if isinstance(exc, InstanceJSONError):
        errors = keyed_errors(exc.errors, prefix_configuration=True)
        exc = ValidationError(errors)
    elif isinstance(exc, InvalidDefinition):
        exc = ValidationError(keyed_errors(exc.errors, prefix_configuration=False))
    elif isinstance(exc, OAuthError):
        exc = ProviderRefused(str(exc))
    elif isinstance(exc, RequestDataTooBig):
        # DRF reads JSON bodies through HttpRequest.body, which enforces the limit.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        exc = RequestTooLarge(f"The request body is larger than {limit} bytes; send less.")
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # an unexpected error: Django reports it as a 500
    if isinstance(exc, ValidationError):
        errors = _flatten(exc.detail)
        response.data = error_body(_summary(errors), errors)
    else:
        detail = getattr(exc, "detail", None)
        if detail is None and isinstance(response.data, dict):
            detail = response.data.get("detail", "")
        response.data = error_body(_plain(str(detail or response.status_text)))
    return response


# What the API calls each model in its messages; Django's 404 names the model class.
RESOURCE_NAMES = {
    "Instance": "instance",
    "Element": "element",
    "EventLog": "delivery",
    "Event": "event",
    "PollerObject": "poller",
    "InboundWebhook": "inbound webhook",
    "DeliveryAttempt": "delivery attempt",
}
_NO_MATCH = re.compile(r"^No (\w+) matches the given query\.$")


def _plain(message: str) -> str:
    """A message in the API's words: ``get_object_or_404``'s "No EventLog matches the given
    query." becomes "No delivery with that id is visible to you."
    """
    match = _NO_MATCH.match(message)
    if match is None:
        return message
    name = RESOURCE_NAMES.get(match[1], "resource")
    by = {"element": "key", "poller": "name"}.get(name, "id")
    return f"No {name} with that {by} is visible to you."


@csrf_exempt  # a JSON 404 for any method: CSRF's HTML 403 would hide it
def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Any unknown path under the API base: 404 as JSON, not Django's HTML page."""
    return JsonResponse(
        error_body(f"No API resource at {request.path}; see the schema at /elements/api-v2/docs/."),
        status=404,
    )
