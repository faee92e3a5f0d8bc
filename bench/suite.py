"""The benchmarks of `make bench`, one module each; this module is their index.

1. `latency` (`bench.latency`): time to first token, split into its stages, and
   per-token delay, for the baseline `ChatOpenAI.astream` and for `langgraph dev` +
   `RemoteChatSession` in `messages`, `messages-tuple` and `values` modes.
2. `wire` (`bench.wire`): run-stream bytes and client CPU per token, legacy `messages`
   vs `messages-tuple`, at several reply lengths; checks the rendered output is identical.
3. `overhead` (`bench.replay`): CPU of `StreamDecoder` + `PlainRenderer` against bare
   iteration of the SDK stream, replaying recorded SSE bytes (no network).
4. `concurrency` (`bench.concurrency`): N simultaneous sessions against one server.
5. `conversation` (`bench.conversation`): prompt tokens per turn under the
   message-count trigger, the token budget and no summarization.
"""

from __future__ import annotations

from typing import Any

from bench import conversation as bench_conversation
from bench.common import SMOKE, Sizes, new_session
from bench.concurrency import concurrency
from bench.latency import LATENCY_PATHS, latency
from bench.replay import overhead
from bench.servers import ModelServer
from bench.wire import WIRE_MODES, live_overhead, record, wire

__all__ = [
    "LATENCY_PATHS",
    "SMOKE",
    "WIRE_MODES",
    "Sizes",
    "concurrency",
    "conversation",
    "latency",
    "live_overhead",
    "new_session",
    "overhead",
    "record",
    "wire",
]


async def conversation(url: str, model: ModelServer, sizes: Sizes) -> dict[str, Any]:
    """Benchmark 5: prompt tokens per turn under each summary trigger (`bench.conversation`)."""
    return await bench_conversation.conversation(url, model, sizes.turns)
