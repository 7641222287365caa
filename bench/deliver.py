"""Delivery benchmark: N signed deliveries through the real worker, against a plain loop.

    .venv/bin/python bench/deliver.py [--deliveries 5000] [--workers 1 2]
    bash scripts/with-test-postgres.sh .venv/bin/python bench/deliver.py

Runs on a throwaway database (a temp SQLite file, or a dedicated PostgreSQL database created
and dropped on the DATABASE_URL server). A keep-alive HTTP receiver answering 200 runs in a
child process; a real `manage.py qcluster` runs on the throwaway database. For each worker
count it prints deliveries/s in a burst, the ratio per worker process to one plain
requests.Session loop posting the same bodies and headers, and the latency from commit to
first attempt (burst, and trickle: one delivery at a time to an idle worker). Then it splits
the cost of one delivery in-process (database, signing, HTTP, django-q broker). Targets:
ratio >= 0.7 per worker process, trickle p99 under 1 s. See bench/README.md.
"""

from __future__ import annotations

import argparse
import base64
import logging
import multiprocessing
import os
import random
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from throwaway_db import create_database, database_label, drop_database

ROOT = Path(__file__).resolve().parent.parent
BASELINE = datetime(2024, 1, 1, tzinfo=UTC)
INCIDENTS = "incidents"
EVENTS_PER_DELIVERY = 10
DISTINCT_RECORDS = 500
RATIO_TARGET = 0.7
TRICKLE_P99_TARGET = 1.0


# The receiver, in a child process -------------------------------------------------------


def serve_receiver(conn) -> None:
    """Answer every POST with 200 until the parent says stop; report counts and CPU time."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    counts = {"requests": 0, "signed": 0}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.1 keeps the connection alive, as the worker's session expects; without
        # TCP_NODELAY the body would wait for the ACK of the headers (delayed ACK).
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            signed = "webhook-signature" in self.headers
            with lock:
                counts["requests"] += 1
                counts["signed"] += signed
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    conn.send(f"http://{host}:{port}/hooks/desk")
    while conn.recv() == "stats":
        cpu = os.times()
        with lock:
            conn.send((counts["requests"], counts["signed"], cpu.user + cpu.system))
    server.shutdown()


@dataclass
class ReceiverStats:
    requests: int
    signed: int
    cpu_seconds: float

    def __sub__(self, other: ReceiverStats) -> ReceiverStats:
        return ReceiverStats(
            self.requests - other.requests,
            self.signed - other.signed,
            self.cpu_seconds - other.cpu_seconds,
        )


@dataclass
class Receiver:
    process: multiprocessing.Process
    conn: object
    url: str

    def stats(self) -> ReceiverStats:
        self.conn.send("stats")
        return ReceiverStats(*self.conn.recv())

    def stop(self) -> None:
        self.conn.send("stop")
        self.process.join()


def start_receiver() -> Receiver:
    # Forked before Django opens any connection, so the child shares no socket with us.
    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe()
    process = context.Process(target=serve_receiver, args=(child,), daemon=True)
    process.start()
    child.close()  # so that recv() fails instead of hanging should the child die
    return Receiver(process=process, conn=parent, url=parent.recv())


# Django and the throwaway database ------------------------------------------------------


def setup_django() -> None:
    # Production settings, here and in the worker (which inherits the environment): no
    # per-statement query log; keys made up for the run, since the database is thrown away.
    os.environ.setdefault("DJANGO_DEBUG", "0")
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault(
        "TRIBUTARY_ENCRYPTION_KEYS", base64.urlsafe_b64encode(os.urandom(32)).decode()
    )
    os.environ.setdefault("TRIBUTARY_ALLOW_PRIVATE_URLS", "1")
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django

    django.setup()
    # async_task logs a line per task at INFO: 5,000 of them would bury the table.
    logging.getLogger("django-q").setLevel(logging.WARNING)


def worker_database_url() -> str:
    """The throwaway database as a DATABASE_URL for the qcluster process."""
    from django.db import connection

    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(settings['NAME']).resolve()}"
    credentials = quote(settings["USER"] or "", safe="")
    if settings["PASSWORD"]:
        credentials += ":" + quote(settings["PASSWORD"], safe="")
    host = f"{settings['HOST'] or 'localhost'}:{settings['PORT'] or 5432}"
    return f"postgres://{credentials}@{host}/{settings['NAME']}"


def create_instance(callback_url: str):
    """A Desk instance from the Cloud Elements instance JSON, signing its deliveries."""
    from django.contrib.auth import get_user_model

    from devtools.examples import desk_instance_json
    from integrations.elements import ELEMENTS_DIR, element_upsert, read_element_file
    from integrations.instances import instance_create

    element_upsert(definition=read_element_file(ELEMENTS_DIR / "desk.json"))
    owner = get_user_model().objects.create_user(username=f"bench-{uuid.uuid4().hex[:8]}")
    data = desk_instance_json(
        site="https://desk.example.com",
        simulator=True,
        **{
            "event.notification.callback.url": callback_url,
            "event.notification.signature.key": secrets.token_urlsafe(24),
            "event.poller.configuration": None,
        },
    )
    data["name"] = f"Bench Desk {uuid.uuid4().hex[:8]}"
    return instance_create(owner=owner, data=data)


# Deliveries -----------------------------------------------------------------------------


def desk_cases(count: int) -> list[dict]:
    """Raw Desk case records as the simulator's API returns them (about 1.7 KB each)."""
    from devtools.simulator import DeskSimulator

    sim = DeskSimulator(seed_cases=0, seed_customers=1, rate_limit=10**9, now=BASELINE)
    return [
        sim.create_case(subject=f"Case {n}", description=f"Benchmark case number {n}.")
        for n in range(count)
    ]


