"""Run the benchmarks: ``python -m bench [conversation|cpu|engines|web] [--smoke] [--out DIR]``.

Starts the scripted model server and one `langgraph dev` (both on 127.0.0.1, free
ports, stopped at the end), runs the six benchmarks of `bench.suite` one after the
other, and writes ``latest.md``, ``latest.json`` and the PNG plots into ``--out``
(``bench/results`` by default). ``--smoke`` runs a tiny version of each (1 session,
20 tokens, 3 turns; 2 sessions per protocol) for the test suite. ``conversation`` runs
only benchmark 5 and writes ``conversation.md``, ``conversation.json`` and
``conversation.png`` instead, leaving the full report alone. ``cpu`` runs only the
client-CPU measurements (the live pairs of benchmark 2 and the replay of benchmark 3)
and writes ``cpu.md`` and ``cpu.json``. ``engines`` runs only the engine comparison
(`bench.engines`: `langgraph dev`, Aegra, Aegra x 2 with Redis) and writes
``engines.md``, ``engines.json`` and ``engines.png``; the full run starts with it.
``web`` runs only the browser page against the CLI (`bench.web`: Enter to the first and
the last token painted, through Playwright and through ``lgchat chat`` on a
pseudo-terminal) and writes ``web.md`` and ``web.json``; the full run ends with it, or
says in one line that it needs Node.js 20+ and Chromium and carries on without it.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import math
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

from bench import conversation, engines, engines_report, suite, web
from bench.clients import counting_client
from bench.plots import plots
from bench.report import markdown
from bench.sections import cpu_section
from bench.servers import ModelServer, dev_server, machine_info, scratch_dir
from bench.tables import table

DEFAULT_OUT = Path(__file__).resolve().parent / "results"


def _log(started: float, text: str) -> None:
    print(f"[{time.monotonic() - started:6.1f}s] {text}", file=sys.stderr, flush=True)


def _clean(value: Any) -> Any:
    """Make results strict JSON: NaN becomes null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


async def run_all(
    url: str, model: ModelServer, server_pid: int, sizes: suite.Sizes
) -> dict[str, Any]:
    """Run the six benchmarks against a running server; return their results."""
    started = time.monotonic()
    results: dict[str, Any] = {}
    _log(started, "1/6 latency")
    results["latency"] = await suite.latency(url, model, sizes, suite.ALL_PATHS)
    model.reset()
    _log(started, "2/6 bytes and client CPU")
    wire = await suite.wire(url, server_pid, sizes)
    recordings = wire.pop("recordings")
    results["wire"] = wire
    _log(started, "3/6 client overhead (replay)")
    results["overhead"] = await suite.overhead(recordings, sizes)
    _log(started, "4/6 concurrency")
    results["concurrency"] = await suite.concurrency(url, model, server_pid, sizes)
    _log(started, "5/6 conversation cost")
    results["conversation"] = await suite.conversation(url, model, sizes)
    _log(started, f"6/6 protocols: {sizes.protocol_sessions} sessions per path")
    sessions = await suite.sessions(url, model, server_pid, sizes)
    _log(started, "6/6 protocols: a thread's history")
    results["protocols"] = {"sessions": sessions, "history": await suite.history(url, sizes)}
    _log(started, "done")
    return results


async def _conversation_only(url: str, model: ModelServer, sizes: suite.Sizes) -> Any:
    started = time.monotonic()
    _log(started, "conversation cost")
    return await suite.conversation(url, model, sizes)


async def _cpu_only(url: str, sizes: suite.Sizes) -> dict[str, Any]:
    """Client CPU only: record the replayed streams, the live pairs, then the replay."""
    started = time.monotonic()
    if sizes != suite.SMOKE:  # more repeats than the full run: this part alone is short
        sizes = dataclasses.replace(sizes, live_pairs=5, replay_repeats=9)
    _log(started, "client CPU (live pairs)")
    chat, counter = await counting_client(url)
    async with chat:
        recordings = await suite.record(chat, counter, sizes)
        live = [await suite.live_overhead(chat, counter, mode, sizes) for mode in suite.WIRE_MODES]
    _log(started, "client CPU (replay)")
    return {"live": live, "overhead": await suite.overhead(recordings, sizes)}


def _save(out: Path, name: str, results: dict[str, Any], report: str, started: float) -> None:
    """Write ``<name>.json`` (the results, strict JSON) and ``<name>.md`` into ``out``."""
    (out / f"{name}.json").write_text(json.dumps(_clean(results), indent=1) + "\n")
    (out / f"{name}.md").write_text(report)
    _log(started, f"wrote {out / f'{name}.md'}")


def _write_cpu(results: dict[str, Any], out: Path, started: float) -> int:
    """Write ``cpu.json`` and ``cpu.md`` into ``out``."""
    lines = [
        "# Client CPU (benchmarks 2 and 3, CPU part alone)",
        "",
        f"`python -m bench cpu`, {results['machine']['date']}, {results['elapsed_s']:.0f} s.",
        "",
        *cpu_section(results["cpu"]),
    ]
    _save(out, "cpu", results, "\n".join(lines), started)
    return 0


