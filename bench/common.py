"""Shared machinery of the benchmarks: servers, clocks, byte counting, one measured run.

Every time stamp is `time.monotonic()`, which on Linux is `CLOCK_MONOTONIC` and so the
same clock in the benchmark process and in the model server process; a token's delay is
its arrival here minus its emission there.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import platform
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.schema import StreamMode

from bench.model_server import TOKEN_PATTERN, bench_prompt
from client.cli.render import PlainRenderer
from client.events import MessageFinished, RunError, RunStarted, StateValues, TextDelta
from client.remote.client import ChatClient
from client.remote.session import RemoteChatSession
from devtools.devserver import DevServer

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "langgraph.json"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PACKAGES = (
    "langgraph",
    "langgraph-api",
    "langgraph-runtime-inmem",
    "langgraph-cli",
    "langgraph-sdk",
    "langchain-core",
    "langchain-openai",
    "openai",
    "httpx",
    "uvicorn",
    "starlette",
    "matplotlib",
)


# --- numbers --------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Return the ``q``-th percentile (0-100, linear interpolation); NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def mean(values: Sequence[float]) -> float:
    """Return the arithmetic mean; NaN when empty."""
    return sum(values) / len(values) if values else math.nan


def new_nonce() -> str:
    """Return a fresh run tag for the benchmark prompt (``q`` + 8 hex digits)."""
    return "q" + secrets.token_hex(4)


# --- machine --------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    """Describe the machine and software the numbers come from."""
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions: dict[str, str] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "-"
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count() or 0,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions,
    }


# --- CPU of other processes -----------------------------------------------------------


def group_cpu_seconds(pgid: int) -> float:
    """Return user+system CPU seconds of the live processes in process group ``pgid``."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rfind(")") + 2 :].split()
        # After "pid (comm) ": state ppid pgrp ... utime is field 14, stime 15 (1-based).
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def machine_cpu_seconds() -> float:
    """Return CPU seconds all cores have spent busy since boot (``/proc/stat``, not idle)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    # user nice system idle iowait irq softirq steal (guest time is already in user).
    return (sum(fields[:8]) - fields[3] - fields[4]) / CLOCK_TICKS


# --- model server ---------------------------------------------------------------------


class ModelServer:
    """The scripted model (`bench.model_server`) as a subprocess of its own."""

    def __init__(self, log_dir: Path) -> None:
        """Prepare to log into ``log_dir``; `start` launches it."""
        self.log_path = log_dir / "model_server.log"
        self._proc: subprocess.Popen[str] | None = None
        self.port = 0

    @property
    def pid(self) -> int:
        """Process id (and process group id) of the running server."""
        assert self._proc is not None
        return self._proc.pid

    @property
    def base_url(self) -> str:
        """The OpenAI base URL, ``http://127.0.0.1:<port>/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> ModelServer:
        """Launch the server and wait for its ``PORT`` line."""
        with self.log_path.open("w") as log:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "bench.model_server"],
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                start_new_session=True,
            )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"model server did not start; see {self.log_path}")
        self.port = int(line.split()[1])
        return self

    def stop(self) -> None:
        """Stop the server (SIGINT, then SIGKILL)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)

    def _get(self, path: str) -> Any:
        url = f"http://127.0.0.1:{self.port}{path}"
        with httpx.Client(timeout=30) as http:
            response = http.post(url) if path.endswith("reset") else http.get(url)
            response.raise_for_status()
            return response.json()

    def reset(self) -> None:
        """Forget recorded requests and emissions."""
        self._get("/bench/reset")

    def emissions(self) -> dict[str, dict[int, float]]:
        """Return ``{nonce: {token index: emission time}}``."""
        raw = self._get("/bench/emissions")
        return {nonce: {int(i): t for i, t in times.items()} for nonce, times in raw.items()}

    def requests(self) -> list[dict[str, Any]]:
        """Return the recorded chat completion requests, in arrival order."""
        result: list[dict[str, Any]] = self._get("/bench/requests")
        return result


def model_env(model: ModelServer) -> dict[str, str]:
    """Return the server environment that makes the graphs' model the scripted one."""
    return {
        "OPENAI_BASE_URL": model.base_url,
        "OPENAI_API_KEY": "bench",
        "MODEL": "openai:gpt-4o",
        "OFFLINE_MODEL_DELAY": "0",
    }


@contextlib.contextmanager
def dev_server(model: ModelServer, *, jobs: int, workdir: Path) -> Iterator[DevServer]:
    """Run `langgraph dev` with ``--n-jobs-per-worker jobs``, its model the scripted one."""
    env = model_env(model)
    extra_args = ("--n-jobs-per-worker", str(jobs))
    with DevServer(
        CONFIG, env=env, workdir=workdir, startup_timeout=90, extra_args=extra_args
    ) as server:
        yield server


def scratch_dir() -> Path:
    """Return a new temporary directory outside the project (no reload loops)."""
    return Path(tempfile.mkdtemp(prefix="lg-bench-"))


# --- bytes on the wire ----------------------------------------------------------------


class _CountingStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, sink: WireCounter) -> None:
        self._inner = inner
        self._sink = sink

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            self._sink.add(chunk)
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


