"""Section 6 of `latest.md`, the protocols side by side: its tables and target rows.

It gathers per path what benchmarks 1 and 2 measured (bytes and CPU per token, TTFT
stages, gaps) and what `bench.protocols` adds (concurrent sessions, a thread's history).
Its plot, ``protocols.png``, is `bench.plots.protocols_plot`.
"""

from __future__ import annotations

from typing import Any

from bench.tables import table

PATHS = ("messages", "messages-tuple", "v3-sse", "v3-websocket")
"""The paths compared, in the order of every table and plot."""
NAN = float("nan")
TTFT_COLUMNS = [
    "path", "ack ms", "first byte ms", "RunStarted ms", "first token ms", "gap p50 ms",
    "gap p99 ms", "delay p99 ms", "jitter p99 ms",
]  # fmt: skip
SESSION_COLUMNS = [
    "path", "complete", "crossed", "errors", "tokens/s", "ideal", "delay p50 ms", "p95 ms",
    "p99 ms", "gap p99 ms", "dispatch p95 ms", "TTFT p95 ms", "server CPU %", "client CPU %",
    "wall s",
]  # fmt: skip


def by_path(rows: list[dict[str, Any]], key: str = "path") -> dict[str, dict[str, Any]]:
    """Return the rows by their path (``key``)."""
    return {r[key]: r for r in rows}


def target_rows(results: dict[str, Any]) -> list[list[str]]:
    """Return the protocol rows of the target table: same output, no crossed tokens."""
    rows: list[list[str]] = []
    ratios = results["wire"]["ratios"]
    if ratios and "v3_same_output" in ratios[0]:
        same = all(r["v3_same_output"] for r in ratios)
        rows.append(
            [
                "identical rendered output, v3 (SSE and WebSocket) vs tuple (every length)",
                "identical" if same else "DIFFERENT",
                "met" if same else "MISSED",
                "",
            ]
        )
    protocols = results.get("protocols")
    if not protocols:
        return rows
    sessions = protocols["sessions"]
    n = sessions["sessions"]
    bad = [r for r in sessions["rows"] if r["complete"] < n or r["crossed"] or r["errors"]]
    complete = ", ".join(f"{r['path']} {r['complete']}/{n}" for r in sessions["rows"])
    crossed = sum(r["crossed"] for r in sessions["rows"])
    rows.append(
        [
            f"{n} concurrent sessions per path: all complete, zero crossed tokens",
            f"{complete}; {crossed} crossed",
            "MISSED" if bad else "met",
            "",
        ]
    )
    history = protocols["history"]["rows"]
    leaked = sum(r["crossed"] for r in history)
    whole = all(r["complete"] for r in history)
    rows.append(
        [
            "a thread's earlier runs never show in a later run's events (v3 may replay them)",
            f"{leaked} tokens of earlier runs shown" + ("" if whole else "; INCOMPLETE runs"),
            "met" if leaked == 0 and whole else "MISSED",
            "",
        ]
    )
    return rows


def _bytes_table(results: dict[str, Any]) -> str:
    """Bytes and CPU per token per path and reply length, live and bare CPU."""
    wire = {(r["mode"], r["tokens"]): r for r in results["wire"]["rows"]}
    lengths = sorted({tokens for _, tokens in wire})
    live = by_path(results["wire"]["live"], "mode")

    def at(path: str, key: str) -> list[Any]:
        return [wire[(path, n)][key] if (path, n) in wire else NAN for n in lengths]

    rows = []
    for path in PATHS:
        socket = " / ".join(f"{v:,.0f}" for v in at(path, "socket_bytes_per_token"))
        rows.append(
            [
                path, *at(path, "bytes_per_token"), socket if path == "v3-websocket" else "-",
                *at(path, "cpu_ms_per_token"), live.get(path, {}).get("client_ms_per_token", NAN),
                live.get(path, {}).get("bare_ms_per_token", NAN),
            ]
        )  # fmt: skip
    per = [f"{n:,}" for n in lengths]
    header = [
        "path", *(f"bytes/token {n}" for n in per), f"socket bytes/token {' / '.join(per)}",
        *(f"CPU ms/token {n}" for n in per), "live CPU ms/token (best)", "bare SDK ms/token",
    ]  # fmt: skip
    return table(header, rows, digits=3)


