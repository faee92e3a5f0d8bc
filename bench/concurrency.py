"""Benchmark 4, concurrency: N simultaneous sessions against one server or several.

Each level opens N sessions on threads of their own, then sends every prompt at once
and measures delivery, token delay, TTFT, and the CPU of the server, the model server,
this client and the whole machine over the level's wall time.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Sequence
from typing import Any

from bench.common import Sizes, new_session, stats_ms, stream_once
from bench.servers import ModelServer, group_cpu_seconds, machine_cpu_seconds
from client.remote.client import ChatClient
from client.remote.session import RemoteChatSession


async def concurrency(
    url: str | Sequence[str],
    model: ModelServer,
    server_pid: int | Sequence[int],
    sizes: Sizes,
    *,
    level_budget_s: float = math.inf,
) -> dict[str, Any]:
    """Benchmark 4: N simultaneous sessions (default modes) against one server or several.

    Args:
        url: The server, or several sharing one database: sessions go round-robin.
        model: The scripted model server.
        server_pid: Process group(s) whose CPU is the server CPU (summed).
        sizes: Levels, tokens and rate.
        level_budget_s: Skip the remaining levels once the next one would take longer
            than this at the aggregate rate just measured (the server is saturated).
    """
    urls = [url] if isinstance(url, str) else list(url)
    pids = [server_pid] if isinstance(server_pid, int) else list(server_pid)

    def server_cpu_s() -> float:
        return sum(group_cpu_seconds(pid) for pid in pids)

    rows: list[dict[str, Any]] = []
    skipped: list[int] = []
    idle0, t_idle = server_cpu_s(), time.monotonic()
    await asyncio.sleep(3.0)
    idle_pct = (server_cpu_s() - idle0) / (time.monotonic() - t_idle) * 100
    async with contextlib.AsyncExitStack() as stack:
        chats = [await stack.enter_async_context(ChatClient(u)) for u in urls]
        for chat in chats:
            await chat.assistants()
        for level in sizes.concurrency:
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
                    stream_once(s, tokens=sizes.concurrency_tokens, rate=sizes.concurrency_rate)
                    for s in sessions
                )
            )
            wall = time.monotonic() - t0
            server_cpu = server_cpu_s() - s0
            model_cpu = group_cpu_seconds(model.pid) - m0
            client_cpu = time.process_time() - c0
            machine_cpu = machine_cpu_seconds() - all0
            emissions = model.emissions()
            delays = [d for t in traces for d in t.delays(emissions.get(t.nonce, {}))]
            firsts = [min(t.arrivals.values()) for t in traces if t.arrivals]
            lasts = [max(t.arrivals.values()) for t in traces if t.arrivals]
            delivered = sum(len(t.arrivals) for t in traces)
            window = max(lasts) - min(firsts) if firsts else float("nan")
            dispatch = [t.t_started - t.t_send for t in traces if t.t_started is not None]
            ttft = [t.arrivals[0] - t.t_send for t in traces if 0 in t.arrivals]
            errors = [t.error or "incomplete" for t in traces if not t.complete]
            rows.append(
                {
                    "sessions": level,
                    "delivered": delivered,
                    "expected": level * sizes.concurrency_tokens,
                    "errors": len(errors),
                    "error_samples": sorted(set(errors))[:3],
                    "wall_s": wall,
                    "tokens_per_s": delivered / window if window > 0 else float("nan"),
                    "ideal_tokens_per_s": level * sizes.concurrency_rate,
                    "delay_ms": stats_ms(delays),
                    "dispatch_ms": stats_ms(dispatch),
                    "ttft_ms": stats_ms(ttft),
                    "server_cpu_pct": server_cpu / wall * 100,
                    "model_cpu_pct": model_cpu / wall * 100,
                    "client_cpu_pct": client_cpu / wall * 100,
                    "machine_cpu_pct": machine_cpu / wall * 100,
                }
            )
            print(f"  concurrency {level}: {rows[-1]['tokens_per_s']:.0f} tok/s", flush=True)
    return {
        "tokens": sizes.concurrency_tokens,
        "rate": sizes.concurrency_rate,
        "idle_server_cpu_pct": idle_pct,
        "servers": len(urls),
        "skipped": skipped,
        "rows": rows,
    }
