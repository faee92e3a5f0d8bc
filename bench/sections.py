"""The sections of `latest.md` for benchmarks 1 to 4: how each number is measured, tables.

Each function returns the section's lines; `bench.report` puts them together.
"""

from __future__ import annotations

from typing import Any

from bench.tables import table


def latency_section(lat: dict[str, Any]) -> list[str]:
    """Benchmark 1: TTFT stages and token delay per path."""
    return [
        "## 1. Latency added by the pipeline",
        "",
        f"{lat['runs']} runs per path of {lat['tokens_per_run']} tokens at "
        f"{lat['rate']:g} tokens/s, paths interleaved, graph `chatbot`. "
        "**Token delay** = when the client saw token *i* minus when the model server "
        "wrote it to its socket (both `CLOCK_MONOTONIC`, recorded per token by the model "
        "server), so the model's own pacing and sleep drift cancel out. **Jitter** = "
        "|inter-arrival gap - emission gap| of consecutive tokens. TTFT (request sent to "
        "first token seen) is split into: dispatch (send to `metadata`, i.e. the "
        "`RunStarted` event; the queue poll), to model (`metadata` to the model "
        "request arriving; for the baseline: send to request), model first token "
        "(request to first emission: one token interval of pacing) and delivery (first "
        "emission to the client). `values` streams no tokens: the model is called "
        "with `stream=False` and the whole reply arrives in one state, so its delay is "
        "the whole reply's. Medians of the stages; percentiles of per-token delays.",
        "",
        table(
            [
                "path",
                "tokens",
                "errors",
                "dispatch ms",
                "to model ms",
                "model 1st ms",
                "delivery ms",
                "TTFT ms",
                "delay p50 ms",
                "p95",
                "p99",
                "added p99 vs baseline",
                "jitter p99 ms",
            ],
            [
                [
                    r["path"],
                    r["tokens"],
                    r["errors"],
                    r["stages_ms"]["dispatch"],
                    r["stages_ms"]["to_model"],
                    r["stages_ms"]["model_first"],
                    r["stages_ms"]["delivery"],
                    r["stages_ms"]["ttft"],
                    r["delay_ms"]["p50"],
                    r["delay_ms"]["p95"],
                    r["delay_ms"]["p99"],
                    r["added_ms"]["p99"],
                    r["jitter_ms"]["p99"],
                ]
                for r in lat["rows"]
            ],
            digits=2,
        ),
        "",
    ]


