"""Recording what an inbox receives, and reading it back."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from django.db.models import QuerySet

from core.http import redacted_headers as redacted
from devtools.inbox.models import Inbox, InboxMessage
from devtools.inbox.signatures import signature_verify

# A development tool left running keeps only the latest messages of each inbox.
MAX_MESSAGES = 1000


def message_receive(
    *, inbox: Inbox, headers: Mapping[str, str], body: bytes, now: datetime
) -> InboxMessage:
    error = signature_verify(key=inbox.signature_key, headers=headers, body=body)
    message = InboxMessage.objects.create(
        inbox=inbox,
        received_at=now,
        headers=redacted(dict(headers)),
        body=body.decode("utf-8", errors="replace"),
        verified=not error,
        verification_error=error,
    )
    stale = inbox.messages.order_by("-received_at", "-pk").values_list("pk", flat=True)[
        MAX_MESSAGES:
    ]
    InboxMessage.objects.filter(pk__in=list(stale)).delete()
    return message


def messages_recent(*, inbox: str = "", limit: int = 200) -> QuerySet[InboxMessage]:
    messages = InboxMessage.objects.select_related("inbox")
    if inbox:
        messages = messages.filter(inbox__name=inbox)
    return messages.order_by("-received_at", "-pk")[:limit]
