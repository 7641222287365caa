"""Renewing an instance's OAuth 2 access token with its refresh token: before a request when
the token has expired, and once after the provider answers 401."""

from __future__ import annotations

import requests
from django.conf import settings

from core.http import AnswerTooLarge, bounded_request, size_text
from integrations.provider.auth import BearerAuth
from integrations.provider.errors import ProviderError, describe, display_url, excerpt
from integrations.provider.urlguard import UnsafeURL, check_url


def _no_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
    return request


def token_renew(session: requests.Session, bearer: BearerAuth, *, name: str) -> bool:
    """Renew ``bearer``'s token through ``session`` and store the new one; False when
    another worker renewed it meanwhile. ``name`` is the provider's, for messages."""
    used = bearer.access_token
    # Another worker may have renewed the token meanwhile; a refresh token is often
    # single-use, so renewing again with the old one would fail.
    bearer.instance.refresh_from_db(fields=["provider_data"])
    if bearer.access_token != used and not bearer.expired():
        return False
    url = bearer.token_url()
    form = bearer.refresh_form()
    if not form["refresh_token"] or not url:
        raise ProviderError(
            f"The {name} access token of instance {bearer.instance} is no longer "
            f"valid and cannot be renewed (no refresh token or token URL); re-authorize "
            f"the instance.",
            permanent=True,
        )
    where = display_url(url)
    try:
        check_url(url, purpose=f"{name}'s token URL")
        response = bounded_request(
            session,
            "POST",
            url,
            data=form,
            auth=_no_auth,
            seconds=settings.TRIBUTARY_PROVIDER_TIMEOUT,
            max_bytes=settings.TRIBUTARY_OAUTH_MAX_BYTES,
            allow_redirects=False,
        )
    except UnsafeURL as exc:
        raise ProviderError(str(exc), permanent=True) from exc
    except AnswerTooLarge as exc:
        raise ProviderError(
            f"{name} answered POST {where} to renew the access token with more than "
            f"{size_text(exc.max_bytes)}, far more than a token (TRIBUTARY_OAUTH_MAX_BYTES); "
            f"check the element's token URL."
        ) from exc
    except requests.RequestException as exc:
        raise ProviderError(
            f"{name} did not answer POST {where} to renew the access token: {describe(exc)}"
        ) from exc
    try:
        body = response.json() if response.ok else None
    except ValueError:
        body = None
    if not isinstance(body, dict) or not body.get("access_token"):
        text = excerpt(response.text)
        raise ProviderError(
            f"{name} refused to renew the access token ({response.status_code} on "
            f"POST {where}): {text} Re-authorize the instance.",
            status=response.status_code,
            permanent=response.status_code < 500,
            excerpt=text,
        )
    bearer.store(body)
    return True
