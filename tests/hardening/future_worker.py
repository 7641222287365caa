"""`manage.py qcluster` with Tributary's clock moved ahead by TRIBUTARY_TEST_CLOCK_OFFSET seconds.

A worker restarted after a crash, once the leases the killed one held have run out, without a
test sleeping for minutes: every ``timezone.now()`` in this process (claims, leases, sweeps,
django-q's own bookkeeping) reads the real time plus the offset. Run with
``python -m tests.hardening.future_worker`` from the project root.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta

from django.utils import timezone


def main() -> None:
    offset = timedelta(seconds=float(os.environ.get("TRIBUTARY_TEST_CLOCK_OFFSET", "0")))
    real_now = timezone.now
    # Before Django sets up, so that model field defaults (default=timezone.now) see it too.
    timezone.now = lambda: real_now() + offset
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line([sys.argv[0], "qcluster"])


if __name__ == "__main__":
    main()
