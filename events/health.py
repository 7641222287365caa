"""``GET /healthz``: is the database answering, the task broker reachable and the worker's
heartbeat fresh? 200 when all are, 503 naming the part that is not.

A fresh installation whose worker has not beaten yet answers 200 with status "starting"
for a few minutes (events/heartbeat.py), so a deployment is not failed before its worker's
first minute.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from events.heartbeat import heartbeat_check
from events.tasks import broker_queue_size

log = logging.getLogger(__name__)


def database_check() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"status": "ok"}


def broker_check() -> dict:
    return {"status": "ok", "queued": broker_queue_size()}


def _run(name: str, check: Callable[[], dict]) -> dict:
    try:
        return check()
    except Exception as exc:
        log.exception("health check %s failed", name, extra={"check": name})
        # The endpoint is public: the exception's text (hosts, users) only in debug.
        detail = f"{type(exc).__name__}: {exc}" if settings.DEBUG else type(exc).__name__
        return {"status": "failing", "error": f"{detail} (details in the server log)"}


def health_report(*, now: datetime) -> dict:
    checks = {
        "database": _run("database", database_check),
        "broker": _run("broker", broker_check),
        "scheduler": _run("scheduler", lambda: heartbeat_check(now=now)),
    }
    failing = [name for name, check in checks.items() if check["status"] == "failing"]
    if failing:
        return {"status": "failing", "failing": failing, "checks": checks}
    starting = any(check["status"] == "starting" for check in checks.values())
    return {"status": "starting" if starting else "ok", "checks": checks}


@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    report = health_report(now=timezone.now())
    return JsonResponse(report, status=503 if report["status"] == "failing" else 200)
