"""Turn benchmark results into `latest.md`, PNG plots and a target verdict table."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench import conversation
from bench.figures import save_figure

P99_TARGET_MS = 1.0
CPU_TARGET_PCT = 10.0
BYTES_TARGET = 3.0
CONCURRENCY_TARGET = 50


def _f(value: Any, digits: int = 1) -> str:
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:,.{digits}f}"
    return str(value)


def _table(header: list[str], rows: list[list[Any]], digits: int = 1) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_f(cell, digits) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


# --- targets --------------------------------------------------------------------------


def targets(results: dict[str, Any]) -> list[list[str]]:
    """Return one row per target: target, measured, met, margin."""
    rows: list[list[str]] = []
    overhead = results["overhead"]["rows"]
    tuple_row = next((r for r in overhead if r["mode"] == "messages-tuple"), None)
    if tuple_row is not None:
        p99 = tuple_row["per_part_ms"]["p99"]
        rows.append(
            [
                "client layer < 1 ms per token at p99 (tuple, decode+render per part)",
                f"{p99:.3f} ms",
                "met" if p99 < P99_TARGET_MS else "MISSED",
                f"{P99_TARGET_MS / p99:.0f}x under" if p99 < P99_TARGET_MS else f"{p99:.2f} ms",
            ]
        )
        pct = tuple_row["overhead_pct"]
        rows.append(
            [
                "client layer < 10% CPU over bare SDK iteration (tuple replay)",
                f"{pct:+.0f}%",
                "met" if pct < CPU_TARGET_PCT else "MISSED",
                f"{pct - CPU_TARGET_PCT:+.0f} points vs target",
            ]
        )
    live = [r for r in results["wire"]["live"] if r["mode"] == "messages-tuple"]
    if live:
        probe_row = live[0]
        pct = probe_row["overhead_pct"]
        rows.append(
            [
                f"same, live over the network (tuple, {probe_row['tokens']} tokens, "
                f"best of {probe_row['pairs']} interleaved pairs)",
                f"{pct:+.0f}%",
                "met" if pct < CPU_TARGET_PCT else "MISSED",
                f"{pct - CPU_TARGET_PCT:+.0f} points vs target",
            ]
        )
    ratios = {r["tokens"]: r for r in results["wire"]["ratios"]}
    probe = ratios.get(1000) or next(iter(ratios.values()))
    ratio = probe["bytes_ratio"]
    rows.append(
        [
            f"tuple >= 3x fewer bytes than legacy at {probe['tokens']} tokens",
            f"{ratio:.2f}x",
            "met" if ratio >= BYTES_TARGET else "MISSED",
            f"{ratio / BYTES_TARGET:.2f} of target",
        ]
    )
    same = all(r["same_output"] for r in results["wire"]["ratios"])
    rows.append(
        [
            "identical rendered output, legacy vs tuple (every length)",
            "identical" if same else "DIFFERENT",
            "met" if same else "MISSED",
            "",
        ]
    )
    conc = {r["sessions"]: r for r in results["concurrency"]["rows"]}
    level = CONCURRENCY_TARGET if CONCURRENCY_TARGET in conc else max(conc)
    errors = conc[level]["errors"]
    rows.append(
        [
            f"{level} concurrent sessions, zero errors",
            f"{errors} errors",
            "met" if errors == 0 else "MISSED",
            "",
        ]
    )
    rows += conversation.target_rows(results["conversation"])
    return rows


# --- plots ----------------------------------------------------------------------------


def plots(results: dict[str, Any], out: Path) -> list[str]:
    """Draw the PNGs into ``out``; return their file names."""
    names: list[str] = []

    lat = [r for r in results["latency"]["rows"] if r["path"] != "values"]
    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.25
    for offset, q in enumerate(("p50", "p95", "p99")):
        xs = [i + (offset - 1) * width for i in range(len(lat))]
        ax.bar(xs, [r["delay_ms"][q] for r in lat], width, label=q)
    ax.set_xticks(range(len(lat)), [r["path"] for r in lat])
    ax.set_ylabel("token delay: arrival - emission (ms)")
    ax.set_title("Per-token delay by path (values mode left out: whole reply at once)")
    ax.legend()
    names.append(save_figure(fig, out / "latency.png"))

    wire = results["wire"]["rows"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for mode in ("messages", "messages-tuple"):
        rows = [r for r in wire if r["mode"] == mode]
        xs = [r["tokens"] for r in rows]
        left.plot(xs, [r["bytes"] / 1e6 for r in rows], marker="o", label=mode)
        right.plot(xs, [r["cpu_ms_per_token"] for r in rows], marker="o", label=mode)
    left.set_xlabel("reply tokens")
    left.set_ylabel("run-stream bytes (MB)")
    left.set_title("Bytes on the wire")
    right.set_xlabel("reply tokens")
    right.set_ylabel("client CPU ms per token")
    right.set_title("Client CPU per token")
    right.set_ylim(bottom=0)
    for axis in (left, right):
        axis.legend()
        axis.grid(alpha=0.3)
    names.append(save_figure(fig, out / "bytes_cpu.png"))

    conc = results["concurrency"]["rows"]
    xs = [r["sessions"] for r in conc]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(xs, [r["tokens_per_s"] for r in conc], marker="o", label="delivered")
    left.plot(xs, [r["ideal_tokens_per_s"] for r in conc], linestyle="--", label="ideal")
    left.set_xlabel("concurrent sessions")
    left.set_ylabel("aggregate tokens/s")
    left.legend()
    left.grid(alpha=0.3)
    right.plot(xs, [r["delay_ms"]["p95"] for r in conc], marker="o", color="C3", label="p95")
    right.set_xlabel("concurrent sessions")
    right.set_ylabel("p95 token delay (ms)")
    right.set_yscale("log")
    right.grid(alpha=0.3)
    cpu_axis = right.twinx()
    cpu_axis.plot(
        xs, [r["server_cpu_pct"] for r in conc], marker="s", color="C2", label="server CPU %"
    )
    cpu_axis.set_ylabel("server CPU % (100 = one core)")
    handles = right.get_legend_handles_labels()[0] + cpu_axis.get_legend_handles_labels()[0]
    right.legend(handles=handles, loc="upper left")
    right.set_title("Token delay and server CPU")
    left.set_title("Aggregate delivery")
    names.append(save_figure(fig, out / "concurrency.png"))

    names.append(conversation.plot(results["conversation"], out))
    return names


# --- markdown -------------------------------------------------------------------------


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


def markdown(results: dict[str, Any], pngs: list[str], elapsed: float) -> str:
    """Return the whole `latest.md`."""
    m = results["machine"]
    lat, wire, ovh = results["latency"], results["wire"], results["overhead"]
    conc, conv = results["concurrency"], results["conversation"]
    out: list[str] = [
        "# Benchmark results",
        "",
        f"`make bench` ({'smoke' if results['smoke'] else 'full'} run), "
        f"{m['date']}, {elapsed:.0f} s in all. All numbers of a table come from one run; "
        "compare them side by side, not with other machines or days.",
        "",
        f"- CPU: {m['cpu']}, {m['cores']} cores; {m['platform']}",
        f"- Python {m['python']}; "
        + ", ".join(f"{name} {version}" for name, version in m["packages"].items()),
        "- Model: the scripted OpenAI server (`bench/model_server.py`, FakeOpenAI) in its "
        "own process; server: `langgraph dev --no-reload --n-jobs-per-worker "
        f"{results['jobs']}`; client: this process (`ChatClient`/`ChatSession`).",
        "",
        "## Targets",
        "",
        _table(["target", "measured", "verdict", "margin"], targets(results)),
        "",
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
        _table(
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
        _table(
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
        _table(
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
        _table(
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
        _table(
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
        _table(
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
        saturation(conc["rows"], m["cores"]),
        "",
    ]
    errors = [r for r in conc["rows"] if r["error_samples"]]
    for r in errors:
        out.append(f"- errors at {r['sessions']} sessions: {'; '.join(r['error_samples'])}")
    if errors:
        out.append("")
    out += conversation.section(conv, _table)
    out += [
        "## Plots",
        "",
    ]
    out += [f"![{name}]({name})" for name in pngs]
    out.append("")
    return "\n".join(out)


def cpu_section(cpu: dict[str, Any]) -> list[str]:
    """Return the lines of ``cpu.md``: live pairs and the replay, best and median."""
    ovh = cpu["overhead"]
    return [
        "Live: `ChatSession` + `PlainRenderer` vs bare `async for` over `sdk.runs.stream`, "
        "interleaved pairs on fresh threads, unpaced; best and median of the pairs.",
        "",
        _table(
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
        _table(
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
