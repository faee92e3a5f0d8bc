"""Benchmark 1, latency: time to first token split into its stages, and per-token delay.

Paths are interleaved run by run: the baseline (`ChatOpenAI.astream` straight to the
model server) and `langgraph dev` through `RemoteChatSession` in the run-centric modes
and, when asked, the thread-centric protocol over SSE and WebSocket
(`bench.clients.PATHS`).
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import HumanMessage
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from bench.clients import PATHS, V3_PATHS, WireCounter, counting_client
from bench.common import (
    MS,
    RunTrace,
    Sizes,
    new_nonce,
    new_session,
    percentile,
    stats_ms,
    stream_once,
)
from bench.model_server import TOKEN_PATTERN, bench_prompt
from bench.servers import ModelServer
from client.remote.client import ChatClient

LATENCY_PATHS: tuple[str, ...] = ("baseline", "messages", "messages-tuple", "values")
"""The run-centric paths and the baseline (what the engine comparison measures)."""
ALL_PATHS: tuple[str, ...] = (*LATENCY_PATHS, *V3_PATHS)
"""Every path, the thread-centric ones too (`make bench` on `langgraph dev`)."""
STAGES = ("ack", "first_byte", "dispatch", "to_model", "model_first", "delivery", "ttft")
"""TTFT's stages (see `bench.report`), each measured from `send` or a stage before."""


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


async def latency(
    url: str, model: ModelServer, sizes: Sizes, paths: Sequence[str] = LATENCY_PATHS
) -> dict[str, Any]:
    """Benchmark 1: TTFT stages and per-token delay per path, runs interleaved."""
    traces: dict[str, list[RunTrace]] = {path: [] for path in paths}
    # One model client for all baseline runs, as one ChatClient serves each other path.
    llm = ChatOpenAI(
        model="gpt-4o", base_url=model.base_url, api_key=SecretStr("bench"), max_retries=0
    )
    async with contextlib.AsyncExitStack() as stack:
        clients: dict[str, tuple[ChatClient, WireCounter]] = {}
        for path in paths:
            if path != "baseline":
                chat, counter = await counting_client(url, path)
                clients[path] = await stack.enter_async_context(chat), counter
                # Warm-up: the first run of a fresh server loads the graph, and the
                # first of a client opens its connection.
                await stream_once(await new_session(chat), tokens=5, rate=0, mode=PATHS[path][2])
        await _baseline_once(llm, 5, 0)
        for _ in range(sizes.latency_runs):
            for path in paths:
                if path == "baseline":
                    trace = await _baseline_once(llm, sizes.latency_tokens, sizes.latency_rate)
                else:
                    chat, counter = clients[path]
                    trace = await stream_once(
                        await new_session(chat), tokens=sizes.latency_tokens,
                        rate=sizes.latency_rate, mode=PATHS[path][2], counter=counter,
                    )  # fmt: skip
                traces[path].append(trace)
    emissions = model.emissions()
    arrived = {r["nonce"]: r["t"] for r in model.requests() if r["nonce"]}
    rows = [_row(path, runs, emissions, arrived) for path, runs in traces.items()]
    base = rows[0]["delay_ms"]
    for row in rows:
        row["added_ms"] = {q: row["delay_ms"][q] - base[q] for q in ("p50", "p95", "p99")}
    return {
        "tokens_per_run": sizes.latency_tokens,
        "rate": sizes.latency_rate,
        "runs": sizes.latency_runs,
        "rows": rows,
    }


def _row(
    path: str,
    runs: list[RunTrace],
    emissions: dict[str, dict[int, float]],
    arrived: dict[str, float],
) -> dict[str, Any]:
    """Return one path's row: median stages, token delays, gaps and jitter."""
    delays: list[float] = []
    gaps: list[float] = []
    jitter: list[float] = []
    stages: dict[str, list[float]] = {k: [] for k in STAGES}
    errors = 0
    for trace in runs:
        sent = emissions.get(trace.nonce, {})
        errors += not trace.complete
        delays.extend(trace.delays(sent))
        gaps.extend(trace.gaps())
        order = sorted(trace.arrivals)
        jitter.extend(
            abs((trace.arrivals[b] - trace.arrivals[a]) - (sent[b] - sent[a]))
            for a, b in itertools.pairwise(order)
            if a in sent and b in sent
        )
        for stage, t in (("ack", trace.t_ack), ("first_byte", trace.t_first_byte)):
            if t is not None:
                stages[stage].append(t - trace.t_send)
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
    return {
        "path": path,
        "runs": len(runs),
        "tokens": sum(len(t.arrivals) for t in runs),
        "errors": errors,
        "crossed": sum(t.crossed for t in runs),
        "stages_ms": {k: percentile(v, 50) * MS for k, v in stages.items()},
        "delay_ms": stats_ms(delays),
        "gap_ms": stats_ms(gaps),
        "jitter_ms": stats_ms(jitter),
    }
