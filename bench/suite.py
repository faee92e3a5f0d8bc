"""The five benchmarks. Each returns plain JSON-able results; `bench.report` formats them.

1. `latency`: time to first token, split into its stages, and per-token delay, for the
   baseline `ChatOpenAI.astream` and for `langgraph dev` + `RemoteChatSession` in `messages`,
   `messages-tuple` and `values` modes.
2. `wire`: run-stream bytes and client CPU per token, legacy `messages` vs
   `messages-tuple`, at several reply lengths; checks the rendered output is identical.
3. `overhead`: CPU of `StreamDecoder` + `PlainRenderer` against bare iteration of the
   SDK stream, replaying recorded SSE bytes (no network).
4. `concurrency`: N simultaneous sessions against one server.
5. `conversation`: prompt tokens per turn under the message-count trigger, the token
   budget and no summarization (`bench.conversation`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import io
import itertools
import json
import math
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from statistics import median
from typing import Any

import httpx
from langchain_core.messages import HumanMessage
from langchain_openai import ChatOpenAI
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.schema import StreamMode, StreamPart
from pydantic import SecretStr

from bench import conversation as bench_conversation
from bench.common import (
    ModelServer,
    RunTrace,
    WireCounter,
    group_cpu_seconds,
    machine_cpu_seconds,
    mean,
    new_nonce,
    percentile,
    rendered_without_nonce,
    stream_once,
)
from bench.model_server import TOKEN_PATTERN, bench_prompt
from client.cli.render import PlainRenderer
from client.decode import StreamDecoder
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
    turns=3,
)


async def new_session(chat: ChatClient, assistant: str = "chatbot") -> RemoteChatSession:
    """Open a session on a thread created now, so `send` makes no extra request."""
    thread = await chat.create_thread(graph_id=assistant)
    return await chat.session(assistant, thread_id=thread.thread_id)


def _stats_ms(values: Sequence[float]) -> dict[str, float]:
    return {
        "p50": percentile(values, 50) * MS,
        "p95": percentile(values, 95) * MS,
        "p99": percentile(values, 99) * MS,
        "max": max(values) * MS if values else float("nan"),
    }


# --- 1. latency -----------------------------------------------------------------------


async def _baseline_once(llm: ChatOpenAI, tokens: int, rate: float) -> RunTrace:
    """Stream the same prompt with `ChatOpenAI.astream` straight from the model server."""
    trace = RunTrace(nonce=new_nonce(), tokens=tokens)
    prompt = [HumanMessage(bench_prompt(tokens, rate, trace.nonce))]
    cpu0 = time.process_time()
    trace.t_send = time.monotonic()
    async for chunk in llm.astream(prompt):
        now = time.monotonic()
        trace.events += 1
        for match in TOKEN_PATTERN.finditer(chunk.text):
            trace.arrivals.setdefault(int(match.group(2)), now)
    trace.t_end = time.monotonic()
    trace.cpu = time.process_time() - cpu0
    return trace


LATENCY_PATHS: tuple[str, ...] = ("baseline", "messages", "messages-tuple", "values")


async def latency(url: str, model: ModelServer, sizes: Sizes) -> dict[str, Any]:
    """Benchmark 1: TTFT stages and per-token delay per path, runs interleaved."""
    traces: dict[str, list[RunTrace]] = {path: [] for path in LATENCY_PATHS}
    # One model client for all baseline runs, as one ChatClient serves all the others.
    llm = ChatOpenAI(
        model="gpt-4o", base_url=model.base_url, api_key=SecretStr("bench"), max_retries=0
    )
    async with ChatClient(url) as chat:
        # Warm-up: the first run of a fresh server loads the graph.
        await stream_once(await new_session(chat), tokens=5, rate=0, mode="messages-tuple")
        await _baseline_once(llm, 5, 0)
        for _ in range(sizes.latency_runs):
            for path in LATENCY_PATHS:
                if path == "baseline":
                    trace = await _baseline_once(llm, sizes.latency_tokens, sizes.latency_rate)
                else:
                    session = await new_session(chat)
                    mode: StreamMode = path  # type: ignore[assignment]
                    trace = await stream_once(
                        session, tokens=sizes.latency_tokens, rate=sizes.latency_rate, mode=mode
                    )
                traces[path].append(trace)
    emissions = model.emissions()
    arrived = {r["nonce"]: r["t"] for r in model.requests() if r["nonce"]}
    rows: list[dict[str, Any]] = []
    for path, runs in traces.items():
        delays: list[float] = []
        gaps: list[float] = []
        stages: dict[str, list[float]] = {
            k: [] for k in ("dispatch", "to_model", "model_first", "delivery", "ttft")
        }
        errors = 0
        for trace in runs:
            sent = emissions.get(trace.nonce, {})
            errors += not trace.complete
            delays.extend(trace.delays(sent))
            order = sorted(trace.arrivals)
            gaps.extend(
                (trace.arrivals[b] - trace.arrivals[a]) - (sent[b] - sent[a])
                for a, b in itertools.pairwise(order)
                if a in sent and b in sent
            )
            request_t = arrived.get(trace.nonce)
            first = trace.arrivals.get(0)
            if trace.t_started is not None:
                stages["dispatch"].append(trace.t_started - trace.t_send)
            if request_t is not None:
                start = trace.t_started if trace.t_started is not None else trace.t_send
                stages["to_model"].append(request_t - start)
                if 0 in sent:
                    stages["model_first"].append(sent[0] - request_t)
            if first is not None and 0 in sent:
                stages["delivery"].append(first - sent[0])
            if first is not None:
                stages["ttft"].append(first - trace.t_send)
        rows.append(
            {
                "path": path,
                "runs": len(runs),
                "tokens": sum(len(t.arrivals) for t in runs),
                "errors": errors,
                "stages_ms": {k: percentile(v, 50) * MS for k, v in stages.items()},
                "delay_ms": _stats_ms(delays),
                "jitter_ms": _stats_ms([abs(g) for g in gaps]),
            }
        )
    base = rows[0]["delay_ms"]
    for row in rows:
        row["added_ms"] = {q: row["delay_ms"][q] - base[q] for q in ("p50", "p95", "p99")}
    return {
        "tokens_per_run": sizes.latency_tokens,
        "rate": sizes.latency_rate,
        "runs": sizes.latency_runs,
        "rows": rows,
    }


# --- 2. bytes and client CPU ----------------------------------------------------------

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
    live = [await _live_overhead(chat, counter, mode, sizes) for mode in WIRE_MODES]
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


async def _live_overhead(
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


# --- 3. client overhead on a replayed stream ------------------------------------------

_REPLAY_THREAD = "00000000-0000-4000-8000-000000000000"


async def _replay(raw: bytes, mode: StreamMode) -> AsyncIterator[StreamPart]:
    """Yield the SDK's stream parts for recorded SSE bytes, through a mock transport."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=raw)

    transport = httpx.MockTransport(handler)
    async with httpx.AsyncClient(base_url="http://replay.invalid", transport=transport) as http:
        sdk = LangGraphClient(http)
        async for part in sdk.runs.stream(_REPLAY_THREAD, "chatbot", stream_mode=mode):
            yield part


