"""`python -m devtools.web --scripted`, as the browser tests start it: a real subprocess.

One launcher serves the module, on the run's engine (`langgraph dev`, or Aegra with
`--engine aegra`): its page, config and development tokens, two runs through the real
server with a token from it, and last its stop on SIGINT (the tests run in file order).
It shares nothing with the session's server fixtures.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client

from devtools.process import group_alive
from devtools.web import LaunchError, wait_for_ready_file
from tests.support.servers import REPO_ROOT, Engine

pytestmark = pytest.mark.server

INDEX = "<!doctype html><title>stub page for the launcher test</title>"
STARTUP_SECONDS = 60.0
MARK = "LGCHAT_WEB_LAUNCHER_TEST"
"""In the environment of every process the launcher starts, to find any left behind."""


@dataclass
class Launcher:
    proc: subprocess.Popen[str]
    ready: dict[str, Any]
    ready_file: Path
    marker: str
    engine: Engine

    @property
    def page_url(self) -> str:
        return str(self.ready["pageUrl"])

    @property
    def api_url(self) -> str:
        return str(self.ready["apiUrl"])


def ready_or_fail(proc: subprocess.Popen[str], path: Path) -> dict[str, Any]:
    try:
        return wait_for_ready_file(proc, path, STARTUP_SECONDS)
    except LaunchError as error:
        _, err = proc.communicate() if proc.poll() is not None else ("", "")
        pytest.fail(f"{error}: {err}")


@pytest.fixture(scope="module")
def launcher(tmp_path_factory: pytest.TempPathFactory, engine: Engine) -> Iterator[Launcher]:
    folder = tmp_path_factory.mktemp("web")
    (folder / "dist").mkdir()
    (folder / "dist" / "index.html").write_text(INDEX)
    ready_file = folder / "state" / "ready.json"
    command = [
        sys.executable,
        "-m",
        "devtools.web",
        "--engine",
        engine,
        "--scripted",
        "--delay",
        "0",
    ]
    marker = uuid.uuid4().hex
    proc = subprocess.Popen(
        [*command, "--dist", str(folder / "dist"), "--ready-file", str(ready_file)],
        cwd=REPO_ROOT,
        env={**os.environ, MARK: marker},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        yield Launcher(proc, ready_or_fail(proc, ready_file), ready_file, marker, engine)
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
        # The dev server runs in a session of its own: stop it if the launcher did not.
        for pid in marked_pids(marker):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(os.getpgid(pid), signal.SIGKILL)


def marked_pids(marker: str) -> list[int]:
    """Return the live processes whose environment holds ``MARK=marker``."""
    needle = f"{MARK}={marker}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if needle in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
    return found


def test_it_serves_the_page_and_its_config(launcher: Launcher) -> None:
    ready = launcher.ready
    assert set(ready) == {"pageUrl", "apiUrl", "openaiUrl", "pid"}
    assert ready["pid"] == launcher.proc.pid
    assert ready["pageUrl"].startswith("http://127.0.0.1:") and ready["pageUrl"].endswith("/")
    assert ready["openaiUrl"].startswith("http://127.0.0.1:") and ready["openaiUrl"].endswith("/v1")
    page = httpx.get(launcher.page_url)
    assert (page.status_code, page.text) == (200, INDEX)
    config = httpx.get(launcher.page_url + "config.json").json()
    assert config == {"apiUrl": launcher.api_url, "devTokens": True, "auth": "hs256"}
    health = "/ok" if launcher.engine == "dev" else "/health"  # Aegra has no /ok
    assert httpx.get(launcher.api_url + health).status_code == 200


async def test_a_dev_token_signs_in_to_the_server_and_runs_the_agent(launcher: Launcher) -> None:
    async with httpx.AsyncClient() as http:
        # Auth is on: without a token the server refuses.
        refused = await http.post(launcher.api_url + "/threads", json={})
        assert refused.status_code in (401, 403)
        minted = await http.post(launcher.page_url + "dev-token", json={"user": "web-alice"})
    assert minted.status_code == 200
    headers = {"Authorization": f"Bearer {minted.json()['token']}"}
    client = get_client(url=launcher.api_url, headers=headers)
    thread = await client.threads.create()

    async def run(text: str) -> str:
        turn: Any = {"messages": [{"role": "user", "content": text}]}
        created = await client.runs.create(thread["thread_id"], "agent", input=turn)
        await client.runs.join(thread["thread_id"], created["run_id"])
        finished = await client.runs.get(thread["thread_id"], created["run_id"])
        return str(finished["status"])

    assert await run("fail please") == "error"
    assert await run("What is 2 + 3?") == "success"
    values: Any = (await client.threads.get_state(thread["thread_id"]))["values"]
    last = values["messages"][-1]
    assert last["type"] == "ai"
    assert "5" in str(last["content"])


def test_sigint_stops_everything_and_exits_0(launcher: Launcher) -> None:
    os.killpg(launcher.proc.pid, signal.SIGINT)
    out, err = launcher.proc.communicate(timeout=15)
    assert launcher.proc.returncode == 0, err
    # The transcript is the page's URL alone; the rest went to stderr, with no traceback.
    assert out == launcher.page_url + "\n"
    assert "Traceback" not in err
    name = "langgraph dev" if launcher.engine == "dev" else "aegra"
    assert f"{name} is up at {launcher.api_url}" in err and "Ctrl-C stops" in err
    assert "DEVELOPMENT ONLY" in err
    assert not launcher.ready_file.exists()
    assert not group_alive(launcher.proc.pid)
    assert marked_pids(launcher.marker) == []  # the dev server, in a session of its own
    for url in (launcher.page_url, launcher.api_url + "/ok", launcher.ready["openaiUrl"]):
        with pytest.raises(httpx.TransportError):
            httpx.get(url, timeout=2)
