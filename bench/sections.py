"""The sections of `latest.md` for benchmarks 1 to 4: how each number is measured, tables.

Each function returns the section's lines; `bench.report` puts them together.
"""

from __future__ import annotations

from typing import Any

from bench.tables import table

LATENCY_COLUMNS = [
    "path", "tokens", "errors", "ack ms", "first byte ms", "dispatch ms", "to model ms",
    "model 1st ms", "delivery ms", "TTFT ms", "delay p50 ms", "p95", "p99",
    "added p99 vs baseline", "gap p50 ms", "gap p99 ms", "jitter p99 ms",
]  # fmt: skip
WIRE_COLUMNS = [
    "tokens", "path", "bytes", "bytes/token", "socket bytes/token", "events", "client CPU s",
    "CPU ms/token", "bare SDK CPU ms/token", "client over bare %", "server CPU s", "wall s",
    "complete",
]  # fmt: skip
RATIO_COLUMNS = [
    "tokens", "legacy/tuple bytes", "legacy/tuple client CPU", "legacy/tuple server CPU",
    "same rendered output", "v3 same as tuple",
]  # fmt: skip
LIVE_COLUMNS = ["path", "pairs", "client CPU ms/token", "bare SDK CPU ms/token", "overhead %"]
OVERHEAD_COLUMNS = [
    "mode", "bytes", "parts", "events", "bare us/part", "ours us/part", "overhead %",
    "decoder us/part", "decode+render us/part", "us/event", "per part p50 ms", "p99 ms",
    "max ms",
]  # fmt: skip
CPU_LIVE_COLUMNS = [
    "mode", "tokens", "pairs", "client ms/token", "bare ms/token", "overhead % (best)",
    "client median", "bare median", "overhead % (median)",
]  # fmt: skip
CPU_REPLAY_COLUMNS = [
    "mode", "parts", "bare us/part", "ours us/part", "overhead % (best)", "bare median",
    "ours median", "overhead % (median)", "decoder us/part", "decode+render us/part",
    "per part p99 ms", "max ms",
]  # fmt: skip
CONCURRENCY_COLUMNS = [
    "sessions", "delivered/expected", "errors", "crossed", "tokens/s", "ideal", "delay p50 ms",
    "p95 ms", "p99 ms", "dispatch p95 ms", "TTFT p95 ms", "server CPU %", "model CPU %",
    "client CPU %", "wall s",
]  # fmt: skip


def latency_section(lat: dict[str, Any]) -> list[str]:
    """Benchmark 1: TTFT stages, token delay, gaps and jitter per path."""
    rows = [
        [
            r["path"], r["tokens"], r["errors"], *(r["stages_ms"][k] for k in (
                "ack", "first_byte", "dispatch", "to_model", "model_first", "delivery", "ttft"
            )),
            r["delay_ms"]["p50"], r["delay_ms"]["p95"], r["delay_ms"]["p99"],
            r["added_ms"]["p99"], r["gap_ms"]["p50"], r["gap_ms"]["p99"], r["jitter_ms"]["p99"],
        ]
        for r in lat["rows"]
    ]  # fmt: skip
    return [
        "## 1. Latency added by the pipeline",
        "",
        f"{lat['runs']} runs per path of {lat['tokens_per_run']} tokens at "
        f"{lat['rate']:g} tokens/s, paths interleaved, graph `chatbot`, a fresh thread per "
        "run. `v3-sse` and `v3-websocket` are the thread-centric protocol (`ChatClient("
        "protocol='v3', transport=...)`): `run.start` (POST `/threads/{id}/commands`), then "
        "the thread's event stream. **Token delay** = when the client saw token *i* minus "
        "when the model server wrote it to its socket (both `CLOCK_MONOTONIC`, recorded "
        "per token by the model server), so the model's own pacing and sleep drift cancel "
        "out. **Gap** = time between consecutive tokens as the client received them (the "
        f"model paces them {1000 / lat['rate']:g} ms apart). **Jitter** = |inter-arrival "
        "gap - emission gap| of consecutive tokens. TTFT (request sent to first token seen) "
        "is split into: ack (send to the server acknowledging the run: the response "
        "headers of POST `/runs/stream`, or the `run.start` answer), first byte (send to "
        "the first byte of the stream's body, or the first WebSocket message: there the "
        "subscription's acknowledgement), dispatch (send to `RunStarted`: the `metadata` "
        "event, or over v3 the run's `running` lifecycle event; the queue poll), to model "
        "(`RunStarted` to the model request arriving; for the baseline: send to request), "
        "model first token (request to first emission: one token interval of pacing) and "
        "delivery (first emission to the client). `values` streams no tokens: the model "
        "is called with `stream=False` and the whole reply arrives in one state, so its "
        "delay is the whole reply's. Over v3 `RunStarted` comes through the same "
        "event stream as the tokens and can arrive after the model request, so to model "
        "can be negative. Medians of the stages; percentiles of per-token delays and gaps.",
        "",
        table(LATENCY_COLUMNS, rows, digits=2),
        "",
    ]


