"""Code run in a fresh Django process on the test database, with how much that process's
peak memory grew while it ran: what a worker or the web process would feel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from typing import Any

from tests.processes import ROOT, test_database_url

MB = 1024 * 1024

HARNESS = """
import json, resource, sys
import django

django.setup()
ARGS = json.loads(sys.argv[1])

{code}

def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KB on Linux

before = peak()
result = run()
print(json.dumps({"result": result, "growth": peak() - before}))
"""


@dataclass(frozen=True)
class Measured:
    result: Any
    growth: int  # bytes the peak resident memory grew by during run()


def run_measured(
    code: str, *, env: dict[str, str] | None = None, timeout: float = 120, **args: Any
) -> Measured:
    """Run ``code``, which imports what it needs and defines ``run()`` returning something
    JSON can hold; ``ARGS`` holds ``args``. Fails the test if the process fails or runs
    longer than ``timeout`` seconds."""
    script = HARNESS.replace("{code}", textwrap.dedent(code))
    completed = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script, json.dumps(args)],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": test_database_url(),
            "DJANGO_SETTINGS_MODULE": "project.settings",
            "TRIBUTARY_ALLOW_PRIVATE_URLS": "true",
            **(env or {}),
        },
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-5000:]
    outcome = json.loads(completed.stdout.strip().splitlines()[-1])
    return Measured(outcome["result"], outcome["growth"])
