"""The benchmarks' clients: one per stream path, each counting the bytes it receives.

A *path* is how a reply reaches the client: the run-centric protocol in one stream mode
(``messages``, ``messages-tuple``, ``values``) or the thread-centric protocol (v3) over
one transport (``v3-sse``, ``v3-websocket``). `counting_client` returns a `ChatClient`
for a path whose `WireCounter` sees, per run:

- the stream's bytes: over HTTP the body of ``/runs/stream`` or
  ``/threads/{id}/stream/events`` as the transport hands it to httpx (a wrapping
  `httpx.AsyncBaseTransport`: SSE framing included, HTTP headers and chunked framing
  not); over a WebSocket the payload of every data frame as the connection decodes it
  (after permessage-deflate, so the same JSON an SSE body carries), and apart from that
  the bytes read from the socket once the handshake is over (compressed frames and
  their headers: what crossed the network);
- the bytes of the ``run.start`` answers (``/threads/{id}/commands``), v3 only;
- when the run was acknowledged (``/runs/stream``'s response headers, or the
  ``run.start`` answer's) and when the stream's first byte (or WebSocket message) came.

The WebSocket counter needs a hook the library does not offer: `ThreadRunSource`
builds `ProtocolWebSocketTransport` itself, without a ``connect`` argument. So
`install_websocket_probe` swaps the class `client.remote.thread_stream` builds for a
subclass whose ``connect`` makes counting connections (`websockets`'
``create_connection``) for clients made here; other clients connect as before.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.schema import StreamMode
from langgraph_sdk.stream.transport import ProtocolWebSocketTransport
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as websocket_connect
from websockets.frames import DATA_OPCODES, Frame
from websockets.protocol import Event, State

import client.remote.thread_stream as thread_stream
from client.inputs import StreamProtocol, Transport
from client.remote.client import ChatClient

PATHS: dict[str, tuple[StreamProtocol, Transport, StreamMode]] = {
    "messages": ("runs", "sse", "messages"),
    "messages-tuple": ("runs", "sse", "messages-tuple"),
    "values": ("runs", "sse", "values"),
    "v3-sse": ("v3", "sse", "messages-tuple"),
    "v3-websocket": ("v3", "websocket", "messages-tuple"),
}
"""Path -> protocol, transport and the stream mode `send` is given. v3 has no stream
modes: the client follows the lifecycle, messages, values, updates and custom channels
whatever the mode, which only picks the events passed on (here, no states or updates)."""

V3_PATHS: tuple[str, ...] = ("v3-sse", "v3-websocket")
"""The thread-centric paths."""


@dataclass
class WireCounter:
    """What one client received for the runs it streamed since the last `reset`.

    Attributes:
        count: Stream bytes: SSE body, or WebSocket data frame payloads (inflated).
        command: Bytes of ``run.start`` answers.
        socket: WebSocket bytes read from the socket after the handshake (0 over SSE).
        t_ack: When the run was acknowledged (`time.monotonic`), if seen.
        t_first: When the stream's first byte or message came, if any.
        keep: Keep a copy of the stream bytes (SSE only; to replay a stream later).
        kept: The copy.
    """

    count: int = 0
    command: int = 0
    socket: int = 0
    t_ack: float | None = None
    t_first: float | None = None
    keep: bool = False
    kept: list[bytes] = field(default_factory=list)

    def add(self, chunk: bytes) -> None:
        """Count (and maybe keep) one chunk of a stream."""
        if self.t_first is None:
            self.t_first = time.monotonic()
        self.count += len(chunk)
        if self.keep:
            self.kept.append(chunk)

    def add_frame(self, size: int) -> None:
        """Count one WebSocket data frame's payload."""
        if self.t_first is None:
            self.t_first = time.monotonic()
        self.count += size

    def reset(self, *, keep: bool = False) -> None:
        """Start counting again."""
        self.count, self.command, self.socket = 0, 0, 0
        self.t_ack = self.t_first = None
        self.keep, self.kept = keep, []