async def _bare(raw: bytes, mode: StreamMode) -> int:
    count = 0
    async for _part in _replay(raw, mode):
        count += 1
    return count


async def _ours(raw: bytes, mode: StreamMode) -> int:
    decoder = StreamDecoder(thread_id=_REPLAY_THREAD)
    renderer = PlainRenderer(io.StringIO(), io.StringIO())
    count = 0
    async for part in _replay(raw, mode):
        for event in decoder.feed(part):
            renderer.render(event)
            count += 1
    for event in decoder.finish():
        renderer.render(event)
        count += 1
    return count


def _layer_only(parts: Sequence[StreamPart], *, render: bool) -> tuple[int, list[float]]:
    """Feed in-memory parts to a decoder (and renderer); return events and per-part times."""
    decoder = StreamDecoder(thread_id=_REPLAY_THREAD)
    renderer = PlainRenderer(io.StringIO(), io.StringIO())
    clock = time.perf_counter
    times: list[float] = []
    count = 0
    for part in parts:
        start = clock()
        events = decoder.feed(part)
        if render:
            for event in events:
                renderer.render(event)
        times.append(clock() - start)
        count += len(events)
    count += len(decoder.finish())
    return count, times


async def overhead(recordings: dict[str, bytes], sizes: Sizes) -> dict[str, Any]:
    """Benchmark 3: our layer vs bare SDK iteration over the same recorded stream."""
    rows: list[dict[str, Any]] = []
    cpu = time.process_time
    for mode_name, raw in recordings.items():
        mode: StreamMode = mode_name  # type: ignore[assignment]
        parts = [part async for part in _replay(raw, mode)]
        bare_cpu: list[float] = []
        ours_cpu: list[float] = []
        layer_cpu: list[float] = []
        decode_cpu: list[float] = []
        per_part: list[float] = []
        events = 0
        for _ in range(sizes.replay_repeats):
            gc.collect()
            start = cpu()
            await _bare(raw, mode)
            bare_cpu.append(cpu() - start)
            start = cpu()
            events = await _ours(raw, mode)
            ours_cpu.append(cpu() - start)
            start = cpu()
            _layer_only(parts, render=False)
            decode_cpu.append(cpu() - start)
            start = cpu()
            _, times = _layer_only(parts, render=True)
            layer_cpu.append(cpu() - start)
            per_part.extend(times)
        n = len(parts)
        bare, ours = min(bare_cpu), min(ours_cpu)
        # Size of the `[chunk, metadata]` tuple's metadata half, as JSON.
        metas = [
            len(json.dumps(part.data[1], separators=(",", ":")))
            for part in parts
            if part.event == "messages" and isinstance(part.data, list) and len(part.data) > 1
        ]
        rows.append(
            {
                "mode": mode_name,
                "bytes": len(raw),
                "parts": n,
                "events": events,
                "bare_us_per_part": bare / n * 1e6,
                "ours_us_per_part": ours / n * 1e6,
                "overhead_pct": (ours - bare) / bare * 100,
                "overhead_median_pct": (median(ours_cpu) - median(bare_cpu))
                / median(bare_cpu)
                * 100,
                "bare_median_us_per_part": median(bare_cpu) / n * 1e6,
                "ours_median_us_per_part": median(ours_cpu) / n * 1e6,
                "decoder_us_per_part": min(decode_cpu) / n * 1e6,
                "layer_us_per_part": min(layer_cpu) / n * 1e6,
                "layer_us_per_event": min(layer_cpu) / max(events, 1) * 1e6,
                "layer_share_pct": min(layer_cpu) / bare * 100,
                "per_part_ms": _stats_ms(per_part),
                "metadata_bytes_per_part": mean([float(m) for m in metas]),
            }
        )
    return {"tokens": sizes.replay_tokens, "repeats": sizes.replay_repeats, "rows": rows}


# --- 4. concurrency -------------------------------------------------------------------


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
                    "delay_ms": _stats_ms(delays),
                    "dispatch_ms": _stats_ms(dispatch),
                    "ttft_ms": _stats_ms(ttft),
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


# --- 5. conversation cost -------------------------------------------------------------


async def conversation(url: str, model: ModelServer, sizes: Sizes) -> dict[str, Any]:
    """Benchmark 5: prompt tokens per turn under each summary trigger (`bench.conversation`)."""
    return await bench_conversation.conversation(url, model, sizes.turns)
