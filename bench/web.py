"""The browser page against the CLI: Enter to the first and to the last token on screen.

Chromium (``web/e2e/latency.spec.ts``) and ``lgchat chat`` on a pseudo-terminal, on one
`devtools.web --scripted` stack: "count to W", a new thread per reply, batches A B B A
(drift hits both alike) after one uncounted warm-up reply. `markdown` says what is measured.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import pty
import random
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from bench.common import percentile
from bench.servers import REPO, machine_info, scratch_dir
from bench.tables import table
from devtools.web import LaunchError, wait_for_ready_file

WEB = REPO / "web"
COLUMNS, ROWS = 120, 40
ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
JITTER_S = 0.5  # a random wait before Enter, so no rhythm meets the run queue's 0.5 s poll
Timings = list[dict[str, float]]


@dataclasses.dataclass(frozen=True)
class WebSizes:
    """How much to measure: ``runs`` replies per side of ``words`` words at ``delay`` s each."""

    runs: int = 10
    words: int = 100
    delay: float = 0.02
    batches: int = 2


def missing() -> str | None:
    """Return the one line to print when Node.js 20+ or Chromium is missing, else None."""
    with contextlib.suppress(OSError, ValueError, RuntimeError):
        major = int(_run(["node", "--version"]).strip().lstrip("v").split(".")[0])
        if major >= 20 and shutil.which("npx") and os.access(CHROMIUM, os.X_OK):
            return None
    return f"bench: the browser figures need Node.js 20+ and Chromium ({CHROMIUM}); not measured"


def _stop(proc: subprocess.Popen[Any]) -> None:
    """Stop a process started in its own group: SIGINT to the group, SIGKILL after 20 s."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _run(command: list[str], env: dict[str, str] | None = None) -> str:
    """Run ``command`` in ``web/`` in its own process group; return its output or raise."""
    proc = subprocess.Popen(command, cwd=WEB, env=env, text=True, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        output, _ = proc.communicate(timeout=900)
    finally:
        _stop(proc)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({proc.returncode}):\n{output[-3000:]}")
    return output


@contextlib.contextmanager
def _stack(delay: float, work: Path) -> Iterator[dict[str, str]]:
    """Run ``python -m devtools.web --scripted``; yield its ready file (the URLs)."""
    ready, log = work / "ready.json", work / "stack.log"
    command = [sys.executable, "-m", "devtools.web", "--scripted", "--delay", str(delay)]
    command += ["--port", "0", "--ready-file", str(ready)]
    with log.open("wb") as err:
        proc = subprocess.Popen(
            command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True
        )
        try:
            try:
                urls = wait_for_ready_file(proc, ready, timeout=120)
            except LaunchError as error:
                raise RuntimeError(f"devtools.web: {error}: {log.read_text()[-2000:]}") from None
            yield urls
        finally:
            _stop(proc)


def cli_batch(ready: dict[str, str], runs: int, sizes: WebSizes, work: Path) -> Timings:
    """Time ``runs`` replies through ``lgchat chat`` on a pseudo-terminal, a new thread each."""
    token = httpx.post(f"{ready['pageUrl']}dev-token", json={"user": f"bench-{os.getpid()}"})
    env = {**os.environ, "LANGGRAPH_URL": ready["apiUrl"], "TERM": "xterm-256color",
           "LANGGRAPH_AUTH_TOKEN": token.raise_for_status().json()["token"]}  # fmt: skip
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    argv = [str(Path(sys.executable).with_name("lgchat")), "chat", "--assistant", "chatbot"]
    proc = subprocess.Popen(
        argv, cwd=work, env=env, stdin=slave, stdout=slave, stderr=slave, start_new_session=True
    )
    os.close(slave)
    raw, read_at, expected = bytearray(), [0.0], [str(n) for n in range(1, sizes.words + 1)]

    def wait(start: int, done: Callable[[str], bool]) -> float:
        """Read until ``done`` (the text since byte ``start``, plain); return when that came."""
        deadline = time.monotonic() + 120
        while not done(ANSI.sub("", raw[start:].decode(errors="replace")).replace("\r", "")):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"lgchat chat: no progress; it wrote: {raw[-2000:]!r}")
            if select.select([master], [], [], 0.5)[0]:
                with contextlib.suppress(OSError):  # EIO: lgchat has gone (said above)
                    raw.extend(os.read(master, 65536))
                read_at[0] = time.monotonic()
        return read_at[0]

    def type_line(line: str) -> tuple[int, float]:
        """Type ``line`` and Enter; return where its output starts and when it was typed."""
        start, typed = len(raw), time.monotonic()
        os.write(master, line.encode() + b"\n")
        return start, typed

    def reply(text: str) -> str:  # after the "AI: " label; before it, the echoed line
        return text.partition("AI:")[2]

    timings: Timings = []
    try:
        wait(0, lambda text: text.endswith("You: "))
        for _ in range(runs):
            time.sleep(random.uniform(0, JITTER_S))
            start, typed = type_line(f"count to {sizes.words}")
            first = wait(start, lambda text: re.search(r"\d", reply(text)) is not None)
            last = wait(start, lambda text: reply(text).split()[: len(expected)] == expected)
            wait(start, lambda text: bool(reply(text)) and text.endswith("You: "))
            timings.append({"first_ms": (first - typed) * 1e3, "last_ms": (last - typed) * 1e3})
            start, _ = type_line("/new")
            wait(start, lambda text: "New conversation" in text and text.endswith("You: "))
        type_line("/quit")
        proc.wait(20)
    finally:
        _stop(proc)
        os.close(master)
    return timings


