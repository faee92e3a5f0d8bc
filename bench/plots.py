"""The PNG plots of `latest.md` (matplotlib, Agg): latency, bytes and CPU, concurrency.

The conversation-cost plot is `bench.conversation`'s; `plots` draws them all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench import conversation
from bench.figures import save_figure


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
