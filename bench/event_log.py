"""Event log benchmark: server time of list and detail pages over many deliveries.

    .venv/bin/python bench/event_log.py [--deliveries 200000] [--repeat 5]
    bash scripts/with-test-postgres.sh .venv/bin/python bench/event_log.py

Fills a throwaway database (a temp SQLite file, or a new PostgreSQL database on the
DATABASE_URL server, dropped afterwards) with deliveries spread over 30 days, each with 1-3
events and one attempt, then times whole requests through Django's test client (views,
queries, templates; no network): the first page, a deep page (keyset cursor 3/4 of the way
down), filtered pages and a detail page. Target: under 300 ms each. On PostgreSQL it prints
the plan (EXPLAIN ANALYZE) of each list page's main query.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

from throwaway_db import create_database, drop_database

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 300
SPAN = timedelta(days=30)
BATCH = 2000


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django
    from django.conf import settings

    django.setup()
    settings.DEBUG = False  # no per-statement log while filling


def fill(count: int, seed: int = 7):
    """``count`` deliveries over 5 instances of one owner; returns (staff, owner)."""
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from events.messages import build_message, dumps, event_entry, polling_raw
    from events.models import DeliveryAttempt, Event, EventLog
    from integrations.elements import ELEMENTS_DIR, element_upsert, read_element_file
    from integrations.models import Instance

    rng = random.Random(seed)
    element, _ = element_upsert(definition=read_element_file(ELEMENTS_DIR / "desk.json"))
    users = get_user_model().objects
    staff = users.create_user(username="bench-staff", is_staff=True, is_superuser=True)
    owner = users.create_user(username="bench-owner")
    instances = [
        Instance.objects.create(element=element, owner=owner, name=f"Bench {n}") for n in range(5)
    ]
    now = timezone.now()
    statuses = ["delivered"] * 92 + ["failed"] * 3 + ["retrying"] * 3 + ["queued"] * 2
    created_field = EventLog._meta.get_field("created_at")
    created_field.auto_now_add = False  # the fill sets the past times itself
    try:
        for start in range(0, count, BATCH):
            logs, events, attempts = [], [], []
            for number in range(start, min(start + BATCH, count)):
                instance = instances[number % len(instances)]
                created = now - SPAN * (1 - number / count)
                object_type = "incidents" if rng.random() < 0.7 else "contacts"
                carried = [
                    (str(rng.randrange(1, 50_000)), rng.choice(["CREATED", "UPDATED", "UPDATED"]))
                    for _ in range(rng.randint(1, 3))
                ]
                if rng.random() < 0.001:
                    carried[0] = (carried[0][0], "DELETED")
                records = [
                    {"id": oid, "subject": f"Case {oid}", "status": "open"} for oid, _ in carried
                ]
                entries = [
                    event_entry(
                        instance=instance,
                        object_type=object_type,
                        object_id=oid,
                        event_type=kind,
                        date=created,
                        poll_date=created,
                    )
                    for oid, kind in carried
                ]
                log = EventLog(
                    instance=instance,
                    object_type=object_type,
                    status=rng.choice(statuses),
                    attempt_count=1,
                    last_status_code=200,
                    created_at=created,
                )
                log.body = dumps(
                    build_message(
                        instance=instance,
                        delivery_id=str(log.delivery_id),
                        events=entries,
                        raw=polling_raw(object_type, records, created),
                        created=created,
                    )
                )
                logs.append((log, carried, records))
            with transaction.atomic():
                EventLog.objects.bulk_create([log for log, _, _ in logs])
                for log, carried, records in logs:
                    for index, ((oid, kind), record) in enumerate(
                        zip(carried, records, strict=True)
                    ):
                        events.append(
                            Event(
                                instance=log.instance,
                                event_log=log,
                                object_type=log.object_type,
                                object_id=oid,
                                event_type=kind,
                                event_date=log.created_at,
                                raw=record,
                                version=f"{log.pk}-{index}",
                            )
                        )
                    attempts.append(
                        DeliveryAttempt(
                            event_log=log,
                            started_at=log.created_at,
                            status_code=200,
                            response_body="ok",
                            duration_ms=rng.randint(20, 400),
                            request_headers={"webhook-id": str(log.delivery_id)},
                        )
                    )
                Event.objects.bulk_create(events)
                DeliveryAttempt.objects.bulk_create(attempts)
    finally:
        created_field.auto_now_add = True
    analyze()
    return staff, owner


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def timed(client, url: str, repeat: int) -> tuple[float, float, str, int]:
    """(first ms, median ms, SQL of the slowest query of the last run, query count)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times = []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    slowest = max(queries.captured_queries, key=lambda query: float(query["time"]))
    return times[0], statistics.median(times), slowest["sql"], len(queries)


def explain(sql: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {sql}")
        return "\n".join("    " + row[0] for row in cursor.fetchall())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-explain", action="store_true")
    args = parser.parse_args(argv)
    setup_django()
    from django.db import connection
    from django.test import Client

    from events.eventlog import cursor_of
    from events.models import Event, EventLog

    state = create_database()
    try:
        started = time.perf_counter()
        staff, owner = fill(args.deliveries)
        print(
            f"{connection.vendor}: {EventLog.objects.count():,} deliveries, "
            f"{Event.objects.count():,} events, filled in {time.perf_counter() - started:.0f} s"
        )
        deep = EventLog.objects.order_by("-created_at", "-id")[args.deliveries * 3 // 4]
        middle = EventLog.objects.order_by("-created_at", "-id")[args.deliveries // 2]
        some_id = Event.objects.filter(event_log=middle).values_list("object_id", flat=True)[0]
        pages = [
            ("first page (staff)", staff, "/events/log/"),
            ("first page (owner)", owner, "/events/log/"),
            ("deep page, 3/4 down", staff, f"/events/log/?before={cursor_of(deep)}"),
            ("objectType=contacts", staff, "/events/log/?object_type=contacts"),
            ("eventType=DELETED (rare)", staff, "/events/log/?event_type=DELETED"),
            ("status=failed", staff, "/events/log/?status=failed"),
            ("search objectId", staff, f"/events/log/?q={some_id}"),
            ("detail page", staff, f"/events/log/{middle.pk}/"),
        ]
        clients = {}
        rows = []
        for label, user, url in pages:
            client = clients.get(user.pk)
            if client is None:
                client = clients[user.pk] = Client()
                client.force_login(user)
            first, median, sql, count = timed(client, url, args.repeat)
            flag = "ok" if median < TARGET_MS else "SLOW"
            rows.append((label, first, median, count, flag))
            if connection.vendor == "postgresql" and not args.no_explain and "detail" not in label:
                print(f"\n  {label}: slowest query plan\n{explain(sql)}")
        print(f"\n{'page':28} {'first ms':>9} {'median ms':>10} {'queries':>8}")
        for label, first, median, count, flag in rows:
            print(f"{label:28} {first:9.1f} {median:10.1f} {count:8d}  {flag}")
        return 0 if all(row[4] == "ok" for row in rows) else 1
    finally:
        connection.close()
        drop_database(state)


if __name__ == "__main__":
    sys.exit(main())
