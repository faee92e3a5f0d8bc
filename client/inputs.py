"""Checks made before any request: the message, the server URL, stream modes, protocol.

Shared by the remote and the in-process sessions, so both refuse the same input with
the same `InvalidInput` line.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, cast, get_args

import httpx
from langgraph_sdk.schema import StreamMode

from client.errors import InvalidInput

DEFAULT_STREAM_MODES: tuple[StreamMode, ...] = ("messages-tuple", "updates")
"""Tokens and tool-call fragments (`messages-tuple`: bytes grow linearly with the reply,
while legacy `messages` resends the whole message per token: 5.9x tuple's bytes at
1,000 tokens, see `make bench`), plus each node's update, which is where the
summarizer's output shows: its model call is tagged `nostream`, so it never appears as
tokens."""

STREAM_MODES: tuple[StreamMode, ...] = (
    "messages",
    "messages-tuple",
    "values",
    "updates",
    "events",
    "custom",
)
"""Stream modes a chat session can ask for."""

StreamProtocol = Literal["runs", "v3"]
"""How runs are streamed: run-centric `runs.stream` (stream modes), or the thread-centric
protocol (v3: `run.start`, then the thread's event stream)."""

Transport = Literal["sse", "websocket"]
"""What carries the v3 protocol's events: server-sent events, or a WebSocket."""


def check_streaming(protocol: str, transport: str) -> tuple[StreamProtocol, Transport]:
    """Return the protocol and transport to stream runs with.

    Raises:
        InvalidInput: Either is unknown, or a transport other than SSE is asked of the
            run-centric protocol (it has no other).
    """
    if protocol not in get_args(StreamProtocol):
        raise InvalidInput(f"unknown streaming protocol {protocol!r}; choose runs or v3")
    if transport not in get_args(Transport):
        raise InvalidInput(f"unknown transport {transport!r}; choose sse or websocket")
    if protocol == "runs" and transport != "sse":
        raise InvalidInput("the runs protocol streams over SSE only; use --protocol v3")
    return cast(StreamProtocol, protocol), cast(Transport, transport)


MAX_MESSAGE_CHARS = 100_000
"""The longest message `send` accepts: about 25,000 tokens, a fifth of a 128k-token
context window, so one message cannot crowd the conversation out of the model's
context (a server would take far more; the model would not)."""


def validate_message(text: object) -> str:
    """Return the message to send.

    Raises:
        InvalidInput: The message is not a string, is empty or only whitespace, or is
            longer than `MAX_MESSAGE_CHARS`.
    """
    if not isinstance(text, str):
        raise InvalidInput(f"the message must be text, not {type(text).__name__}")
    if not text.strip():
        raise InvalidInput("the message is empty; type something to send")
    if len(text) > MAX_MESSAGE_CHARS:
        raise InvalidInput(
            f"the message is {len(text):,} characters long; the limit is {MAX_MESSAGE_CHARS:,}"
        )
    return text


def check_url(url: str) -> str:
    """Return the server URL without a trailing slash.

    Raises:
        InvalidInput: The URL has no `http`/`https` scheme or no host. Without the
            check, httpx reports a missing scheme only once a request is made, and as a
            transport error, which reads like a dropped connection.
    """
    if "://" not in url:
        raise InvalidInput(f"bad URL {url!r}: give the scheme, e.g. http://{url}")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as error:
        raise InvalidInput(f"bad URL {url!r}: {error}") from None
    if (
        parsed.scheme not in ("http", "https")
        or not parsed.host
        or any(c.isspace() or c == "%" for c in parsed.host + url)
    ):
        raise InvalidInput(f"bad URL {url!r}: use http://HOST:PORT or https://HOST")
    return url.rstrip("/")


def parse_stream_modes(modes: str | Iterable[str]) -> tuple[StreamMode, ...]:
    """Return stream modes from a name, comma-separated names, or a sequence of them.

    Raises:
        InvalidInput: A name is not a stream mode a chat session can use.
    """
    names = [modes] if isinstance(modes, str) else list(modes)
    parsed: list[StreamMode] = []
    for name in (part.strip() for entry in names for part in entry.split(",")):
        if not name:
            continue
        if name not in STREAM_MODES:
            raise InvalidInput(
                f"unknown stream mode {name!r}; use one of {', '.join(STREAM_MODES)}"
            )
        if name not in parsed:
            parsed.append(name)
    if not parsed:
        raise InvalidInput(f"no stream mode given; use one of {', '.join(STREAM_MODES)}")
    return tuple(parsed)
