"""The benchmarks of `make bench`, one module each; this module is their index.

1. `latency` (`bench.latency`): time to first token, split into its stages, and
   per-token delay, for the baseline `ChatOpenAI.astream` and for `langgraph dev` +
   `RemoteChatSession` in `messages`, `messages-tuple` and `values` modes, and over the
   thread-centric protocol (v3) by SSE and WebSocket.
2. `wire` (`bench.wire`): stream bytes and client CPU per token, legacy `messages`,
   `messages-tuple` and v3 over SSE and WebSocket, at several reply lengths; checks the
   rendered output is identical.
3. `overhead` (`bench.replay`): CPU of `StreamDecoder` + `PlainRenderer` against bare
   iteration of the SDK stream, replaying recorded SSE bytes (no network).
4. `concurrency` (`bench.concurrency`): N simultaneous sessions against one server.
5. `conversation` (`bench.conversation`): prompt tokens per turn under the
   message-count trigger, the token budget and no summarization.
6. `sessions` and `history` (`bench.protocols`): each protocol at 100 concurrent
   sessions, and what a thread's history costs a run.
"""

from __future__ import annotations

from typing import Any

from bench import conversation as bench_conversation
from bench.common import SMOKE, Sizes, new_session
from bench.concurrency import concurrency
from bench.latency import ALL_PATHS, LATENCY_PATHS, latency
from bench.protocols import history, sessions
from bench.replay import overhead
from bench.servers import ModelServer
from bench.wire import WIRE_MODES, WIRE_PATHS, live_overhead, record, wire

__all__ = [
    "ALL_PATHS",
    "LATENCY_PATHS",
    "SMOKE",
    "WIRE_MODES",
    "WIRE_PATHS",
    "Sizes",
    "concurrency",
    "conversation",
    "history",
    "latency",
    "live_overhead",
    "new_session",
    "overhead",
    "record",
    "sessions",
    "wire",
]


async def conversation(url: str, model: ModelServer, sizes: Sizes) -> dict[str, Any]:
    """Benchmark 5: prompt tokens per turn under each summary trigger (`bench.conversation`)."""
    return await bench_conversation.conversation(url, model, sizes.turns)
