"""Receiving a provider's webhook: route it to instances, verify, normalize, and hand the
changes to the capture path (events/capture.py) that polling feeds too.

Deliveries then go out through the normal pipeline: the same message shape, with ``raw`` the
inbound body and up to ``webhooks.batchSize`` (20) events per message, as Cloud Elements did.

Routing finds the candidate instances (by the URL's token, the ``Element-Instances`` header or
the instance finder) and each candidate is verified on its own: the ones whose check passes
take the event, the others are skipped. A request that no candidate accepts gets one answer,
whatever the reason, so answers never tell which tokens or finder values exist.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from functools import reduce
from operator import or_
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings
from django.db import transaction
from django.db.models import Q, TextField
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.db.models.lookups import Exact
from django.utils import timezone

from core.changes import Change
from core.http import redacted_headers
from core.json import DEFAULT_MAX_DEPTH, JSONLimitError, loads_bounded
from events.capture import changes_capture, storable_text
from events.models import InboundWebhook, Source
from integrations.elements import (
    DEFAULT_BATCH_SIZE,
    NormalizationError,
    VerificationError,
    header,
    normalize,
    verify,
)
from integrations.instances import INSTANCE_FINDER, InstanceFinder, event_settings
from integrations.models import Element, Instance
from integrations.query import get_path

log = logging.getLogger(__name__)

MAX_BODY_BYTES = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
MAX_JSON_DEPTH = DEFAULT_MAX_DEPTH
MAX_FORM_FIELDS = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS or 1000
# Tokens one Element-Instances header may name.
MAX_ELEMENT_INSTANCES = 100
# InboundWebhook.delivery_id's length: a longer delivery id is stored as its hash.
MAX_DELIVERY_ID = 200
# The one answer to a request no instance accepts: unknown token, no instance finder match,
# a wrong signature or wrong credentials alike.
NOT_ACCEPTED = (
    "no instance accepts this webhook: check the webhook token in the URL (or the "
    "Element-Instances header, or the value the instance finder reads) and the request's "
    "signature or credentials"
)


class WebhookRejected(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Receipt:
    instances: int = 0
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
    instances = _accepting(spec, _candidates(element, token, headers, payload), headers, body)
    try:
        changes = normalize(spec, element_key=element.key, body=payload, headers=headers)
    except NormalizationError as exc:
        raise WebhookRejected(
            400, f"the body does not match the {element.name} webhook format: {exc}"
        ) from None

    changes = _versioned(changes, payload=payload)
    signature_header = (spec.get("verify") or {}).get("header")
    receipt = Receipt(instances=len(instances))
    with transaction.atomic():
        inbound = InboundWebhook.objects.create(
            element=element,
            received_at=now,
            method=method,
            headers={
                storable_text(name): storable_text(value)
                for name, value in redacted_headers(
                    headers, also=[signature_header] if signature_header else []
                ).items()
            },
            body=storable_text(body.decode("utf-8", errors="replace")),
            delivery_id=_delivery_id(spec, headers),
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


def _versioned(changes: list[Change], *, payload: Any) -> list[Change]:
    """Each change versioned by its content: the request's payload, what the mapping read
    from it, and its place in it. A provider's retry, or a signed body sent again under a
    new delivery id, gets the same versions, so no second event; a new change differs in
    content (its record, its date) and is a new event."""
    content = _digest(payload)
    return [
        dataclasses.replace(change, version=_version(content, index, change))
        for index, change in enumerate(changes)
    ]


def _version(content: str, index: int, change: Change) -> str:
    date = change.date.isoformat() if change.date else None
    read = [change.object_type, change.object_id, change.event_type, date, change.record]
    return "sha256:" + _digest([content, index, *read])


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _delivery_id(spec: dict[str, Any], headers: dict[str, str]) -> str:
    """The provider's delivery id as stored with the request (kept for people to look up):
    one longer than the column is stored as its hash."""
    name = spec.get("deliveryIdHeader")
    value = storable_text(header(headers, name) or "") if name else ""
    if len(value) > MAX_DELIVERY_ID:
        return "sha256:" + hashlib.sha256(value.encode(errors="replace")).hexdigest()
    return value


def _payload(method: str, headers: dict[str, str], body: bytes, query: dict[str, list[str]]) -> Any:
    content_type = (header(headers, "Content-Type") or "").split(";")[0].strip().lower()
    if method == "GET" or (not body and query):
        return _form(query)
    if content_type == "application/x-www-form-urlencoded":
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise WebhookRejected(400, "the form body is not UTF-8") from None
        try:
            fields = parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
        except ValueError:
            raise WebhookRejected(400, f"the form body has over {MAX_FORM_FIELDS} fields") from None
        return _form(fields)
    if not body:
        raise WebhookRejected(400, "the body is empty")
    try:
        return _loads(body)
    except JSONLimitError as exc:
        raise WebhookRejected(400, f"the body is refused: {exc}") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise WebhookRejected(400, f"the body is not valid JSON: {exc}") from None


def _form(values: dict[str, list[str]]) -> dict[str, Any]:
    """Form or query parameters; a value that is JSON (Zendesk sent ``ticket={...}``) is
    decoded, one that only looks like JSON is kept as text."""
    result: dict[str, Any] = {}
    for key, items in values.items():
        decoded = []
        for item in items:
            try:
                decoded.append(_loads(item) if item[:1] in "{[" else item)
            except JSONLimitError as exc:
                raise WebhookRejected(
                    400, f"the value of {key[:100]!r} is refused: {exc}"
                ) from None
            except ValueError:
                decoded.append(item)
        result[key] = decoded[0] if len(decoded) == 1 else decoded
    return result


def _loads(text: str | bytes) -> Any:
    return loads_bounded(text, max_depth=MAX_JSON_DEPTH, max_bytes=MAX_BODY_BYTES)


# Routing -----------------------------------------------------------------------------------


def _accepting(
    spec: dict[str, Any], candidates: list[Instance], headers: dict[str, str], body: bytes
) -> list[Instance]:
    """The candidates whose check passes and that take webhooks. None passing: 401, one
    answer for every reason (the reasons go to the log, for operators)."""
    verified, reasons = [], []
    for instance in candidates:
        try:
            verify(spec, config=instance.config_value, headers=headers, body=body)
        except VerificationError as exc:
            reasons.append(f"instance {instance.pk}: {exc}")
        else:
            verified.append(instance)
    if not verified:
        log.info(
            "Inbound webhook not accepted (%d candidate instances): %s",
            len(candidates),
            "; ".join(reasons) or "no instance has this token or instance finder value",
        )
        raise WebhookRejected(401, NOT_ACCEPTED)
    active = [
        instance
        for instance in verified
        if instance.events_enabled and instance.vendor_type == Instance.VendorType.WEBHOOK
    ]
    if not active:
        # Only a sender that passed the instance's check learns this.
        raise WebhookRejected(
            409,
            "events by webhook are not enabled for this instance "
            "(event.notification.enabled true, event.vendor.type webhook)",
        )
    return active


def _candidates(
    element: Element, token: str | None, headers: dict[str, str], payload: Any
) -> list[Instance]:
    instances = Instance.objects.select_related("element").filter(element=element)
    if token is not None:
        return list(instances.filter(webhook_token=token))
    named = header(headers, "Element-Instances")
    if named:
        tokens = {t.strip() for t in named.split(",") if t.strip()}
        if len(tokens) > MAX_ELEMENT_INSTANCES:
            raise WebhookRejected(
                400, f"the Element-Instances header names over {MAX_ELEMENT_INSTANCES} instances"
            )
        return list(instances.filter(webhook_token__in=tokens))
    return _finder_candidates(element, payload)


def _finder_candidates(element: Element, payload: Any) -> list[Instance]:
    """The instances taking webhooks whose ``event.notification.instance.finder`` value is
    in the body. Instances are matched in the database by their plain configuration, so
    only the candidates' secrets are decrypted (a finder reading a secret key matches every
    instance with that finder, then each is compared)."""
    taking = Instance.objects.select_related("element").filter(
        element=element, events_enabled=True, vendor_type=Instance.VendorType.WEBHOOK
    )
    if element.is_secret_key(INSTANCE_FINDER):
        return [i for i in taking if _finder_matches(i, payload)]
    finders = (
        taking.annotate(finder=KT(f"configuration__{INSTANCE_FINDER}"))
        .exclude(finder=None)
        .order_by()
        .values_list("finder", flat=True)
        .distinct()
    )
    conditions = []
    for stored in finders:
        finder = _finder(element, stored)
        found = get_path(payload, finder.json_path) if finder else None
        if found is None or isinstance(found, dict | list):
            continue
        condition = Q(**{f"configuration__{INSTANCE_FINDER}": stored})
        if not element.is_secret_key(finder.config_key):
            value = Cast(KT(f"configuration__{finder.config_key}"), TextField())
            matches = Q(Exact(value, str(found)))
            if not isinstance(found, str):  # a number or true/false, stored as such
                matches |= Q(**{f"configuration__{finder.config_key}": found})
            condition &= matches
        conditions.append(condition)
    if not conditions:
        return []
    return [i for i in taking.filter(reduce(or_, conditions)) if _finder_matches(i, payload)]


def _finder(element: Element, stored: str) -> InstanceFinder | None:
    """The finder a stored ``event.notification.instance.finder`` value names, read as
    every instance's settings are read."""
    instance = Instance(element=element, configuration={INSTANCE_FINDER: stored})
    return event_settings(instance).instance_finder


def _finder_matches(instance: Instance, payload: Any) -> bool:
    finder = event_settings(instance).instance_finder
    if finder is None:
        return False
    expected = instance.config_value(finder.config_key)
    found = get_path(payload, finder.json_path)
    return expected not in (None, "") and found is not None and str(found) == str(expected)
