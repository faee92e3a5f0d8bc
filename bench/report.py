"""Turn benchmark results into `latest.md` and its target verdict table.

The sections of benchmarks 1 to 4 are `bench.sections`', benchmark 5's
`bench.conversation`'s and benchmark 6's `bench.protocols_report`'s; the plots are
`bench.plots`'.
"""

from __future__ import annotations

from typing import Any

from bench import conversation, protocols_report
from bench.sections import concurrency_section, latency_section, overhead_section, wire_section
from bench.tables import table

P99_TARGET_MS = 1.0
CPU_TARGET_PCT = 10.0
BYTES_TARGET = 3.0
CONCURRENCY_TARGET = 50


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
    rows += protocols_report.target_rows(results)
    rows += conversation.target_rows(results["conversation"])
    return rows


def markdown(results: dict[str, Any], pngs: list[str], elapsed: float) -> str:
    """Return the whole `latest.md`."""
    m = results["machine"]
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
        table(["target", "measured", "verdict", "margin"], targets(results)),
        "",
        *latency_section(results["latency"]),
        *wire_section(results["wire"]),
        *overhead_section(results["overhead"]),
        *concurrency_section(results["concurrency"], m["cores"]),
        *conversation.section(results["conversation"], table),
        *protocols_report.section(results),
        "## Plots",
        "",
        *(f"![{name}]({name})" for name in pngs),
        "",
    ]
    return "\n".join(out)
