"""`lgchat` writing into a pipe whose reader went away (`lgchat send ... | head -1`).

The convention: no traceback, exit status 141 (128 + SIGPIPE, what a shell reports for
`yes | head -1`), and the run on the server is cancelled rather than left streaming to
no one.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from langgraph_sdk import get_sync_client

from client.cli.exit_codes import EXIT_BROKEN_PIPE
from tests.integration._helpers import LONG_COUNT

pytestmark = pytest.mark.server

LGCHAT = Path(sys.executable).with_name("lgchat")


def last_run_status(url: str, user_id: str) -> str:
    """Return the status of the user's one run once it is over (or after 10 s)."""
    client = get_sync_client(url=url, api_key=None)
    (thread,) = client.threads.search(metadata={"user_id": user_id})
    deadline = time.monotonic() + 10
    while True:
        (run,) = client.runs.list(thread["thread_id"])
        if run["status"] not in ("pending", "running") or time.monotonic() > deadline:
            return str(run["status"])
        time.sleep(0.1)


@pytest.mark.parametrize("json_flag", [["--json"], []], ids=["json", "plain"])
def test_a_reader_that_goes_away_cancels_the_run_and_exits_141_quietly(
    offline_server_url: str, json_flag: list[str]
) -> None:
    user = f"pipe-reader-{len(json_flag)}-{time.time_ns()}"
    child = subprocess.Popen(
        [
            *(str(LGCHAT), "--url", offline_server_url, *json_flag, "send"),
            *("--assistant", "chatbot", "--user", user, f"count to {LONG_COUNT}"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stderr is not None
    # `head -1` for JSON lines; `head -c 100` for text, whose first line is the whole reply.
    first = child.stdout.readline() if json_flag else child.stdout.read(100)
    child.stdout.close()
    code = child.wait(timeout=30)
    stderr = child.stderr.read()
    assert (code, stderr) == (EXIT_BROKEN_PIPE, "")
    if json_flag:
        assert json.loads(first)["kind"] == "run_started"
    else:
        assert first.startswith("AI: 1 2 3 4 5")
    assert last_run_status(offline_server_url, user) == "interrupted"
