"""The benchmarks' client, counting the bytes of the run streams it receives.

`counting_client` returns a `ChatClient` whose `WireCounter` sees the body bytes of
``/runs/stream`` responses as the transport hands them to httpx (a wrapping
`httpx.AsyncBaseTransport`: SSE framing included, HTTP headers and chunked framing not).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
from langgraph_sdk.client import LangGraphClient

from client.remote.client import ChatClient


class _CountingStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, sink: WireCounter) -> None:
        self._inner = inner
        self._sink = sink

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            self._sink.add(chunk)
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


@dataclass
class WireCounter:
    """Response body bytes of run streams, as the HTTP transport hands them to httpx.

    Attributes:
        count: Bytes counted since the last `reset`.
        keep: Keep a copy of the bytes (to replay a stream later).
        kept: The copy.
    """

    count: int = 0
    keep: bool = False
    kept: list[bytes] = field(default_factory=list)

    def add(self, chunk: bytes) -> None:
        """Count (and maybe keep) one chunk."""
        self.count += len(chunk)
        if self.keep:
            self.kept.append(chunk)

    def reset(self, *, keep: bool = False) -> None:
        """Start counting again."""
        self.count, self.keep, self.kept = 0, keep, []


class CountingTransport(httpx.AsyncBaseTransport):
    """Wraps the real transport; counts the body bytes of ``/runs/stream`` responses."""

    def __init__(self, counter: WireCounter) -> None:
        """Count into ``counter``."""
        self._inner = httpx.AsyncHTTPTransport(retries=1)
        self.counter = counter

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send the request; wrap a run stream's body in a counter."""
        response = await self._inner.handle_async_request(request)
        if request.url.path.endswith("/runs/stream"):
            assert isinstance(response.stream, httpx.AsyncByteStream)
            response.stream = _CountingStream(response.stream, self.counter)
        return response

    async def aclose(self) -> None:
        """Close the real transport."""
        await self._inner.aclose()


async def counting_client(url: str) -> tuple[ChatClient, WireCounter]:
    """Return a `ChatClient` whose SDK connection counts run-stream bytes.

    The client is built as usual, then its SDK client is swapped for one over a
    `CountingTransport` (same base URL, timeouts and headers).
    """
    chat = ChatClient(url)
    original = chat.sdk.http.client
    counter = WireCounter()
    http = httpx.AsyncClient(
        base_url=original.base_url,
        transport=CountingTransport(counter),
        timeout=original.timeout,
        headers=original.headers,
    )
    await chat.sdk.aclose()
    chat.sdk = LangGraphClient(http)
    return chat, counter
