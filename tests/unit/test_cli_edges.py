"""`lgchat` with no LangGraph server: bad URLs, servers that are not LangGraph, and more.

Also bad arguments, a message from stdin, and Ctrl-C while Python imports.

Servers here are tiny stubs on free loopback ports; the CLI runs in-process
(`client.cli.app.main`) where a process start adds nothing, and as a real subprocess where
the process itself is under test (stdin, signals).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler
from pathlib import Path

import pexpect
import pytest

from client.cli import app as cli
from client.cli.exit_codes import EXIT_INTERRUPTED, EXIT_UNREACHABLE, EXIT_USAGE
from client.cli.graphs import project_graphs
from client.errors import InvalidInput
from client.local.runtime import DATA_DIR_ENV, LocalRuntime
from client.remote.client import ChatClient
from devtools.ports import free_port
from devtools.stub_http import QuietHandler, serving

LGCHAT = Path(sys.executable).with_name("lgchat")
SOME_THREAD = "6f1c1d52-0000-4000-8000-000000000001"
SOME_RUN = "1f0c1d52-0000-4000-8000-000000000002"


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run `lgchat ARGS` in-process; return the exit code, stdout and stderr."""
    code = cli.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


class _Quiet(QuietHandler):
    content_type = "text/html"
    body = b"<!doctype html><html><body>Welcome to nginx!</body></html>"

    def _answer(self) -> None:
        self.read_body()
        self.answer(200, self.body, self.content_type)

    do_GET = do_POST = do_PATCH = do_DELETE = _answer


class _Html(_Quiet):
    pass


class _JsonOk(_Quiet):
    content_type = "application/json"
    body = json.dumps({"ok": True}).encode()


class _StaticFiles(SimpleHTTPRequestHandler):
    """What `python3 -m http.server` runs: GET serves files, POST is 501."""

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def html_url() -> Iterator[str]:
    with serving(_Html) as url:
        yield url


@pytest.fixture(scope="module")
def json_ok_url() -> Iterator[str]:
    with serving(_JsonOk) as url:
        yield url


@pytest.fixture(scope="module")
def static_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("static")
    (root / "index.html").write_text("<html>files</html>")
    with serving(functools.partial(_StaticFiles, directory=str(root))) as url:
        yield url


COMMANDS = [
    ["assistants"],
    ["threads"],
    ["threads", "--user", "alice"],
    ["history", SOME_THREAD],
    ["join", SOME_THREAD, SOME_RUN],
    ["send", "hi"],
    ["send", "--thread", SOME_THREAD, "hi"],
    ["chat"],
    ["demo"],
]

NOT_LANGGRAPH_DETAIL = {
    "html": "the answer is not JSON",
    "json_ok": "the answer is not a list of assistants",
    "static": "HTTP 501",
}


@pytest.mark.parametrize("kind", sorted(NOT_LANGGRAPH_DETAIL))
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_says_the_same_line_against_servers_that_are_not_langgraph(
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
    kind: str,
    command: list[str],
) -> None:
    url: str = request.getfixturevalue(f"{kind}_url")
    for json_flag in ([], ["--json"]):
        code, out, err = run_main(capsys, "--url", url, *json_flag, *command)
        assert (code, out) == (EXIT_UNREACHABLE, "")
        assert err == (
            f"lgchat: error: {url} is not a LangGraph server (listing assistants failed: "
            f"{NOT_LANGGRAPH_DETAIL[kind]}); check --url\n"
        )


@pytest.mark.parametrize("command", [["assistants"], ["send", "hi"], ["history", SOME_THREAD]])
def test_a_url_without_a_scheme_is_a_bad_url_not_a_lost_connection(
    capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    code, out, err = run_main(capsys, "--url", "127.0.0.1:45455", *command)
    assert (code, out) == (EXIT_USAGE, "")
    assert err == (
        "lgchat: error: bad URL '127.0.0.1:45455': give the scheme, e.g. http://127.0.0.1:45455\n"
    )


@pytest.mark.parametrize("url", ["ftp://127.0.0.1:1", "http://", "http:// spaces /"])
def test_the_library_refuses_bad_urls_before_any_request(url: str) -> None:
    with pytest.raises(InvalidInput, match=r"^bad URL "):
        ChatClient(url)


@pytest.mark.parametrize("limit", ["0", "-3"])
def test_threads_limit_below_one_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], limit: str
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    code, out, err = run_main(capsys, "--url", closed, "threads", "--limit", limit)
    assert (code, out) == (EXIT_USAGE, "")
    assert err == f"lgchat: error: --limit must be at least 1, got {limit}\n"


