"""`make serve` and `make serve-ha` (`python -m devtools.serve`): up, usable, stopped on Ctrl-C.

Each test serves on a fresh database (through `DATABASE_URL`) and free ports, and checks
that Ctrl-C leaves no process behind; a missing prerequisite is one line and exit 1.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.ports import free_port
from devtools.postgres import Database, fresh_database
from devtools.process import group_alive
from security.settings import AuthSettings
from security.tokens import mint_dev_token
from tests.support.servers import OFFLINE_ENV, REPO_ROOT

pytestmark = [pytest.mark.server, pytest.mark.engines("aegra")]

LGCHAT = Path(sys.executable).with_name("lgchat")
UP = re.compile(r"Aegra is up at (http://127\.0\.0\.1:\d+)")


@pytest.fixture
def database() -> Iterator[Database]:
    database = fresh_database()
    yield database
    database.drop()


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _serve(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """Start `make serve`'s program as a background job of a script starts it.

    Such a job inherits SIGINT ignored (so does everything a backgrounded CI run
    starts); Ctrl-C must stop it all the same. Regression: it ran on, and the
    instances with it.
    """
    return subprocess.Popen(
        [sys.executable, "-m", "devtools.serve", *args],
        cwd=REPO_ROOT,
        env={**os.environ, **OFFLINE_ENV, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=_ignore_sigint,
    )


def _urls(proc: subprocess.Popen[str], count: int) -> tuple[list[str], list[str]]:
    """Read stderr until ``count`` instances said they are up; return the URLs and lines."""
    assert proc.stderr is not None
    urls: list[str] = []
    lines: list[str] = []
    deadline = time.monotonic() + 90
    while len(urls) < count or not any("Ctrl-C stops it" in line for line in lines):
        assert time.monotonic() < deadline, lines
        line = proc.stderr.readline()
        assert line, f"serve exited early: {lines}"
        lines.append(line.rstrip("\n"))
        if match := UP.search(line):
            urls.append(match.group(1))
    return urls, lines


def _stop(proc: subprocess.Popen[str]) -> int:
    os.killpg(proc.pid, signal.SIGINT)
    try:
        code = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        # It ignored Ctrl-C: fail, but leave nothing running (its instances are in
        # process groups of their own, which SIGTERM to it stops).
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        raise
    assert not group_alive(proc.pid)
    return code


@pytest.mark.parametrize("instances", [1, 2], ids=["serve", "serve-ha"])
def test_serve_prints_its_urls_answers_and_stops_everything_on_ctrl_c(
    database: Database, instances: int
) -> None:
    port = free_port()
    proc = _serve("--port", str(port), "--instances", str(instances), env={
        "DATABASE_URL": database.url,
    })  # fmt: skip
    try:
        urls, lines = _urls(proc, instances)
        assert f"chat with it: LANGGRAPH_URL={urls[0]} .venv/bin/lgchat chat" in lines
        assert any(line.startswith(f"database {database.display}") for line in lines)
        (database_line,) = [line for line in lines if line.startswith("database ")]
        assert ("Redis" in database_line) == (instances == 2)
        assert AuthSettings().describe() in lines  # no AUTH_* setting: it says auth is off
        for index, url in enumerate(urls):
            sent = subprocess.run(
                [str(LGCHAT), "--url", url, "send", "--user", f"u{index}", "count to 3"],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert (sent.returncode, sent.stdout.splitlines()[0]) == (0, "AI: 1 2 3")
    finally:
        code = _stop(proc)
    assert code == 0
    # Every instance's uvicorn child is gone too: nothing answers on the ports.
    for url in urls:
        port_in_use = subprocess.run(["curl", "-s", f"{url}/health"], capture_output=True)
        assert port_in_use.returncode != 0


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (
            ["--instances", "1"],
            {"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x"},
            "error: Aegra needs Postgres: Postgres at postgresql://postgres@127.0.0.1:1/x",
        ),
        (
            ["--instances", "2"],
            {"REDIS_URL": "redis://127.0.0.1:1/0"},
            "error: two Aegra instances need Redis: nothing answers at redis://127.0.0.1:1/0 "
            "(start it, or set REDIS_URL)",
        ),
        (
            ["--instances", "1"],
            {"AEGRA_BIN": "/nowhere/aegra"},
            "error: /nowhere/aegra is missing: run `make serve` (it builds .venv-aegra with "
            "Python 3.12+)",
        ),
        (
            ["--instances", "1"],
            {"AUTH_JWT_SECRET": "too-short"},
            "error: auth is MISCONFIGURED, every request is refused: AUTH_JWT_SECRET must be "
            "at least 32 bytes",
        ),
    ],
    ids=["no-postgres", "no-redis", "no-aegra", "bad-auth"],
)
def test_a_missing_prerequisite_is_one_line_and_exit_1(
    args: list[str], env: dict[str, str], message: str
) -> None:
    proc = _serve(*args, "--check", env=env)
    out, err = proc.communicate(timeout=30)
    assert (proc.returncode, out) == (1, "")
    assert len(err.splitlines()) == 1 and err.startswith(message)


def test_make_says_in_one_line_that_aegra_needs_python_3_12(tmp_path: Path) -> None:
    # As on a machine with no Python 3.12+: the interpreter search found nothing.
    venv = tmp_path / "venv"
    result = subprocess.run(
        ["make", "-s", "install-aegra", "PYTHON_AEGRA=", f"AEGRA_VENV={venv}",
         f"AEGRA_STAMP={venv}/.installed"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert result.returncode != 0 and not venv.exists()
    assert result.stderr.splitlines()[0] == (
        "error: Aegra needs Python 3.12 or newer (none found on PATH or in pyenv)"
    )


def test_serve_with_auth_checks_it_is_in_force_and_prints_the_chat_line_with_a_token(
    database: Database,
) -> None:
    secret = "a-serve-test-secret-of-32-bytes-or-more"
    proc = _serve("--port", str(free_port()), "--instances", "1", env={
        "DATABASE_URL": database.url, "AUTH_JWT_SECRET": secret,
    })  # fmt: skip
    try:
        (url,), lines = _urls(proc, 1)
        assert AuthSettings(jwt_secret=secret).describe() in lines
        assert (
            f'chat with it: LANGGRAPH_AUTH_TOKEN="$(.venv/bin/lgchat token --user "$(whoami)")" '
            f"LANGGRAPH_URL={url} .venv/bin/lgchat chat"
        ) in lines
        token = mint_dev_token(secret, "ada", name="Ada")
        sent = subprocess.run(
            [str(LGCHAT), "--url", url, "--token", token, "send", "--assistant", "chatbot", "hi"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert (sent.returncode, sent.stdout.splitlines()[0]) == (
            0,
            "AI: Hello Ada! How can I assist you today?",
        )
    finally:
        assert _stop(proc) == 0


def test_serve_stops_when_aegra_serves_without_the_configured_auth(
    database: Database, tmp_path: Path
) -> None:
    # Aegra only logs an auth module that fails to load, then serves everyone as one
    # anonymous user: here PyJWT is shadowed by a module that cannot be imported.
    (tmp_path / "jwt.py").write_text('raise ImportError("jwt is broken on purpose")\n')
    proc = _serve("--port", str(free_port()), "--instances", "1", env={
        "DATABASE_URL": database.url, "PYTHONPATH": str(tmp_path),
        "AUTH_JWT_SECRET": "a-serve-test-secret-of-32-bytes-or-more",
    })  # fmt: skip
    out, err = proc.communicate(timeout=120)
    (url,) = UP.findall(err)
    assert (proc.returncode, out) == (1, "")
    assert re.search(
        rf"^error: {re.escape(url)} answered a request with no token \(HTTP 200\): auth is "
        r"configured but not in force, so its auth module did not load; see \S+server\.log$",
        err,
        re.MULTILINE,
    ), err
    assert not group_alive(proc.pid)
