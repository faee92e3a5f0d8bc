"""Run a real `langgraph dev` server as a subprocess: for `make demo`, tests and benchmarks.

`langgraph dev` resolves everything relative to its *working directory*, not to the
config file: graph file paths, `dependencies` (`"."` is put on `sys.path`) and the `env`
file. It also keeps its in-memory state in `./.langgraph_api/` (the in-memory runtime
creates that directory as soon as it is imported). To keep the project folder clean,
`DevServer` runs the server in a scratch *workdir* outside it, with a copy of
`langgraph.json` whose relative paths were made absolute. The state stays in
`<workdir>/.langgraph_api/`, so a server can be restarted on it.

The config's `env` file is dropped by default: the dev server loads it *over* the
process environment, which would let a developer's `.env` override the caller's
`OPENAI_BASE_URL` or `MODEL`.

Needs the `langgraph` CLI (`langgraph-cli[inmem]`, a dev dependency). From the shell:

    python -m client.devserver free-port --prefer 2024
    python -m client.devserver run -- lgchat demo     # LANGGRAPH_URL points at the server
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from client.ports import LOOPBACK, bind_loopback, free_port

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
"""Environment every dev server gets before the caller's ``env``."""

_PORT_TAKEN = re.compile(r"Port \d+ is already in use")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_PORT_ATTEMPTS = 3


class DevServerError(RuntimeError):
    """The dev server failed to start or stop; the message ends with its log tail."""


def _absolute(value: str, base: Path) -> str:
    return value if os.path.isabs(value) else os.path.normpath(base / value)


def _absolute_dotted_paths(value: Any, base: Path) -> Any:
    """Make every ``./x`` or ``../x`` string in a JSON value absolute."""
    if isinstance(value, str) and value.startswith(("./", "../")):
        return _absolute(value, base)
    if isinstance(value, list):
        return [_absolute_dotted_paths(item, base) for item in value]
    if isinstance(value, dict):
        return {key: _absolute_dotted_paths(item, base) for key, item in value.items()}
    return value


def _absolute_graph(spec: str, base: Path) -> str:
    location, sep, variable = spec.rpartition(":")
    # Module syntax ("pkg.mod:graph") resolves through sys.path, not the filesystem.
    if "/" not in location:
        return spec
    return _absolute(location, base) + sep + variable


def portable_config(config_path: Path, *, load_env_file: bool = False) -> dict[str, Any]:
    """Return a ``langgraph.json`` that works from any working directory.

    Relative graph paths, dependency directories, the env file and any other
    ``./``-prefixed path are made absolute against the config file's folder.

    Args:
        config_path: The project's ``langgraph.json``.
        load_env_file: Keep the config's ``env`` file; by default it is dropped
            so the caller's environment is authoritative.

    Returns:
        The rewritten config.
    """
    base = config_path.resolve().parent
    config: dict[str, Any] = json.loads(config_path.read_text())
    env = config.pop("env", None)
    if isinstance(env, str) and load_env_file:
        config["env"] = _absolute(env, base)
    elif isinstance(env, dict):
        config["env"] = env
    config = _absolute_dotted_paths(config, base)
    config["dependencies"] = [
        _absolute(dep, base) if (base / dep).is_dir() else dep
        for dep in config.get("dependencies", [])
    ]
    graphs: dict[str, Any] = config.get("graphs", {})
    for graph_id, spec in graphs.items():
        if isinstance(spec, str):
            graphs[graph_id] = _absolute_graph(spec, base)
        elif isinstance(spec, dict) and isinstance(spec.get("path"), str):
            spec["path"] = _absolute_graph(spec["path"], base)
    return config


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # A member exists but belongs to someone else.
        return True
    return True


