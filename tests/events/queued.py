"""Running what the web queued, as a worker would, in this process."""

from __future__ import annotations

from django.utils.module_loading import import_string
from django_q.models import OrmQ


def run_queued_tasks() -> int:
    """Run each task waiting in the broker, oldest first; returns how many ran."""
    ran = 0
    for queued in OrmQ.objects.order_by("id"):
        task = queued.task
        import_string(task["func"])(*task["args"], **task["kwargs"])
        queued.delete()
        ran += 1
    return ran
