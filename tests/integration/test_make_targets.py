"""`make chat` and `make dev` as a person runs them, against a real `langgraph dev`.

Every process these tests start carries a unique marker in its environment, so they can
check that nothing is left running afterwards (the dev server runs in its own session,
out of reach of the terminal's signals).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx
import pexpect
import pytest

from devtools.ports import LOOPBACK, bind_loopback, bound_port, free_port
from tests.integration._helpers import LONG_COUNT
from tests.support.servers import REPO_ROOT, SLOW_ENOUGH_TO_CANCEL

# These test the `langgraph dev` targets themselves (`make chat`, `make dev`); the
# production engine's targets are tested in tests/production/.
pytestmark = [pytest.mark.server, pytest.mark.engines("dev")]

MARK = "LGCHAT_MAKE_TARGETS_TEST"
PROMPT = "You: "
NOISE = re.compile(r"changes? detected")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
DEV = [sys.executable, "-m", "devtools.devserver", "dev"]
FLUSH_INTERVAL = 10.0
"""langgraph dev writes its thread rows to `.langgraph_api/` every 10 s."""


# -- processes -------------------------------------------------------------------------


def marked_pids(token: str) -> list[int]:
    """Return the live processes whose environment holds ``MARK=token``."""
    needle = f"{MARK}={token}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
    return found


def wait_until_gone(token: str, seconds: float = 15.0) -> list[int]:
    """Wait for every marked process to exit; return the ones still alive."""
    deadline = time.monotonic() + seconds
    while (left := marked_pids(token)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def kill_marked(token: str) -> None:
    """Last-resort cleanup after a failed test: stop every marked process group."""
    for signum in (signal.SIGINT, signal.SIGKILL):
        for pid in marked_pids(token):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(os.getpgid(pid), signum)
        if not wait_until_gone(token, 10.0):
            return


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """Stop a process group the way Ctrl-C does (SIGINT), escalating if it lingers."""
    for signum, grace in ((signal.SIGINT, 30.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signum)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
            return


class Lines:
    """Collects a pipe's lines (colour codes removed) on a background thread."""

    def __init__(self, pipe: IO[bytes]) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, args=(pipe,), daemon=True).start()

    def _read(self, pipe: IO[bytes]) -> None:
        for raw in pipe:
            self._queue.put(ANSI.sub("", raw.decode(errors="replace")).rstrip("\n"))
        self._queue.put(None)

    def collect(self, seconds: float) -> None:
        """Keep reading for ``seconds``."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            with contextlib.suppress(queue.Empty):
                if (line := self._queue.get(timeout=left)) is None:
                    return
                self.lines.append(line)

    def wait_for(self, pattern: re.Pattern[str], seconds: float) -> re.Match[str]:
        """Read until a line matches ``pattern``."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
            if match := pattern.search(line):
                return match
        tail = "\n".join(self.lines[-40:])
        raise AssertionError(f"no line matching {pattern.pattern!r}; output ends with:\n{tail}")


