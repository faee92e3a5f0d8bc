"""A tiny HTTP server on a free loopback port, for stand-ins of other servers.

The handler class decides every answer; :func:`serving` runs it on a background thread
for the length of a ``with`` block. Tests use it for servers that misbehave, and
`devtools.jwks` for an identity provider's key set.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from devtools.ports import LOOPBACK


@contextlib.contextmanager
def serving(handler: Callable[..., BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on ``127.0.0.1`` in a thread until the block ends.

    Args:
        handler: The request handler class, or a factory such as a
            :func:`functools.partial` of one.

    Yields:
        The server's base URL, ``http://127.0.0.1:<port>``.
    """
    server = ThreadingHTTPServer((LOOPBACK, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that logs nothing and answers in one call."""

    def read_body(self) -> bytes:
        """Return the request's body (read, so a kept-alive connection stays usable)."""
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def answer(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        *,
        headers: Mapping[str, str] | None = None,
        head: bool = False,
    ) -> None:
        """Send one whole response, with extra `headers`; for HEAD (`head`), no body."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def answer_json(
        self,
        status: int,
        payload: Any,
        *,
        headers: Mapping[str, str] | None = None,
        head: bool = False,
    ) -> None:
        """Send `payload` as a JSON response."""
        self.answer(status, json.dumps(payload).encode(), headers=headers, head=head)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""
