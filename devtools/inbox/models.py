"""The callback inbox, a development tool: a local endpoint that records the notifications it
receives and checks their signatures, so a demo needs no app of its own."""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

from django.db import models

from integrations.crypto import EncryptedJSONField


def new_signature_key() -> str:
    # A Standard Webhooks secret: any Standard Webhooks library verifies with it as given.
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


class Inbox(models.Model):
    name = models.SlugField(max_length=64, unique=True)
    # The instance's event.notification.signature.key; a JSON string, encrypted at rest.
    signature_key = EncryptedJSONField(default=new_signature_key)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "inboxes"

    def __str__(self) -> str:
        return self.name


class InboxMessage(models.Model):
    inbox = models.ForeignKey(Inbox, on_delete=models.CASCADE, related_name="messages")
    received_at = models.DateTimeField()
    headers = models.JSONField(default=dict)
    body = models.TextField(blank=True)
    verified = models.BooleanField(default=False)
    verification_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [models.Index(fields=["inbox", "-received_at"], name="inboxmessage_recent_idx")]

    def __str__(self) -> str:
        return f"{self.inbox.name} {self.received_at:%Y-%m-%d %H:%M:%S}"

    def header(self, name: str) -> str:
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), "")

    @property
    def delivery_id(self) -> str:
        return self.header("Elements-Webhook-Id") or self.header("webhook-id")

    @property
    def events(self) -> list[dict[str, Any]]:
        """The notification's events (objectType, eventType, objectId); none when the body is
        not a Tributary notification."""
        try:
            message = json.loads(self.body).get("message") or {}
            events = message.get("events") or []
        except (ValueError, AttributeError):
            return []
        return [event for event in events if isinstance(event, dict)]

    @property
    def pretty_body(self) -> str:
        try:
            return json.dumps(json.loads(self.body), indent=2, ensure_ascii=False)
        except ValueError:
            return self.body