def start_group(
    args: list[str], *, cwd: Path, env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], Lines]:
    """Start ``args`` in a session of its own, no stdin; return it and its merged output."""
    proc = subprocess.Popen(
        args,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    assert proc.stdout is not None
    return proc, Lines(proc.stdout)


def wait_ok(port: int, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"http://{LOOPBACK}:{port}/ok", timeout=2.0).status_code == 200:
                return
        assert time.monotonic() < deadline, f"no /ok on port {port} after {seconds:.0f}s"
        time.sleep(0.2)


@contextlib.contextmanager
def marked(token: str) -> Iterator[dict[str, str]]:
    """The environment for a marked process tree; kills leftovers if the test failed."""
    try:
        yield {**os.environ, MARK: token}
    finally:
        kill_marked(token)


# -- make chat -------------------------------------------------------------------------


def test_make_chat_is_a_live_chat_that_stops_its_server_on_quit() -> None:
    token = uuid.uuid4().hex
    with marked(token) as env:
        env["OFFLINE_MODEL_DELAY"] = SLOW_ENOUGH_TO_CANCEL
        child = pexpect.spawn(
            "make",
            ["--no-print-directory", "chat", "ASSISTANT=chatbot"],
            cwd=str(REPO_ROOT),
            env=env,
            encoding="utf-8",
            dimensions=(50, 200),
            timeout=60,
        )
        try:
            child.expect(r"langgraph dev is up at http://127\.0\.0\.1:\d+ \(model: offline\)")
            child.expect_exact("Type a message, or /help for commands.")
            child.expect_exact(PROMPT)
            assert len(marked_pids(token)) >= 3  # make, the launcher, lgchat, the server

            child.sendline("hi! I'm Lance")
            child.expect_exact("Hi Lance! How can I assist you today?")
            child.expect_exact(PROMPT)

            # Ctrl-C reaches lgchat alone: the reply is cancelled, the chat goes on.
            child.sendline(f"count to {LONG_COUNT}")
            child.expect_exact("1 2 3 4 5 6")
            child.sendintr()
            child.expect_exact("(cancelled)")
            child.expect_exact(PROMPT)

            # Ctrl-Z would leave the terminal to a stopped chat: it is ignored.
            child.sendcontrol("z")
            child.sendline("what's my name?")
            child.expect_exact("Your name is Lance.")
            child.expect_exact(PROMPT)

            child.sendline("/quit")
            child.expect(pexpect.EOF)
        finally:
            child.close()
        assert "Traceback" not in (child.before or "")
        assert (child.exitstatus, child.signalstatus) == (0, None)
        assert wait_until_gone(token) == []


# -- make dev --------------------------------------------------------------------------


def test_make_dev_moves_off_a_busy_port_prints_the_chat_line_and_stays_quiet(
    tmp_path: Path,
) -> None:
    token = uuid.uuid4().hex
    repo_state_before = state_stamp(REPO_ROOT / ".langgraph_api")
    with marked(token) as env, bind_loopback() as busy:
        busy.listen()
        taken = bound_port(busy)
        proc, output = start_group(
            ["make", "--no-print-directory", "dev", f"PORT={taken}", f"STATE_DIR={tmp_path}"],
            cwd=REPO_ROOT,
            env=env,
        )
        try:
            moved = output.wait_for(re.compile(rf"port {taken} is taken; serving on (\d+)"), 60)
            port = int(moved.group(1))
            wait_ok(port)
            # Stay past one flush of the server's state: the file watcher must not see it.
            output.collect(FLUSH_INTERVAL + 3)
            assert len(marked_pids(token)) >= 2  # make, the server and its worker
        finally:
            stop_group(proc)
        output.collect(5)
        chat_lines = [line for line in output.lines if line.startswith("LANGGRAPH_URL=")]
        noise = [line for line in output.lines if NOISE.search(line)]
        flushed = (tmp_path / ".langgraph_api" / ".langgraph_ops.pckl").is_file()
        assert (chat_lines, noise, flushed) == (
            [f"LANGGRAPH_URL=http://127.0.0.1:{port} .venv/bin/lgchat chat"],
            [],
            True,
        )
        assert "Traceback" not in "\n".join(output.lines)
        assert wait_until_gone(token) == []
    assert state_stamp(REPO_ROOT / ".langgraph_api") == repo_state_before


def state_stamp(folder: Path) -> list[tuple[str, int]]:
    """Name and modification time of every file in ``folder``."""
    if not folder.is_dir():
        return []
    return sorted((p.name, p.stat().st_mtime_ns) for p in folder.iterdir())


GRAPH = textwrap.dedent(
    """
    from typing import TypedDict

    from langgraph.graph import END, START, StateGraph


    class State(TypedDict, total=False):
        version: str


    def step(state: State) -> State:
        return {"version": "VERSION"}


    builder = StateGraph(State)
    builder.add_node("step", step)
    builder.add_edge(START, "step")
    builder.add_edge("step", END)
    graph = builder.compile()
    """
)


def run_version(port: int) -> object:
    run = {"assistant_id": "tiny", "input": {}}
    url = f"http://{LOOPBACK}:{port}/runs/wait"
    return httpx.post(url, json=run, timeout=30).json()


def test_dev_hot_reloads_the_source_and_writes_nothing_into_the_project(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "tinygraphs").mkdir(parents=True)
    (project / "tinygraphs" / "__init__.py").write_text("")
    source = project / "tinygraphs" / "tiny.py"
    source.write_text(GRAPH.replace("VERSION", "one"))
    # A module path: a plain import, which would write tinygraphs/__pycache__/.
    config = {"dependencies": ["."], "graphs": {"tiny": "tinygraphs.tiny:graph"}}
    (project / "langgraph.json").write_text(json.dumps(config))
    before = sorted(str(p.relative_to(project)) for p in project.rglob("*"))
    port = free_port()
    token = uuid.uuid4().hex
    with marked(token) as env:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        args = ["--port", str(port), "--config", str(project / "langgraph.json")]
        proc, output = start_group(
            [*DEV, *args, "--state-dir", str(tmp_path / "state")], cwd=project, env=env
        )
        try:
            output.wait_for(re.compile(r"^LANGGRAPH_URL="), 60)
            assert run_version(port) == {"version": "one"}
            source.write_text(GRAPH.replace("VERSION", "two"))
            output.wait_for(re.compile(r"Reloading"), 30)
            deadline = time.monotonic() + 60
            while (found := _version_or_none(port)) != {"version": "two"}:
                assert time.monotonic() < deadline, f"still {found} after the reload"
                time.sleep(0.5)
        finally:
            stop_group(proc)
        assert wait_until_gone(token) == []
    # No state, no bytecode: nothing the watcher would see was written into the project.
    assert sorted(str(p.relative_to(project)) for p in project.rglob("*")) == before


def _version_or_none(port: int) -> object:
    try:
        return run_version(port)
    except (httpx.TransportError, json.JSONDecodeError):
        return None
