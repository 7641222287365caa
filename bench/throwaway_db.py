"""A fresh database for one benchmark run, dropped afterwards (shared by the bench scripts).

Call after django.setup(): a temp SQLite file, or a new database on the PostgreSQL server that
DATABASE_URL names, so a run never touches real data.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def create_database():
    from django.db import connection
    from django.test.utils import setup_databases

    test = connection.settings_dict.setdefault("TEST", {})
    tmpdir = None
    if connection.vendor == "sqlite":
        tmpdir = tempfile.mkdtemp(prefix="tributary-bench-")
        test["NAME"] = str(Path(tmpdir) / "bench.sqlite3")
    else:
        test["NAME"] = f"tributary_bench_{os.getpid()}"
    old = setup_databases(verbosity=0, interactive=False, serialized_aliases=set())
    return old, tmpdir


def drop_database(state) -> None:
    from django.test.utils import teardown_databases

    old, tmpdir = state
    teardown_databases(old, verbosity=0)
    if tmpdir:
        shutil.rmtree(tmpdir, ignore_errors=True)


def database_label() -> str:
    from django.db import connection

    if connection.vendor == "sqlite":
        return "SQLite (temp file)"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    return f"PostgreSQL {version} (database {connection.settings_dict['NAME']})"