def browser_batch(ready: dict[str, str], runs: int, sizes: WebSizes, work: Path) -> Timings:
    """Time ``runs`` replies in Chromium through ``e2e/latency.spec.ts``."""
    out = work / f"browser-{time.monotonic_ns()}.json"
    env = {
        **os.environ, "WEB_PAGE_URL": ready["pageUrl"], "WEB_API_URL": ready["apiUrl"],
        "WEB_BENCH_RUNS": str(runs), "WEB_BENCH_WORDS": str(sizes.words),
        "WEB_E2E_DELAY": str(sizes.delay), "WEB_BENCH_OUT": str(out), "CHROMIUM_PATH": CHROMIUM,
        "WEB_BENCH_JITTER_MS": str(JITTER_S * 1e3),
    }  # fmt: skip
    _run(["npx", "playwright", "test", "e2e/latency.spec.ts"], env)
    return list(json.loads(out.read_text())["runs"])


def _prepare(log: Callable[[str], None]) -> dict[str, str]:
    """Install the page's packages if missing, build it if stale; return tool versions."""
    if not (WEB / "node_modules").is_dir():
        log("web: npm ci")
        _run(["npm", "ci", "--no-audit", "--no-fund"])
    built = WEB / "dist" / "index.html"
    sources = [*(WEB / "src").rglob("*"), WEB / "index.html", WEB / "package-lock.json"]
    if not built.exists() or max(p.stat().st_mtime for p in sources) > built.stat().st_mtime:
        log("web: npm run build (the page is older than its sources)")
        _run(["npm", "run", "build"])
    package = json.loads((WEB / "node_modules/@playwright/test/package.json").read_text())
    node, browser = (_run([t, "--version"]).strip().splitlines()[-1] for t in ("node", CHROMIUM))
    return {"node": node, "chromium": browser, "playwright": package["version"]}


def run(sizes: WebSizes, log: Callable[[str], None]) -> dict[str, Any]:
    """Measure both sides on one stack, in alternating batches; return the results."""
    started, work = time.monotonic(), scratch_dir()
    sides: dict[str, Timings] = {"browser": [], "cli": []}
    order = (["cli", "browser", "browser", "cli"] * sizes.batches)[: 2 * sizes.batches]
    runs = max(1, sizes.runs // sizes.batches)
    try:
        versions = _prepare(log)
        log(f"web: starting devtools.web --scripted --delay {sizes.delay:g}")
        with _stack(sizes.delay, work) as ready:
            log("web: one warm-up reply (CLI, not counted)")
            cli_batch(ready, 1, sizes, work)
            for index, side in enumerate(order):
                log(f"web: batch {index // 2 + 1}/{sizes.batches}, {side}: {runs} replies")
                batch = cli_batch if side == "cli" else browser_batch
                sides[side] += batch(ready, runs, sizes, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for timing in sides["browser"] + sides["cli"]:  # the streaming alone, whatever the dispatch
        timing["span_ms"] = timing["last_ms"] - timing["first_ms"]
    summary = {side: {f"{k}_p{q}": percentile([t[f"{k}_ms"] for t in ts], q)
                      for k in ("first", "last", "span") for q in (50, 90)}
               for side, ts in sides.items()}  # fmt: skip
    return {
        **dataclasses.asdict(sizes), "order": order, "versions": versions, **sides,
        "summary": summary, "machine": machine_info(), "elapsed_s": time.monotonic() - started,
    }  # fmt: skip


def markdown(results: dict[str, Any]) -> str:
    """Return ``web.md``: the table, what it measures, the machine."""
    s, m, v = results["summary"], results["machine"], results["versions"]
    words, delay = results["words"], results["delay"]
    keys = ["first_p50", "first_p90", "last_p50", "last_p90", "span_p50"]
    rows: list[list[Any]] = [
        ["browser (Chromium, `useStream`)", *(s["browser"][k] for k in keys)],
        ["CLI (`lgchat chat`, pseudo-terminal)", *(s["cli"][k] for k in keys)],
        ["browser / CLI", *(f"{s['browser'][k] / s['cli'][k]:.2f}x" for k in keys)],
    ]
    return "\n".join([
        "# The browser page against the CLI", "", f"`python -m bench web`, {m['date']}, "
        f"{results['elapsed_s']:.0f} s: {len(results['browser'])} replies per side of \"count to "
        f"{words}\" ({words} words, one chunk each, {delay:g} s apart: {words * delay * 1e3:,.0f} "
        "ms of pacing alone) on one `devtools.web --scripted` stack, each in a new thread (its "
        f"creation included); batches {', '.join(results['order'])}. Compare within this run.", "",
        table(["ms from Enter", "first p50", "p90", "last p50", "p90", "first to last p50"], rows),
        "",
        "- Browser (`web/e2e/latency.spec.ts`): `performance.now()` in the page at the Enter "
        "keydown, then in the requestAnimationFrame after the DOM mutation that shows the first "
        "text, then the whole reply (the start of the frame that paints it).",
        "- CLI (`lgchat chat --assistant chatbot`, 120 x 40 pseudo-terminal): from writing the "
        "line and Enter to reading the reply's first digit, then its last word, on the terminal's "
        "side (no terminal paint). It prints a word once the next starts (wrapping): a chunk late.",
        "- Both wait a random 0-0.5 s before Enter: first and last move with the phase of the dev "
        "server's 0.5 s run-queue poll, alike on both sides; \"first to last\" leaves it out.", "",
        f"- CPU: {m['cpu']}, {m['cores']} cores; {m['platform']}; Python {m['python']}",
        f"- {v['chromium']}; Node.js {v['node']}; Playwright {v['playwright']}; "
        + ", ".join(f"{name} {version}" for name, version in m["packages"].items()), "",
    ])  # fmt: skip
