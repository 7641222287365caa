"""The README's tour, word for word, against a running stack (web server, worker and Desk
simulator as separate processes on the test database, the demo's inbox as the callback)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from django.utils import timezone

from devtools.demo import demo_setup
from devtools.inbox.models import InboxMessage
from events.models import EventLog
from events.tasks import schedules_setup
from integrations.models import Instance
from tests import processes as real_processes
from tests.factories import UserFactory
from tests.processes import ROOT, start_worker, wait_for
from tests.test_stack import PRIVATE_URLS, answering, free_port, start, stop_all

pytestmark = pytest.mark.slow

DEV_TOOLS = [("TRIBUTARY_DEV_TOOLS", "true"), ("TRIBUTARY_INBOX_ENABLED", "true")]


def tour_commands() -> str:
    readme = Path(ROOT, "README.md").read_text()
    section = readme.split("## A ten-line tour", 1)[1]
    return re.search(r"```sh\n(.*?)```", section, re.DOTALL)[1]


def run_shell(script: str, env: dict[str, str]) -> str:
    done = subprocess.run(  # noqa: S603
        ["bash", "-euo", "pipefail", "-c", script],  # noqa: S607
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_readme_tour_runs_word_for_word(transactional_db, desk, settings):
    settings.TRIBUTARY_ALLOW_PRIVATE_URLS = True
    UserFactory(username="admin", is_staff=True, is_superuser=True)
    port, sim_port = free_port(), free_port()
    web_url, sim_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{sim_port}"
    demo = demo_setup(simulator_url=sim_url, base_url=web_url, owner="admin", now=timezone.now())
    # Only the tour's instance: the demo's own would deliver to the same inbox.
    Instance.objects.filter(pk=demo.instance.pk).delete()
    env = {
        **os.environ,
        "DATABASE_URL": real_processes.test_database_url(),
        "PORT": str(port),
        "SIM_PORT": str(sim_port),
        **dict(DEV_TOOLS),
    }
    processes: list[subprocess.Popen] = []
    try:
        processes.append(start("runserver", "--noreload", f"127.0.0.1:{port}", env=DEV_TOOLS))
        processes.append(start("desk_simulator", "--port", str(sim_port)))
        processes.append(start_worker(PRIVATE_URLS))
        wait_for(lambda: answering(processes[0], web_url), timeout=60, what="the web server")
        wait_for(lambda: answering(processes[1], sim_url), timeout=60, what="the simulator")
        # The dispatcher's schedule (every minute) hands the new instance's pollers out.
        schedules_setup()

        output = run_shell(tour_commands(), env)

        instance = Instance.objects.get(name="Acme Desk")
        message = wait_for(
            lambda: InboxMessage.objects.filter(body__contains="Printer on fire").first(),
            timeout=180,
            what="the tour's case delivered to the inbox",
        )
        # The exports again, then the tour's last commands (what the app reads).
        commands = tour_commands()
        exports = commands.splitlines()[0]
        again = run_shell(exports + "\n" + commands.split("# a change at the provider\n")[1], env)
    finally:
        stop_all(processes)

    assert f'"id":{instance.pk}' in output.replace(" ", ""), output
    assert message.verified, message.verification_error
    assert "Printer on fire" in again
    assert EventLog.objects.filter(instance=instance, status="delivered").exists()
    assert '"status":"delivered"' in again.replace(" ", "")
