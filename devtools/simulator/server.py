"""The socket side: a threaded stdlib HTTP server around App."""

from __future__ import annotations

import logging
import socket
import struct
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from .app import App
from .http import Request, Response, message

log = logging.getLogger(__name__)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: App) -> None:
        self.app = app
        super().__init__(address, Handler)


class Handler(BaseHTTPRequestHandler):
    server: Server
    # Desk answered every request with "Connection: Close"; one request per connection also
    # keeps a reset fault from being retried on a pooled keep-alive connection.
    protocol_version = "HTTP/1.0"

    def version_string(self) -> str:
        return "nginx"

    def send_response(self, code: int, message: str | None = None) -> None:
        # As BaseHTTPRequestHandler's, with the Date header optional (App.date_header).
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Server", self.version_string())
        if self.server.app.date_header:
            self.send_header("Date", self.date_time_string())

    def date_time_string(self, timestamp: float | None = None) -> str:
        # The simulator's clock, which tests set, shift and freeze, not the machine's.
        if timestamp is None:
            timestamp = self.server.app.clock.now().timestamp()
        return super().date_time_string(timestamp)

    def handle_any(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        request = Request(
            method=self.command,
            path=split.path,
            query=split.query,
            headers=dict(self.headers.items()),
            body=self.rfile.read(length) if length else b"",
            host=host,
        )
        try:
            response = self.server.app.handle(request)
        except Exception:
            log.exception("simulator failed on %s %s", self.command, self.path)
            response = message(500, "Internal Server Error")
        if response.reset:
            self._reset()
        else:
            self._send(response)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = handle_any

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _reset(self) -> None:
        # Linger 0 makes close() send RST: the client sees "connection reset by peer".
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        log.debug("%s - %s", self.address_string(), format % args)
