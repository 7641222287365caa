"""What ``manage.py tributary_status`` reports: instances, pollers, deliveries, the worker's
heartbeat, and the problems among them."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count

from events.delivery import deliveries_due
from events.heartbeat import heartbeat_check
from events.models import EventLog
from events.scheduling import pollers_due
from integrations.instances import pollers_stalled
from integrations.models import Instance, PollerObject

DUE_LIMIT = 10_000


def status_summary(*, now: datetime) -> dict:
    suspended = list(
        Instance.objects.filter(notifications_suspended_at__isnull=False).order_by("pk")
    )
    stalled = pollers_stalled(now=now)
    by_status = dict(EventLog.objects.order_by().values_list("status").annotate(count=Count("id")))
    scheduler = heartbeat_check(now=now)
    problems = [
        f"poller {poller.name} of instance #{poller.instance_id} is stalled: {reason}"
        for poller, reason in stalled
    ]
    problems += [
        f"notifications of instance #{instance.pk} are suspended: "
        f"{instance.notifications_suspended_reason or 'no reason recorded'}"
        for instance in suspended
    ]
    failed = by_status.get(EventLog.Status.FAILED, 0)
    if failed:
        problems.append(f"{failed} deliveries failed (redeliver them or let them age out)")
    if scheduler["status"] == "failing":
        problems.append(f"worker heartbeat: {scheduler['error']}")
    return {
        "instances": {
            "total": Instance.objects.count(),
            "eventsEnabled": Instance.objects.filter(events_enabled=True).count(),
            "notificationsSuspended": [
                {
                    "id": instance.pk,
                    "name": instance.name,
                    "since": instance.notifications_suspended_at.isoformat(),
                    "reason": instance.notifications_suspended_reason,
                }
                for instance in suspended
            ],
        },
        "pollers": {
            "total": PollerObject.objects.count(),
            "enabled": PollerObject.objects.filter(enabled=True).count(),
            "due": pollers_due(now=now).count(),
            "stalled": [
                {
                    "id": poller.pk,
                    "instanceId": poller.instance_id,
                    "instance": poller.instance.name,
                    "name": poller.name,
                    "reason": reason,
                    "lastError": poller.last_error,
                    "lastSuccessDate": (
                        poller.last_success_at.isoformat() if poller.last_success_at else None
                    ),
                }
                for poller, reason in stalled
            ],
        },
        "deliveries": {
            **{status: by_status.get(status, 0) for status in EventLog.Status.values},
            "dueNow": len(deliveries_due(now=now, limit=DUE_LIMIT)),
        },
        "scheduler": scheduler,
        "problems": problems,
    }
