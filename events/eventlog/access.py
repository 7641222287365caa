"""Who sees what in the event log: staff see everything, other users what they own."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Exists, OuterRef, QuerySet

from events.models import EventLog
from integrations.models import Instance

User = AbstractBaseUser | AnonymousUser


def deliveries_visible(*, user: User) -> QuerySet[EventLog]:
    """Staff see every delivery; other users those of the instances they own."""
    rows = EventLog.objects.all()
    if not getattr(user, "is_staff", False):
        # EXISTS rather than a join, so the newest-first index drives the scan (SQLite would
        # otherwise read all of the owner's deliveries by instance and sort them).
        owned = Instance.objects.filter(pk=OuterRef("instance_id"), owner_id=user.pk)
        rows = rows.filter(Exists(owned))
    return rows


def instances_visible(*, user: User) -> QuerySet[Instance]:
    rows = Instance.objects.select_related("element").order_by("name", "id")
    if not getattr(user, "is_staff", False):
        rows = rows.filter(owner_id=user.pk)
    return rows
