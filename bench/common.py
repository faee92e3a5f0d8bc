"""Shared machinery of the benchmarks: sizes, numbers, and one measured run.

Every time stamp is `time.monotonic()`, which on Linux is `CLOCK_MONOTONIC` and so the
same clock in the benchmark process and in the model server process; a token's delay is
its arrival here minus its emission there. The processes measured are in
`bench.servers`; the clients, and what they count of the wire, in `bench.clients`.
"""

from __future__ import annotations

import io
import itertools
import math
import re
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from langgraph_sdk.schema import StreamMode

from bench.clients import WireCounter
from bench.model_server import TOKEN_PATTERN, bench_prompt
from client.cli.render import PlainRenderer
from client.events import MessageFinished, RunError, RunStarted, StateValues, TextDelta
from client.remote.client import ChatClient
from client.remote.session import RemoteChatSession

MS = 1000.0


@dataclass(frozen=True)
class Sizes:
    """How big each benchmark is (full run or `--smoke`)."""

    latency_runs: int = 5
    latency_tokens: int = 300
    latency_rate: float = 100.0
    wire_tokens: tuple[int, ...] = (100, 1000, 4000)
    replay_tokens: int = 1000
    replay_repeats: int = 5
    live_pairs: int = 3
    concurrency: tuple[int, ...] = (1, 10, 25, 50, 100)
    concurrency_tokens: int = 150
    concurrency_rate: float = 50.0
    protocol_sessions: int = 100
    history_runs: int = 8
    history_tokens: int = 100
    turns: int = 60


SMOKE = Sizes(
    latency_runs=1,
    latency_tokens=20,
    wire_tokens=(20,),
    replay_tokens=20,
    replay_repeats=1,
    live_pairs=1,
    concurrency=(1,),
    concurrency_tokens=20,
    protocol_sessions=2,
    history_runs=2,
    history_tokens=20,
    turns=3,
)


async def new_session(chat: ChatClient, assistant: str = "chatbot") -> RemoteChatSession:
    """Open a session on a thread created now, so `send` makes no extra request."""
    thread = await chat.create_thread(graph_id=assistant)
    return await chat.session(assistant, thread_id=thread.thread_id)


# --- numbers --------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Return the ``q``-th percentile (0-100, linear interpolation); NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def mean(values: Sequence[float]) -> float:
    """Return the arithmetic mean; NaN when empty."""
    return sum(values) / len(values) if values else math.nan


def new_nonce() -> str:
    """Return a fresh run tag for the benchmark prompt (``q`` + 8 hex digits)."""
    return "q" + secrets.token_hex(4)


def stats_ms(values: Sequence[float]) -> dict[str, float]:
    """Return p50, p95, p99 and max of ``values`` (seconds) in milliseconds."""
    return {
        "p50": percentile(values, 50) * MS,
        "p95": percentile(values, 95) * MS,
        "p99": percentile(values, 99) * MS,
        "max": max(values) * MS if values else float("nan"),
    }


# --- one measured run -----------------------------------------------------------------


@dataclass
class RunTrace:
    """What one streamed reply looked like from the client.

    Attributes:
        nonce: The run's tag (tokens are ``<nonce>.<i> ``).
        tokens: Tokens requested.
        t_send: When `send` was called.
        t_started: When `RunStarted` arrived (the stream's `metadata`; over v3 the
            run's `running` lifecycle event).
        t_ack: When the server acknowledged the run (counted clients only).
        t_first_byte: When the stream's first byte or message arrived (counted only).
        arrivals: Token index -> when the client first saw it.
        crossed: Tokens of other runs (another nonce) seen in this run's events.
        t_end: When the stream ended.
        events: Typed events received.
        cpu: Client process CPU seconds spent in the stream.
        bytes: Stream bytes, plus the ``run.start`` answer over v3 (0 when not counted).
        socket_bytes: WebSocket bytes read from the socket (0 over SSE or not counted).
        rendered: What the plain renderer wrote.
        error: The run's error, or an exception, if any.
    """

    nonce: str
    tokens: int
    t_send: float = 0.0
    t_started: float | None = None
    t_ack: float | None = None
    t_first_byte: float | None = None
    arrivals: dict[int, float] = field(default_factory=dict)
    crossed: int = 0
    t_end: float = 0.0
    events: int = 0
    cpu: float = 0.0
    bytes: int = 0
    socket_bytes: int = 0
    rendered: str = ""
    error: str | None = None

    def delays(self, emissions: Mapping[int, float]) -> list[float]:
        """Return arrival minus emission, in seconds, for every token seen at both ends."""
        return [t - emissions[i] for i, t in self.arrivals.items() if i in emissions]

    def gaps(self) -> list[float]:
        """Return the time between consecutive tokens as received, in seconds."""
        times = sorted(self.arrivals.values())
        return [b - a for a, b in itertools.pairwise(times)]

    @property
    def complete(self) -> bool:
        """Whether every token arrived and no error was reported."""
        return self.error is None and len(self.arrivals) == self.tokens


def _event_text(event: object) -> str:
    if isinstance(event, TextDelta):
        return event.text
    if isinstance(event, MessageFinished):
        return event.message.text
    if isinstance(event, StateValues):
        return str(event.values.get("messages", ""))
    return ""


async def stream_once(
    session: RemoteChatSession,
    *,
    tokens: int,
    rate: float,
    mode: StreamMode | Sequence[StreamMode] | None = None,
    counter: WireCounter | None = None,
    render: bool = False,
    keep_bytes: bool = False,
) -> RunTrace:
    """Send one benchmark prompt through `RemoteChatSession.send` and time what comes back.

    Exceptions are caught and reported in `RunTrace.error`, so a failed session does
    not stop a concurrent batch.
    """
    trace = RunTrace(nonce=new_nonce(), tokens=tokens)
    out = io.StringIO()
    renderer = PlainRenderer(out, io.StringIO()) if render else None
    if counter is not None:
        counter.reset(keep=keep_bytes)
    find = TOKEN_PATTERN.finditer
    foreign: set[tuple[str, str]] = set()
    cpu0 = time.process_time()
    trace.t_send = time.monotonic()
    try:
        async for event in session.send(bench_prompt(tokens, rate, trace.nonce), stream_mode=mode):
            now = time.monotonic()
            trace.events += 1
            if isinstance(event, RunStarted):
                trace.t_started = now
            elif isinstance(event, RunError):
                trace.error = event.message
            for match in find(_event_text(event)):
                if match.group(1) == trace.nonce:
                    trace.arrivals.setdefault(int(match.group(2)), now)
                else:
                    foreign.add((match.group(1), match.group(2)))
            if renderer is not None:
                renderer.render(event)
    except Exception as exc:
        trace.error = f"{type(exc).__name__}: {exc}"
    trace.t_end = time.monotonic()
    trace.cpu = time.process_time() - cpu0
    if renderer is not None:
        renderer.close()
        trace.rendered = out.getvalue()
    trace.crossed = len(foreign)
    if counter is not None:
        trace.bytes = counter.count + counter.command
        trace.socket_bytes = counter.socket
        trace.t_ack, trace.t_first_byte = counter.t_ack, counter.t_first
    return trace


def rendered_without_nonce(text: str) -> str:
    """Return rendered output with the run tag replaced, to compare two runs."""
    return re.sub(r"q[0-9a-f]{8}", "qXXXXXXXX", text)
