"""Turn `bench.engines` results into ``engines.md``, its target verdicts and ``engines.png``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench.engines import DEFAULT_LEASE, ENGINES, SHORT_LEASE
from bench.figures import save_figure
from bench.tables import table

TTFT_TARGET_MS = 50.0
"""TTFT through our client on Aegra, at most this much above the model's own TTFT."""
SESSIONS_TARGET = 200
"""Concurrent 50-tokens/s streams Aegra x 2 must carry with zero errors."""

LATENCY_COLUMNS = [
    "engine", "startup s", "dispatch ms", "TTFT ms", "model's TTFT ms", "added ms", "delivery ms",
    "delay p50 ms", "delay p99 ms", "gap jitter p99 ms", "errors",
]  # fmt: skip
CONCURRENCY_COLUMNS = [
    "engine", "sessions", "delivered/expected", "errors", "tokens/s", "ideal", "delay p50 ms",
    "delay p99 ms", "TTFT p95 ms", "server CPU %", "client CPU %", "model CPU %",
    "machine CPU %", "wall s",
]  # fmt: skip
RECOVERY_COLUMNS = [
    "engine", "lease", "killed after tokens", "takeover s", "first token via B s", "final event s",
    "success s", "reply length s", "run",
]  # fmt: skip


def _row(engine: dict[str, Any], sessions: int) -> dict[str, Any] | None:
    rows = engine["concurrency"]["rows"]
    return next((r for r in rows if r["sessions"] == sessions), None)


def targets(results: dict[str, Any]) -> list[list[str]]:
    """Return one row per target: target, measured, verdict, margin."""
    rows: list[list[str]] = []
    for key in ("aegra", "aegra-x2"):
        lat = results["engines"][key]["latency"]
        added = lat["ttft_added_ms"]
        rows.append(
            [
                f"{ENGINES[key]}: TTFT through our client <= model's own + {TTFT_TARGET_MS:.0f} ms",
                f"{lat['ttft_ms']:.1f} ms vs {lat['model_ttft_ms']:.1f} ms (+{added:.1f} ms)",
                "met" if added <= TTFT_TARGET_MS else "NOT met",
                f"{TTFT_TARGET_MS - added:+.1f} ms",
            ]
        )
    pair = results["engines"]["aegra-x2"]
    top = max(r["sessions"] for r in pair["concurrency"]["rows"])
    row = _row(pair, SESSIONS_TARGET)
    if row is None:
        sat, skipped = pair["saturation"], pair["concurrency"]["skipped"]
        needed = SESSIONS_TARGET * pair["concurrency"]["rate"]
        measured = (
            f"skipped: saturated from {sat['saturates_at']} sessions, peak "
            f"{sat['peak_tokens_per_s']:,.0f} tokens/s of the {needed:,.0f} needed"
            if SESSIONS_TARGET in skipped
            else f"not measured: this run went up to {top} sessions"
        )
        verdict, margin = ("NOT met" if SESSIONS_TARGET in skipped else "-"), "-"
    else:
        measured = (
            f"{row['errors']} errors, {row['delivered']:,}/{row['expected']:,} tokens, "
            f"{row['tokens_per_s']:,.0f} of {row['ideal_tokens_per_s']:,.0f} tokens/s, "
            f"delay p99 {row['delay_ms']['p99']:,.0f} ms"
        )
        verdict = "met" if row["errors"] == 0 else "NOT met"
        margin = f"{row['tokens_per_s'] / row['ideal_tokens_per_s']:.0%} of ideal rate"
    rows.append(
        [
            f"{ENGINES['aegra-x2']}: {SESSIONS_TARGET} streams, zero errors",
            measured,
            verdict,
            margin,
        ]
    )
    return rows


