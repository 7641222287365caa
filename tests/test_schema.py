"""The OpenAPI schema of the Apps API: valid, served with Swagger UI without a CDN, and true
to the live API (schemathesis)."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml
from django.core.management import call_command

from tests.api_helpers import BASE, client_for
from tests.processes import ROOT, stop, wait_for

# What "true to the schema" means: no 5xx, and every status, content type, header and body
# as documented. (Checks such as positive_data_acceptance would demand that any JSON the
# schema allows is accepted; the instance JSON's rules are richer than a JSON schema.)
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_headers_conformance,response_schema_conformance"
)
MAX_EXAMPLES = os.environ.get("TRIBUTARY_FUZZ_EXAMPLES", "10")


def generate_schema(tmp_path: Path) -> dict:
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    return yaml.safe_load(target.read_text())


def test_it_generates_a_valid_schema_without_warnings(tmp_path):
    schema = generate_schema(tmp_path)

    assert f"{BASE}/instances" in schema["paths"]


def test_it_documents_each_path_once_without_the_trailing_slash(tmp_path):
    paths = generate_schema(tmp_path)["paths"]

    assert not [path for path in paths if path.endswith("/")]


def test_it_describes_the_instance_json(tmp_path):
    schemas = generate_schema(tmp_path)["components"]["schemas"]

    request = schemas["InstanceRequestRequest"]
    assert set(request["required"]) == {"element", "name"}
    assert {"providerData", "configuration", "tags"} <= set(request["properties"])
    assert {"eventsEnabled", "createdDate"} <= set(schemas["Instance"]["properties"])


def test_it_documents_the_error_shape_on_every_operation(tmp_path):
    paths = generate_schema(tmp_path)["paths"]

    for operations in paths.values():
        for operation in operations.values():
            assert {"401", "404", "429"} <= set(operation["responses"])


def test_it_serves_swagger_ui_from_local_assets(db):
    response = client_for().get(f"{BASE}/docs/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    assert "cdn" not in page.lower()


def test_it_serves_the_schema(db):
    response = client_for().get(f"{BASE}/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")


# Data for the fuzzer, in the server's own throwaway database: a user with a token and the
# Desk example instance with an event and a delivery. Prints the token.
SETUP = """
from rest_framework.authtoken.models import Token
from integrations.instances import instance_create
from tests.api_helpers import DESK_INSTANCE
from tests.events.factories import DeliveryAttemptFactory, EventFactory, EventLogFactory
from tests.factories import UserFactory, desk_element
desk_element()
user = UserFactory(username="fuzzer")
instance = instance_create(owner=user, data=DESK_INSTANCE)
log = EventLogFactory(instance=instance)
EventFactory(instance=instance, event_log=log)
DeliveryAttemptFactory(event_log=log)
print(Token.objects.create(user=user).key)
"""


@pytest.fixture
def api_server(tmp_path):
    """``manage.py runserver`` on a free port and a migrated throwaway SQLite database;
    yields its URL and a token."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fuzz.sqlite3'}",
        "PYTHONUNBUFFERED": "1",
        # The OAuth helpers reach out to whatever siteAddress the fuzzer invents: fail fast.
        "TRIBUTARY_PROVIDER_TIMEOUT": "2",
    }

    def manage(*args: str) -> str:
        done = subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    manage("migrate", "--verbosity", "0")
    token = manage("shell", "--no-imports", "-c", SETUP).strip().splitlines()[-1]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (tmp_path / "runserver.log").open("w")
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        # A file, not a pipe: nobody reads the request log while the fuzzer runs, and a full
        # pipe would block the server.
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(f"{url}{BASE}/schema/"), timeout=60, what="runserver")
        yield url, token
    finally:
        stop(server)
        log.close()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


@pytest.mark.slow
def test_it_finds_no_server_error_and_no_schema_violation(api_server, tmp_path):
    url, token = api_server
    schemathesis = Path(sys.executable).parent / "schemathesis"

    run = subprocess.run(  # noqa: S603
        [
            str(schemathesis),
            "run",
            f"{url}{BASE}/schema/",
            "--header",
            f"Authorization: Token {token}",
            "--checks",
            CHECKS,
            "--max-examples",
            MAX_EXAMPLES,
            "--seed",
            "2016",
            "--request-timeout",
            "20",
            "--no-color",
        ],
        cwd=tmp_path,  # schemathesis keeps its example database in the working directory
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:]
