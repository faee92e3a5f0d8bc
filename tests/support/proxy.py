"""A fault-injecting TCP proxy on the loopback interface, for dropped-connection tests.

`FaultProxy` forwards every connection to an upstream port and can cut a server-sent
event stream after a chosen number of its bytes, once or several times, or play a
server that is gone (every connection closed as soon as it opens). It knows nothing of
HTTP beyond spotting `text/event-stream` in a response, or a `101` upgrade to a
WebSocket, which is enough to aim a cut at a run's stream rather than at the requests
around it. It runs its own event loop in a background thread, so sync and async tests
can use it alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Self

from devtools.ports import LOOPBACK, bind_loopback, bound_port

_SSE_MARKER = b"text/event-stream"
_SWITCHING_PROTOCOLS = b"HTTP/1.1 101 "
_WEBSOCKET_UPGRADE = b"upgrade: websocket"
_CHUNK = 65536


class FaultProxy:
    """Forward `127.0.0.1:<port>` to `127.0.0.1:<upstream_port>`, with injected faults.

    Attributes:
        cuts: How many streams the proxy has cut so far.
    """

    def __init__(self, upstream_port: int) -> None:
        """Prepare the proxy; nothing runs until `start`.

        Args:
            upstream_port: The loopback port to forward to.
        """
        self.upstream_port = upstream_port
        self.cuts = 0
        self._lock = threading.Lock()
        self._planned: deque[int] = deque()
        self._refusing = False
        self._writers: set[asyncio.StreamWriter] = set()
        self._port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()

    @property
    def url(self) -> str:
        """Return the proxy's base URL."""
        if self._port is None:
            raise RuntimeError("FaultProxy is not running")
        return f"http://{LOOPBACK}:{self._port}"

    # -- faults ------------------------------------------------------------

    def cut_streams(self, *offsets: int) -> None:
        """Cut the next event streams, one per offset, after that many of their bytes.

        Each offset applies to the next response that is an event stream (counted
        from its status line), so a rejoined stream gets the next cut. A WebSocket
        is an event stream too: its bytes are counted from the `101` response's status
        line, through the server's frames (compressed, when the two sides agreed to).
        """
        with self._lock:
            self._planned.extend(offsets)

    @property
    def planned_cuts(self) -> int:
        """Return how many planned cuts have not happened yet."""
        with self._lock:
            return len(self._planned)

    def clear(self) -> None:
        """Forget the planned cuts and accept connections again."""
        with self._lock:
            self._planned.clear()
            self._refusing = False

    def go_away(self) -> None:
        """Play a server that is gone: drop every open connection and every new one."""
        with self._lock:
            self._refusing = True
        loop = self._loop
        if loop is not None:
            loop.call_soon_threadsafe(self._abort_all)

    def _abort_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()

    # -- lifecycle ---------------------------------------------------------

    def start(self, timeout: float = 5.0) -> Self:
        """Start forwarding in a background thread."""
        sock = bind_loopback(0)
        self._port = bound_port(sock)
        self._thread = threading.Thread(
            target=asyncio.run, args=(self._serve(sock),), name="fault-proxy", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("fault proxy failed to start")
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the proxy and close every connection; idempotent."""
        loop, stop, thread = self._loop, self._stop, self._thread
        if loop is None or stop is None or thread is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop already closed
            loop.call_soon_threadsafe(stop.set)
        thread.join(timeout)
        self._loop = self._stop = self._thread = None

    def __enter__(self) -> Self:
        """Start the proxy."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop the proxy."""
        self.stop()

    async def _serve(self, sock: socket.socket) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._handle, sock=sock)
        self._ready.set()
        async with server:
            await self._stop.wait()
            self._abort_all()

    # -- forwarding --------------------------------------------------------

    async def _handle(
        self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter
    ) -> None:
        with self._lock:
            refusing = self._refusing
        if refusing:
            client.transport.abort()
            return
        try:
            upstream_reader, upstream = await asyncio.open_connection(LOOPBACK, self.upstream_port)
        except OSError:
            client.transport.abort()
            return
        self._writers.update((client, upstream))
        # A new request on this connection means a new response to look at.
        response = _Response()
        try:
            await asyncio.gather(
                self._pump(client_reader, upstream, on_data=response.reset),
                self._downstream(upstream_reader, client, upstream, response),
            )
        except (OSError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # a cut, a closed peer, or the proxy stopping: the connection is over
        finally:
            for writer in (client, upstream):
                self._writers.discard(writer)
                writer.transport.abort()

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        on_data: Callable[[], None],
    ) -> None:
        while data := await reader.read(_CHUNK):
            on_data()
            writer.write(data)
            await writer.drain()
        writer.transport.abort()

    async def _downstream(
        self,
        reader: asyncio.StreamReader,
        client: asyncio.StreamWriter,
        upstream: asyncio.StreamWriter,
        response: _Response,
    ) -> None:
        while data := await reader.read(_CHUNK):
            if response.sent is None and response.opens_event_stream(data):
                with self._lock:
                    response.cut_at = self._planned.popleft() if self._planned else None
                response.sent = 0
            if response.sent is not None and response.cut_at is not None:
                room = response.cut_at - response.sent
                if len(data) >= room:
                    client.write(data[: max(room, 0)])
                    with contextlib.suppress(OSError):
                        await client.drain()
                    self.cuts += 1
                    client.transport.abort()
                    upstream.transport.abort()
                    return
            if response.sent is not None:
                response.sent += len(data)
            client.write(data)
            await client.drain()
        client.transport.abort()


class _Response:
    """What the proxy knows of the response being forwarded on one connection."""

    def __init__(self) -> None:
        self.sent: int | None = None
        """Bytes of the event stream forwarded so far; None before one was seen."""
        self.cut_at: int | None = None
        self.upgraded = False
        """True once the connection is a WebSocket: the client's frames are no requests."""

    def opens_event_stream(self, data: bytes) -> bool:
        """Tell whether a response's first bytes open an event stream (SSE, or a WebSocket)."""
        if _SSE_MARKER in data:
            return True
        head = data.split(b"\r\n\r\n", 1)[0]
        self.upgraded = head.startswith(_SWITCHING_PROTOCOLS) and _WEBSOCKET_UPGRADE in head.lower()
        return self.upgraded

    def reset(self) -> None:
        """Forget the last response: the client sent (part of) a new request."""
        if not self.upgraded:
            self.sent = self.cut_at = None