def wire_section(wire: dict[str, Any]) -> list[str]:
    """Benchmark 2: bytes and client CPU per reply length and mode, ratios, live pairs."""
    return [
        "## 2. Bytes on the wire and client CPU per reply length",
        "",
        "One run per cell, single stream mode, model unpaced (rate 0), rendered with "
        "`PlainRenderer` into a buffer. **Bytes** = body bytes of the `/runs/stream` "
        "response as the HTTP transport hands them to httpx (a wrapping "
        "`httpx.AsyncBaseTransport`; SSE framing, event names, ids and JSON included; "
        "HTTP headers and TCP/IP framing not; the dev server does not compress). "
        "**Client CPU** = `time.process_time()` of this process across the stream "
        "(httpx, SSE parsing, JSON decoding, `StreamDecoder`, renderer); the model and "
        "the server run in other processes. **Bare SDK** = the same prompt on a fresh "
        "thread read with a bare `async for` over `sdk.runs.stream` (same run options), "
        "to compare live CPU; **client over bare** includes `ChatSession`, "
        "`StreamDecoder`, `PlainRenderer` and this benchmark's own per-event bookkeeping "
        "(a clock read and a regex per event); one run each, so noisy: the pairs below "
        "are the better estimate. **Server CPU** = CPU seconds of the "
        "`langgraph dev` process group during the client run. Each token here is 13 "
        "characters (`q1a2b3c4d.17 `), so legacy's quadratic term (every partial resends "
        "the whole message) is about twice what 5-6-character words give.",
        "",
        table(
            [
                "tokens",
                "mode",
                "bytes",
                "bytes/token",
                "events",
                "client CPU s",
                "CPU ms/token",
                "bare SDK CPU ms/token",
                "client over bare %",
                "server CPU s",
                "wall s",
                "complete",
            ],
            [
                [
                    r["tokens"],
                    r["mode"],
                    r["bytes"],
                    r["bytes_per_token"],
                    r["events"],
                    r["cpu_s"],
                    r["cpu_ms_per_token"],
                    r["bare_cpu_ms_per_token"],
                    r["client_over_bare_pct"],
                    r["server_cpu_s"],
                    r["wall_s"],
                    r["complete"],
                ]
                for r in wire["rows"]
            ],
            digits=3,
        ),
        "",
        table(
            [
                "tokens",
                "legacy/tuple bytes",
                "legacy/tuple client CPU",
                "legacy/tuple server CPU",
                "same rendered output",
            ],
            [
                [
                    r["tokens"],
                    r["bytes_ratio"],
                    r["cpu_ratio"],
                    r["server_cpu_ratio"],
                    r["same_output"],
                ]
                for r in wire["ratios"]
            ],
            digits=2,
        ),
        "",
        "Live client overhead, best of interleaved pairs on fresh threads: `ChatSession` + "
        "`PlainRenderer` (nothing else) vs bare `async for` over `sdk.runs.stream`, "
        f"{wire['live'][0]['tokens'] if wire['live'] else 0} tokens, unpaced.",
        "",
        table(
            ["mode", "pairs", "client CPU ms/token", "bare SDK CPU ms/token", "overhead %"],
            [
                [
                    r["mode"],
                    r["pairs"],
                    r["client_ms_per_token"],
                    r["bare_ms_per_token"],
                    r["overhead_pct"],
                ]
                for r in wire["live"]
            ],
            digits=3,
        ),
        "",
    ]


