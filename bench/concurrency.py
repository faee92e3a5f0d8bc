"""Benchmark 4, concurrency: N simultaneous sessions against one server or several.

Each level opens N sessions on threads of their own, then sends every prompt at once
and measures delivery, token delay, TTFT, the tokens each session saw of other
sessions' replies (crossed), and the CPU of the server, the model server, this client
and the whole machine over the level's wall time.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Sequence
from typing import Any

from langgraph_sdk.schema import StreamMode

from bench.clients import PATHS
from bench.common import RunTrace, Sizes, new_session, stats_ms, stream_once
from bench.servers import ModelServer, group_cpu_seconds, machine_cpu_seconds
from client.inputs import StreamProtocol, Transport
from client.remote.client import ChatClient
from client.remote.session import RemoteChatSession


async def concurrency(
    url: str | Sequence[str],
    model: ModelServer,
    server_pid: int | Sequence[int],
    sizes: Sizes,
    *,
    level_budget_s: float = math.inf,
    levels: Sequence[int] | None = None,
    path: str | None = None,
) -> dict[str, Any]:
    """Benchmark 4: N simultaneous sessions against one server or several.

    Args:
        url: The server, or several sharing one database: sessions go round-robin.
        model: The scripted model server.
        server_pid: Process group(s) whose CPU is the server CPU (summed).
        sizes: Levels, tokens and rate.
        level_budget_s: Skip the remaining levels once the next one would take longer
            than this at the aggregate rate just measured (the server is saturated).
        levels: Session counts to run instead of ``sizes.concurrency``.
        path: Stream path (`bench.clients.PATHS`: protocol, transport, stream mode);
            None for the run-centric protocol in the client's default stream modes.
    """
    urls = [url] if isinstance(url, str) else list(url)
    pids = [server_pid] if isinstance(server_pid, int) else list(server_pid)
    protocol: StreamProtocol = PATHS[path][0] if path else "runs"
    transport: Transport = PATHS[path][1] if path else "sse"
    mode: StreamMode | None = PATHS[path][2] if path else None  # None: the session's default

    def server_cpu_s() -> float:
        return sum(group_cpu_seconds(pid) for pid in pids)

    rows: list[dict[str, Any]] = []
    skipped: list[int] = []
    idle0, t_idle = server_cpu_s(), time.monotonic()
    await asyncio.sleep(3.0)
    idle_pct = (server_cpu_s() - idle0) / (time.monotonic() - t_idle) * 100
    async with contextlib.AsyncExitStack() as stack:
        chats = [
            await stack.enter_async_context(ChatClient(u, protocol=protocol, transport=transport))
            for u in urls
        ]
        for chat in chats:
            await chat.assistants()
        for level in sizes.concurrency if levels is None else levels:
            rate = rows[-1]["tokens_per_s"] if rows else math.nan
            if rate > 0 and level * sizes.concurrency_tokens / rate > level_budget_s:
                skipped.append(level)  # saturated: it would only queue for longer
                continue
            model.reset()
            gate = asyncio.Semaphore(20)

            async def opened(index: int, gate: asyncio.Semaphore = gate) -> RemoteChatSession:
                async with gate:
                    return await new_session(chats[index % len(chats)])

            sessions = await asyncio.gather(*(opened(i) for i in range(level)))
            await asyncio.sleep(1.0)
            s0, m0, all0 = server_cpu_s(), group_cpu_seconds(model.pid), machine_cpu_seconds()
            c0 = time.process_time()
            t0 = time.monotonic()
            traces = await asyncio.gather(
                *(
                    stream_once(
                        s, tokens=sizes.concurrency_tokens, rate=sizes.concurrency_rate, mode=mode
                    )
                    for s in sessions
                )
            )
            wall = time.monotonic() - t0
            cpu = {
                "server_cpu_pct": server_cpu_s() - s0,
                "model_cpu_pct": group_cpu_seconds(model.pid) - m0,
                "client_cpu_pct": time.process_time() - c0,
                "machine_cpu_pct": machine_cpu_seconds() - all0,
            }
            row = _level_row(level, traces, model, sizes, wall)
            row.update({name: seconds / wall * 100 for name, seconds in cpu.items()})
            rows.append(row)
            print(f"  concurrency {level}: {row['tokens_per_s']:.0f} tok/s", flush=True)
    return {
        "tokens": sizes.concurrency_tokens,
        "rate": sizes.concurrency_rate,
        "path": path,
        "idle_server_cpu_pct": idle_pct,
        "servers": len(urls),
        "skipped": skipped,
        "rows": rows,
    }


def _level_row(
    level: int, traces: Sequence[RunTrace], model: ModelServer, sizes: Sizes, wall: float
) -> dict[str, Any]:
    """Return one level's delivery, delays, TTFT and errors (CPU is added by the caller)."""
    emissions = model.emissions()
    delays = [d for t in traces for d in t.delays(emissions.get(t.nonce, {}))]
    firsts = [min(t.arrivals.values()) for t in traces if t.arrivals]
    lasts = [max(t.arrivals.values()) for t in traces if t.arrivals]
    delivered = sum(len(t.arrivals) for t in traces)
    window = max(lasts) - min(firsts) if firsts else float("nan")
    dispatch = [t.t_started - t.t_send for t in traces if t.t_started is not None]
    ttft = [t.arrivals[0] - t.t_send for t in traces if 0 in t.arrivals]
    errors = [t.error or "incomplete" for t in traces if not t.complete]
    return {
        "sessions": level,
        "delivered": delivered,
        "expected": level * sizes.concurrency_tokens,
        "complete": sum(t.complete for t in traces),
        "crossed": sum(t.crossed for t in traces),
        "errors": len(errors),
        "error_samples": sorted(set(errors))[:3],
        "wall_s": wall,
        "tokens_per_s": delivered / window if window > 0 else float("nan"),
        "ideal_tokens_per_s": level * sizes.concurrency_rate,
        "delay_ms": stats_ms(delays),
        "gap_ms": stats_ms([g for t in traces for g in t.gaps()]),
        "dispatch_ms": stats_ms(dispatch),
        "ttft_ms": stats_ms(ttft),
    }
