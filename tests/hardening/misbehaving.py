"""A local HTTP server that misbehaves on request: it forwards every request to an upstream
(the Desk simulator), or answers 200 "ok" without one, until told to flood (a huge body,
made up as it is sent) or trickle (a byte a second) on a path."""

from __future__ import annotations

import http.client
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# No Content-Length and this many bytes at most: more than any client should read, and a
# bound, so that a client that does read on cannot keep a test running forever.
ENDLESS = 256 * 1024 * 1024
BLOCK = b'{"id": 1, "subject": "' + b"x" * (64 * 1024 - 32) + b'"},\n'
# Set again by the server that relays the answer.
NOT_RELAYED = {"connection", "content-length", "transfer-encoding", "keep-alive", "date", "server"}


@dataclass(frozen=True)
class Fault:
    """``kind`` is "flood" (``size`` bytes, or endless) or "trickle" (one byte every
    ``interval`` seconds, at most ``limit`` of them, in the "headers" or the "body")."""

    kind: str
    path: str = ""
    size: int | None = None
    phase: str = "body"
    interval: float = 1.0
    limit: int = 120


class MisbehavingServer:
    """``with MisbehavingServer(upstream=sim.url) as server: ... server.url ...``.

    ``server.flood("/cases/search", size=...)``, ``server.trickle("/hook")``, then
    ``server.behave()``. ``unfinished`` counts answers whose client hung up before their end.
    """

    def __init__(self, upstream: str = "") -> None:
        self.upstream = urlsplit(upstream) if upstream else None
        self.fault: Fault | None = None
        self.misbehaved = 0
        self.unfinished = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def handle_any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fault = server.fault
                if fault is None or fault.path not in self.path:
                    self._forward(body)
                    return
                with server._lock:
                    server.misbehaved += 1
                try:
                    if fault.kind == "flood":
                        self._flood(fault)
                    else:
                        self._trickle(fault)
                except (BrokenPipeError, ConnectionResetError):
                    with server._lock:
                        server.unfinished += 1

            do_GET = do_POST = handle_any

            def _forward(self, body: bytes) -> None:
                if server.upstream is None:
                    self._answer(200, b"ok", {"Content-Type": "text/plain"})
                    return
                upstream = http.client.HTTPConnection(
                    server.upstream.hostname, server.upstream.port, timeout=30
                )
                try:
                    # The Host header is kept: the simulator checks signatures and builds
                    # links with the address the client called.
                    upstream.request(self.command, self.path, body, dict(self.headers.items()))
                    answer = upstream.getresponse()
                    headers = {
                        name: value
                        for name, value in answer.getheaders()
                        if name.lower() not in NOT_RELAYED
                    }
                    self._answer(answer.status, answer.read(), headers)
                finally:
                    upstream.close()

            def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _flood(self, fault: Fault) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                if fault.size is not None:
                    self.send_header("Content-Length", str(fault.size))
                self.end_headers()
                self.wfile.write(b'{"total_entries": 1, "_embedded": {"entries": [\n')
                left = fault.size if fault.size is not None else ENDLESS
                while left > 0 and not server._stopping.is_set():
                    block = BLOCK[:left]
                    self.wfile.write(block)
                    left -= len(block)

            def _trickle(self, fault: Fault) -> None:
                if fault.phase == "headers":
                    self.wfile.write(b"HTTP/1.0 200 OK\r\n")
                    data = b"X-Slowly: " + b"a" * fault.limit
                else:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(fault.limit + 1))
                    self.end_headers()
                    data = b" " * fault.limit
                for byte in data:
                    if server._stopping.wait(fault.interval):
                        return
                    self.wfile.write(bytes([byte]))

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def flood(self, path: str = "", *, size: int | None = None) -> None:
        self.fault = Fault("flood", path, size=size)

    def trickle(self, path: str = "", *, phase: str = "body", limit: int = 120) -> None:
        self.fault = Fault("trickle", path, phase=phase, limit=limit)

    def behave(self) -> None:
        self.fault = None

    def __enter__(self) -> MisbehavingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self.server.shutdown()
        self.server.server_close()