def overhead_section(ovh: dict[str, Any]) -> list[str]:
    """Benchmark 3: the client layer on a replayed stream."""
    return [
        "## 3. Client overhead on a recorded stream",
        "",
        f"The {ovh['tokens']}-token streams of benchmark 2, replayed {ovh['repeats']}x "
        "from their recorded SSE bytes through `httpx.MockTransport` (no network). "
        "**Bare** = `async for part in sdk.runs.stream(...)` (SSE parsing and JSON "
        "decoding only); **ours** = the same plus `StreamDecoder.feed` and "
        "`PlainRenderer.render` to a `StringIO`. CPU = best of the repeats "
        "(`time.process_time`). **Layer only** replays the already-decoded StreamParts "
        "from memory; **per part** is the wall time of decode+render for each part, the "
        "latency the layer adds to a token. Tuple metadata: the second half of each "
        "`messages-tuple` part (run, thread, graph, node, checkpoint namespace, model "
        "settings) is "
        + ", ".join(
            f"{r['metadata_bytes_per_part']:,.0f} bytes of JSON per part"
            for r in ovh["rows"]
            if r["mode"] == "messages-tuple"
        )
        + ", the bulk of tuple's bytes per token.",
        "",
        table(
            [
                "mode",
                "bytes",
                "parts",
                "events",
                "bare us/part",
                "ours us/part",
                "overhead %",
                "decoder us/part",
                "decode+render us/part",
                "us/event",
                "per part p50 ms",
                "p99 ms",
                "max ms",
            ],
            [
                [
                    r["mode"],
                    r["bytes"],
                    r["parts"],
                    r["events"],
                    r["bare_us_per_part"],
                    r["ours_us_per_part"],
                    r["overhead_pct"],
                    r["decoder_us_per_part"],
                    r["layer_us_per_part"],
                    r["layer_us_per_event"],
                    r["per_part_ms"]["p50"],
                    r["per_part_ms"]["p99"],
                    r["per_part_ms"]["max"],
                ]
                for r in ovh["rows"]
            ],
            digits=3,
        ),
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
    out: list[str] = [
        "## 4. Concurrency",
        "",
        f"N sessions on one `ChatClient`, threads created beforehand, each streaming one "
        f"{conc['tokens']}-token reply at {conc['rate']:g} tokens/s, all sent at once, "
        "default stream modes (`messages-tuple` + `updates`). Aggregate tokens/s = "
        "tokens delivered / (last token seen - first token seen, over all sessions). "
        "CPU = CPU seconds over the level's wall time, 100% = one core: server = the "
        "`langgraph dev` process group (from `/proc/<pid>/stat`), model = the scripted "
        "server, client = this process. Errors = runs with an error or missing tokens. "
        f"Idle server CPU: {conc['idle_server_cpu_pct']:.1f}%.",
        "",
        table(
            [
                "sessions",
                "delivered/expected",
                "errors",
                "tokens/s",
                "ideal",
                "delay p50 ms",
                "p95 ms",
                "p99 ms",
                "dispatch p95 ms",
                "TTFT p95 ms",
                "server CPU %",
                "model CPU %",
                "client CPU %",
                "wall s",
            ],
            [
                [
                    r["sessions"],
                    f"{r['delivered']:,}/{r['expected']:,}",
                    r["errors"],
                    r["tokens_per_s"],
                    r["ideal_tokens_per_s"],
                    r["delay_ms"]["p50"],
                    r["delay_ms"]["p95"],
                    r["delay_ms"]["p99"],
                    r["dispatch_ms"]["p95"],
                    r["ttft_ms"]["p95"],
                    r["server_cpu_pct"],
                    r["model_cpu_pct"],
                    r["client_cpu_pct"],
                    r["wall_s"],
                ]
                for r in conc["rows"]
            ],
        ),
        "",
        saturation(conc["rows"], cores),
        "",
    ]
    errors = [r for r in conc["rows"] if r["error_samples"]]
    for r in errors:
        out.append(f"- errors at {r['sessions']} sessions: {'; '.join(r['error_samples'])}")
    if errors:
        out.append("")
    return out


def cpu_section(cpu: dict[str, Any]) -> list[str]:
    """Return the lines of ``cpu.md``: live pairs and the replay, best and median."""
    ovh = cpu["overhead"]
    return [
        "Live: `ChatSession` + `PlainRenderer` vs bare `async for` over `sdk.runs.stream`, "
        "interleaved pairs on fresh threads, unpaced; best and median of the pairs.",
        "",
        table(
            [
                "mode",
                "tokens",
                "pairs",
                "client ms/token",
                "bare ms/token",
                "overhead % (best)",
                "client median",
                "bare median",
                "overhead % (median)",
            ],
            [
                [
                    r["mode"],
                    r["tokens"],
                    r["pairs"],
                    r["client_ms_per_token"],
                    r["bare_ms_per_token"],
                    r["overhead_pct"],
                    r["client_median_ms_per_token"],
                    r["bare_median_ms_per_token"],
                    r["overhead_median_pct"],
                ]
                for r in cpu["live"]
            ],
            digits=3,
        ),
        "",
        f"Replay: the recorded {ovh['tokens']}-token streams, {ovh['repeats']} interleaved "
        "repeats of bare SDK iteration and SDK + `StreamDecoder` + `PlainRenderer`; "
        "per part = wall time of decode+render of each part.",
        "",
        table(
            [
                "mode",
                "parts",
                "bare us/part",
                "ours us/part",
                "overhead % (best)",
                "bare median",
                "ours median",
                "overhead % (median)",
                "decoder us/part",
                "decode+render us/part",
                "per part p99 ms",
                "max ms",
            ],
            [
                [
                    r["mode"],
                    r["parts"],
                    r["bare_us_per_part"],
                    r["ours_us_per_part"],
                    r["overhead_pct"],
                    r["bare_median_us_per_part"],
                    r["ours_median_us_per_part"],
                    r["overhead_median_pct"],
                    r["decoder_us_per_part"],
                    r["layer_us_per_part"],
                    r["per_part_ms"]["p99"],
                    r["per_part_ms"]["max"],
                ]
                for r in ovh["rows"]
            ],
            digits=3,
        ),
        "",
    ]
