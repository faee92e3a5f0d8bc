"""Benchmark 1, latency: time to first token split into its stages, and per-token delay.

Paths are interleaved run by run: the baseline (`ChatOpenAI.astream` straight to the
model server) and `langgraph dev` through `RemoteChatSession` in the `messages`,
`messages-tuple` and `values` stream modes.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from langchain_core.messages import HumanMessage
from langchain_openai import ChatOpenAI
from langgraph_sdk.schema import StreamMode
from pydantic import SecretStr

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
                "delay_ms": stats_ms(delays),
                "jitter_ms": stats_ms([abs(g) for g in gaps]),
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
