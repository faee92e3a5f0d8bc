"""The HTTP connections behind `ChatClient`: one pool per server, shared by every user.

A `ServerConnection` is the pool (an httpx transport) and the settings every request
to the server shares. Each user gets their own `httpx.AsyncClient` over it, whose
headers carry their token, so a process serving many users keeps one pool instead of
one per user. Only the connection's owner closes the transport.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import langgraph_sdk

from client.remote.resume import guard_event_streams

DEFAULT_TIMEOUT = httpx.Timeout(connect=5, read=300, write=300, pool=5)
"""The SDK's own timeouts: a read may wait 300 s, for long runs."""


@dataclass(frozen=True, slots=True)
class ServerConnection:
    """A connection pool to one server, and what every request on it sends.

    Attributes:
        url: The server's base URL (already checked).
        transport: The pool. Limits belong to it: httpx ignores a client's own when
            it is given a transport.
        timeout: HTTP timeouts.
        api_key: Sent as `x-api-key` (LangGraph Platform's deployment key), or None.
    """

    url: str
    transport: httpx.AsyncBaseTransport
    timeout: httpx.Timeout
    api_key: str | None = None

    @classmethod
    def open(
        cls,
        url: str,
        api_key: str | None = None,
        *,
        connect_retries: int = 1,
        timeout: httpx.Timeout | None = None,
        max_connections: int | None = None,
    ) -> ServerConnection:
        """Make a new pool to `url` (see `ChatClient` for the arguments)."""
        # Built like `get_client` builds its pool, but with `connect_retries`: the
        # factory hard-codes five retries.
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=20)
        transport = httpx.AsyncHTTPTransport(retries=connect_retries, limits=limits)
        return cls(url, transport, timeout or DEFAULT_TIMEOUT, api_key)

    def headers(self, token: str | None) -> dict[str, str]:
        """Return the headers of every request made with `token` (None: no token)."""
        headers = {"User-Agent": f"lgchat langgraph-sdk-py/{langgraph_sdk.__version__}"}
        if self.api_key:
            headers["x-api-key"] = self.api_key
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def http_client(self, token: str | None) -> httpx.AsyncClient:
        """Return an HTTP client over the pool whose requests carry `token`.

        Closing the client closes the pool: only the pool's owner may.
        """
        return httpx.AsyncClient(
            base_url=self.url,
            transport=self.transport,
            timeout=self.timeout,
            headers=self.headers(token),
            # Sessions rejoin dropped streams themselves (client.remote.resume explains why).
            event_hooks={"response": [guard_event_streams]},
        )