def plot(results: dict[str, Any], out: Path) -> str:
    """Draw delivered tokens/s and p99 token delay per engine into ``engines.png``."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for key, engine in results["engines"].items():
        rows, label = engine["concurrency"]["rows"], ENGINES[key].replace("`", "")
        xs = [r["sessions"] for r in rows]
        left.plot(xs, [r["tokens_per_s"] for r in rows], marker="o", label=label)
        right.plot(xs, [r["delay_ms"]["p99"] for r in rows], marker="o", label=label)
    rows = max((e["concurrency"]["rows"] for e in results["engines"].values()), key=len)
    xs = [r["sessions"] for r in rows]
    left.plot(xs, [r["ideal_tokens_per_s"] for r in rows], "k--", label="ideal")
    left.set(xlabel="concurrent sessions", ylabel="aggregate tokens/s", title="Delivery")
    right.set(xlabel="concurrent sessions", ylabel="p99 token delay (ms)", title="Token delay")
    left.set_yscale("log")
    right.set_yscale("log")
    for axis in (left, right):
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    return save_figure(fig, out / "engines.png")


def _lease(lease: dict[str, str]) -> str:
    return "/".join(lease[k] for k in SHORT_LEASE) + " s"


def _saturation(key: str, engine: dict[str, Any], cores: int, budget: float | None) -> str:
    sat, conc = engine["saturation"], engine["concurrency"]
    rows = conc["rows"]
    if sat["saturates_at"] is None:
        where = f"no saturation up to {rows[-1]['sessions']} sessions"
    else:
        row = _row(engine, sat["saturates_at"])
        assert row is not None
        share = row["tokens_per_s"] / row["ideal_tokens_per_s"]
        where = (
            f"saturates at {row['sessions']} sessions ({share:.0%} "
            f"of the ideal rate, {row['errors']} errors; server {row['server_cpu_pct']:.0f}%, "
            f"client {row['client_cpu_pct']:.0f}%, whole machine {row['machine_cpu_pct']:.0f}% "
            f"of {cores * 100}% CPU)"
        )
    skipped = (
        f"; skipped {', '.join(map(str, conc['skipped']))} sessions (at the rate measured "
        f"they would take over {budget:.0f} s each)"
        if conc["skipped"]
        else ""
    )
    return (
        f"- {ENGINES[key]}: {where}; peak {sat['peak_tokens_per_s']:,.0f} tokens/s at "
        f"{sat['peak_sessions']} sessions{skipped}."
    )


def markdown(results: dict[str, Any], png: str, elapsed: float) -> str:
    """Return the whole ``engines.md``."""
    engines, machine = results["engines"], results["machine"]
    sizes = results["sizes"]["suite"]
    conc = engines["dev"]["concurrency"]
    budget = results["sizes"]["level_budget_s"]
    lat_rows = [
        [ENGINES[k], e["startup_s"], *(e["latency"][c] for c in (
            "dispatch_ms", "ttft_ms", "model_ttft_ms", "ttft_added_ms", "delivery_ms",
            "delay_p50_ms", "delay_p99_ms", "gap_jitter_p99_ms", "errors"))]
        for k, e in engines.items()
    ]  # fmt: skip
    conc_rows = [
        [ENGINES[k], r["sessions"], f"{r['delivered']:,}/{r['expected']:,}", r["errors"],
         r["tokens_per_s"], r["ideal_tokens_per_s"], r["delay_ms"]["p50"], r["delay_ms"]["p99"],
         r["ttft_ms"]["p95"], r["server_cpu_pct"], r["client_cpu_pct"], r["model_cpu_pct"],
         r["machine_cpu_pct"], r["wall_s"]]
        for k, e in engines.items() for r in e["concurrency"]["rows"]
    ]  # fmt: skip
    rec_rows = [
        [ENGINES["dev"], *["-"] * 7, "lost: the run and its thread die with the process"],
        [ENGINES["aegra"], *["-"] * 7, "not measured: no Redis, no lease to take it over"],
    ]
    for tag, rec in engines["aegra-x2"]["recovery"].items():
        if "failed" in rec:
            lease = f"{tag}: {_lease(rec['lease'])}"
            rec_rows.append([ENGINES["aegra-x2"], lease, *["-"] * 6, f"FAILED: {rec['failed']}"])
            continue
        whole = "complete" if rec["complete"] else "INCOMPLETE"
        rec_rows.append(
            [ENGINES["aegra-x2"], f"{tag}: {_lease(rec['lease'])}", rec["killed_after_tokens"],
             rec["takeover_s"], rec["first_token_s"], rec["final_event_s"], rec["success_s"],
             rec["reply_s"], f"{rec['run_status']}, {whole}"]
        )  # fmt: skip
    lines = [
        "# Engines side by side",
        "",
        f"`python -m bench engines{' --smoke' if results['smoke'] else ''}`, {machine['date']}, "
        f"{elapsed:.0f} s, {machine['cores']} cores ({machine['cpu']}). Each engine ran alone "
        "(the others stopped) against the same scripted model server; the model server and "
        "this client share the same cores with it, so the numbers are the whole stack's.",
        "",
        "## Targets",
        "",
        table(["target", "measured", "verdict", "margin"], targets(results)),
        "",
        "## 1. Latency",
        "",
        f"Benchmark 1 of `bench.suite` per engine: {sizes['latency_runs']} runs of "
        f"{sizes['latency_tokens']} tokens at {sizes['latency_rate']:g} tokens/s, medians. "
        "TTFT = send to first token through `RemoteChatSession` (`messages-tuple`); model's "
        "own = the same prompt with `ChatOpenAI.astream` straight to the model server; "
        "delivery = first token at the client minus its emission by the model; token delay = "
        "arrival minus emission per token; gap jitter = |client gap - model gap| between "
        "consecutive tokens. Aegra x 2 is measured through instance A.",
        "",
        table(LATENCY_COLUMNS, lat_rows),
        "",
        "## 2. Concurrency",
        "",
        f"Benchmark 4 of `bench.suite`: N sessions, each one {conc['tokens']}-token reply at "
        f"{conc['rate']:g} tokens/s, all sent at once; "
        "on Aegra x 2 the sessions alternate between the two URLs. Server CPU = the sum over "
        "the engine's process groups (`/proc/<pid>/stat` utime+stime), 100% = one core; "
        "Postgres and Redis are not in it, but in machine CPU (`/proc/stat`, every process, "
        "other work on the machine included). "
        f"`--n-jobs-per-worker` and `N_JOBS_PER_WORKER` = {results['jobs']}.",
        "",
        table(CONCURRENCY_COLUMNS, conc_rows),
        "",
        *(_saturation(k, e, machine["cores"], budget) for k, e in engines.items()),
        "",
        f"The machine has {machine['cores']} cores for the server(s), the model server and "
        "the client together, so a saturation here is the stack's on this machine, not a "
        "limit of the engine alone.",
        "",
        f"![{png}]({png})",
        "",
        "## 3. Recovery after SIGKILL",
        "",
        "Aegra x 2: a reply created on A and running on A; after some tokens A's process "
        "group gets SIGKILL; a `ChatClient` on B joins the run from its first event. Seconds "
        "from the kill to: the retry's request at the model (takeover), its first token "
        "through B, the joined stream's final event, and the run reading `success`. Aegra "
        "retries a crashed run from the start, so the last two include the reply's length. "
        f"Lease = lease/heartbeat/reaper: short {_lease(dict(SHORT_LEASE))}, Aegra's defaults "
        f"{_lease(dict(DEFAULT_LEASE))}.",
        "",
        table(RECOVERY_COLUMNS, rec_rows, digits=2),
        "",
    ]
    return "\n".join(lines)
