"""Polling ingest benchmark: one real poll of N Desk cases, against a raw bound.

    .venv/bin/python bench/poll_ingest.py [--records 20000] [--page-size 100]
    bash scripts/with-test-postgres.sh .venv/bin/python bench/poll_ingest.py

Runs on a throwaway database (a temp SQLite file, or a dedicated PostgreSQL database created
and dropped on the DATABASE_URL server). The Desk simulator runs in a child process, so the
figures for memory are Tributary's alone. See bench/README.md.
"""

from __future__ import annotations

import argparse
import bisect
import json
import multiprocessing
import os
import resource
import statistics
import sys
import time
import tracemalloc
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from throwaway_db import create_database, database_label, drop_database

ROOT = Path(__file__).resolve().parent.parent
BASELINE = datetime(2024, 1, 1, tzinfo=UTC)
INCIDENTS = "incidents"
SINCE = "'${date:yyyy-MM-dd'T'HH:mm:ssXXX}'"
MB = 1024 * 1024


# The simulator, in a child process ------------------------------------------------------


def serve_simulator(conn, records: int, per_second: int, stock_search: bool) -> None:
    """Create ``records`` cases dated after BASELINE, at most ``per_second`` a second, serve
    them until the parent says stop."""
    from devtools.simulator import DeskSimulator

    sim = DeskSimulator(seed_cases=0, seed_customers=1, rate_limit=10**9, now=BASELINE)
    for number in range(records):
        if number % per_second == 0:
            sim.advance(1)
        sim.create_case(subject=f"Case {number}", description=f"Benchmark case number {number}.")
    if not stock_search:
        install_indexed_search(sim.store)
    with sim:
        conn.send(sim.url)
        conn.recv()


def install_indexed_search(store) -> None:
    """Serve /cases/search from an index on (updated_at, id).

    The simulator's search deep-copies, filters and sorts every case on each request: about
    2 s a page at 20,000 cases, which would measure the simulator rather than the poll. The
    index answers the poll's query (since_updated_at, sorted by updated_at) with the same
    records in the same envelope; any other query goes to the stock handler.
    """
    from devtools.simulator import api, query
    from devtools.simulator.clock import epoch, parse_time
    from devtools.simulator.http import json_response

    cases = sorted(store.all("cases"), key=lambda r: (epoch(r["updated_at"]), r["id"]))
    epochs = [epoch(r["updated_at"]) for r in cases]
    handled = {"since_updated_at", "sort_field", "sort_direction", "page", "per_page"}

    def handler(store, request, stock):
        params = request.params
        names = {name for name, _ in params}
        wanted = dict(params)
        if (
            not names <= handled
            or "since_updated_at" not in wanted
            or wanted.get("sort_field") != "updated_at"
            or wanted.get("sort_direction", "asc") != "asc"
        ):
            return stock(store, request)
        page, per_page = query.paging(params, max_per_page=query.MAX_PER_PAGE, capped=True)
        since = int(parse_time(wanted["since_updated_at"]).timestamp())
        found = cases[bisect.bisect_right(epochs, since) :]
        envelope = query.page_envelope(request.path, params, found, page, per_page)
        return json_response(200, envelope)

    for pattern, methods in api.ROUTES:
        if pattern.pattern == "/cases/search":
            stock = methods["GET"]
            methods["GET"] = lambda store, request, stock=stock: handler(store, request, stock)


@dataclass
class Simulator:
    process: multiprocessing.Process
    conn: object
    url: str = ""

    def ready(self) -> str:
        if not self.url:
            self.url = self.conn.recv()
        return self.url

    def stop(self) -> int:
        """Stop the child; its peak RSS in MB (ru_maxrss of waited-for children)."""
        self.conn.send("stop")
        self.process.join()
        return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024


def start_simulator(records: int, per_second: int, stock_search: bool) -> Simulator:
    # Forked before Django opens any connection, so the child shares no socket with us.
    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe()
    process = context.Process(
        target=serve_simulator, args=(child, records, per_second, stock_search), daemon=True
    )
    process.start()
    child.close()  # so that recv() fails instead of hanging should the child die
    return Simulator(process=process, conn=parent)


# Django and the throwaway database ------------------------------------------------------


def setup_django(sql_log: bool) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django
    from django.conf import settings

    django.setup()
    if not sql_log:
        # With DEBUG the connection keeps the last 9,000 statements, each insert ~150 KB of
        # SQL here: that would be measured as the poll's memory. Production runs without it.
        settings.DEBUG = False


def create_owner():
    from django.contrib.auth import get_user_model

    from integrations.elements import ELEMENTS_DIR, element_upsert, read_element_file

    element_upsert(definition=read_element_file(ELEMENTS_DIR / "desk.json"))
    return get_user_model().objects.create_user(username=f"bench-{uuid.uuid4().hex[:8]}")


