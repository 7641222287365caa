"""Talking to a provider's API: one authenticated, guarded session per instance
(``session.py``, ``auth.py``, ``urlguard.py``), requests and paging (``client.py``,
``pagination.py``), when a request is sent again (``retries.py``), OAuth 2 token renewal
(``renewal.py``), what went wrong (``errors.py``) and the OAuth flows that provision an
instance (``oauth.py``)."""

from __future__ import annotations

from integrations.provider.client import ProviderClient
from integrations.provider.errors import PageCapReached, ProviderError, connection_problem
from integrations.provider.oauth import (
    OAuthError,
    oauth1_authorize_url,
    oauth1_request_token,
    oauth2_authorize_url,
    provider_data_provision,
)
from integrations.provider.retries import parse_wait
from integrations.provider.session import USER_AGENT
from integrations.provider.urlguard import UnsafeURL, guarded_session, url_problems

__all__ = [
    "USER_AGENT",
    "OAuthError",
    "PageCapReached",
    "ProviderClient",
    "ProviderError",
    "UnsafeURL",
    "connection_problem",
    "guarded_session",
    "oauth1_authorize_url",
    "oauth1_request_token",
    "oauth2_authorize_url",
    "parse_wait",
    "provider_data_provision",
    "url_problems",
]
