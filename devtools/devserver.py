"""Run a real `langgraph dev` server as a subprocess: for `make demo`, tests and benchmarks.

`langgraph dev` resolves everything relative to its *working directory*, not to the
config file: graph file paths, `dependencies` (`"."` is put on `sys.path`) and the `env`
file. It also keeps its in-memory state in `./.langgraph_api/` (the in-memory runtime
creates that directory as soon as it is imported, and rewrites its thread rows there
every 10 s). To keep the project folder clean, `DevServer` runs the server in a scratch
*workdir* outside it, with a copy of `langgraph.json` whose relative paths were made
absolute. The state stays in `<workdir>/.langgraph_api/`, so a server can be restarted
on it.

The config's `env` file is dropped by default: the dev server loads it *over* the
process environment, which would let a developer's `.env` override the caller's
`OPENAI_BASE_URL` or `MODEL`.

Needs the `langgraph` CLI (`langgraph-cli[inmem]`, a dev dependency). From the shell:

    python -m devtools.devserver free-port --prefer 2024
    python -m devtools.devserver run -- lgchat chat     # make chat
    python -m devtools.devserver run --dev-auth -- lgchat demo   # make demo
    python -m devtools.devserver dev --port 2024        # make dev

`run` serves the project on a free port, runs the command with `LANGGRAPH_URL` set and
the terminal handed to it, and stops the server when the command ends; with
`--dev-auth` and no auth configured, the server and the command share a one-off
`AUTH_JWT_SECRET`, so the command can mint development tokens. `dev` is
`langgraph dev` with hot reload for LangGraph Studio, its state kept outside the
project (the file watcher would otherwise log "changes detected" every 10 s); it
prints the `LANGGRAPH_URL=… lgchat chat` line for the port it serves on.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from devtools import require_dev_extra
from devtools.ports import LOOPBACK, bind_loopback, free_port
from devtools.process import QUIET_ENV, ServerProcess, ServerProcessError, interrupt
from security.settings import AuthSettings

DevServerError = ServerProcessError
"""The dev server failed to start or stop (the name tests and callers use)."""


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


class DevServer(ServerProcess):
    """A ``langgraph dev`` subprocess in its own process group and scratch workdir.

    The server runs ``<bin>/langgraph dev --no-browser --no-reload`` on a free
    127.0.0.1 port and is stopped gracefully (SIGINT first, so the in-memory runtime
    flushes its state).
    """

    name = "langgraph dev"
    health_path = "/ok"
    # langgraph dev silently moves to another port when its port is taken; the test
    # would then talk to whoever owns ours.
    port_taken = re.compile(r"Port \d+ is already in use")

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
        super().__init__(env=env, port=port, workdir=workdir, startup_timeout=startup_timeout)
        self.config_path = Path(config).resolve()
        self.project_dir = self.config_path.parent
        self.langgraph = Path(langgraph) if langgraph else Path(sys.executable).parent / "langgraph"
        self.load_env_file = load_env_file
        self.extra_args = tuple(extra_args)

    @property
    def state_dir(self) -> Path:
        """Where the server persists threads, runs and the store."""
        return self.workdir / ".langgraph_api"

    @property
    def config_file(self) -> Path:
        """The generated, portable copy of the project's config."""
        return self.workdir / "langgraph.json"

    def prepare(self) -> None:
        """Write the portable config into the workdir."""
        config = portable_config(self.config_path, load_env_file=self.load_env_file)
        self.config_file.write_text(json.dumps(config, indent=2))

    def environment(self) -> dict[str, str]:
        """Return the environment, with the project on ``PYTHONPATH``."""
        python_path = os.pathsep.join(
            filter(None, [str(self.project_dir), os.environ.get("PYTHONPATH")])
        )
        return {**os.environ, **QUIET_ENV, "PYTHONPATH": python_path, **self.env}

    def command(self) -> list[str]:
        """Return ``langgraph dev`` without browser or reload, on :attr:`port`."""
        return [
            str(self.langgraph),
            "dev",
            "--no-browser",
            "--no-reload",
            "--host",
            LOOPBACK,
            "--port",
            str(self.port),
            "--config",
            str(self.config_file),
            *self.extra_args,
        ]


def port_is_free(port: int) -> bool:
    """Return True when nothing listens on `port` on the loopback interface."""
    try:
        with bind_loopback(port):
            return True
    except OSError:
        return False