def create_instance(owner, url: str, page_size: int):
    """A Desk instance from the Cloud Elements instance JSON, events on since BASELINE."""
    from devtools.examples import desk_instance_json
    from integrations.instances import instance_create
    from integrations.models import PollerObject

    data = desk_instance_json(
        site=url,
        simulator=True,
        **{
            "event.poller.configuration": {
                INCIDENTS: {"url": "/hubs/helpdesk/incidents?where=updated_at>" + SINCE},
            },
        },
    )
    data["name"] = f"Bench Desk {uuid.uuid4().hex[:8]}"
    instance = instance_create(owner=owner, data=data)
    instance.events_enabled_at = BASELINE
    instance.save(update_fields=["events_enabled_at"])
    PollerObject.objects.filter(instance=instance).update(page_size=page_size)
    return instance


# Measuring ------------------------------------------------------------------------------


class QueryCounter:
    """Counts statements through connection.execute_wrapper (keeps no SQL text)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


@dataclass
class PageMeter:
    """Time spent fetching pages and the statements run while processing each one."""

    counter: QueryCounter
    fetch_seconds: float = 0.0
    per_page: list[int] = field(default_factory=list)

    def wrap(self, pages):
        while True:
            started = time.perf_counter()
            try:
                page = next(pages)
            except StopIteration:
                return
            finally:
                self.fetch_seconds += time.perf_counter() - started
            before = self.counter.count
            yield page
            self.per_page.append(self.counter.count - before)


def metered_client(instance, meter: PageMeter):
    from integrations.models import Instance
    from integrations.provider import ProviderClient

    class MeteredClient(ProviderClient):
        def iter_pages(self, *args, **kwargs):
            return meter.wrap(super().iter_pages(*args, **kwargs))

    return MeteredClient(Instance.objects.get(pk=instance.pk))


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class PollRun:
    seconds: float
    records: int
    events: int
    pages: int
    windows: int
    queries: int
    per_page: list[int]
    fetch_seconds: float
    traced_peak_mb: float | None = None


def run_poll(instance, *, trace: bool = False) -> PollRun:
    from django.db import connection

    from events.polling import poll_object

    poller = instance.poller_objects.get(name=INCIDENTS)
    counter = QueryCounter()
    meter = PageMeter(counter)
    client = metered_client(instance, meter)
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    with connection.execute_wrapper(counter):
        result = poll_object(poller_object_id=poller.pk, client=client)
    seconds = time.perf_counter() - started
    peak = None
    if trace:
        peak = tracemalloc.get_traced_memory()[1] / MB
        tracemalloc.stop()
    return PollRun(
        seconds=seconds,
        records=result.records,
        events=sum(result.events.values()),
        pages=result.pages,
        windows=result.windows,
        queries=counter.count,
        per_page=meter.per_page,
        fetch_seconds=meter.fetch_seconds,
        traced_peak_mb=peak,
    )


def run_raw(instance, batch: int = 10) -> tuple[float, int, int]:
    """The same pages through the same client, stored as Event + EventLog rows of the same
    sizes, without classification or dedupe. (seconds, rows, pages)."""
    from django.db import transaction

    now = datetime.now(UTC)
    rows = pages = 0
    started = time.perf_counter()
    with transaction.atomic():
        for records in raw_pages(instance):
            pages += 1
            rows += store_raw(instance, records, now, batch)
    return time.perf_counter() - started, rows, pages


def raw_pages(instance):
    """Each page's records, in windows of at most maxPages pages like the poll's."""
    from integrations.provider import PageCapReached, ProviderClient
    from integrations.query import render_template, resolve

    poller = instance.poller_objects.get(name=INCIDENTS)
    element = instance.element
    client = ProviderClient(instance)
    last: tuple[str, int] = ("", 0)
    at = BASELINE - timedelta(seconds=poller.poll_delay + poller.lookback)
    while True:
        query = resolve(element, render_template(poller.url, at=at), page_size=poller.page_size)
        resource = element.resources.get(query.resource)
        try:
            for page in client.iter_pages(
                query.path, query.params, page_size=query.page_size, resource=resource
            ):
                # Pages are sorted by (updated_at, id): skip what an earlier window returned.
                fresh = [r for r in page.records if (r["updated_at"], r["id"]) > last]
                if fresh:
                    last = (fresh[-1]["updated_at"], fresh[-1]["id"])
                yield fresh
            return
        except PageCapReached:
            at = datetime.fromisoformat(last[0]) - timedelta(seconds=1)


def store_raw(instance, records: list[dict], now: datetime, batch: int) -> int:
    from events.models import Event, EventLog, Source

    logs, events = [], []
    for offset in range(0, len(records), batch):
        chunk = records[offset : offset + batch]
        entries = [
            {"objectId": str(r["id"]), "eventType": "CREATED", "date": r["updated_at"]}
            for r in chunk
        ]
        event_log = EventLog(
            instance=instance,
            delivery_id=uuid.uuid4(),
            source=Source.POLLING,
            object_type=INCIDENTS,
            body=json.dumps({"message": {"events": entries, "raw": {INCIDENTS: chunk}}}),
            next_attempt_at=now,
        )
        logs.append(event_log)
        events += [raw_event(instance, event_log, record, now) for record in chunk]
    EventLog.objects.bulk_create(logs)
    Event.objects.bulk_create(events)
    return len(events)


def raw_event(instance, event_log, record: dict, now: datetime):
    from events.models import Event, Source

    return Event(
        instance=instance,
        event_log=event_log,
        object_type=INCIDENTS,
        object_id=str(record["id"]),
        event_type="CREATED",
        event_date=datetime.fromisoformat(record["updated_at"]),
        poll_date=now,
        raw=record,
        source=Source.POLLING,
        version=f"{record['updated_at']}:{record['id']}",
    )


# Reporting ------------------------------------------------------------------------------


def spread(values: list[int]) -> str:
    if not values:
        return "-"
    median = statistics.median(values)
    return f"{min(values)}/{median:g}/{max(values)}"


def emit(label: str, value: str) -> None:
    # Printed as measured: a 100,000-record run takes many minutes.
    print(f"  {label:<30}  {value}", flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--per-second", type=int, default=50, help="cases sharing one second")
    parser.add_argument(
        "--compare-records",
        type=int,
        default=2_000,
        help="cases for the queries/page check at page size 50 vs 100 (0 skips it)",
    )
    parser.add_argument(
        "--no-trace", action="store_true", help="skip the tracemalloc pass (a second poll)"
    )
    parser.add_argument(
        "--stock-search",
        action="store_true",
        help="use the simulator's own O(N)-per-page search instead of the index",
    )
    parser.add_argument(
        "--sql-log",
        action="store_true",
        help="keep Django's DEBUG query log on, as in development",
    )
    parser.add_argument("--max-rss", type=float, default=300.0, help="MB; exit 1 above it")
    return parser.parse_args(argv)


def compare_page_sizes(owner, url: str) -> None:
    for size in (50, 100):
        run = run_poll(create_instance(owner, url, size))
        emit(
            f"queries/page, page size {size}",
            f"{spread(run.per_page)} (min/median/max over {run.pages} pages; "
            f"{run.queries} in all for {run.events} events)",
        )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    compare = None
    if args.compare_records:
        compare = start_simulator(args.compare_records, args.per_second, args.stock_search)
    main_sim = start_simulator(args.records, args.per_second, args.stock_search)
    setup_django(args.sql_log)
    state = create_database()
    print(f"Poll ingest: {args.records} records, page size {args.page_size}", flush=True)
    try:
        emit("database", database_label())
        owner = create_owner()
        if compare is not None:
            compare_page_sizes(owner, compare.ready())
            compare.stop()
        measure(args, owner, main_sim.ready())
    finally:
        drop_database(state)
    emit("simulator child peak RSS", f"{main_sim.stop()} MB (not counted above)")
    if rss_mb() > args.max_rss:
        print(f"FAILED: peak RSS {rss_mb():.0f} MB is over {args.max_rss:.0f} MB")
        return 1
    return 0


def measure(args, owner, url: str) -> None:
    rss_before = rss_mb()
    poll = run_poll(create_instance(owner, url, args.page_size))
    poll_rate = poll.events / poll.seconds
    emit("poll wall time", f"{poll.seconds:.1f} s")
    emit("poll records/s", f"{poll_rate:,.0f} ({poll.events} events of {poll.records} read)")
    emit("pages / windows", f"{poll.pages} / {poll.windows}")
    emit("  of which fetching pages", f"{poll.fetch_seconds:.1f} s (HTTP, simulator, JSON)")
    emit("queries/page (min/median/max)", spread(poll.per_page))
    emit("queries in all", f"{poll.queries} ({poll.queries - sum(poll.per_page)} outside pages)")
    emit("peak RSS before / after poll", f"{rss_before:.0f} / {rss_mb():.0f} MB")
    raw_seconds, raw_rows, raw_pages = run_raw(create_instance(owner, url, args.page_size))
    raw_rate = raw_rows / raw_seconds
    emit("raw bound", f"{raw_seconds:.1f} s, {raw_rate:,.0f} records/s ({raw_pages} pages)")
    emit("ratio poll/raw", f"{poll_rate / raw_rate:.2f} (target >= 0.5)")
    if raw_rows != poll.events:
        emit("WARNING", f"raw stored {raw_rows} rows, the poll {poll.events} events")
    if not args.no_trace:
        traced = run_poll(create_instance(owner, url, args.page_size), trace=True)
        emit("tracemalloc peak (2nd poll)", f"{traced.traced_peak_mb:.0f} MB")
    emit("peak RSS of the process", f"{rss_mb():.0f} MB (limit {args.max_rss:.0f})")


if __name__ == "__main__":
    sys.exit(main())
