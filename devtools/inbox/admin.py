"""The inbox in the admin: records, read only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from devtools.inbox.models import Inbox, InboxMessage


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser


@admin.register(Inbox)
class InboxAdmin(ReadOnly):
    list_display = ("name", "created_at")
    # The signature key is not shown: it is a secret like the instance's.
    fields = ("name", "created_at")


@admin.register(InboxMessage)
class InboxMessageAdmin(ReadOnly):
    list_display = ("received_at", "inbox", "verified", "delivery_id")
    list_filter = ("inbox", "verified")
    fields = ("inbox", "received_at", "verified", "verification_error", "headers", "body")
    readonly_fields = fields