class DevServer:
    """A ``langgraph dev`` subprocess in its own process group and scratch workdir.

    The server runs ``<bin>/langgraph dev --no-browser --no-reload`` on a free
    127.0.0.1 port, logs stdout and stderr to ``<workdir>/server.log`` and is
    stopped gracefully (SIGINT first, so the in-memory runtime flushes its
    state). Stopping is idempotent and also registered with :mod:`atexit`.
    """

    def __init__(
        self,
        config: str | Path = "langgraph.json",
        *,
        env: Mapping[str, str] | None = None,
        port: int | None = None,
        workdir: str | Path | None = None,
        langgraph: str | Path | None = None,
        load_env_file: bool = False,
        startup_timeout: float = 60.0,
        extra_args: Sequence[str] = (),
    ) -> None:
        """Prepare the server; nothing runs until :meth:`start`.

        Args:
            config: The project's ``langgraph.json`` (relative to the current directory).
            env: Extra environment (e.g. ``OPENAI_BASE_URL``, ``MODEL``); it
                overrides the inherited environment and :data:`QUIET_ENV`.
            port: Port to serve on; a free one by default.
            workdir: Working directory holding the generated config, the log and
                ``.langgraph_api/``. Pass another server's :attr:`workdir` to
                reuse its state. By default a temporary directory that
                :meth:`cleanup` deletes.
            langgraph: The ``langgraph`` executable; by default the one next to
                the running interpreter.
            load_env_file: Let the server load the config's ``env`` file.
            startup_timeout: Seconds to wait for ``GET /ok``.
            extra_args: More ``langgraph dev`` options, e.g.
                ``("--n-jobs-per-worker", "50")`` to run that many runs at once.
        """
        self.config_path = Path(config).resolve()
        self.project_dir = self.config_path.parent
        self.env: dict[str, str] = dict(env or {})
        self.langgraph = Path(langgraph) if langgraph else Path(sys.executable).parent / "langgraph"
        self.load_env_file = load_env_file
        self.startup_timeout = startup_timeout
        self.extra_args = tuple(extra_args)
        self._fixed_port = port
        self._port = port
        self._owns_workdir = workdir is None
        self.workdir = (
            Path(tempfile.mkdtemp(prefix="langgraph-dev-"))
            if workdir is None
            else Path(workdir).resolve()
        )
        self.startup_seconds: float | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    # -- paths and status --------------------------------------------------

    @property
    def state_dir(self) -> Path:
        """Where the server persists threads, runs and the store."""
        return self.workdir / ".langgraph_api"

    @property
    def log_path(self) -> Path:
        """The server's combined stdout and stderr (appended across restarts)."""
        return self.workdir / "server.log"

    @property
    def port(self) -> int:
        """Port of the running (or last) server."""
        if self._port is None:
            raise RuntimeError("DevServer has not been started")
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
        """Start the server and wait until ``GET /ok`` answers.

        Returns:
            ``self``, for chaining.

        Raises:
            DevServerError: The process exited, the port was taken or ``/ok``
                did not answer within ``startup_timeout``.
        """
        if self.running:
            raise RuntimeError("DevServer is already running")
        self.workdir.mkdir(parents=True, exist_ok=True)
        config_file = self.workdir / "langgraph.json"
        config = portable_config(self.config_path, load_env_file=self.load_env_file)
        config_file.write_text(json.dumps(config, indent=2))
        attempts_left = 1 if self._fixed_port is not None else _PORT_ATTEMPTS
        while True:
            self._port = self._fixed_port or free_port()
            try:
                self._launch(config_file)
            except _PortTakenError:
                # langgraph dev silently moves to another port when its port is
                # taken; the test would then talk to whoever owns ours.
                self.stop()
                attempts_left -= 1
                if attempts_left == 0:
                    raise DevServerError(self._failure(f"port {self._port} is taken")) from None
            else:
                return self

    def _launch(self, config_file: Path) -> None:
        python_path = os.pathsep.join(
            filter(None, [str(self.project_dir), os.environ.get("PYTHONPATH")])
        )
        env = {**os.environ, **QUIET_ENV, "PYTHONPATH": python_path, **self.env}
        command = [
            str(self.langgraph),
            "dev",
            "--no-browser",
            "--no-reload",
            "--host",
            LOOPBACK,
            "--port",
            str(self.port),
            "--config",
            str(config_file),
            *self.extra_args,
        ]
        with self.log_path.open("ab") as log:
            self._log_offset = log.tell()
            log.write(f"$ {' '.join(command)}\n".encode())
            log.flush()
            started = time.monotonic()
            self._proc = subprocess.Popen(
                command,
                cwd=self.workdir,
                env=env,
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
                if _PORT_TAKEN.search(self.log_text(current_run_only=True)):
                    raise _PortTakenError
                if proc.poll() is not None:
                    self.stop()
                    raise DevServerError(self._failure(f"exited with code {proc.returncode}"))
                with contextlib.suppress(httpx.TransportError):
                    if client.get(f"{self.url}/ok").status_code == 200:
                        self.startup_seconds = time.monotonic() - started
                        return
                if time.monotonic() > deadline:
                    self.stop()
                    raise DevServerError(self._failure(f"no /ok after {self.startup_timeout:.0f}s"))
                time.sleep(0.1)

    def _failure(self, reason: str) -> str:
        return f"langgraph dev {reason}; log {self.log_path} ends with:\n{self.log_tail()}"

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the whole process group: SIGINT, then SIGTERM, then SIGKILL.

        The server flushes ``.langgraph_api/`` only on a graceful (SIGINT) stop.
        Calling it again, or on a server that already exited, is harmless.

        Args:
            timeout: Seconds to wait for the graceful stop before escalating.

        Raises:
            DevServerError: Processes of the group survived SIGKILL.
        """
        proc, self._proc = self._proc, None
        if proc is None:
            return
        atexit.unregister(self.stop)
        for signum, grace in (
            (signal.SIGINT, timeout),
            (signal.SIGTERM, 5.0),
            (signal.SIGKILL, 5.0),
        ):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signum)
            if self._wait_group(proc, grace):
                return
        raise DevServerError(self._failure(f"process group {proc.pid} survived SIGKILL"))

    @staticmethod
    def _wait_group(proc: subprocess.Popen[bytes], seconds: float) -> bool:
        """Wait until the leader is reaped and no process is left in its group."""
        deadline = time.monotonic() + seconds
        try:
            proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            return False
        while _group_alive(proc.pid):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def restart(self) -> Self:
        """Stop gracefully and start again on the same workdir, state and port."""
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


class _PortTakenError(Exception):
    """The dev server reported that its port was already in use."""


def port_is_free(port: int) -> bool:
    """Return True when nothing listens on `port` on the loopback interface."""
    try:
        with bind_loopback(port):
            return True
    except OSError:
        return False


def _run(command: list[str], *, port: int | None) -> int:
    """Serve the project, run `command` against it, and stop the server."""
    if not command:
        print("error: give the command to run after --", file=sys.stderr)
        return 2
    with DevServer(port=port, load_env_file=Path(".env").is_file()) as server:
        model = "openai (OPENAI_API_KEY is set)" if os.environ.get("OPENAI_API_KEY") else "offline"
        print(f"langgraph dev is up at {server.url} (model: {model})", file=sys.stderr)
        try:
            return subprocess.call(command, env={**os.environ, "LANGGRAPH_URL": server.url})
        except KeyboardInterrupt:
            return 130
        except FileNotFoundError:
            print(f"error: command not found: {command[0]}", file=sys.stderr)
            return 127


def main(argv: list[str] | None = None) -> int:
    """Run the `free-port` and `run` commands (see the module docstring)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m client.devserver", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    free = commands.add_parser("free-port", help="print PREFER if it is free, else a free port")
    free.add_argument("--prefer", type=int, default=2024)
    run = commands.add_parser("run", help="start langgraph dev, run a command, stop the server")
    run.add_argument("--port", type=int, default=None, help="port to serve on (default: free)")
    run.add_argument("cmd", nargs=argparse.REMAINDER, help="-- command to run")
    args = parser.parse_args(argv)
    if args.command == "free-port":
        print(args.prefer if port_is_free(args.prefer) else free_port())
        return 0
    command = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    try:
        return _run(command, port=args.port)
    except DevServerError as error:
        print(f"error: {str(error).splitlines()[0]}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