def _ttft_table(results: dict[str, Any]) -> str:
    """TTFT stages, gaps and delay per path (benchmark 1)."""
    lat = by_path(results["latency"]["rows"])
    rows = [
        [
            path, *(lat[path]["stages_ms"][s] for s in ("ack", "first_byte", "dispatch", "ttft")),
            lat[path]["gap_ms"]["p50"], lat[path]["gap_ms"]["p99"], lat[path]["delay_ms"]["p99"],
            lat[path]["jitter_ms"]["p99"],
        ]
        for path in PATHS
        if path in lat
    ]  # fmt: skip
    return table(TTFT_COLUMNS, rows, digits=2)


def _sessions_table(sessions: dict[str, Any]) -> str:
    """N concurrent sessions per path."""
    n = sessions["sessions"]
    rows = [
        [
            r["path"], f"{r['complete']}/{n}", r["crossed"], r["errors"], r["tokens_per_s"],
            r["ideal_tokens_per_s"], r["delay_ms"]["p50"], r["delay_ms"]["p95"],
            r["delay_ms"]["p99"], r["gap_ms"]["p99"], r["dispatch_ms"]["p95"],
            r["ttft_ms"]["p95"], r["server_cpu_pct"], r["client_cpu_pct"], r["wall_s"],
        ]
        for r in sessions["rows"]
    ]  # fmt: skip
    return table(SESSION_COLUMNS, rows)


def _history_table(history: dict[str, Any]) -> str:
    """Return the kB of each run on one thread, and CPU and `RunStarted` of the first and last."""
    last = history["runs"]
    rows = []
    for path in dict.fromkeys(r["path"] for r in history["rows"]):
        mine = [r for r in history["rows"] if r["path"] == path]
        rows.append(
            [
                path, *(r["bytes"] / 1000 for r in mine), mine[0]["cpu_ms"], mine[-1]["cpu_ms"],
                mine[0]["started_ms"], mine[-1]["started_ms"], sum(r["crossed"] for r in mine),
            ]
        )  # fmt: skip
    header = [
        "path", *(f"run {i} kB" for i in range(1, last + 1)), "CPU ms run 1",
        f"CPU ms run {last}", "RunStarted ms run 1", f"run {last}", "earlier tokens shown",
    ]  # fmt: skip
    return table(header, rows)


def section(results: dict[str, Any]) -> list[str]:
    """Return the lines of section 6 (nothing when the run has no protocol results)."""
    protocols = results.get("protocols")
    if not protocols:
        return []
    sessions, history = protocols["sessions"], protocols["history"]
    return [
        "## 6. Protocols: run-centric and thread-centric (v3) side by side",
        "",
        "The run-centric protocol (`runs.stream`, one stream mode) against the "
        "thread-centric one (v3: `run.start`, then the thread's event stream on the "
        "lifecycle, messages, values, updates and custom channels, over SSE or a "
        "WebSocket), all through `ChatClient` into the same typed events, against the "
        "same `langgraph dev`. Bytes and CPU come from benchmark 2 (unpaced, fresh "
        "threads; WebSocket socket bytes are the deflated frames with their headers), the "
        "live client and bare SDK CPU from its interleaved pairs, the TTFT stages and "
        "gaps from benchmark 1 (paced, medians of the stages).",
        "",
        _bytes_table(results),
        "",
        _ttft_table(results),
        "",
        f"{sessions['sessions']} concurrent sessions per path, one path after the other, "
        f"each a {sessions['tokens']}-token reply at {sessions['rate']:g} tokens/s on a "
        "thread of its own (benchmark 4's measurement at one level; over v3 each session "
        "subscribes an event stream of its own); crossed = tokens of another session's "
        "reply seen in a session's events.",
        "",
        _sessions_table(sessions),
        "",
        f"What a thread's history costs: {history['runs']} unpaced {history['tokens']}-token "
        "replies one after the other on one thread per path, kB received by each run. A "
        "session's next v3 run subscribes after the `seq` its last run ended at; SSE "
        "honours that, while `langgraph dev`'s WebSocket ignores it and replays the "
        "thread's earlier runs first (the client picks its run out by its lifecycle event "
        "ids and drops what it has); the run-centric stream carries its own run only. The "
        "`values` channel also grows with the thread: each state carries every message. "
        f"{_growth(history)}",
        "",
        _history_table(history),
        "",
    ]


def _growth(history: dict[str, Any]) -> str:
    """Say how much more the last run on the thread received than the first, per path."""
    parts = []
    for path in dict.fromkeys(r["path"] for r in history["rows"]):
        mine = [r for r in history["rows"] if r["path"] == path]
        if len(mine) > 1 and mine[0]["bytes"]:
            parts.append(f"{path} {mine[-1]['bytes'] / mine[0]['bytes']:.1f}x")
    if not parts:
        return ""
    return f"Run {history['runs']} received, against run 1: " + ", ".join(parts) + "."