# -- `run`: serve, run one command against the server, stop ---------------------------

_FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _foreground_terminal() -> int | None:
    """Return stdin's descriptor if it is a terminal whose foreground group is ours."""
    try:
        fd = sys.stdin.fileno()
        if os.isatty(fd) and os.tcgetpgrp(fd) == os.getpgrp():
            return fd
    except (AttributeError, OSError, ValueError):
        pass
    return None


def _give_terminal(fd: int, pgid: int) -> None:
    """Make ``pgid`` the terminal's foreground process group, even from the background."""
    # A background group calling tcsetpgrp gets SIGTTOU (and stops) unless it blocks it.
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTTOU})
    try:
        os.tcsetpgrp(fd, pgid)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


def call_in_foreground(command: Sequence[str], env: Mapping[str, str]) -> int:
    """Run ``command`` in its own process group, handing it the terminal like a shell does.

    On a terminal, the command's group becomes the terminal's foreground group, so
    Ctrl-C and the other keys that signal reach the command alone: an interactive
    ``lgchat chat`` cancels its reply on Ctrl-C and goes on, and this process (and
    ``make`` above it) never sees the signal. A command stopped with Ctrl-Z is
    continued at once, because the shell cannot resume it. SIGINT, SIGTERM or SIGHUP
    sent to this process are forwarded to the command's group. The terminal is taken
    back when the command ends.

    Args:
        command: The program and its arguments.
        env: Its environment.

    Returns:
        The command's exit code, or 128 + N when signal N ended it.
    """
    terminal = _foreground_terminal()
    started: list[subprocess.Popen[bytes]] = []

    def forward(signum: int, frame: object) -> None:
        if not started:
            raise KeyboardInterrupt
        with contextlib.suppress(ProcessLookupError):
            os.killpg(started[0].pid, signum)

    previous = {signum: signal.signal(signum, forward) for signum in _FORWARDED_SIGNALS}
    try:
        proc = subprocess.Popen(command, env=env, process_group=0)
        started.append(proc)
        if terminal is not None:
            _give_terminal(terminal, proc.pid)
        while True:
            _, status = os.waitpid(proc.pid, os.WUNTRACED)
            if not os.WIFSTOPPED(status):
                break
            # Ctrl-Z, or a terminal read in the instant before the group owned it.
            if terminal is not None:
                _give_terminal(terminal, proc.pid)
            os.killpg(proc.pid, signal.SIGCONT)
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        return code if code >= 0 else 128 - code
    finally:
        if terminal is not None:
            with contextlib.suppress(OSError):  # The terminal may be gone (hung up).
                _give_terminal(terminal, os.getpgrp())
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def env_file_values(env_file: Path) -> dict[str, str]:
    """Return the settings a `.env` file gives a value (none when there is no file)."""
    if not env_file.is_file():
        return {}
    from dotenv import dotenv_values

    return {key: value for key, value in dotenv_values(env_file).items() if value}


def _default_model(env_file: Path) -> str:
    """The graphs' default model as the server sees it, and why, for the start line.

    The server loads ``env_file`` over the process environment, as ``langgraph dev``
    does.
    """
    from agent.context import default_model

    env = {**os.environ, **env_file_values(env_file)}
    spec = default_model(env)
    if env.get("MODEL") or spec == "offline":
        return spec
    return f"{spec} (OPENAI_API_KEY is set)"


def dev_auth_env(env_file: Path) -> dict[str, str]:
    """Return a one-off ``AUTH_JWT_SECRET`` for server and command, unless auth is configured.

    Configured means set in the environment or in ``env_file``, which the server loads.
    The secret is random and lives as long as the server: development only.
    """
    if AuthSettings.from_env({**os.environ, **env_file_values(env_file)}).mode != "off":
        return {}
    return {"AUTH_JWT_SECRET": secrets.token_urlsafe(32)}


