"""A run's typed events describe what that run added, in every mode, remote and local.

- A second and a third turn (after a summary cut the thread) stream the same typed
  events as a first turn on a fresh thread, in every stream mode and combination,
  through `langgraph dev` and in-process alike; `events` mode includes the tool result.
- A run whose stream is cut once mid-reply prints, through the real `lgchat` with its
  stdout piped, exactly what the uncut run prints: the resume notice is on stderr.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from client.cli.graphs import project_graphs
from client.local.runtime import LocalRuntime
from client.remote.client import ChatClient
from devtools.fake_openai import FakeOpenAI, ToolCallReply
from devtools.fake_openai import Reply as Scripted
from devtools.process import ServerProcess
from tests.integration._helpers import LONG_TEXT, MULTIPLY
from tests.support.proxy import FaultProxy
from tests.support.turns import TURN_MODES, kinds_after_cancel, turn_shape

pytestmark = pytest.mark.server

TURNS = 3
"""Turn 2 ends with a summary (the agent summarizes past 6 messages), so turn 3 starts
from a thread cut back to the summary and two messages."""


async def _turns(session: Any, modes: tuple[str, ...]) -> list[list[tuple[Any, ...]]]:
    shapes = []
    for _ in range(TURNS):
        reply = await session.reply(MULTIPLY, stream_mode=modes)
        assert reply.status == "success", reply.error
        shapes.append(turn_shape(reply.events))
    state = await session.state()
    assert state is not None and state.summary, modes
    return shapes


async def test_every_turn_streams_only_what_it_added_remote_and_local(
    offline_server_url: str,
) -> None:
    async with ChatClient(offline_server_url) as client:

        async def remote(modes: tuple[str, ...]) -> list[list[tuple[Any, ...]]]:
            return await _turns(await client.session("agent"), modes)

        # One thread per mode combination, all at once: the server runs them together.
        remote_turns = await asyncio.gather(*(remote(modes) for modes in TURN_MODES))
    async with LocalRuntime(memory=True, graphs=project_graphs()) as runtime:
        local_turns = [await _turns(await runtime.session("agent"), modes) for modes in TURN_MODES]

    for modes, remote_shapes, local_shapes in zip(
        TURN_MODES, remote_turns, local_turns, strict=True
    ):
        first = remote_shapes[0]
        assert remote_shapes == [first] * TURNS, modes
        assert local_shapes == [first] * TURNS, modes
        roles = [s[1] for s in first if s[0] == "message_started"]
        # `values` alone brings the run's input back; every mode has the tool's result.
        assert roles == (["human"] if "values" in modes else []) + ["ai", "tool", "ai"], modes
        results = [s for s in first if s[0] == "message_finished" and s[1] == "tool"]
        assert [(s[2], s[5]) for s in results] == [("6", None if modes == ("values",) else "tools")]


# --- a cut stream, through the real CLI ----------------------------------------------

CALL = ToolCallReply("multiply", '{"a": 2, "b": 3}', id="call_cut_and_resumed")


@pytest.fixture(scope="module")
def proxy(dev_server: ServerProcess) -> Iterator[FaultProxy]:
    with FaultProxy(dev_server.port) as running:
        yield running


def lgchat_send(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `lgchat --url URL send ARGS...` with stdout and stderr piped."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LANGGRAPH_", "LANGSMITH_"))}
    command = [sys.executable, "-m", "client", "--url", url, "send", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)


def without_thread_id(stdout: str, thread_id_line: str = "Thread: ") -> str:
    """Return stdout with the thread id (new for every run) replaced by a placeholder."""
    return "".join(
        f"{thread_id_line}<id>\n" if line.startswith(thread_id_line) else line
        for line in stdout.splitlines(keepends=True)
    )


@pytest.mark.parametrize(
    ("mode", "assistant", "offset"),
    [("messages-tuple", "agent", 30_000), ("messages", "chatbot", 12_000)],
)
def test_a_resumed_run_pipes_exactly_the_uncut_transcript(
    fake_openai_server: FakeOpenAI, proxy: FaultProxy, mode: str, assistant: str, offset: int
) -> None:
    def script() -> None:
        fake_openai_server.reset()
        answer = Scripted(LONG_TEXT, delay=0.002)
        if assistant == "agent":
            fake_openai_server.script(Scripted(tool_calls=[CALL], delay=0.002), answer)
        else:
            fake_openai_server.script(answer)

    proxy.clear()
    script()
    uncut = lgchat_send(proxy.url, "--assistant", assistant, "--mode", mode, "talk a while")
    assert uncut.returncode == 0, uncut.stderr
    assert f"AI: {LONG_TEXT}\nFinish Reason: stop\n" in uncut.stdout
    assert uncut.stderr == ""

    script()
    cuts = proxy.cuts
    proxy.cut_streams(offset)
    cut = lgchat_send(proxy.url, "--assistant", assistant, "--mode", mode, "talk a while")
    proxy.clear()

    assert proxy.cuts == cuts + 1
    assert cut.returncode == 0, cut.stderr
    assert without_thread_id(cut.stdout) == without_thread_id(uncut.stdout)
    notice = cut.stderr.splitlines()
    assert len(notice) == 1 and notice[0].startswith("(connection dropped; resumed after event ")
    assert fake_openai_server.rejections == []


# --- cancel ------------------------------------------------------------------------------


async def test_no_token_reaches_the_consumer_after_cancel_returns(offline_server_url: str) -> None:
    async with ChatClient(offline_server_url) as client:
        session = await client.session("chatbot")
        # Cancelled from another task while the consumer waits for the next token, as
        # Ctrl-C in `lgchat chat` does.
        after_cancel = await kinds_after_cancel(
            session, "count to 5000", stream_mode="messages-tuple"
        )
    # No token: at most the open message is closed, then the run ends. The session waits
    # for the server to stop the run before it ends the stream, so the message may be
    # closed while `cancel` is still returning.
    assert after_cancel in (["message_finished", "run_ended"], ["run_ended"])
