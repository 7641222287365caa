"""Helpers for the Apps API tests: token-authenticated clients and the Desk instance JSON."""

from __future__ import annotations

from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from devtools.examples import desk_instance_json

__all__ = ["BASE", "DESK_INSTANCE", "MASK", "SINCE", "desk_instance_json"]

BASE = "/elements/api-v2"
MASK = "********"
SINCE = "'${date:yyyy-MM-dd'T'HH:mm:ssXXX}'"

# Cloud Elements' Desk example instance JSON (reference section 2b), with a site.
DESK_INSTANCE = desk_instance_json()


def client_for(user=None) -> APIClient:
    """An API client authenticated with ``user``'s token (anonymous without a user)."""
    cache.clear()  # throttle counters: every test starts with a full allowance
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def create_instance(client: APIClient, data: dict | None = None) -> dict:
    response = client.post(f"{BASE}/instances", data or DESK_INSTANCE, format="json")
    assert response.status_code == 201, response.content
    return response.json()
