"""Run several processes as one: prefixed output lines, and Ctrl-C (or SIGTERM) stops them all.

    python -m project.supervisor web="python manage.py runserver" worker="python manage.py qcluster"

If any process exits, the others are stopped and the supervisor exits with its status.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import threading
import time

COLORS = ["36", "33", "35", "32", "34", "31"]
GRACE_SECONDS = 10


def _pump(name: str, color: str, stream, width: int) -> None:
    prefix = (
        f"\033[{color}m{name.ljust(width)} |\033[0m "
        if sys.stdout.isatty()
        else (f"{name.ljust(width)} | ")
    )
    for line in iter(stream.readline, ""):
        sys.stdout.write(prefix + line)
        sys.stdout.flush()


def supervise(commands: dict[str, list[str]]) -> int:
    width = max(len(name) for name in commands)
    processes: dict[str, subprocess.Popen] = {}
    pumps: list[threading.Thread] = []
    for index, (name, argv) in enumerate(commands.items()):
        process = subprocess.Popen(  # noqa: S603 - commands come from our own Makefile
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,  # Ctrl-C reaches us only; we stop the children in order
        )
        processes[name] = process
        pump = threading.Thread(
            target=_pump,
            args=(name, COLORS[index % len(COLORS)], process.stdout, width),
            daemon=True,
        )
        pump.start()
        pumps.append(pump)

    stopping = threading.Event()

    def stop(signum, frame) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    status = 0
    while not stopping.is_set():
        exited = [(name, p.returncode) for name, p in processes.items() if p.poll() is not None]
        if exited:
            name, status = exited[0]
            print(f"{name} exited with status {status}; stopping the others", flush=True)
            break
        time.sleep(0.2)
    else:
        print(f"stopping {', '.join(processes)}", flush=True)

    for process in processes.values():
        if process.poll() is None:
            # The leader only: qcluster stops its own workers, and hangs when they are
            # signalled directly.
            process.terminate()
    deadline = time.monotonic() + GRACE_SECONDS
    for process in processes.values():
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        with contextlib.suppress(ProcessLookupError):  # anything left in its group
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    for pump in pumps:  # the last lines the processes wrote while stopping
        pump.join(timeout=2)
    return status


def main(argv: list[str]) -> int:
    commands = {}
    for spec in argv:
        name, sep, command = spec.partition("=")
        if not sep or not name or not command:
            print(f"usage: python -m project.supervisor NAME='COMMAND' ...; got {spec!r}")
            return 2
        commands[name] = shlex.split(command)
    if not commands:
        print("usage: python -m project.supervisor NAME='COMMAND' ...")
        return 2
    return supervise(commands)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