def wire_section(wire: dict[str, Any]) -> list[str]:
    """Benchmark 2: bytes and client CPU per reply length and path, ratios, live pairs."""
    rows = [
        [
            r["tokens"], r["mode"], r["bytes"], r["bytes_per_token"],
            r["socket_bytes_per_token"] if r["socket_bytes"] else float("nan"), r["events"],
            r["cpu_s"], r["cpu_ms_per_token"], r["bare_cpu_ms_per_token"],
            r["client_over_bare_pct"], r["server_cpu_s"], r["wall_s"], r["complete"],
        ]
        for r in wire["rows"]
    ]  # fmt: skip
    ratios = [
        [r["tokens"], r["bytes_ratio"], r["cpu_ratio"], r["server_cpu_ratio"], r["same_output"],
         r.get("v3_same_output", True)]
        for r in wire["ratios"]
    ]  # fmt: skip
    live = [
        [r["mode"], r["pairs"], r["client_ms_per_token"], r["bare_ms_per_token"],
         r["overhead_pct"]]
        for r in wire["live"]
    ]  # fmt: skip
    return [
        "## 2. Bytes on the wire and client CPU per reply length",
        "",
        "One run per cell, single stream mode (v3: the client's channels, lifecycle, "
        "messages, values, updates and custom), model unpaced (rate 0), rendered with "
        "`PlainRenderer` into a buffer, each on a fresh thread (a v3 subscription may "
        "replay the thread's earlier runs first: benchmark 6 measures what a thread's history "
        "costs). **Bytes** = "
        "body bytes of the `/runs/stream` or `/threads/{id}/stream/events` response as the "
        "HTTP transport hands them to httpx (a wrapping `httpx.AsyncBaseTransport`; SSE "
        "framing, event names, ids and JSON included; HTTP headers, chunked framing and "
        "TCP/IP framing not; the dev server does not compress), plus over v3 the "
        "`run.start` answer (about 120 bytes). Over the WebSocket, bytes = the payload of "
        "every data frame as `websockets` decodes it (after permessage-deflate: the same "
        "JSON events an SSE body carries, without SSE's framing), counted by a "
        "`ClientConnection` subclass passed as `create_connection` through the SDK "
        "transport's `connect` callable; **socket bytes** = what that connection read "
        "from the socket after the handshake: the frames as sent, deflated, with their "
        "headers. **Client CPU** = `time.process_time()` of this process across the "
        "stream (httpx or websockets, SSE parsing, JSON decoding, the v3 translation, "
        "`StreamDecoder`, renderer); the model and the server run in other processes. "
        "**Bare SDK** = the same prompt on a fresh thread read with a bare `async for` "
        "over `sdk.runs.stream` (same run options), or over v3 the SDK's "
        "`ProtocolSseTransport`/`ProtocolWebSocketTransport` alone (`run.start`, then "
        "the events until the run's root lifecycle ends); **client over bare** includes "
        "`ChatSession`, `StreamDecoder`, `PlainRenderer` and this benchmark's own "
        "per-event bookkeeping (a clock read and a regex per event); one run each, so "
        "noisy: the pairs below are the better estimate. **Server CPU** = CPU seconds of "
        "the `langgraph dev` process group during the client run. Each token here is 13 "
        "characters (`q1a2b3c4d.17 `), so legacy's quadratic term (every partial resends "
        "the whole message) is about twice what 5-6-character words give.",
        "",
        table(WIRE_COLUMNS, rows, digits=3),
        "",
        table(RATIO_COLUMNS, ratios, digits=2),
        "",
        "Live client overhead, best of interleaved pairs on fresh threads: `ChatSession` + "
        "`PlainRenderer` (nothing else) vs the bare SDK as above, "
        f"{wire['live'][0]['tokens'] if wire['live'] else 0} tokens, unpaced.",
        "",
        table(LIVE_COLUMNS, live, digits=3),
        "",
    ]


