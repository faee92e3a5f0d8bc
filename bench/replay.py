"""Benchmark 3, client overhead on a recorded stream: our layer against bare SDK iteration.

The run streams that benchmark 2 recorded (raw SSE bytes) are replayed through
`httpx.MockTransport`, so no network is involved: bare `sdk.runs.stream` iteration (SSE
parsing and JSON decoding) against the same plus `StreamDecoder` and `PlainRenderer`, and
the layer alone on the already decoded parts, with the wall time of each part.
"""

from __future__ import annotations

import gc
import io
import json
import time
from collections.abc import AsyncIterator, Sequence
from statistics import median
from typing import Any

import httpx
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.schema import StreamMode, StreamPart

from bench.common import Sizes, mean, stats_ms
from client.cli.render import PlainRenderer
from client.decode import StreamDecoder

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
                "per_part_ms": stats_ms(per_part),
                "metadata_bytes_per_part": mean([float(m) for m in metas]),
            }
        )
    return {"tokens": sizes.replay_tokens, "repeats": sizes.replay_repeats, "rows": rows}