def new_event_log(instance, records: list[dict], now: datetime):
    """An EventLog whose body is the message polling would build for these records."""
    from events.messages import build_message, dumps, event_entry, polling_raw
    from events.models import EventLog, Source

    delivery_id = str(uuid.uuid4())
    entries = [
        event_entry(
            instance=instance,
            object_type=INCIDENTS,
            object_id=str(record["id"]),
            event_type="UPDATED",
            date=datetime.fromisoformat(record["updated_at"]),
            poll_date=now,
        )
        for record in records
    ]
    message = build_message(
        instance=instance,
        delivery_id=delivery_id,
        events=entries,
        raw=polling_raw(INCIDENTS, records, now),
        created=now,
    )
    return EventLog(
        instance=instance,
        delivery_id=delivery_id,
        source=Source.POLLING,
        object_type=INCIDENTS,
        body=dumps(message),
        next_attempt_at=now,
    )


@dataclass
class Bodies:
    """Cycles through the raw records so that every body is different and realistic."""

    instance: object
    records: list[dict]
    offset: int = 0

    def event_logs(self, count: int) -> list:
        from django.utils import timezone

        logs = []
        for _ in range(count):
            start = self.offset % (len(self.records) - EVENTS_PER_DELIVERY)
            chunk = self.records[start : start + EVENTS_PER_DELIVERY]
            self.offset += EVENTS_PER_DELIVERY
            logs.append(new_event_log(self.instance, chunk, timezone.now()))
        return logs


def commit_batch(logs: list, *, enqueue: bool = True) -> tuple[list[int], float]:
    """Insert and enqueue (on commit, the real path) in one transaction; returns the ids and
    the commit time."""
    from django.db import transaction

    from events.models import EventLog
    from events.tasks import deliveries_enqueue

    committed: list[float] = []
    with transaction.atomic():
        ids = [log.pk for log in EventLog.objects.bulk_create(logs)]
        # Registered first, so it runs right after COMMIT, before the batch's async_task calls.
        transaction.on_commit(lambda: committed.append(time.time()))
        if enqueue:
            deliveries_enqueue(event_log_ids=ids)
    return ids, committed[0]


def delivered_count(ids: list[int]) -> int:
    from events.models import EventLog

    return EventLog.objects.filter(
        pk__gte=min(ids), pk__lte=max(ids), status=EventLog.Status.DELIVERED
    ).count()