def _write_conversation(results: dict[str, Any], out: Path, started: float) -> int:
    """Write ``conversation.json``, ``conversation.md`` and its plot into ``out``."""
    conv = results["conversation"]
    png = conversation.plot(conv, out)
    lines = [
        "# Conversation cost (benchmark 5 alone)",
        "",
        f"`python -m bench conversation`, {results['machine']['date']}, "
        f"{results['elapsed_s']:.0f} s.",
        "",
        table(["target", "measured", "verdict", "margin"], conversation.target_rows(conv)),
        "",
        *conversation.section(conv, table),
        f"![{png}]({png})",
        "",
    ]
    _save(out, "conversation", results, "\n".join(lines), started)
    return 0


def _write_engines(results: dict[str, Any], out: Path, started: float) -> None:
    """Write ``engines.json``, ``engines.md`` and ``engines.png`` into ``out``."""
    png = engines_report.plot(results, out)
    report = engines_report.markdown(results, png, results["elapsed_s"])
    _save(out, "engines", results, report, started)


def _web(out: Path, smoke: bool, started: float) -> bool:
    """Run `bench.web`, write ``web.json`` and ``web.md``; False: no Node.js 20+ or Chromium."""
    problem = web.missing()
    if problem:
        print(problem, file=sys.stderr, flush=True)
        return False
    sizes = web.WebSizes(runs=2, words=10) if smoke else web.WebSizes()
    results = web.run(sizes, lambda text: _log(started, text))
    results["smoke"] = smoke
    _save(out, "web", results, web.markdown(results), started)
    return True


async def _engines(model: ModelServer, work: Path, smoke: bool, started: float) -> dict[str, Any]:
    """Run `bench.engines` on the running model server; return its results."""
    sizes = engines.SMOKE if smoke else engines.EngineSizes()
    t0 = time.monotonic()
    results = await engines.run(model, work, sizes, lambda text: _log(started, text))
    results.update(machine=machine_info(), smoke=smoke, elapsed_s=time.monotonic() - t0)
    return results


async def _run(
    args: argparse.Namespace,
    model: ModelServer,
    work: Path,
    sizes: suite.Sizes,
    jobs: int,
    started: float,
) -> dict[str, Any]:
    """Run what ``args`` asks for, all in one event loop.

    The model client of benchmark 1 keeps its connection pool, which belongs to the loop
    it was opened in, from one call to the next.
    """
    # The engines need Aegra, Postgres and Redis; `make test` smokes the rest without them.
    if args.only == "engines" or (args.only is None and not args.smoke):
        _write_engines(await _engines(model, work, args.smoke, started), args.out, started)
        if args.only == "engines":
            return {}
    _log(started, "starting langgraph dev")
    with dev_server(model, jobs=jobs, workdir=work) as server:
        _log(started, f"langgraph dev up at {server.url} ({server.startup_seconds:.1f}s)")
        assert server.pid is not None
        if args.only == "conversation":
            return {"conversation": await _conversation_only(server.url, model, sizes)}
        if args.only == "cpu":
            return {"cpu": await _cpu_only(server.url, sizes)}
        return await run_all(server.url, model, server.pid, sizes)


def main(argv: list[str] | None = None) -> int:
    """Run the suite and write the report; return the exit code."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for the test suite")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write results")
    parser.add_argument(
        "only",
        nargs="?",
        choices=["conversation", "cpu", "engines", "web"],
        help="run only this benchmark",
    )
    args = parser.parse_args(argv)
    # SIGTERM (`timeout`, a CI cancel) unwinds like Ctrl-C, so every server is stopped and
    # every database dropped; by default it would leave them running.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    sizes = suite.SMOKE if args.smoke else suite.Sizes()
    jobs = max(max(sizes.concurrency), 10)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    if args.only == "web":  # its own stack (`devtools.web`): no model server here
        return 0 if _web(out, args.smoke, started) else 1
    work = scratch_dir()
    model = ModelServer(work).start()
    try:
        _log(started, f"model server on port {model.port}")
        results = asyncio.run(_run(args, model, work, sizes, jobs, started))
    finally:
        model.stop()
        shutil.rmtree(work, ignore_errors=True)
    if args.only == "engines":
        return 0
    elapsed = time.monotonic() - started
    results.update(machine=machine_info(), smoke=args.smoke, jobs=jobs, elapsed_s=elapsed)
    if args.only == "conversation":
        return _write_conversation(results, out, started)
    if args.only == "cpu":
        return _write_cpu(results, out, started)
    pngs = plots(results, out)
    _save(out, "latest", results, markdown(results, pngs, elapsed), started)
    if not args.smoke:  # last, once every server above has stopped; `make test` has no Node.js
        _web(out, smoke=False, started=started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
