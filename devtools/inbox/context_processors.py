from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def inbox(request: HttpRequest) -> dict[str, bool]:
    return {"inbox_enabled": settings.TRIBUTARY_INBOX_ENABLED}
