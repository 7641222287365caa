from __future__ import annotations

import os
from datetime import UTC

import pytest
from django.db import connection
from django.utils import timezone

from devtools.simulator import DeskSimulator
from tests.hardening.support import OUTCOMES, ArrivalLog, WorkerCluster


@pytest.fixture
def multiprocess_db(transactional_db):
    """A database that worker processes share with the test: PostgreSQL.

    Several processes writing at once on SQLite is not a supported production set-up, so
    these tests skip there, except in CI, which runs them on PostgreSQL and must not skip.
    """
    if connection.vendor != "postgresql":
        reason = (
            "crash and concurrency tests need PostgreSQL (concurrent writers on SQLite are "
            "not a supported set-up): run scripts/with-test-postgres.sh"
        )
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"CI must run on PostgreSQL: {reason}")
        pytest.skip(reason)


@pytest.fixture
def clusters(multiprocess_db, tmp_path):
    """Start worker clusters with ``clusters(workers=.., clock_offset=..)``; any still running
    are stopped before the database is flushed."""
    started: list[WorkerCluster] = []

    def start(*, workers: int = 1, clock_offset: float = 0) -> WorkerCluster:
        name = f"cluster-{len(started) + 1}"
        cluster = WorkerCluster(
            tmp_path / f"{name}.log", workers=workers, clock_offset=clock_offset, name=name
        )
        started.append(cluster)
        return cluster

    yield start
    for cluster in started:
        cluster.close()
        # Shown by pytest when the test failed.
        print(f"--- {cluster.name} ---\n{cluster.output()[-20_000:]}")


@pytest.fixture
def sim():
    now = timezone.now().replace(microsecond=0).astimezone(UTC)
    with DeskSimulator(seed_cases=4, seed_customers=2, now=now, rate_limit=100_000) as simulator:
        yield simulator


@pytest.fixture
def arrivals(sim) -> ArrivalLog:
    return ArrivalLog(sim)


def pytest_terminal_summary(terminalreporter) -> None:
    if OUTCOMES:
        terminalreporter.section("hardening: faults tried")
        for line in OUTCOMES:
            terminalreporter.write_line(line)
