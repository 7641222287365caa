"""A real HTTP callback receiver for tests: records every request, answers as scripted."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class Receiver:
    """``with Receiver() as receiver: ... receiver.url ... receiver.requests``.

    ``receiver.script(Answer(500), Answer(500))`` answers the next requests in that order,
    then ``default``. ``receiver.answer_by(choose)`` answers each request as ``choose`` says,
    when it says something (say, by what the body holds); scripted answers come first.
    """

    def __init__(self, default: Answer | None = None, *, port: int = 0) -> None:
        self.default = default or Answer()
        self.choose: Callable[[Received], Answer | None] | None = None
        self.requests: list[Received] = []
        self._answers: deque[Answer] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                answer = receiver._record(
                    Received("POST", self.path, dict(self.headers.items()), body)
                )
                if answer.delay:
                    receiver._stopping.wait(answer.delay)
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hook"

    def script(self, *answers: Answer) -> None:
        with self._lock:
            self._answers.extend(answers)

    def answer_by(self, choose: Callable[[Received], Answer | None] | None) -> None:
        """Answer with ``choose(request)`` unless it is None; ``None`` stops choosing."""
        with self._lock:
            self.choose = choose

    def _record(self, request: Received) -> Answer:
        with self._lock:
            self.requests.append(request)
            if self._answers:
                return self._answers.popleft()
            chosen = self.choose(request) if self.choose else None
            return chosen or self.default

    def wait_for(self, count: int, timeout: float = 30) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.02)
        raise AssertionError(f"received {len(self.requests)} requests, expected {count}")

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self.server.shutdown()
        self.server.server_close()
