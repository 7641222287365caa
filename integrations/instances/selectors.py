"""Which instances a user may see and change."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from integrations.models import Instance


def instances_visible_to(*, user: Any) -> QuerySet[Instance]:
    """The instances ``user`` may see and change: their own, or all of them for staff."""
    instances = Instance.objects.select_related("element")
    return instances if user.is_staff else instances.filter(owner=user)
