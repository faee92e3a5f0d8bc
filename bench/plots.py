"""The PNG plots of `latest.md` (matplotlib, Agg): latency, bytes and CPU, concurrency, protocols.

The conversation-cost plot is `bench.conversation`'s; `plots` draws them all.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from bench import conversation
from bench.figures import save_figure
from bench.protocols_report import PATHS, by_path


def latency_plot(results: dict[str, Any], out: Path) -> str:
    """Per-token delay p50/p95/p99 per path (``latency.png``)."""
    lat = [r for r in results["latency"]["rows"] if r["path"] != "values"]
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.25
    for offset, q in enumerate(("p50", "p95", "p99")):
        xs = [i + (offset - 1) * width for i in range(len(lat))]
        ax.bar(xs, [r["delay_ms"][q] for r in lat], width, label=q)
    ax.set_xticks(range(len(lat)), [r["path"] for r in lat])
    ax.set_ylabel("token delay: arrival - emission (ms)")
    ax.set_title("Per-token delay by path (values mode left out: whole reply at once)")
    ax.legend()
    return save_figure(fig, out / "latency.png")


def bytes_cpu_plot(results: dict[str, Any], out: Path) -> str:
    """Stream bytes and client CPU per token against reply length (``bytes_cpu.png``)."""
    wire = results["wire"]["rows"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for mode in dict.fromkeys(r["mode"] for r in wire):
        rows = [r for r in wire if r["mode"] == mode]
        xs = [r["tokens"] for r in rows]
        (line,) = left.plot(xs, [r["bytes"] / 1e6 for r in rows], marker="o", label=mode)
        if any(r["socket_bytes"] for r in rows):
            left.plot(
                xs, [r["socket_bytes"] / 1e6 for r in rows], marker="x", linestyle="--",
                color=line.get_color(), label=f"{mode} on the socket (deflate)",
            )  # fmt: skip
        right.plot(xs, [r["cpu_ms_per_token"] for r in rows], marker="o", label=mode)
    left.set_xlabel("reply tokens")
    left.set_ylabel("stream bytes (MB)")
    left.set_yscale("log")
    left.set_title("Bytes on the wire")
    right.set_xlabel("reply tokens")
    right.set_ylabel("client CPU ms per token")
    right.set_title("Client CPU per token")
    right.set_ylim(bottom=0)
    for axis in (left, right):
        axis.legend(fontsize="small")
        axis.grid(alpha=0.3)
    return save_figure(fig, out / "bytes_cpu.png")


def concurrency_plot(results: dict[str, Any], out: Path) -> str:
    """Aggregate delivery, token delay and server CPU per level (``concurrency.png``)."""
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
    return save_figure(fig, out / "concurrency.png")


# --- protocols.png (section 6) --------------------------------------------------------


def _wire_panels(results: dict[str, Any], bytes_ax: Axes, cpu_ax: Axes, history_ax: Axes) -> None:
    """Bytes and CPU per token against reply length; bytes per run on one thread."""
    wire = results["wire"]["rows"]
    history = (results.get("protocols") or {}).get("history", {}).get("rows", [])
    for i, path in enumerate(PATHS):
        color = f"C{i}"
        rows = [r for r in wire if r["mode"] == path]
        xs = [r["tokens"] for r in rows]
        bytes_ax.plot(xs, [r["bytes_per_token"] for r in rows], "o-", color=color, label=path)
        if any(r["socket_bytes"] for r in rows):
            socket = [r["socket_bytes_per_token"] for r in rows]
            bytes_ax.plot(xs, socket, "x--", color=color, label=f"{path}, socket (deflate)")
        cpu_ax.plot(xs, [r["cpu_ms_per_token"] for r in rows], "o-", color=color, label=path)
        mine = [r for r in history if r["path"] == path]
        runs, kb = [r["run"] for r in mine], [r["bytes"] / 1000 for r in mine]
        if mine:
            history_ax.plot(runs, kb, "o-", color=color, label=path)
    bytes_ax.set(xscale="log", yscale="log", xlabel="reply tokens", ylabel="bytes per token")
    bytes_ax.set_title("Bytes per token received")
    cpu_ax.set(xscale="log", xlabel="reply tokens", ylabel="client CPU ms per token")
    cpu_ax.set_ylim(bottom=0)
    cpu_ax.set_title("Client CPU per token")
    history_ax.set(xlabel="run on the same thread", ylabel="kB received by the run")
    history_ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    history_ax.set_title("Runs one after the other on one thread")


def _latency_panels(results: dict[str, Any], ttft_ax: Axes, gap_ax: Axes) -> None:
    """TTFT by stage as stacked bars; gaps and delay per path."""
    lat = by_path(results["latency"]["rows"])
    shown = [p for p in PATHS if p in lat]
    ys = list(range(len(shown)))
    ack, started, first, first_byte = (
        [lat[p]["stages_ms"][stage] for p in shown]
        for stage in ("ack", "dispatch", "ttft", "first_byte")
    )
    ttft_ax.barh(ys, ack, color="C0", label="send -> ack")
    to_start = [s - a for s, a in zip(started, ack, strict=True)]
    ttft_ax.barh(ys, to_start, left=ack, color="C1", label="ack -> RunStarted")
    to_first = [f - s for f, s in zip(first, started, strict=True)]
    ttft_ax.barh(ys, to_first, left=started, color="C2", label="RunStarted -> first token")
    ttft_ax.scatter(first_byte, ys, marker="|", s=300, color="k", zorder=3, label="first byte")
    ttft_ax.set_yticks(ys, shown)
    ttft_ax.set(xlabel="ms after send (medians)")
    ttft_ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2)
    ttft_ax.set_title("Time to first token, by stage")
    width = 0.27
    bars = {
        "gap p50": [lat[p]["gap_ms"]["p50"] for p in shown],
        "gap p99": [lat[p]["gap_ms"]["p99"] for p in shown],
        "delay p99": [lat[p]["delay_ms"]["p99"] for p in shown],
    }
    for k, (label, values) in enumerate(bars.items()):
        gap_ax.bar([y + (k - 1) * width for y in ys], values, width, label=label)
    gap_ax.set_xticks(ys, shown, fontsize="small")
    gap_ax.set(ylabel="ms")
    gap_ax.set_title("Token gaps as received, and delay (paced)")


def _sessions_panel(results: dict[str, Any], ax: Axes) -> None:
    """Aggregate tokens/s (bars) and token delay p99 (line) at N sessions per path."""
    sessions = (results.get("protocols") or {}).get("sessions", {"sessions": 0, "rows": []})
    rows = sessions["rows"]
    xs = list(range(len(rows)))
    ax.bar(xs, [r["tokens_per_s"] for r in rows], color="C0", label="tokens/s")
    if rows:
        ax.axhline(rows[0]["ideal_tokens_per_s"], linestyle="--", color="grey", label="ideal")
    ax.set_xticks(xs, [r["path"] for r in rows], fontsize="small")
    ax.set(ylabel="aggregate tokens/s")
    ax.set_title(f"{sessions['sessions']} concurrent sessions")
    delay_ax = ax.twinx()
    p99 = [r["delay_ms"]["p99"] for r in rows]
    delay_ax.plot(xs, p99, "s-", color="C3", label="delay p99 ms")
    delay_ax.set(ylabel="token delay p99 (ms)")
    if any(v > 0 and math.isfinite(v) for v in p99):
        delay_ax.set_yscale("log")
    handles = ax.get_legend_handles_labels()[0] + delay_ax.get_legend_handles_labels()[0]
    ax.legend(handles=handles, fontsize="small", loc="lower left")


def protocols_plot(results: dict[str, Any], out: Path) -> str:
    """Draw ``protocols.png``: bytes, CPU, history; TTFT stages, gaps, sessions."""
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5))
    _wire_panels(results, *axes[0])
    _latency_panels(results, axes[1][0], axes[1][1])
    _sessions_panel(results, axes[1][2])
    for axis in (*axes[0], axes[1][0], axes[1][1]):
        if axis is not axes[1][0]:
            axis.legend(fontsize="small")
        axis.grid(alpha=0.3)
    return save_figure(fig, out / "protocols.png")


def plots(results: dict[str, Any], out: Path) -> list[str]:
    """Draw the PNGs into ``out``; return their file names."""
    return [
        latency_plot(results, out),
        bytes_cpu_plot(results, out),
        concurrency_plot(results, out),
        protocols_plot(results, out),
        conversation.plot(results["conversation"], out),
    ]
