"""Receiving a provider's webhook: route it to instances, verify, normalize, and hand the
changes to the capture path (events/capture.py) that polling feeds too.

Deliveries then go out through the normal pipeline: the same message shape, with ``raw`` the
inbound body and up to ``webhooks.batchSize`` (20) events per message, as Cloud Elements did.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from django.db import transaction
from django.utils import timezone

from core.changes import Change
from core.http import redacted_headers
from events.capture import changes_capture
from events.models import InboundWebhook, Source
from integrations.elements import (
    DEFAULT_BATCH_SIZE,
    NormalizationError,
    VerificationError,
    header,
    normalize,
    verify,
)
from integrations.instances import event_settings
from integrations.models import Element, Instance
from integrations.query import get_path

MAX_BODY_BYTES = 1024 * 1024


class WebhookRejected(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Receipt:
    instances: list[int] = field(default_factory=list)
    events: int = 0
    duplicates: int = 0
    event_log_ids: list[int] = field(default_factory=list)


def webhook_receive(
    *,
    element_key: str,
    token: str | None,
    method: str,
    headers: dict[str, str],
    body: bytes,
    query: dict[str, list[str]],
    now: datetime | None = None,
) -> Receipt:
    """Process one inbound request; raises WebhookRejected with the HTTP status to answer."""
    now = now or timezone.now()
    element = Element.objects.filter(key=element_key).first()
    spec = element.definition.get("webhooks") if element else None
    if element is None or not spec:
        raise WebhookRejected(404, f"no element {element_key!r} accepts webhooks here")
    if len(body) > MAX_BODY_BYTES:
        raise WebhookRejected(413, f"the body is over {MAX_BODY_BYTES} bytes")
    payload = _payload(method, headers, body, query)
    instances = _route(element, token, headers, payload)
    for instance in instances:
        try:
            verify(spec, config=instance.config_value, headers=headers, body=body)
        except VerificationError as exc:
            raise WebhookRejected(401, f"verification failed: {exc}") from None
    try:
        changes = normalize(spec, element_key=element.key, body=payload, headers=headers)
    except NormalizationError as exc:
        raise WebhookRejected(
            400, f"the body does not match the {element.name} webhook format: {exc}"
        ) from None

    delivery_id = (
        header(headers, spec.get("deliveryIdHeader", "")) if spec.get("deliveryIdHeader") else None
    )
    changes = _versioned(changes, delivery_id=delivery_id, body=body)
    signature_header = (spec.get("verify") or {}).get("header")
    receipt = Receipt(instances=[instance.pk for instance in instances])
    with transaction.atomic():
        inbound = InboundWebhook.objects.create(
            element=element,
            received_at=now,
            method=method,
            headers=redacted_headers(headers, also=[signature_header] if signature_header else []),
            body=body.decode("utf-8", errors="replace"),
            delivery_id=delivery_id or "",
        )
        for instance in instances:
            captured = changes_capture(
                instance=instance,
                changes=changes,
                source=Source.WEBHOOK,
                now=now,
                batch_size=spec.get("batchSize", DEFAULT_BATCH_SIZE),
                raw=lambda batch: payload,
                inbound=inbound,
            )
            receipt.events += captured.stored
            receipt.duplicates += captured.duplicates
            receipt.event_log_ids += captured.event_log_ids
    return receipt


def _versioned(changes: list[Change], *, delivery_id: str | None, body: bytes) -> list[Change]:
    """Each change versioned by the provider's delivery id (or the body's hash) and its
    place in the body: a provider's retry of the same delivery gets the same versions, so
    no second event."""
    source_id = delivery_id or "sha256:" + hashlib.sha256(body).hexdigest()[:32]
    return [
        dataclasses.replace(change, version=f"{source_id}:{index}")
        for index, change in enumerate(changes)
    ]


def _payload(method: str, headers: dict[str, str], body: bytes, query: dict[str, list[str]]) -> Any:
    content_type = (header(headers, "Content-Type") or "").split(";")[0].strip().lower()
    if method == "GET" or (not body and query):
        return _form(query)
    if content_type == "application/x-www-form-urlencoded":
        try:
            return _form(parse_qs(body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            raise WebhookRejected(400, "the form body is not UTF-8") from None
    if not body:
        raise WebhookRejected(400, "the body is empty")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookRejected(400, f"the body is not valid JSON: {exc}") from None


def _form(values: dict[str, list[str]]) -> dict[str, Any]:
    """Form or query parameters; a value that is JSON (Zendesk sent ``ticket={...}``) is
    decoded."""
    result: dict[str, Any] = {}
    for key, items in values.items():
        decoded = []
        for item in items:
            try:
                decoded.append(json.loads(item) if item[:1] in "{[" else item)
            except ValueError:
                decoded.append(item)
        result[key] = decoded[0] if len(decoded) == 1 else decoded
    return result


def _route(
    element: Element, token: str | None, headers: dict[str, str], payload: Any
) -> list[Instance]:
    instances = Instance.objects.select_related("element").filter(element=element)
    if token is not None:
        chosen = list(instances.filter(webhook_token=token))
        if not chosen:
            raise WebhookRejected(404, "no instance has this webhook token")
    elif header(headers, "Element-Instances"):
        tokens = [t.strip() for t in header(headers, "Element-Instances").split(",") if t.strip()]
        chosen = list(instances.filter(webhook_token__in=tokens))
        if len(chosen) != len(set(tokens)):
            raise WebhookRejected(404, "an Element-Instances token names no instance")
    else:
        chosen = [i for i in instances.filter(events_enabled=True) if _finder_matches(i, payload)]
        if not chosen:
            raise WebhookRejected(
                404,
                "no instance matches this webhook "
                "(token, Element-Instances header or instance finder)",
            )
    active = [
        instance
        for instance in chosen
        if instance.events_enabled and instance.vendor_type == Instance.VendorType.WEBHOOK
    ]
    if not active:
        raise WebhookRejected(
            409,
            "events by webhook are not enabled for this instance "
            "(event.notification.enabled true, event.vendor.type webhook)",
        )
    return active


def _finder_matches(instance: Instance, payload: Any) -> bool:
    finder = event_settings(instance).instance_finder
    if finder is None:
        return False
    expected = instance.config_value(finder.config_key)
    found = get_path(payload, finder.json_path)
    return expected not in (None, "") and found is not None and str(found) == str(expected)
