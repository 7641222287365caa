"""The inbox in the admin: records, read only."""

from __future__ import annotations

from django.contrib import admin

from core.admin import ReadOnlyAdminMixin
from devtools.inbox.models import Inbox, InboxMessage


@admin.register(Inbox)
class InboxAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("name", "created_at")
    # The signature key is not shown: it is a secret like the instance's.
    fields = ("name", "created_at")


@admin.register(InboxMessage)
class InboxMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("received_at", "inbox", "verified", "delivery_id")
    list_filter = ("inbox", "verified")
    fields = ("inbox", "received_at", "verified", "verification_error", "headers", "body")
    readonly_fields = fields