@pytest.mark.parametrize(
    ("flags", "name"), [(["--memory"], "--memory"), (["--data-dir", "/tmp/x"], "--data-dir")]
)
@pytest.mark.parametrize("command", [["send", "hi"], ["assistants"]], ids=" ".join)
def test_local_only_flags_without_local_are_refused(
    capsys: pytest.CaptureFixture[str], flags: list[str], name: str, command: list[str]
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    code, out, err = run_main(capsys, "--url", closed, *flags, *command)
    assert (code, out) == (EXIT_USAGE, "")
    assert err == f"lgchat: error: {name} works only with --local\n"


def lgchat_process(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LGCHAT), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize("args", [["send", "-"], ["send"]], ids=" ".join)
def test_send_reads_the_message_from_stdin(tmp_path: Path, args: list[str]) -> None:
    result = lgchat_process(
        "--local",
        "--memory",
        "--json",
        *args,
        stdin="Multiply 2 and 3\n",
        env={DATA_DIR_ENV: str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[0]["kind"] == "run_started"
    assert [e["args"] for e in events if e["kind"] == "tool_call_progress"][-1] == {"a": 2, "b": 3}


def test_send_with_an_empty_stdin_is_an_empty_message() -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    result = lgchat_process("--url", closed, "send", "-", stdin="")
    assert (result.returncode, result.stdout) == (EXIT_USAGE, "")
    assert result.stderr == "lgchat: error: the message is empty; type something to send\n"


def test_local_runtime_accepts_a_str_data_dir(tmp_path: Path) -> None:
    runtime = LocalRuntime(str(tmp_path), graphs=project_graphs())
    assert runtime.data_dir == tmp_path


@pytest.mark.parametrize("delay", [0.12, 0.2, 0.4, 0.7, 1.0, 1.5])
def test_ctrl_c_while_python_imports_exits_130_quietly(delay: float) -> None:
    # Not earlier than 0.12 s: for its first ~40 ms the interpreter imports `site`
    # (the venv's .pth files), before any code of this project runs, and a Ctrl-C
    # then ends in CPython's own "Failed to import the site module".
    closed = f"http://127.0.0.1:{free_port()}"
    child = subprocess.Popen(
        [str(LGCHAT), "--url", closed, "assistants"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(delay)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=30)
    # Ctrl-C may come after the command failed on its own (no server): exit 3 then.
    assert (child.returncode, out, err) in (
        (EXIT_INTERRUPTED, "", ""),
        (
            EXIT_UNREACHABLE,
            "",
            f"lgchat: error: no LangGraph server at {closed} — start one with `make dev`\n",
        ),
    ), err


@pytest.fixture(scope="module")
def hang_up_url() -> Iterator[str]:
    """A TCP server that accepts each connection and closes it without a word."""
    sock = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                connection, _ = sock.accept()
                connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    stop.set()
    thread.join(5)
    sock.close()


@pytest.mark.parametrize("command", [["assistants"], ["send", "hi"], ["history", SOME_THREAD]])
def test_a_server_that_hangs_up_at_once_is_not_a_lost_connection(
    capsys: pytest.CaptureFixture[str], hang_up_url: str, command: list[str]
) -> None:
    code, out, err = run_main(capsys, "--url", hang_up_url, *command)
    assert (code, out) == (EXIT_UNREACHABLE, "")
    assert err == (
        f"lgchat: error: {hang_up_url} is not a LangGraph server (listing assistants failed: "
        "it closed the connection without an HTTP answer); check --url\n"
    )


def test_send_with_no_text_at_a_terminal_says_how_to_give_one() -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    child = pexpect.spawn(str(LGCHAT), ["--url", closed, "send"], encoding="utf-8", timeout=30)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == EXIT_USAGE
    assert child.before == ("lgchat: error: no message: give TEXT, or - to read it from stdin\r\n")