@dataclass
class WireCounter:
    """Response body bytes of run streams, as the HTTP transport hands them to httpx.

    Attributes:
        count: Bytes counted since the last `reset`.
        keep: Keep a copy of the bytes (to replay a stream later).
        kept: The copy.
    """

    count: int = 0
    keep: bool = False
    kept: list[bytes] = field(default_factory=list)

    def add(self, chunk: bytes) -> None:
        """Count (and maybe keep) one chunk."""
        self.count += len(chunk)
        if self.keep:
            self.kept.append(chunk)

    def reset(self, *, keep: bool = False) -> None:
        """Start counting again."""
        self.count, self.keep, self.kept = 0, keep, []


class CountingTransport(httpx.AsyncBaseTransport):
    """Wraps the real transport; counts the body bytes of ``/runs/stream`` responses."""

    def __init__(self, counter: WireCounter) -> None:
        """Count into ``counter``."""
        self._inner = httpx.AsyncHTTPTransport(retries=1)
        self.counter = counter

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send the request; wrap a run stream's body in a counter."""
        response = await self._inner.handle_async_request(request)
        if request.url.path.endswith("/runs/stream"):
            assert isinstance(response.stream, httpx.AsyncByteStream)
            response.stream = _CountingStream(response.stream, self.counter)
        return response

    async def aclose(self) -> None:
        """Close the real transport."""
        await self._inner.aclose()


async def counting_client(url: str) -> tuple[ChatClient, WireCounter]:
    """Return a `ChatClient` whose SDK connection counts run-stream bytes.

    The client is built as usual, then its SDK client is swapped for one over a
    `CountingTransport` (same base URL, timeouts and headers).
    """
    chat = ChatClient(url)
    original = chat.sdk.http.client
    counter = WireCounter()
    http = httpx.AsyncClient(
        base_url=original.base_url,
        transport=CountingTransport(counter),
        timeout=original.timeout,
        headers=original.headers,
    )
    await chat.sdk.aclose()
    chat.sdk = LangGraphClient(http)
    return chat, counter


# --- one measured run -----------------------------------------------------------------


@dataclass
class RunTrace:
    """What one streamed reply looked like from the client.

    Attributes:
        nonce: The run's tag (tokens are ``<nonce>.<i> ``).
        tokens: Tokens requested.
        t_send: When `send` was called.
        t_started: When `RunStarted` (the stream's `metadata`) arrived.
        arrivals: Token index -> when the client first saw it.
        t_end: When the stream ended.
        events: Typed events received.
        cpu: Client process CPU seconds spent in the stream.
        bytes: Run-stream body bytes (0 when not counted).
        rendered: What the plain renderer wrote.
        error: The run's error, or an exception, if any.
    """

    nonce: str
    tokens: int
    t_send: float = 0.0
    t_started: float | None = None
    arrivals: dict[int, float] = field(default_factory=dict)
    t_end: float = 0.0
    events: int = 0
    cpu: float = 0.0
    bytes: int = 0
    rendered: str = ""
    error: str | None = None

    def delays(self, emissions: Mapping[int, float]) -> list[float]:
        """Return arrival minus emission, in seconds, for every token seen at both ends."""
        return [t - emissions[i] for i, t in self.arrivals.items() if i in emissions]

    @property
    def complete(self) -> bool:
        """Whether every token arrived and no error was reported."""
        return self.error is None and len(self.arrivals) == self.tokens


def _event_text(event: object) -> str:
    if isinstance(event, TextDelta):
        return event.text
    if isinstance(event, MessageFinished):
        return event.message.text
    if isinstance(event, StateValues):
        return str(event.values.get("messages", ""))
    return ""


async def stream_once(
    session: RemoteChatSession,
    *,
    tokens: int,
    rate: float,
    mode: StreamMode | Sequence[StreamMode] | None = None,
    counter: WireCounter | None = None,
    render: bool = False,
    keep_bytes: bool = False,
) -> RunTrace:
    """Send one benchmark prompt through `RemoteChatSession.send` and time what comes back.

    Exceptions are caught and reported in `RunTrace.error`, so a failed session does
    not stop a concurrent batch.
    """
    trace = RunTrace(nonce=new_nonce(), tokens=tokens)
    out = io.StringIO()
    renderer = PlainRenderer(out, io.StringIO()) if render else None
    if counter is not None:
        counter.reset(keep=keep_bytes)
    find = TOKEN_PATTERN.finditer
    cpu0 = time.process_time()
    trace.t_send = time.monotonic()
    try:
        async for event in session.send(bench_prompt(tokens, rate, trace.nonce), stream_mode=mode):
            now = time.monotonic()
            trace.events += 1
            if isinstance(event, RunStarted):
                trace.t_started = now
            elif isinstance(event, RunError):
                trace.error = event.message
            for match in find(_event_text(event)):
                if match.group(1) == trace.nonce:
                    trace.arrivals.setdefault(int(match.group(2)), now)
            if renderer is not None:
                renderer.render(event)
    except Exception as exc:
        trace.error = f"{type(exc).__name__}: {exc}"
    trace.t_end = time.monotonic()
    trace.cpu = time.process_time() - cpu0
    if renderer is not None:
        renderer.close()
        trace.rendered = out.getvalue()
    if counter is not None:
        trace.bytes = counter.count
    return trace


def rendered_without_nonce(text: str) -> str:
    """Return rendered output with the run tag replaced, to compare two runs."""
    return re.sub(r"q[0-9a-f]{8}", "qXXXXXXXX", text)
