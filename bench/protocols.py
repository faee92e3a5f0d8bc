"""Benchmark 6, the thread-centric protocol (v3) beside the run-centric one.

Benchmarks 1 and 2 already run the v3 paths (`bench.clients.V3_PATHS`) next to the
run-centric modes; this module adds what they do not measure:

- `bare_v3_once`: a v3 run read with the SDK's transport alone (``run.start``, then the
  thread's events until the run's root lifecycle ends), the "bare SDK" of benchmark 2.
- `sessions`: N concurrent sessions per path, one after the other (benchmark 4 at one
  level), with the tokens each session saw of other sessions' replies counted.
- `history`: what a thread's history costs. A v3 event stream replays every earlier
  run of the thread from ``seq`` 1 before the new run's events, so the nth run on a
  thread receives all n; the run-centric stream carries only its own run.
"""

from __future__ import annotations

import gc
from collections.abc import Mapping, Sequence
from typing import Any

from langgraph_sdk.stream.transport import AsyncProtocolTransport, ProtocolSseTransport

from bench.clients import PATHS, V3_PATHS, ProbedWebSocketTransport, counting_client
from bench.common import MS, Sizes, new_session, stream_once
from bench.concurrency import concurrency
from bench.servers import ModelServer
from client.remote.client import ChatClient
from client.remote.thread_stream import CHANNELS

SESSION_PATHS: tuple[str, ...] = ("messages", "messages-tuple", *V3_PATHS)
"""The paths run at `Sizes.protocol_sessions` concurrent sessions."""
HISTORY_PATHS: tuple[str, ...] = ("messages-tuple", *V3_PATHS)
"""The paths whose cost per run is measured on one thread, run after run."""
_ENDS = frozenset({"completed", "failed", "interrupted"})


def _ended(event: Mapping[str, Any]) -> bool:
    """Tell whether a v3 event is a root lifecycle event that ends a run."""
    params = event.get("params")
    if event.get("method") != "lifecycle" or not isinstance(params, Mapping):
        return False
    data = params.get("data")
    return not params.get("namespace") and isinstance(data, Mapping) and data.get("event") in _ENDS


async def bare_v3_once(chat: ChatClient, thread_id: str, assistant_id: str, prompt: str) -> int:
    """Start a run over v3 and read the thread's events with the SDK's transport alone.

    The same command and channels as `client.remote.thread_stream.ThreadRunSource`, on
    the client's transport (SSE or WebSocket) and HTTP connection; the thread must be
    new, so the first root end is the run's. Returns the events received.
    """
    http, headers = chat.sdk.http.client, chat.connection.headers(chat.token)
    transport: AsyncProtocolTransport
    if chat.transport == "websocket":
        transport = ProbedWebSocketTransport(client=http, thread_id=thread_id, headers=headers)
    else:
        transport = ProtocolSseTransport(client=http, thread_id=thread_id, headers=headers)
    run_input = {"messages": [{"role": "user", "content": prompt}]}
    params = {"assistant_id": assistant_id, "input": run_input, "config": {}}
    events = 0
    try:
        await transport.send_command({"id": 1, "method": "run.start", "params": params})
        handle = transport.open_event_stream({"channels": CHANNELS})
        try:
            await handle.ready
            async for event in handle.events:
                events += 1
                if _ended(event):
                    break
        finally:
            await handle.close()
    finally:
        await transport.close()
    return events


async def sessions(
    url: str,
    model: ModelServer,
    server_pid: int,
    sizes: Sizes,
    paths: Sequence[str] = SESSION_PATHS,
) -> dict[str, Any]:
    """Run `Sizes.protocol_sessions` concurrent sessions on each path in turn."""
    rows: list[dict[str, Any]] = []
    for path in paths:
        level = await concurrency(
            url, model, server_pid, sizes, levels=(sizes.protocol_sessions,), path=path
        )
        rows.append({"path": path, "idle_server_cpu_pct": level["idle_server_cpu_pct"]})
        rows[-1].update(level["rows"][0])
    return {
        "sessions": sizes.protocol_sessions,
        "tokens": sizes.concurrency_tokens,
        "rate": sizes.concurrency_rate,
        "rows": rows,
    }


async def history(url: str, sizes: Sizes, paths: Sequence[str] = HISTORY_PATHS) -> dict[str, Any]:
    """Stream `Sizes.history_runs` unpaced replies one after the other on one thread per path.

    Returns per run: bytes received, client CPU, time to `RunStarted`, completeness
    and tokens of other runs seen (the replayed ones must not show).
    """
    rows: list[dict[str, Any]] = []
    for path in paths:
        chat, counter = await counting_client(url, path)
        async with chat:
            session = await new_session(chat)
            for run in range(1, sizes.history_runs + 1):
                gc.collect()
                trace = await stream_once(
                    session, tokens=sizes.history_tokens, rate=0, mode=PATHS[path][2],
                    counter=counter,
                )  # fmt: skip
                started = trace.t_started - trace.t_send if trace.t_started else float("nan")
                rows.append(
                    {
                        "path": path,
                        "run": run,
                        "bytes": trace.bytes,
                        "socket_bytes": trace.socket_bytes,
                        "cpu_ms": trace.cpu * MS,
                        "started_ms": started * MS,
                        "wall_s": trace.t_end - trace.t_send,
                        "complete": trace.complete,
                        "crossed": trace.crossed,
                        "error": trace.error,
                    }
                )
    return {"tokens": sizes.history_tokens, "runs": sizes.history_runs, "rows": rows}