def _run(command: list[str], *, port: int | None, dev_auth: bool = False) -> int:
    """Serve the project, run ``command`` against it, and stop the server.

    The command gets ``LANGGRAPH_URL`` and the terminal (see :func:`call_in_foreground`);
    this launcher's own messages go to stderr. With ``dev_auth``, see :func:`dev_auth_env`.
    """
    if not command:
        print("error: give the command to run after --", file=sys.stderr)
        return 2
    if shutil.which(command[0]) is None:
        print(f"error: command not found: {command[0]}", file=sys.stderr)
        return 127
    # SIGTERM or SIGHUP (make, a closed terminal) must stop the server too.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt)
    try:
        env_file = Path(".env")
        auth = dev_auth_env(env_file) if dev_auth else {}
        with DevServer(port=port, load_env_file=env_file.is_file(), env=auth) as server:
            model = _default_model(env_file)
            print(f"langgraph dev is up at {server.url} (model: {model})", file=sys.stderr)
            if auth:
                print(
                    "auth is on with a one-off AUTH_JWT_SECRET, shared with the command "
                    "(development only)",
                    file=sys.stderr,
                )
            env = {**os.environ, **auth, "LANGGRAPH_URL": server.url}
            return call_in_foreground(command, env)
    except KeyboardInterrupt:
        return 130


# -- `dev`: the server for LangGraph Studio and `lgchat`, with hot reload ---------------


def default_state_dir(project_dir: Path, *, tool: str = "langgraph-dev") -> Path:
    """Where ``tool`` keeps its server state for ``project_dir``, across restarts.

    ``$XDG_STATE_HOME/<tool>/<name>-<hash>`` (``~/.local/state`` by default): outside
    the project, so the file watcher never sees the server's own writes.
    """
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    digest = hashlib.sha256(str(project_dir.resolve()).encode()).hexdigest()[:8]
    return Path(base) / tool / f"{project_dir.resolve().name}-{digest}"


def source_dirs(config_path: Path) -> list[Path]:
    """Return the folders hot reload watches: the top-level folders holding the code.

    For each graph (and ``auth.path``, ``http.app``), the project folder it lives in,
    e.g. ``agent/`` for ``agent.chatbot:graph`` or ``./agent/chatbot.py:graph``. Code
    at the project's top level means the whole project is watched.
    """
    base = config_path.resolve().parent
    config: dict[str, Any] = json.loads(config_path.read_text())
    specs: list[str] = []
    for spec in config.get("graphs", {}).values():
        path = spec.get("path") if isinstance(spec, dict) else spec
        if isinstance(path, str):
            specs.append(path)
    for section, key in (("auth", "path"), ("http", "app")):
        value = (config.get(section) or {}).get(key)
        if isinstance(value, str):
            specs.append(value)
    dirs: set[Path] = set()
    for spec in specs:
        location = spec.rpartition(":")[0] or spec
        if "/" in location or location.endswith(".py"):
            target = Path(_absolute(location, base)).resolve()
        else:
            target = base / location.split(".")[0]
        if not target.is_relative_to(base):
            dirs.add(target.parent if target.suffix else target)
            continue
        top = base / target.relative_to(base).parts[0]
        dirs.add(top if top.is_dir() else base)
    return [base] if base in dirs or not dirs else sorted(dirs)


def _display_path(path: Path) -> str:
    """``path`` relative to the current directory when it is inside it."""
    return os.path.relpath(path) if path.is_relative_to(Path.cwd()) else str(path)


def chat_command(url: str, lgchat: str, auth: AuthSettings) -> str:
    """Return the shell command that chats with the server at `url`.

    With auth on, it carries a token: a development one minted from the secret, or,
    with a JWKS, the one the identity provider issued.
    """
    if auth.problem or auth.mode == "off":
        return f"LANGGRAPH_URL={url} {lgchat} chat"
    token = (
        f'"$({lgchat} token --user "$(whoami)")"'
        if auth.mode == "hs256"
        else "<your identity provider's token>"
    )
    return f"LANGGRAPH_AUTH_TOKEN={token} LANGGRAPH_URL={url} {lgchat} chat"


def chat_lines(url: str, lgchat: str, auth: AuthSettings) -> str:
    """Return what ``make dev`` prints once the server answers: how to chat with it."""
    state = "" if auth.problem or auth.mode == "off" else f"; {auth.describe()}"
    return (
        f"langgraph dev is up at {url}{state}; chat with it from another terminal:\n"
        f"{chat_command(url, lgchat, auth)}"
    )


def _announce_when_ready(url: str, lgchat: str, auth: AuthSettings) -> None:
    """Print how to chat with the server once ``GET /ok`` answers (a daemon thread)."""
    # urllib, not httpx: the server's logging setup would log every poll of httpx.
    while True:
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/ok", timeout=2):
            break
        time.sleep(0.2)
    print(chat_lines(url, lgchat, auth), file=sys.stderr, flush=True)


