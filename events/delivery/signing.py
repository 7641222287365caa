"""What a delivery's request carries: Cloud Elements' and Standard Webhooks' signatures over
the exact body, the delivery id, Basic auth and the app's extra headers."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

from core.http import delivery_headers_shown
from events.models import EventLog
from integrations.instances import event_settings
from integrations.provider import USER_AGENT

STANDARD_WEBHOOKS_PREFIX = "whsec_"


class RequestProblem(Exception):
    """The request cannot be built as the instance is configured; the message says which
    setting and why, without quoting a secret."""


def elements_signature(key: str, body: bytes) -> str:
    """Cloud Elements' ``Elements-Webhook-Signature``: sha256= + base64 HMAC-SHA256."""
    digest = hmac.new(key.encode(), body, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def standard_webhook(key: str) -> Webhook:
    """The Standard Webhooks signer: a ``whsec_`` key is base64 after the prefix; any
    other key is used as its UTF-8 bytes, the same key as the Elements signature."""
    if key.startswith(STANDARD_WEBHOOKS_PREFIX):
        return Webhook(key)
    return Webhook(key.encode())


def request_headers(event_log: EventLog, body: bytes, *, now: datetime) -> dict[str, str]:
    """The headers of the delivery's request. Raises RequestProblem when a setting it is
    built from is not valid (a row saved before that setting was checked): sending without
    the configured headers, signatures or Basic auth would be sending something else."""
    configured = event_settings(event_log.instance)
    if configured.delivery_problems:
        raise RequestProblem(
            "not sent: "
            + "; ".join(configured.delivery_problems)
            + ". Correct the instance's settings; the delivery is retried as scheduled."
        )
    delivery_id = str(event_log.delivery_id)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Elements-Webhook-Id": delivery_id,
    }
    headers.update({str(name): str(value) for name, value in configured.callback_headers.items()})
    if configured.signature_key:
        timestamp = now.astimezone(UTC)
        headers["Elements-Webhook-Signature"] = elements_signature(configured.signature_key, body)
        headers["webhook-id"] = delivery_id
        headers["webhook-timestamp"] = str(int(timestamp.timestamp()))
        headers["webhook-signature"] = standard_webhook(configured.signature_key).sign(
            msg_id=delivery_id, timestamp=timestamp, data=body.decode()
        )
    if configured.basic_username:
        credentials = f"{configured.basic_username}:{configured.basic_password}"
        headers["Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode()
    return headers


def redacted(headers: dict[str, str]) -> dict[str, str]:
    """The headers as an attempt records them: Tributary's own as sent; Basic auth and the
    app's callback headers, which are secrets, as ``<redacted>``."""
    return delivery_headers_shown(headers)
