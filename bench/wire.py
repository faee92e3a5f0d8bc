"""Benchmark 2, bytes on the wire and client CPU per reply length, legacy vs tuple.

Each cell streams one unpaced reply on a fresh thread twice: through `RemoteChatSession`
and `PlainRenderer` ("client"), and read with a bare `async for` over `sdk.runs.stream`
("bare SDK"). Then interleaved pairs of the two, best of each, estimate the client's live
overhead.
"""

from __future__ import annotations

import gc
import io
import time
from statistics import median
from typing import Any

from langgraph_sdk.schema import StreamMode

from bench.clients import WireCounter
from bench.common import (
    MS,
    Sizes,
    new_nonce,
    new_session,
    rendered_without_nonce,
    stream_once,
)
from bench.model_server import bench_prompt
from bench.servers import group_cpu_seconds
from client.cli.render import PlainRenderer
from client.remote.client import ChatClient
from client.remote.session import RemoteChatSession

WIRE_MODES: tuple[StreamMode, ...] = ("messages", "messages-tuple")


async def _bare_once(
    chat: ChatClient,
    session: RemoteChatSession,
    tokens: int,
    mode: StreamMode,
    counter: WireCounter,
) -> tuple[int, float, int]:
    """Stream the prompt with bare `sdk.runs.stream` (same options as `RemoteChatSession`).

    Returns:
        Stream parts, client CPU seconds and run-stream bytes.
    """
    counter.reset()
    assert session.thread_id is not None
    parts = 0
    prompt = bench_prompt(tokens, 0, new_nonce())
    run_input: dict[str, Any] = {"messages": [{"role": "user", "content": prompt}]}
    cpu0 = time.process_time()
    async for _part in chat.sdk.runs.stream(
        session.thread_id,
        session.assistant.assistant_id,
        input=run_input,
        stream_mode=mode,
        stream_resumable=session.resumable,
        on_disconnect=session.on_disconnect,
        multitask_strategy=session.multitask_strategy,
    ):
        parts += 1
    return parts, time.process_time() - cpu0, counter.count


async def wire(
    chat: ChatClient, counter: WireCounter, server_pid: int, sizes: Sizes
) -> dict[str, Any]:
    """Benchmark 2: bytes and client CPU per reply length, legacy vs tuple.

    Each cell runs twice: through `RemoteChatSession` + `PlainRenderer` ("client") and with a
    bare `async for` over `sdk.runs.stream` ("bare SDK"), on fresh threads.

    Returns the results and, under ``"recordings"``, the raw SSE bytes of the
    ``replay_tokens`` runs for benchmark 3 (not written to the report).
    """
    rows: list[dict[str, Any]] = []
    recordings: dict[str, bytes] = {}
    rendered: dict[tuple[int, str], str] = {}
    for tokens in sizes.wire_tokens:
        for mode in WIRE_MODES:
            keep = tokens == sizes.replay_tokens
            session = await new_session(chat)
            gc.collect()
            server0 = group_cpu_seconds(server_pid)
            trace = await stream_once(
                session, tokens=tokens, rate=0, mode=mode, counter=counter, render=True,
                keep_bytes=keep,
            )  # fmt: skip
            server_cpu = group_cpu_seconds(server_pid) - server0
            if keep:
                recordings[mode] = b"".join(counter.kept)
            rendered[(tokens, mode)] = rendered_without_nonce(trace.rendered)
            bare_session = await new_session(chat)
            gc.collect()
            bare_parts, bare_cpu, bare_bytes = await _bare_once(
                chat, bare_session, tokens, mode, counter
            )
            rows.append(
                {
                    "tokens": tokens,
                    "mode": mode,
                    "bytes": trace.bytes,
                    "bytes_per_token": trace.bytes / tokens,
                    "events": trace.events,
                    "cpu_s": trace.cpu,
                    "cpu_ms_per_token": trace.cpu / tokens * MS,
                    "server_cpu_s": server_cpu,
                    "wall_s": trace.t_end - trace.t_send,
                    "complete": trace.complete,
                    "error": trace.error,
                    "bare_parts": bare_parts,
                    "bare_bytes": bare_bytes,
                    "bare_cpu_s": bare_cpu,
                    "bare_cpu_ms_per_token": bare_cpu / tokens * MS,
                    "client_over_bare_pct": (trace.cpu - bare_cpu) / bare_cpu * 100
                    if bare_cpu > 0
                    else float("nan"),
                }
            )
    live = [await live_overhead(chat, counter, mode, sizes) for mode in WIRE_MODES]
    ratios: list[dict[str, Any]] = []
    for tokens in sizes.wire_tokens:
        legacy, tuple_ = (
            next(r for r in rows if r["tokens"] == tokens and r["mode"] == m) for m in WIRE_MODES
        )
        ratios.append(
            {
                "tokens": tokens,
                "bytes_ratio": legacy["bytes"] / max(tuple_["bytes"], 1),
                "cpu_ratio": legacy["cpu_s"] / max(tuple_["cpu_s"], 1e-9),
                "server_cpu_ratio": legacy["server_cpu_s"] / max(tuple_["server_cpu_s"], 1e-9),
                "same_output": rendered[(tokens, "messages")]
                == rendered[(tokens, "messages-tuple")],
                "output_chars": len(rendered[(tokens, "messages-tuple")]),
            }
        )
    return {"rows": rows, "ratios": ratios, "live": live, "recordings": recordings}


async def record(chat: ChatClient, counter: WireCounter, sizes: Sizes) -> dict[str, bytes]:
    """Record the raw SSE bytes of one ``replay_tokens`` reply per mode, for `overhead`."""
    recordings: dict[str, bytes] = {}
    for mode in WIRE_MODES:
        trace = await stream_once(
            await new_session(chat), tokens=sizes.replay_tokens, rate=0, mode=mode,
            counter=counter, render=True, keep_bytes=True,
        )  # fmt: skip
        assert trace.complete, trace.error
        recordings[mode] = b"".join(counter.kept)
    return recordings


async def _client_only(session: RemoteChatSession, tokens: int, mode: StreamMode) -> float:
    """Stream through `RemoteChatSession` into a `PlainRenderer`, nothing else; return CPU s."""
    renderer = PlainRenderer(io.StringIO(), io.StringIO())
    cpu0 = time.process_time()
    async for event in session.send(bench_prompt(tokens, 0, new_nonce()), stream_mode=mode):
        renderer.render(event)
    return time.process_time() - cpu0


async def live_overhead(
    chat: ChatClient, counter: WireCounter, mode: StreamMode, sizes: Sizes
) -> dict[str, Any]:
    """Client vs bare SDK CPU over the network: interleaved pairs, best of each."""
    tokens = sizes.replay_tokens
    ours: list[float] = []
    bare: list[float] = []
    for _ in range(sizes.live_pairs):
        gc.collect()
        ours.append(await _client_only(await new_session(chat), tokens, mode))
        gc.collect()
        _, cpu, _ = await _bare_once(chat, await new_session(chat), tokens, mode, counter)
        bare.append(cpu)
    return {
        "mode": mode,
        "tokens": tokens,
        "pairs": sizes.live_pairs,
        "client_ms_per_token": min(ours) / tokens * MS,
        "bare_ms_per_token": min(bare) / tokens * MS,
        "overhead_pct": (min(ours) - min(bare)) / min(bare) * 100,
        "client_median_ms_per_token": median(ours) / tokens * MS,
        "bare_median_ms_per_token": median(bare) / tokens * MS,
        "overhead_median_pct": (median(ours) - median(bare)) / median(bare) * 100,
        "client_all_s": ours,
        "bare_all_s": bare,
    }
