"""A tiny stub HTTP server on a free loopback port, for tests of servers that misbehave.

The handler class decides every answer; :func:`serving` runs it on a background thread
for the length of a ``with`` block.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextlib.contextmanager
def serving(handler: Callable[..., BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on ``127.0.0.1`` in a thread until the block ends.

    Args:
        handler: The request handler class, or a factory such as a
            :func:`functools.partial` of one.

    Yields:
        The server's base URL, ``http://127.0.0.1:<port>``.
    """
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
