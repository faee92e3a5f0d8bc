"""A server subprocess in its own process group: start, wait until healthy, stop, kill.

`ServerProcess` is what `DevServer` (`langgraph dev`) and `AegraServer` (Aegra on
Postgres) share: a scratch *workdir* outside the project holding a generated config and
the log, a free loopback port (tried again when another process took it first), a
health URL polled until it answers, and a stop that signals the whole process group,
SIGINT first. Both servers run children of their own (`aegra serve` runs uvicorn as a
child), so signalling the leader alone would leave the port served.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx

from devtools.ports import LOOPBACK, free_port

QUIET_ENV: Mapping[str, str] = {
    "LANGGRAPH_CLI_NO_ANALYTICS": "1",
    "LANGSMITH_TRACING": "false",
    "LANGCHAIN_TRACING_V2": "false",
    # Skips a PyPI request for a newer langgraph-api on every start.
    "LANGGRAPH_NO_VERSION_CHECK": "true",
    "LOG_COLOR": "false",
    "NO_COLOR": "1",
    "PYTHONUNBUFFERED": "1",
}
"""Environment every server gets before the caller's ``env``."""

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_PORT_ATTEMPTS = 3


class ServerProcessError(RuntimeError):
    """A server failed to start or stop; the message ends with its log tail."""


class PortTakenError(Exception):
    """The server reported that its port was already in use."""


def interrupt(signum: int, frame: object) -> None:
    """Raise KeyboardInterrupt: as a handler, SIGTERM or SIGHUP stop a launcher like Ctrl-C."""
    raise KeyboardInterrupt


