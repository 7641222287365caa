"""Running a piece of the query language in a child process that is killed if it runs past a
generous timeout: a regression to exponential matching or to a billion-digit number holds the
interpreter, so it could not be interrupted from a thread, and the test must fail, not hang."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.processes import ROOT

PRELUDE = """
import json, sys
import django
django.setup()
from integrations.elements import ELEMENTS_DIR, read_element_file
from integrations.models import Element
from integrations.query import HubError, resolve
from integrations.query.ceql import evaluate, parse
DESK = Element(key="desk", hub="helpdesk", definition=read_element_file(ELEMENTS_DIR / "desk.json"))
args = json.loads(sys.argv[1])
"""


def run_in_a_child(code: str, *args: object) -> object:
    """The JSON that ``code`` prints, run after ``PRELUDE`` with ``args`` as ``args``."""
    try:
        finished = subprocess.run(  # noqa: S603
            [sys.executable, "-c", PRELUDE + code, json.dumps(args)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,  # the answer takes milliseconds; a regression, hours
            check=True,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{code.strip()} with {args!r} did not finish")
    return json.loads(finished.stdout.strip().splitlines()[-1])
