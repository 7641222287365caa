"""Shared pieces of the crash and concurrency tests: real worker clusters that can be killed,
a log of the simulator's requests as they arrive, and what reached the receiver."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote

from django.utils import timezone
from django_q.models import OrmQ

from tests.processes import ROOT, test_database_url, wait_for

# Short enough that a test can step past them with a clock offset; see WorkerCluster.
TASK_TIMEOUT = 10  # poll lease: TASK_TIMEOUT + 60 s; django-q hands a task out again after +120 s
DELIVERY_TIMEOUT = 5  # delivery lease: DELIVERY_TIMEOUT + 60 s
# A restarted worker lives this far in the future: past both leases and past the 30 s grace of
# a pending delivery, yet short of django-q's retry, so nothing the killed cluster held comes
# back through django-q: only our dispatcher and sweep can recover it.
PAST_THE_LEASES = 90
# Past django-q's retry too: the tasks a killed cluster had taken are handed out again.
PAST_DJANGO_Q_RETRY = TASK_TIMEOUT + 120 + 30

POLL = "events.tasks.poll_object_task"

# Outcomes of the faults tried, printed at the end of the run (conftest.py).
OUTCOMES: list[str] = []


def outcome(fault: str, *, expected: int, delivered: int, duplicated: int) -> None:
    OUTCOMES.append(
        f"{fault}: events expected {expected} / delivered {delivered} / duplicated {duplicated}"
    )


class WorkerCluster:
    """One `qcluster` process in its own session, output to a file (a pipe nobody reads
    would fill up and stall it)."""

    def __init__(
        self, log_path: Path, *, workers: int = 1, clock_offset: float = 0, name: str = ""
    ) -> None:
        self.log_path = log_path
        self.name = name or log_path.stem
        env = {
            **os.environ,
            "DATABASE_URL": test_database_url(),
            "PYTHONUNBUFFERED": "1",
            "TRIBUTARY_WORKERS": str(workers),
            "TRIBUTARY_TASK_TIMEOUT": str(TASK_TIMEOUT),
            "TRIBUTARY_DELIVERY_TIMEOUT": str(DELIVERY_TIMEOUT),
            "TRIBUTARY_QUEUE_POLL": "0.05",
            # wait_running() reads django-q's "Q Cluster ... running." line (INFO).
            "TRIBUTARY_QUEUE_LOG_LEVEL": "INFO",
            "TRIBUTARY_TEST_CLOCK_OFFSET": str(clock_offset),
        }
        self._log = log_path.open("w")
        self.process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "tests.hardening.future_worker"],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_running(self, timeout: float = 60) -> None:
        wait_for(
            lambda: "running." in self.output() or self.process.poll() is not None,
            timeout=timeout,
            what=f"worker cluster {self.name} to start",
        )
        assert self.process.poll() is None, f"{self.name} exited:\n{self.output()}"

    def processed(self, func: str) -> int:
        """How many tasks of ``func`` this cluster finished (its monitor logs each one)."""
        return self.output().count(f"Processed '{func}'")

    def kill(self) -> None:
        """SIGKILL the whole cluster (its guard, pusher, monitor and workers) at once."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def close(self) -> None:
        """Kill what is left of the cluster: nothing graceful is needed once a test is over."""
        self.kill()
        self._log.close()


def tasks_held_by_killed_clusters_drop() -> int:
    """Remove the queued tasks a killed cluster had taken (locked until django-q's retry).

    django-q would hand them out again only after `retry` seconds; dropping them proves that
    our dispatcher and sweep recover everything without that.
    """
    deleted, _ = OrmQ.objects.filter(lock__gt=timezone.now()).delete()
    return deleted


@dataclass(frozen=True)
class Arrival:
    token: str
    path: str
    query: str

    @property
    def params(self) -> dict[str, str]:
        return dict(parse_qsl(self.query, keep_blank_values=True))


_TOKEN = re.compile(r'oauth_token="([^"]*)"')


class ArrivalLog:
    """Every API request to the simulator, recorded as it arrives (the simulator's own log
    is written once the answer is ready, after any delay), with the access token that signed
    it: each instance has its own, so the token names the caller."""

    def __init__(self, sim) -> None:
        self.arrivals: list[Arrival] = []
        self._lock = threading.Lock()
        handle = sim.app.handle

        def recording(request):
            if request.path.startswith("/api/"):
                found = _TOKEN.search(request.header("Authorization"))
                arrival = Arrival(
                    unquote(found.group(1)) if found else "", request.path, request.query
                )
                with self._lock:
                    self.arrivals.append(arrival)
            return handle(request)

        sim.app.handle = recording

    def all(self) -> list[Arrival]:
        with self._lock:
            return list(self.arrivals)

    def pages(self, page: int, path: str = "") -> list[Arrival]:
        return [
            arrival
            for arrival in self.all()
            if path in arrival.path and arrival.params.get("page", "1") == str(page)
        ]


def change_key(object_type: str, record: dict) -> tuple[str, str, str]:
    """A change as the provider shows it: one record at one ``updated_at``."""
    return (object_type, str(record["id"]), record["updated_at"])


def delivered_changes(requests) -> Counter:
    """Each change carried by the deliveries received, counted once per request."""
    changes: Counter = Counter()
    for request in requests:
        raw = json.loads(request.body)["message"]["raw"]
        for record in raw[raw["objectType"]]:
            changes[change_key(raw["objectType"], record)] += 1
    return changes


def header(request, name: str) -> str | None:
    return next(
        (value for key, value in request.headers.items() if key.lower() == name.lower()), None
    )


def webhook_ids(requests) -> Counter:
    return Counter(header(request, "webhook-id") for request in requests)
