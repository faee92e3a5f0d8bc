"""The processes the benchmarks measure, and where their CPU time is read.

`ModelServer` runs the scripted model (`bench.model_server`) in its own process;
`dev_server` runs `langgraph dev` on it with ``--n-jobs-per-worker``. CPU of other
processes comes from ``/proc`` (`group_cpu_seconds`, `machine_cpu_seconds`), and
`machine_info` describes the machine and packages the numbers come from.
"""

from __future__ import annotations

import contextlib
import os
import platform
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx

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
    "websockets",
    "matplotlib",
)


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