def overhead_section(ovh: dict[str, Any]) -> list[str]:
    """Benchmark 3: the client layer on a replayed stream."""
    rows = [
        [
            r["mode"], r["bytes"], r["parts"], r["events"], r["bare_us_per_part"],
            r["ours_us_per_part"], r["overhead_pct"], r["decoder_us_per_part"],
            r["layer_us_per_part"], r["layer_us_per_event"], r["per_part_ms"]["p50"],
            r["per_part_ms"]["p99"], r["per_part_ms"]["max"],
        ]
        for r in ovh["rows"]
    ]  # fmt: skip
    metadata = ", ".join(
        f"{r['metadata_bytes_per_part']:,.0f} bytes of JSON per part"
        for r in ovh["rows"]
        if r["mode"] == "messages-tuple"
    )
    return [
        "## 3. Client overhead on a recorded stream",
        "",
        f"The {ovh['tokens']}-token run-centric streams of benchmark 2, replayed "
        f"{ovh['repeats']}x from their recorded SSE bytes through `httpx.MockTransport` (no "
        "network). **Bare** = `async for part in sdk.runs.stream(...)` (SSE parsing and JSON "
        "decoding only); **ours** = the same plus `StreamDecoder.feed` and "
        "`PlainRenderer.render` to a `StringIO`. CPU = best of the repeats "
        "(`time.process_time`). **Layer only** replays the already-decoded StreamParts "
        "from memory; **per part** is the wall time of decode+render for each part, the "
        "latency the layer adds to a token. Tuple metadata: the second half of each "
        "`messages-tuple` part (run, thread, graph, node, checkpoint namespace, model "
        f"settings) is {metadata}, the bulk of tuple's bytes per token.",
        "",
        table(OVERHEAD_COLUMNS, rows, digits=3),
        "",
    ]


def saturation(rows: list[dict[str, Any]], cores: int) -> str:
    """Describe where the concurrency curve stops scaling."""
    for row in rows:
        efficiency = row["tokens_per_s"] / row["ideal_tokens_per_s"]
        busy = row["server_cpu_pct"] + row["model_cpu_pct"] + row["client_cpu_pct"]
        if efficiency < 0.9 or busy > 90 * cores:
            peak = max(rows, key=lambda r: r["tokens_per_s"])
            return (
                f"**Saturation:** at {row['sessions']} sessions delivery falls to "
                f"{efficiency:.0%} of the ideal aggregate rate; the three processes together "
                f"use {busy:.0f}% CPU of the {cores * 100}% available, the server "
                f"{row['server_cpu_pct']:.0f}% of one core. `langgraph dev` is one Python "
                "process with one event loop, so it tops out near one core whatever the "
                f"core count; the peak was {peak['tokens_per_s']:,.0f} tokens/s at "
                f"{peak['sessions']} sessions."
            )
    last = rows[-1]
    busy = last["server_cpu_pct"] + last["model_cpu_pct"] + last["client_cpu_pct"]
    return (
        f"No saturation up to {last['sessions']} sessions "
        f"({last['tokens_per_s'] / last['ideal_tokens_per_s']:.0%} of ideal, "
        f"{busy:.0f}% CPU of {cores * 100}%)."
    )