def wait_delivered(ids: list[int], worker: Worker, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while delivered_count(ids) < len(ids):
        if worker.process.poll() is not None:
            raise RuntimeError(f"the worker exited ({worker.process.returncode}):\n{worker.tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{delivered_count(ids)} of {len(ids)} delivered after {timeout:.0f} s:\n"
                f"{worker.tail()}"
            )
        time.sleep(0.2)


def latencies(commits: dict[int, float]) -> list[float]:
    """Seconds from each delivery's commit to its first attempt (DeliveryAttempt.started_at,
    taken by the worker before it claims the delivery)."""
    from django.db.models import Min

    from events.models import DeliveryAttempt

    first = (
        DeliveryAttempt.objects.filter(event_log_id__in=list(commits))
        .values("event_log_id")
        .annotate(started=Min("started_at"))
    )
    return sorted(row["started"].timestamp() - commits[row["event_log_id"]] for row in first)


def finished_at(ids: list[int]) -> float:
    from django.db.models import Max

    from events.models import EventLog

    last = EventLog.objects.filter(pk__in=ids).aggregate(last=Max("updated_at"))["last"]
    return last.timestamp()


def check_all_ok(ids: list[int]) -> None:
    from events.models import DeliveryAttempt

    attempts = DeliveryAttempt.objects.filter(event_log_id__in=ids)
    ok = attempts.filter(status_code=200).count()
    if ok != len(ids) or attempts.count() != len(ids):
        raise RuntimeError(f"{attempts.count()} attempts, {ok} answered 200, for {len(ids)}")


# The worker -----------------------------------------------------------------------------


@dataclass
class Worker:
    process: subprocess.Popen
    log_path: Path

    def tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


def start_worker(workers: int, log_path: Path) -> Worker:
    env = {
        **os.environ,
        "DATABASE_URL": worker_database_url(),
        "TRIBUTARY_WORKERS": str(workers),
        "PYTHONUNBUFFERED": "1",
    }
    # To a file: an unread pipe would fill up with the per-task log lines and block it.
    with log_path.open("w") as log:
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Worker(process=process, log_path=log_path)


def stop_worker(worker: Worker, timeout: float = 30) -> None:
    if worker.process.poll() is None:
        worker.process.terminate()
    try:
        worker.process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(worker.process.pid, 9)  # its own session: the cluster's children too
        worker.process.wait()


# The plain loop -------------------------------------------------------------------------


def prepared_requests(ids: list[int]) -> list[tuple[bytes, dict[str, str]]]:
    """The bodies and signed headers the worker sent for these deliveries."""
    from django.utils import timezone

    from events.delivery import request_headers
    from events.models import EventLog

    logs = EventLog.objects.select_related("instance__element").filter(pk__in=ids)
    now = timezone.now()
    return [
        (body, request_headers(log, body, now=now)) for log in logs for body in [log.body.encode()]
    ]


def plain_loop(url: str, ids: list[int], chunk: int = 500) -> float:
    """Seconds one requests.Session takes to POST the same bodies and headers (HTTP only)."""
    import requests

    session = requests.Session()
    elapsed = 0.0
    for offset in range(0, len(ids), chunk):
        prepared = prepared_requests(ids[offset : offset + chunk])
        started = time.perf_counter()
        for body, headers in prepared:
            answer = session.post(url, data=body, headers=headers, allow_redirects=False)
            answer.content  # noqa: B018 - read it, as the worker does
            if answer.status_code != 200:
                raise RuntimeError(f"the receiver answered {answer.status_code}")
        elapsed += time.perf_counter() - started
    return elapsed


# One run: a worker count ----------------------------------------------------------------


@dataclass
class Run:
    workers: int
    deliveries: int
    enqueue_seconds: float = 0.0
    burst_seconds: float = 0.0
    burst_latency: list[float] = field(default_factory=list)
    trickle_latency: list[float] = field(default_factory=list)
    plain_seconds: float = 0.0
    plain_receiver_cpu: float = 0.0
    mean_body_kb: float = 0.0

    @property
    def rate(self) -> float:
        return self.deliveries / self.burst_seconds

    @property
    def plain_rate(self) -> float:
        return self.deliveries / self.plain_seconds

    @property
    def ratio(self) -> float:
        return self.rate / self.workers / self.plain_rate


def run_workers(args, source: Bodies, receiver: Receiver, workers: int, tmpdir: Path) -> Run:
    run = Run(workers=workers, deliveries=args.deliveries)
    worker = start_worker(workers, tmpdir / f"qcluster-{workers}.log")
    try:
        warm_up(source, worker)
        run.trickle_latency = trickle(args, source, worker)
        burst_ids = burst(args, source, worker, run)
    finally:
        stop_worker(worker)
    check_all_ok(burst_ids)
    before = receiver.stats()
    run.plain_seconds = plain_loop(receiver.url, burst_ids)
    plain = receiver.stats() - before
    if plain.requests != len(burst_ids) or plain.signed != len(burst_ids):
        raise RuntimeError(f"the receiver saw {plain} for {len(burst_ids)} plain requests")
    run.plain_receiver_cpu = plain.cpu_seconds
    return run


def warm_up(source: Bodies, worker: Worker) -> None:
    """One delivery, waited for: the cluster is up and its connections are open."""
    ids, _ = commit_batch(source.event_logs(1))
    wait_delivered(ids, worker, timeout=60)


def trickle(args, source: Bodies, worker: Worker) -> list[float]:
    """One delivery per transaction, to an idle worker; random gaps so that commits do not
    fall in step with the broker's poll interval."""
    commits: dict[int, float] = {}
    for _ in range(args.trickle):
        ids, committed = commit_batch(source.event_logs(1))
        commits[ids[0]] = committed
        time.sleep(args.trickle_gap * random.uniform(0.5, 1.5))  # noqa: S311
    wait_delivered(list(commits), worker, timeout=60)
    return latencies(commits)


def burst(args, source: Bodies, worker: Worker, run: Run) -> list[int]:
    """N deliveries committed in batches as fast as we can, the worker already running."""
    batches = [
        source.event_logs(min(args.batch, args.deliveries - offset))
        for offset in range(0, args.deliveries, args.batch)
    ]
    run.mean_body_kb = statistics.mean(len(log.body) for b in batches for log in b) / 1024
    commits: dict[int, float] = {}
    started = time.time()
    for logs in batches:
        ids, committed = commit_batch(logs)
        commits.update(dict.fromkeys(ids, committed))
    run.enqueue_seconds = time.time() - started
    ids = list(commits)
    wait_delivered(ids, worker, timeout=max(120, args.deliveries / 5))
    run.burst_seconds = finished_at(ids) - min(commits.values())
    run.burst_latency = latencies(commits)
    return ids


# The in-process split -------------------------------------------------------------------


@dataclass
class Split:
    count: int
    total: float = 0.0
    db: float = 0.0
    statements: int = 0
    headers: float = 0.0
    http: float = 0.0
    enqueue: float = 0.0
    dequeue: float = 0.0
    save_ack: float = 0.0
    broker_statements: dict[str, int] = field(default_factory=dict)

    def ms(self, seconds: float) -> str:
        return f"{1000 * seconds / self.count:.2f} ms"


class StatementTimer:
    """Time and count statements through connection.execute_wrapper."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.count += 1


def timed(function: Callable, box: list[float]) -> Callable:
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            box[0] += time.perf_counter() - started

    return wrapper


def split_delivery(source: Bodies, count: int) -> Split:
    """delivery_send in this process, as a worker would run it, with its parts timed."""
    from django.db import connection

    from events.delivery import sending as delivery

    split = Split(count=count)
    ids, _ = commit_batch(source.event_logs(count), enqueue=False)
    headers, http = [0.0], [0.0]
    original = delivery.request_headers, delivery.post
    delivery.request_headers = timed(delivery.request_headers, headers)
    delivery.post = timed(delivery.post, http)
    timer = StatementTimer()
    try:
        with connection.execute_wrapper(timer):
            started = time.perf_counter()
            for event_log_id in ids:
                delivery.delivery_send(event_log_id=event_log_id)
            split.total = time.perf_counter() - started
    finally:
        delivery.request_headers, delivery.post = original
    check_all_ok(ids)
    split.db, split.statements = timer.seconds, timer.count
    split.headers, split.http = headers[0], http[0]
    split_broker(split)
    return split


def split_broker(split: Split) -> None:
    """The django-q ORM broker's work for each task, outside the task: async_task (in the
    committing process), dequeue (the pusher) and save_task + acknowledge (the monitor)."""
    from django.db import connection
    from django.utils import timezone
    from django_q.brokers import get_broker
    from django_q.monitor import save_task
    from django_q.signing import SignedPackage
    from django_q.tasks import async_task

    broker = get_broker()
    for name in ("enqueue", "dequeue", "save_ack"):
        split.broker_statements[name] = 0
    timer = StatementTimer()
    with connection.execute_wrapper(timer):
        started = time.perf_counter()
        for n in range(split.count):
            async_task("events.tasks.deliver_in_order_task", [-n], task_name=f"bench-{n}")
        split.enqueue = time.perf_counter() - started
        split.broker_statements["enqueue"] = timer.count
        tasks = []
        started = time.perf_counter()
        while len(tasks) < split.count:
            tasks += broker.dequeue() or []
        split.dequeue = time.perf_counter() - started
        split.broker_statements["dequeue"] = timer.count - split.broker_statements["enqueue"]
        counted = timer.count
        started = time.perf_counter()
        for ack_id, payload in tasks:
            task = SignedPackage.loads(payload)
            task.update(result=None, success=True, stopped=timezone.now(), ack_id=ack_id)
            save_task(task, broker)
            broker.acknowledge(ack_id)
        split.save_ack = time.perf_counter() - started
        split.broker_statements["save_ack"] = timer.count - counted


# Reporting ------------------------------------------------------------------------------


def emit(label: str, *values: str) -> None:
    print(f"  {label:<34}" + "".join(f"  {value:>20}" for value in values), flush=True)


def quantile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))]


def seconds(values: list[float]) -> str:
    if not values:
        return "-"
    return (
        f"{quantile(values, 0.5) * 1000:.0f} / {quantile(values, 0.99) * 1000:.0f} / "
        f"{values[-1] * 1000:.0f} ms"
    )


def report(runs: list[Run]) -> None:
    emit("worker processes", *(str(run.workers) for run in runs))
    emit("mean body", *(f"{run.mean_body_kb:.1f} KB" for run in runs))
    emit("enqueue (commit + async_task)", *(f"{run.enqueue_seconds:.1f} s" for run in runs))
    emit("burst: first commit to last done", *(f"{run.burst_seconds:.1f} s" for run in runs))
    emit("burst deliveries/s", *(f"{run.rate:,.0f}" for run in runs))
    emit("  per worker process", *(f"{run.rate / run.workers:,.0f}" for run in runs))
    emit("plain Session loop, posts/s", *(f"{run.plain_rate:,.0f}" for run in runs))
    emit(
        "receiver CPU per plain post",
        *(f"{1000 * run.plain_receiver_cpu / run.deliveries:.2f} ms" for run in runs),
    )
    emit(
        f"ratio per worker (>= {RATIO_TARGET})",
        *(f"{run.ratio:.2f}{'' if run.ratio >= RATIO_TARGET else ' MISS'}" for run in runs),
    )
    emit("burst latency p50/p99/max", *(seconds(run.burst_latency) for run in runs))
    emit("trickle latency p50/p99/max", *(seconds(run.trickle_latency) for run in runs))
    emit(
        f"trickle p99 < {TRICKLE_P99_TARGET:g} s",
        *(
            "yes" if quantile(run.trickle_latency, 0.99) < TRICKLE_P99_TARGET else "MISS"
            for run in runs
        ),
    )


def report_split(split: Split, runs: list[Run]) -> None:
    other = split.total - split.db - split.headers - split.http
    print(f"In-process split, per delivery ({split.count} deliveries):", flush=True)
    emit("delivery_send in all", split.ms(split.total))
    emit(f"  database ({split.statements / split.count:g} statements)", split.ms(split.db))
    emit("  headers + signing", split.ms(split.headers))
    emit("  HTTP POST (requests)", split.ms(split.http))
    emit("  other (ORM, commits, Python)", split.ms(other))
    for name, label in (
        ("enqueue", "async_task (committer)"),
        ("dequeue", "broker dequeue (pusher)"),
        ("save_ack", "save_task + ack (monitor)"),
    ):
        statements = split.broker_statements[name] / split.count
        emit(f"{label}, {statements:g} stmts", split.ms(getattr(split, name)))
    for run in runs:
        emit(
            f"worker wall per delivery, {run.workers} proc.",
            f"{1000 * run.workers / run.rate:.2f} ms",
        )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deliveries", type=int, default=5_000)
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 2], help="worker processes, one run each"
    )
    parser.add_argument("--batch", type=int, default=50, help="deliveries per transaction")
    parser.add_argument("--trickle", type=int, default=200, help="deliveries one at a time")
    parser.add_argument(
        "--trickle-gap", type=float, default=0.05, help="mean seconds between trickle commits"
    )
    parser.add_argument(
        "--split", type=int, default=500, help="deliveries for the in-process split (0 skips)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    receiver = start_receiver()
    setup_django()
    state = create_database()
    tmpdir = Path(tempfile.mkdtemp(prefix="tributary-bench-deliver-"))
    print(
        f"Delivery: {args.deliveries} deliveries of {EVENTS_PER_DELIVERY} events, signed",
        flush=True,
    )
    try:
        emit("database", database_label())
        source = Bodies(create_instance(receiver.url), desk_cases(DISTINCT_RECORDS))
        runs = [run_workers(args, source, receiver, n, tmpdir) for n in args.workers]
        report(runs)
        if args.split:
            report_split(split_delivery(source, args.split), runs)
    finally:
        drop_database(state)
        receiver.stop()
        shutil.rmtree(tmpdir, ignore_errors=True)
    failed = any(run.ratio < RATIO_TARGET for run in runs) or any(
        quantile(run.trickle_latency, 0.99) >= TRICKLE_P99_TARGET for run in runs
    )
    emit(
        "peak RSS of this process",
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB",
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