def _dev(config: Path, *, port: int, state_dir: Path | None) -> int:
    """Run ``langgraph dev`` for ``make dev`` (see :func:`main`); returns on Ctrl-C.

    The server runs in ``state_dir``, outside the project, so its state
    (``.langgraph_api/``, rewritten every 10 s) is written where the file watcher does
    not look, and it writes no bytecode; hot reload watches the project's
    code folders (:func:`source_dirs`). The project's ``.env`` is loaded, as plain
    ``langgraph dev`` does.
    """
    config = config.resolve()
    project = config.parent
    state = (state_dir or default_state_dir(project)).resolve()
    watched = source_dirs(config)
    if any(state.is_relative_to(folder) for folder in watched):
        print(f"error: the state folder {state} is inside a watched folder", file=sys.stderr)
        return 2
    state.mkdir(parents=True, exist_ok=True)
    (state / "langgraph.json").write_text(
        json.dumps(portable_config(config, load_env_file=True), indent=2)
    )
    chosen = port if port_is_free(port) else free_port()
    if chosen != port:
        print(f"port {port} is taken; serving on {chosen} instead", file=sys.stderr)
    print(
        f"state: {state}\nhot reload watches: {', '.join(_display_path(d) for d in watched)}",
        file=sys.stderr,
    )
    lgchat = _display_path(Path(sys.executable).with_name("lgchat"))
    url = f"http://{LOOPBACK}:{chosen}"
    # The server loads the project's .env over the environment.
    auth = AuthSettings.from_env({**os.environ, **env_file_values(project / ".env")})
    threading.Thread(target=_announce_when_ready, args=(url, lgchat, auth), daemon=True).start()

    os.environ.setdefault("LANGGRAPH_CLI_NO_ANALYTICS", "1")
    # No bytecode either: a __pycache__ write in a watched folder is another "change
    # detected" (the libraries' bytecode in the venv is still read).
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(project), os.environ.get("PYTHONPATH")])
    )
    os.chdir(state)
    # `langgraph dev` watches its working directory and has no option for other
    # folders; its run_server passes extra keywords on to uvicorn.run.
    with require_dev_extra("python -m devtools.devserver dev"):
        api_cli = importlib.import_module("langgraph_api.cli")
    run_server = functools.partial(
        api_cli.run_server, reload_dirs=[str(folder) for folder in watched]
    )
    setattr(api_cli, "run_server", run_server)  # noqa: B010 (an untyped module)
    with require_dev_extra("python -m devtools.devserver dev"):
        from langgraph_cli.cli import cli

    args = ["dev", "--no-browser", "--host", LOOPBACK, "--port", str(chosen)]
    cli.main([*args, "--config", "langgraph.json"], prog_name="langgraph")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the ``free-port``, ``run`` and ``dev`` commands (see the module docstring)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m devtools.devserver", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    free = commands.add_parser("free-port", help="print PREFER if it is free, else a free port")
    free.add_argument("--prefer", type=int, default=2024)
    run = commands.add_parser("run", help="start langgraph dev, run a command, stop the server")
    run.add_argument("--port", type=int, default=None, help="port to serve on (default: free)")
    run.add_argument(
        "--dev-auth",
        action="store_true",
        help="unless AUTH_JWT_SECRET or AUTH_JWKS_URL is set (environment or .env), give "
        "the server and the command a one-off AUTH_JWT_SECRET (development only)",
    )
    run.add_argument("cmd", nargs=argparse.REMAINDER, help="-- command to run")
    dev = commands.add_parser("dev", help="serve with hot reload until Ctrl-C (make dev)")
    dev.add_argument("--port", type=int, default=2024, help="port, or a free one if taken")
    dev.add_argument("--config", type=Path, default=Path("langgraph.json"))
    dev.add_argument("--state-dir", type=Path, default=None, help="default: outside the project")
    args = parser.parse_args(argv)
    if args.command == "free-port":
        print(args.prefer if port_is_free(args.prefer) else free_port())
        return 0
    if args.command == "dev":
        return _dev(args.config, port=args.port, state_dir=args.state_dir)
    command = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    try:
        return _run(command, port=args.port, dev_auth=args.dev_auth)
    except DevServerError as error:
        print(f"error: {str(error).splitlines()[0]}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