class _CountingStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, add: Callable[[bytes], None]) -> None:
        self._inner = inner
        self._add = add

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            self._add(chunk)
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


def _is_stream(path: str) -> bool:
    return path.endswith(("/runs/stream", "/stream/events"))


class CountingTransport(httpx.AsyncBaseTransport):
    """Wraps the real transport; counts run streams and ``run.start`` answers."""

    def __init__(self, counter: WireCounter) -> None:
        """Count into ``counter``."""
        self._inner = httpx.AsyncHTTPTransport(retries=1)
        self.counter = counter

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send the request; time the run's acknowledgement, wrap its bodies in counters."""
        response = await self._inner.handle_async_request(request)
        path = request.url.path
        counter = self.counter
        acknowledges = path.endswith(("/runs/stream", "/commands"))
        if acknowledges and counter.t_ack is None:
            counter.t_ack = time.monotonic()
        if _is_stream(path) or path.endswith("/commands"):
            assert isinstance(response.stream, httpx.AsyncByteStream)
            response.stream = _CountingStream(response.stream, self._sink(path))
        return response

    def _sink(self, path: str) -> Callable[[bytes], None]:
        if _is_stream(path):
            return self.counter.add

        def command(chunk: bytes) -> None:
            self.counter.command += len(chunk)

        return command

    async def aclose(self) -> None:
        """Close the real transport."""
        await self._inner.aclose()


# --- WebSocket ------------------------------------------------------------------------

_COUNTERS: weakref.WeakKeyDictionary[httpx.AsyncClient, WireCounter] = weakref.WeakKeyDictionary()
"""The counter of each HTTP client made by `counting_client`, for its WebSockets."""


def _counting_connection(counter: WireCounter) -> type[ClientConnection]:
    """Return a `ClientConnection` class that counts into ``counter``."""

    class CountingConnection(ClientConnection):
        def data_received(self, data: bytes) -> None:
            if self.protocol.state is State.OPEN:  # the handshake's answer is not counted
                counter.socket += len(data)
            super().data_received(data)

        def process_event(self, event: Event) -> None:
            if isinstance(event, Frame) and event.opcode in DATA_OPCODES:
                counter.add_frame(len(event.data))
            super().process_event(event)

    return CountingConnection


class ProbedWebSocketTransport(ProtocolWebSocketTransport):
    """The SDK's WebSocket transport, its connections counted for clients made here."""

    def __init__(self, *, client: httpx.AsyncClient, **kwargs: Any) -> None:
        counter = _COUNTERS.get(client)
        if counter is not None and "connect" not in kwargs:
            connection = _counting_connection(counter)

            def connect(url: str, **options: Any) -> Any:
                return websocket_connect(url, create_connection=connection, **options)

            kwargs["connect"] = connect
        super().__init__(client=client, **kwargs)


def install_websocket_probe() -> None:
    """Make `ThreadRunSource` build `ProbedWebSocketTransport` (idempotent)."""
    thread_stream.ProtocolWebSocketTransport = ProbedWebSocketTransport  # type: ignore[attr-defined]


# --- clients --------------------------------------------------------------------------


async def counting_client(url: str, path: str = "messages-tuple") -> tuple[ChatClient, WireCounter]:
    """Return a `ChatClient` for ``path`` whose SDK connection counts what it receives.

    The client is built as usual, then its SDK client is swapped for one over a
    `CountingTransport` (same base URL, timeouts, headers and response hooks).
    """
    protocol, transport, _ = PATHS[path]
    install_websocket_probe()
    chat = ChatClient(url, protocol=protocol, transport=transport)
    original = chat.sdk.http.client
    counter = WireCounter()
    http = httpx.AsyncClient(
        base_url=original.base_url,
        transport=CountingTransport(counter),
        timeout=original.timeout,
        headers=original.headers,
        event_hooks=original.event_hooks,
    )
    await chat.sdk.aclose()
    chat.sdk = LangGraphClient(http)
    _COUNTERS[http] = counter
    return chat, counter