def concurrency_section(conc: dict[str, Any], cores: int) -> list[str]:
    """Benchmark 4: N sessions of the default modes, level by level."""
    rows = [
        [
            r["sessions"], f"{r['delivered']:,}/{r['expected']:,}", r["errors"],
            r.get("crossed", 0), r["tokens_per_s"], r["ideal_tokens_per_s"],
            r["delay_ms"]["p50"], r["delay_ms"]["p95"], r["delay_ms"]["p99"],
            r["dispatch_ms"]["p95"], r["ttft_ms"]["p95"], r["server_cpu_pct"],
            r["model_cpu_pct"], r["client_cpu_pct"], r["wall_s"],
        ]
        for r in conc["rows"]
    ]  # fmt: skip
    out = [
        "## 4. Concurrency",
        "",
        f"N sessions on one `ChatClient`, threads created beforehand, each streaming one "
        f"{conc['tokens']}-token reply at {conc['rate']:g} tokens/s, all sent at once, "
        "default stream modes (`messages-tuple` + `updates`). Aggregate tokens/s = "
        "tokens delivered / (last token seen - first token seen, over all sessions). "
        "CPU = CPU seconds over the level's wall time, 100% = one core: server = the "
        "`langgraph dev` process group (from `/proc/<pid>/stat`), model = the scripted "
        "server, client = this process. Errors = runs with an error or missing tokens; "
        "crossed = tokens of another session's reply seen in a session's events. "
        f"Idle server CPU: {conc['idle_server_cpu_pct']:.1f}%.",
        "",
        table(CONCURRENCY_COLUMNS, rows),
        "",
        saturation(conc["rows"], cores),
        "",
    ]
    errors = [r for r in conc["rows"] if r["error_samples"]]
    out += [
        f"- errors at {r['sessions']} sessions: {'; '.join(r['error_samples'])}" for r in errors
    ]
    return [*out, ""] if errors else out


def cpu_section(cpu: dict[str, Any]) -> list[str]:
    """Return the lines of ``cpu.md``: live pairs and the replay, best and median."""
    ovh = cpu["overhead"]
    live = [
        [r["mode"], r["tokens"], r["pairs"], r["client_ms_per_token"], r["bare_ms_per_token"],
         r["overhead_pct"], r["client_median_ms_per_token"], r["bare_median_ms_per_token"],
         r["overhead_median_pct"]]
        for r in cpu["live"]
    ]  # fmt: skip
    replay = [
        [r["mode"], r["parts"], r["bare_us_per_part"], r["ours_us_per_part"], r["overhead_pct"],
         r["bare_median_us_per_part"], r["ours_median_us_per_part"], r["overhead_median_pct"],
         r["decoder_us_per_part"], r["layer_us_per_part"], r["per_part_ms"]["p99"],
         r["per_part_ms"]["max"]]
        for r in ovh["rows"]
    ]  # fmt: skip
    return [
        "Live: `ChatSession` + `PlainRenderer` vs bare `async for` over `sdk.runs.stream`, "
        "interleaved pairs on fresh threads, unpaced; best and median of the pairs.",
        "",
        table(CPU_LIVE_COLUMNS, live, digits=3),
        "",
        f"Replay: the recorded {ovh['tokens']}-token streams, {ovh['repeats']} interleaved "
        "repeats of bare SDK iteration and SDK + `StreamDecoder` + `PlainRenderer`; "
        "per part = wall time of decode+render of each part.",
        "",
        table(CPU_REPLAY_COLUMNS, replay, digits=3),
        "",
    ]
