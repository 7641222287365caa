"""Checking a notification's signatures with the rules Tributary signs by
(``events/delivery/signing.py``)."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from standardwebhooks.webhooks import WebhookVerificationError

from events.delivery import elements_signature, standard_webhook

ELEMENTS_HEADER = "Elements-Webhook-Signature"
STANDARD_HEADER = "webhook-signature"


def signature_verify(*, key: str, headers: Mapping[str, str], body: bytes) -> str:
    """Why the signatures do not verify, or "" when both do.

    Both must be present and valid: ``Elements-Webhook-Signature`` (HMAC-SHA256 of the body) and
    the Standard Webhooks ``webhook-id``/``webhook-timestamp``/``webhook-signature`` (which
    also refuses a timestamp more than five minutes off).
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    elements = lowered.get(ELEMENTS_HEADER.lower())
    standard = lowered.get(STANDARD_HEADER)
    if not elements and not standard:
        return (
            f"unsigned: no {ELEMENTS_HEADER} or {STANDARD_HEADER} header; set the instance's "
            "event.notification.signature.key to this inbox's key"
        )
    problems = []
    if not elements:
        problems.append(f"{ELEMENTS_HEADER} is missing")
    elif not hmac.compare_digest(elements.encode(), elements_signature(key, body).encode()):
        problems.append(f"{ELEMENTS_HEADER} does not match the body signed with this inbox's key")
    try:
        standard_webhook(key).verify(body, lowered, json_parse=False)
    except WebhookVerificationError as exc:
        problems.append(f"Standard Webhooks: {exc}")
    except (ValueError, UnicodeDecodeError):  # a malformed signature list or body
        problems.append(f"Standard Webhooks: {STANDARD_HEADER} is malformed")
    return "; ".join(problems)
