"""Benchmark 2, bytes on the wire and client CPU per reply length, path by path.

Each cell streams one unpaced reply on a fresh thread twice: through `RemoteChatSession`
and `PlainRenderer` ("client"), and read bare with the SDK ("bare SDK": `sdk.runs.stream`
for the run-centric paths, the SDK's v3 transport for the others, `bench.protocols`).
Then interleaved pairs of the two, best of each, estimate the client's live overhead.
"""

from __future__ import annotations

import contextlib
import gc
import io
import time
from collections.abc import Sequence
from statistics import median
from typing import Any

from langgraph_sdk.schema import StreamMode

from bench.clients import PATHS, V3_PATHS, WireCounter, counting_client
from bench.common import (
    MS,
    RunTrace,
    Sizes,
    new_nonce,
    new_session,
    rendered_without_nonce,
    stream_once,
)
from bench.model_server import bench_prompt
from bench.protocols import bare_v3_once
from bench.servers import group_cpu_seconds
from client.cli.render import PlainRenderer
from client.remote.client import ChatClient
from client.remote.session import RemoteChatSession

WIRE_MODES: tuple[StreamMode, ...] = ("messages", "messages-tuple")
"""The run-centric stream modes compared (and recorded for benchmark 3)."""
WIRE_PATHS: tuple[str, ...] = (*WIRE_MODES, *V3_PATHS)
"""Every path benchmark 2 compares in `make bench`."""


async def _bare_runs_once(
    chat: ChatClient, session: RemoteChatSession, tokens: int, mode: StreamMode
) -> int:
    """Stream the prompt with bare `sdk.runs.stream` (same options as `RemoteChatSession`)."""
    assert session.thread_id is not None
    parts = 0
    prompt = bench_prompt(tokens, 0, new_nonce())
    run_input: dict[str, Any] = {"messages": [{"role": "user", "content": prompt}]}
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
    return parts


async def bare_once(
    chat: ChatClient, session: RemoteChatSession, tokens: int, path: str, counter: WireCounter
) -> tuple[int, float, int]:
    """Stream the prompt with the bare SDK on ``path``.

    Returns:
        Stream parts (or v3 events), client CPU seconds and bytes received.
    """
    counter.reset()
    cpu0 = time.process_time()
    if PATHS[path][0] == "v3":
        assert session.thread_id is not None
        prompt = bench_prompt(tokens, 0, new_nonce())
        parts = await bare_v3_once(chat, session.thread_id, session.assistant.assistant_id, prompt)
    else:
        parts = await _bare_runs_once(chat, session, tokens, PATHS[path][2])
    return parts, time.process_time() - cpu0, counter.count + counter.command


async def wire(
    url: str, server_pid: int, sizes: Sizes, paths: Sequence[str] = WIRE_PATHS
) -> dict[str, Any]:
    """Benchmark 2: bytes and client CPU per reply length and path.

    Returns the results and, under ``"recordings"``, the raw SSE bytes of the run-centric
    ``replay_tokens`` runs for benchmark 3 (not written to the report).
    """
    rows: list[dict[str, Any]] = []
    recordings: dict[str, bytes] = {}
    rendered: dict[tuple[int, str], str] = {}
    async with contextlib.AsyncExitStack() as stack:
        clients: dict[str, tuple[ChatClient, WireCounter]] = {}
        for path in paths:
            chat, counter = await counting_client(url, path)
            clients[path] = await stack.enter_async_context(chat), counter
        for tokens in sizes.wire_tokens:
            for path in paths:
                chat, counter = clients[path]
                keep = tokens == sizes.replay_tokens and path in WIRE_MODES
                session = await new_session(chat)
                gc.collect()
                server0 = group_cpu_seconds(server_pid)
                trace = await stream_once(
                    session, tokens=tokens, rate=0, mode=PATHS[path][2], counter=counter,
                    render=True, keep_bytes=keep,
                )  # fmt: skip
                server_cpu = group_cpu_seconds(server_pid) - server0
                if keep:
                    recordings[path] = b"".join(counter.kept)
                rendered[(tokens, path)] = rendered_without_nonce(trace.rendered)
                bare_session = await new_session(chat)
                gc.collect()
                bare = await bare_once(chat, bare_session, tokens, path, counter)
                rows.append(_row(tokens, path, trace, server_cpu, bare))
        live = [await live_overhead(*clients[path], path, sizes) for path in paths]
    return {
        "rows": rows,
        "ratios": _ratios(rows, rendered, sizes),
        "live": live,
        "recordings": recordings,
    }


def _row(
    tokens: int, path: str, trace: RunTrace, server_cpu: float, bare: tuple[int, float, int]
) -> dict[str, Any]:
    bare_parts, bare_cpu, bare_bytes = bare
    return {
        "tokens": tokens,
        "mode": path,
        "bytes": trace.bytes,
        "bytes_per_token": trace.bytes / tokens,
        "socket_bytes": trace.socket_bytes,
        "socket_bytes_per_token": trace.socket_bytes / tokens,
        "events": trace.events,
        "cpu_s": trace.cpu,
        "cpu_ms_per_token": trace.cpu / tokens * MS,
        "server_cpu_s": server_cpu,
        "wall_s": trace.t_end - trace.t_send,
        "complete": trace.complete,
        "crossed": trace.crossed,
        "error": trace.error,
        "bare_parts": bare_parts,
        "bare_bytes": bare_bytes,
        "bare_cpu_s": bare_cpu,
        "bare_cpu_ms_per_token": bare_cpu / tokens * MS,
        "client_over_bare_pct": (trace.cpu - bare_cpu) / bare_cpu * 100
        if bare_cpu > 0
        else float("nan"),
    }


def _ratios(
    rows: list[dict[str, Any]], rendered: dict[tuple[int, str], str], sizes: Sizes
) -> list[dict[str, Any]]:
    """Per reply length: legacy over tuple, and whether every path rendered the same."""
    ratios: list[dict[str, Any]] = []
    for tokens in sizes.wire_tokens:
        cell = {r["mode"]: r for r in rows if r["tokens"] == tokens}
        legacy, tuple_ = cell.get("messages"), cell.get("messages-tuple")
        if legacy is None or tuple_ is None:
            continue
        reference = rendered[(tokens, "messages-tuple")]
        v3 = [path for path in V3_PATHS if path in cell]
        ratios.append(
            {
                "tokens": tokens,
                "bytes_ratio": legacy["bytes"] / max(tuple_["bytes"], 1),
                "cpu_ratio": legacy["cpu_s"] / max(tuple_["cpu_s"], 1e-9),
                "server_cpu_ratio": legacy["server_cpu_s"] / max(tuple_["server_cpu_s"], 1e-9),
                "same_output": rendered[(tokens, "messages")] == reference,
                "v3_same_output": all(rendered[(tokens, path)] == reference for path in v3),
                "output_chars": len(reference),
            }
        )
    return ratios


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
    chat: ChatClient, counter: WireCounter, path: str, sizes: Sizes
) -> dict[str, Any]:
    """Client vs bare SDK CPU over the network: interleaved pairs, best of each."""
    tokens = sizes.replay_tokens
    ours: list[float] = []
    bare: list[float] = []
    for _ in range(sizes.live_pairs):
        gc.collect()
        ours.append(await _client_only(await new_session(chat), tokens, PATHS[path][2]))
        gc.collect()
        _, cpu, _ = await bare_once(chat, await new_session(chat), tokens, path, counter)
        bare.append(cpu)
    return {
        "mode": path,
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
