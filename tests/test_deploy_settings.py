"""Production settings: `manage.py check --deploy` is clean with production variables."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent


def production_environment(**extra: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "TRIBUTARY_"))
    }
    env.update(
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="tributary.example.com",
        TRIBUTARY_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        **extra,
    )
    return env


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_passes_the_deployment_checks_with_production_variables():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_environment())

    assert result.returncode == 0, result.stdout + result.stderr


def test_it_warns_when_https_is_turned_off_in_production():
    env = production_environment(DJANGO_SECURE_SSL_REDIRECT="false", DJANGO_SECURE_HSTS_SECONDS="0")

    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)

    assert result.returncode != 0
    assert "security.W004" in result.stderr and "security.W008" in result.stderr


def test_it_refuses_to_start_in_production_with_the_development_secret_key():
    env = production_environment()
    del env["DJANGO_SECRET_KEY"]

    result = manage("check", env=env)

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_it_redirects_to_https_but_leaves_the_health_check_on_plain_http(client, settings):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/admin/").status_code == 301
    assert client.get("/healthz").status_code != 301


def test_it_leaves_the_development_tools_out_of_production():
    script = (
        "from django.conf import settings; from django.urls import resolve, Resolver404\n"
        "apps = [a for a in settings.INSTALLED_APPS if a.startswith('devtools')]\n"
        "try:\n    resolve('/inbox/'); inbox = 'routed'\n"
        "except Resolver404:\n    inbox = 'not routed'\n"
        "print(apps, inbox)"
    )

    production = manage("shell", "-c", script, env=production_environment())
    development = manage(
        "shell", "-c", script, env=production_environment(TRIBUTARY_DEV_TOOLS="true")
    )

    assert production.stdout.splitlines()[-1] == "[] not routed", production.stderr
    assert development.stdout.splitlines()[-1] == "['devtools', 'devtools.inbox'] routed", (
        development.stderr
    )