def group_alive(pgid: int) -> bool:
    """Return whether any process is left in process group ``pgid``."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # A member exists but belongs to someone else.
        return True
    return True


class ServerProcess:
    """A server subprocess on a loopback port; subclasses say what to run.

    Subclasses implement :meth:`command` (and may override :meth:`prepare`,
    :attr:`health_path`, :attr:`port_taken` and :attr:`name`). The server logs stdout
    and stderr to ``<workdir>/server.log``. Stopping is idempotent and registered with
    :mod:`atexit`.
    """

    name = "server"
    """How messages name the server."""
    health_path = "/ok"
    """Polled until it answers 200."""
    port_taken: re.Pattern[str] | None = None
    """A log line that means the port was taken (then another port is tried)."""

    def __init__(
        self,
        *,
        env: Mapping[str, str] | None = None,
        port: int | None = None,
        workdir: str | Path | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        """Prepare the server; nothing runs until :meth:`start`.

        Args:
            env: Extra environment; it overrides the inherited environment and
                :data:`QUIET_ENV`.
            port: Port to serve on; a free one by default.
            workdir: Working directory holding the generated config and the log. By
                default a temporary directory that :meth:`cleanup` deletes.
            startup_timeout: Seconds to wait for the health URL.
        """
        self.env: dict[str, str] = dict(env or {})
        self.startup_timeout = startup_timeout
        self._fixed_port = port
        self._port = port
        self._owns_workdir = workdir is None
        self.workdir = (
            Path(tempfile.mkdtemp(prefix=f"{self.name.replace(' ', '-')}-"))
            if workdir is None
            else Path(workdir).resolve()
        )
        self.startup_seconds: float | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    # -- what to run (subclasses) -------------------------------------------

    def prepare(self) -> None:
        """Write what the server needs into :attr:`workdir` before each start."""

    def command(self) -> list[str]:
        """Return the command line that serves on :attr:`port`."""
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        """Return the server's whole environment."""
        return {**os.environ, **QUIET_ENV, **self.env}

    # -- paths and status --------------------------------------------------

    @property
    def log_path(self) -> Path:
        """The server's combined stdout and stderr (appended across restarts)."""
        return self.workdir / "server.log"

    @property
    def port(self) -> int:
        """Port of the running (or last) server."""
        if self._port is None:
            raise RuntimeError(f"{type(self).__name__} has not been started")
        return self._port

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:PORT``."""
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int | None:
        """Process id (and process group id) of the server, while it runs."""
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def log_text(self, *, current_run_only: bool = False) -> str:
        """Return the server log with terminal colour codes removed.

        Args:
            current_run_only: Only the output of the latest :meth:`start`.
        """
        try:
            with self.log_path.open("rb") as log:
                log.seek(self._log_offset if current_run_only else 0)
                raw = log.read()
        except FileNotFoundError:
            return ""
        return _ANSI.sub("", raw.decode(errors="replace"))

    def log_tail(self, lines: int = 60) -> str:
        """Return the last ``lines`` lines of the latest run's log."""
        return "\n".join(self.log_text(current_run_only=True).splitlines()[-lines:])

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> Self:
        """Start the server and wait until its health URL answers.

        Returns:
            ``self``, for chaining.

        Raises:
            ServerProcessError: The process exited, the port was taken or the health
                URL did not answer within ``startup_timeout``.
        """
        if self.running:
            raise RuntimeError(f"{type(self).__name__} is already running")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.prepare()
        attempts_left = 1 if self._fixed_port is not None else _PORT_ATTEMPTS
        while True:
            self._port = self._fixed_port or free_port()
            try:
                self._launch()
            except PortTakenError:
                # Another process took the port between our check and the bind.
                self.stop()
                attempts_left -= 1
                if attempts_left == 0:
                    raise ServerProcessError(self.failure(f"port {self._port} is taken")) from None
            else:
                return self

    def _launch(self) -> None:
        command = self.command()
        with self.log_path.open("ab") as log:
            self._log_offset = log.tell()
            log.write(f"$ {' '.join(command)}\n".encode())
            log.flush()
            started = time.monotonic()
            self._proc = subprocess.Popen(
                command,
                cwd=self.workdir,
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        atexit.register(self.stop)
        self._wait_ready(self._proc, started)

    def _wait_ready(self, proc: subprocess.Popen[bytes], started: float) -> None:
        deadline = started + self.startup_timeout
        with httpx.Client(timeout=2.0) as client:
            while True:
                if self.port_taken and self.port_taken.search(self.log_text(current_run_only=True)):
                    raise PortTakenError
                if proc.poll() is not None:
                    self.stop()
                    raise ServerProcessError(self.failure(f"exited with code {proc.returncode}"))
                with contextlib.suppress(httpx.TransportError):
                    if client.get(f"{self.url}{self.health_path}").status_code == 200:
                        self.startup_seconds = time.monotonic() - started
                        return
                if time.monotonic() > deadline:
                    self.stop()
                    raise ServerProcessError(
                        self.failure(f"no {self.health_path} after {self.startup_timeout:.0f}s")
                    )
                time.sleep(0.1)

    def failure(self, reason: str) -> str:
        """Return an error message: ``reason`` and the log's tail."""
        return f"{self.name} {reason}; log {self.log_path} ends with:\n{self.log_tail()}"

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the whole process group: SIGINT, then SIGTERM, then SIGKILL.

        Calling it again, or on a server that already exited, is harmless.

        Args:
            timeout: Seconds to wait for the graceful stop before escalating.

        Raises:
            ServerProcessError: Processes of the group survived SIGKILL.
        """
        self._signal_group(((signal.SIGINT, timeout), (signal.SIGTERM, 5.0)))

    def kill(self) -> None:
        """Kill the whole process group at once (SIGKILL), as a crash would."""
        self._signal_group(())

    def _signal_group(self, graceful: Sequence[tuple[signal.Signals, float]]) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        atexit.unregister(self.stop)
        for signum, grace in (*graceful, (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signum)
            if self._wait_group(proc, grace):
                return
        raise ServerProcessError(self.failure(f"process group {proc.pid} survived SIGKILL"))

    @staticmethod
    def _wait_group(proc: subprocess.Popen[bytes], seconds: float) -> bool:
        """Wait until the leader is reaped and no process is left in its group."""
        deadline = time.monotonic() + seconds
        try:
            proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            return False
        while group_alive(proc.pid):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def restart(self, *, crash: bool = False) -> Self:
        """Stop and start again on the same workdir, state and port.

        Args:
            crash: Kill the process group (SIGKILL) instead of stopping it gracefully.
        """
        if crash:
            self.kill()
        else:
            self.stop()
        self._fixed_port = self._port
        return self.start()

    def cleanup(self) -> None:
        """Stop the server and delete the workdir if this object created it."""
        self.stop()
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Self:
        """Start the server; on failure remove an owned workdir again."""
        try:
            return self.start()
        except BaseException:
            self.cleanup()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop the server and remove an owned workdir."""
        self.cleanup()
