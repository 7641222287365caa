"""Receiving a provider's webhook: route it to instances, verify, normalize, store events.

Deliveries then go out through the normal pipeline: the same message shape, with ``raw`` the
inbound body and up to ``webhooks.batchSize`` (20) events per message, as Cloud Elements did.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from django.db import transaction
from django.utils import timezone

from events.delivery import initial_status
from events.messages import build_message, dumps, event_entry
from events.models import Event, EventLog, InboundWebhook, Source
from integrations.elements.inbound import (
    DEFAULT_BATCH_SIZE,
    Change,
    NormalizationError,
    VerificationError,
    header,
    normalize,
    verify,
)
from integrations.models import Element, Instance
from integrations.query.paths import get_path

MAX_BODY_BYTES = 1024 * 1024
SECRET_HEADERS = {"authorization", "cookie", "proxy-authorization"}
INSTANCE_FINDER = "event.notification.instance.finder"


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
    receipt = Receipt(instances=[instance.pk for instance in instances])
    with transaction.atomic():
        inbound = InboundWebhook.objects.create(
            element=element,
            received_at=now,
            method=method,
            headers=_redacted(headers, spec),
            body=body.decode("utf-8", errors="replace"),
            delivery_id=delivery_id or "",
        )
        for instance in instances:
            _store(instance, changes, payload, inbound, receipt, spec, delivery_id, body, now)
    return receipt


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
    finder = instance.configuration.get(INSTANCE_FINDER) or ""
    config_key, _, json_path = str(finder).partition("|")
    if not config_key or not json_path:
        return False
    expected = instance.config_value(config_key)
    found = get_path(payload, json_path)
    return expected not in (None, "") and found is not None and str(found) == str(expected)


def _redacted(headers: dict[str, str], spec: dict) -> dict[str, str]:
    hidden = set(SECRET_HEADERS)
    signature = (spec.get("verify") or {}).get("header")
    if signature:
        hidden.add(signature.lower())
    return {
        name: "<redacted>" if name.lower() in hidden else value for name, value in headers.items()
    }


def _store(
    instance: Instance,
    changes: list[Change],
    payload: Any,
    inbound: InboundWebhook,
    receipt: Receipt,
    spec: dict,
    delivery_id: str | None,
    body: bytes,
    now: datetime,
) -> None:
    # A provider's retry of the same delivery gets the same versions, so no second event.
    source_id = delivery_id or "sha256:" + hashlib.sha256(body).hexdigest()[:32]
    versioned = [(change, f"{source_id}:{index}") for index, change in enumerate(changes)]
    existing = set(
        Event.objects.filter(
            instance=instance, version__in=[version for _, version in versioned]
        ).values_list("object_type", "object_id", "version")
    )
    fresh = [
        (change, version)
        for change, version in versioned
        if (change.object_type, change.object_id, version) not in existing
    ]
    receipt.duplicates += len(versioned) - len(fresh)
    size = int(spec.get("batchSize", DEFAULT_BATCH_SIZE))
    for offset in range(0, len(fresh), size):
        batch = fresh[offset : offset + size]
        delivery = str(uuid.uuid4())
        entries = [
            event_entry(
                instance=instance,
                object_type=change.object_type,
                object_id=change.object_id,
                event_type=change.event_type,
                date=change.date or now,
                poll_date=None,
            )
            for change, _ in batch
        ]
        message = build_message(
            instance=instance, delivery_id=delivery, events=entries, raw=payload, created=now
        )
        event_log = EventLog.objects.create(
            instance=instance,
            delivery_id=delivery,
            source=Source.WEBHOOK,
            object_type=",".join(sorted({change.object_type for change, _ in batch})),
            body=dumps(message),
            status=initial_status(instance),
            next_attempt_at=now,
        )
        Event.objects.bulk_create(
            Event(
                instance=instance,
                event_log=event_log,
                inbound=inbound,
                object_type=change.object_type,
                object_id=change.object_id,
                event_type=change.event_type,
                event_date=change.date or now,
                raw=change.record if isinstance(change.record, dict) else {"value": change.record},
                source=Source.WEBHOOK,
                version=version,
            )
            for change, version in batch
        )
        receipt.events += len(batch)
        receipt.event_log_ids.append(event_log.pk)
