"""TRIBUTARY_LOG_FORMAT=json: every log line is one JSON object; plain stays the default."""

import json
import logging
import os
import subprocess
import sys

from project.logging import JsonFormatter
from tests.processes import ROOT

# Logs through an application logger (with extras), django-q's and Django's own.
SCRIPT = """
import logging, django
django.setup()
import django_q.conf
logging.getLogger("events.polling").warning(
    "poll of 7:incidents failed\\nsecond line", extra={"instance_id": 3, "poller_id": 7}
)
# django-q's INFO chatter is dropped by default; its warnings come through.
logging.getLogger("django-q").info("Q Cluster running")
logging.getLogger("django-q").warning("Q Cluster lost a worker")
logging.getLogger("django.request").error("Internal Server Error: /healthz")
"""


def run_logging(log_format: str | None) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "project.settings"}
    env.pop("TRIBUTARY_LOG_FORMAT", None)
    if log_format is not None:
        env["TRIBUTARY_LOG_FORMAT"] = log_format
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def record(message: str, **extra) -> logging.LogRecord:
    entry = logging.LogRecord("events.delivery", logging.WARNING, __file__, 1, message, (), None)
    entry.__dict__.update(extra)
    return entry


def test_it_formats_a_record_as_one_json_line_with_its_extras():
    line = JsonFormatter().format(record("delivery failed\nretrying", event_log_id=12))

    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "events.delivery"
    assert entry["message"] == "delivery failed\nretrying"
    assert entry["event_log_id"] == 12
    assert entry["time"].endswith("+00:00")


def test_it_includes_the_exception():
    try:
        raise ValueError("bad cursor")
    except ValueError:
        entry = record("poll crashed", exc_info=sys.exc_info())

    logged = json.loads(JsonFormatter().format(entry))

    assert "ValueError: bad cursor" in logged["exception"]


def test_it_writes_extras_that_are_not_json_as_text():
    logged = json.loads(JsonFormatter().format(record("served", request=object())))

    assert logged["request"].startswith("<object object")


def test_every_line_is_json_with_the_json_log_format():
    result = run_logging("json")

    entries = [json.loads(line) for line in result.stderr.splitlines()]
    assert [(entry["logger"], entry["level"]) for entry in entries] == [
        ("events.polling", "WARNING"),
        ("django-q", "WARNING"),
        ("django.request", "ERROR"),
    ]
    assert entries[0]["poller_id"] == 7 and entries[0]["instance_id"] == 3


def test_plain_lines_are_the_default():
    result = run_logging(None)

    assert " WARNING events.polling: poll of 7:incidents failed" in result.stderr.splitlines()[0]


def test_it_refuses_an_unknown_log_format():
    result = run_logging("xml")

    assert result.returncode != 0
    assert "TRIBUTARY_LOG_FORMAT='xml' is not a log format: use plain or json." in result.stderr
