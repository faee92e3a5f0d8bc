"""LocalRuntime and LocalChatSession: persistence, the token switch, clean interruption."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from agent.models import load_chat_model
from client.cli.graphs import project_graphs
from client.errors import ThreadNotFound
from client.events import NodeUpdate, RunEnded, TextDelta
from client.local.runtime import (
    DATA_DIR_ENV,
    DB_NAME,
    LocalRuntime,
    default_data_dir,
    thread_config,
)
from client.threads import conversation_thread_id
from tests.support.turns import TURN_MODES, kinds_after_cancel, turn_shape


def test_thread_config_uses_the_client_thread_scheme() -> None:
    config = thread_config("alice", "chat-001", graph_id="chatbot")
    expected = conversation_thread_id("alice", "chat-001", "chatbot")
    assert config == {"configurable": {"thread_id": expected}}


def test_default_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_data_dir() == tmp_path / "xdg" / "lgchat"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_data_dir() == tmp_path / ".local" / "share" / "lgchat"
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "mine"))
    assert default_data_dir() == tmp_path / "mine"


async def test_sqlite_threads_outlive_the_runtime(tmp_path: Path) -> None:
    async with LocalRuntime(tmp_path, graphs=project_graphs()) as runtime:
        session = await runtime.session("chatbot", user_id="lance")
        assert (await session.reply("hi! I'm Lance")).status == "success"
    assert (tmp_path / DB_NAME).exists()
    async with LocalRuntime(tmp_path, graphs=project_graphs()) as runtime:
        session = await runtime.session("chatbot", user_id="lance")
        reply = await session.reply("what's my name?")
        assert reply.text == "Your name is Lance."
        again = await runtime.session("chatbot", thread_id=session.thread_id)
        assert len(await again.history()) == 4
        with pytest.raises(ThreadNotFound):
            await runtime.session("chatbot", thread_id=conversation_thread_id("x", "y", "chatbot"))


async def test_memory_runtime_writes_no_file(tmp_path: Path) -> None:
    async with LocalRuntime(tmp_path, memory=True, graphs=project_graphs()) as runtime:
        session = await runtime.session("agent")
        assert (await session.reply("Multiply 2 and 3")).text.endswith("is 6.")
    assert not (tmp_path / DB_NAME).exists()


async def test_node_vs_token_switch() -> None:
    async with LocalRuntime(memory=True, graphs=project_graphs()) as runtime:
        session = await runtime.session("chatbot", stream_tokens=False)
        nodes = await session.reply("count to 3")
        assert not any(isinstance(e, TextDelta) and len(e.text) < 3 for e in nodes.events)
        assert [e.node for e in nodes.events if isinstance(e, NodeUpdate)] == ["conversation"]
        session.stream_tokens = True
        tokens = await session.reply("count to 3")
        assert [e.text for e in tokens.events if isinstance(e, TextDelta)] == ["1", " 2", " 3"]
        assert tokens.text == nodes.text == "1 2 3"


SETTLE_SECONDS = 5.0


async def settle(done: Callable[[], bool]) -> None:
    """Let the event loop run the finalizers of dropped generators until `done()`.

    Bounded by time, not by loop turns: closing a run waits for SQLite, whose calls
    run in a worker thread, so the number of turns it takes depends on the machine.
    """
    current = asyncio.current_task()
    deadline = time.monotonic() + SETTLE_SECONDS
    attempt = 0
    while time.monotonic() < deadline:
        if attempt % 25 == 0:
            gc.collect()  # a dropped generator in a reference cycle is found here
        attempt += 1
        await asyncio.sleep(0.001)
        if done() and not [t for t in asyncio.all_tasks() if t is not current]:
            return


@pytest.mark.parametrize("closing", [False, True], ids=["bare-break", "aclosing"])
async def test_breaking_out_cancels_the_run_cleanly(tmp_path: Path, closing: bool) -> None:
    loop = asyncio.get_running_loop()
    problems: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: problems.append(context))
    try:
        async with LocalRuntime(tmp_path, graphs=project_graphs()) as runtime:
            session = await runtime.session("chatbot", user_id="lance")
            assert (await session.reply("hi! I'm Lance")).status == "success"
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                events = session.send("count to 200")
                async with (
                    contextlib.aclosing(events) if closing else contextlib.nullcontext(events)
                ) as stream:
                    async for event in stream:
                        if isinstance(event, TextDelta):
                            break
                del events, stream
                await settle(lambda: not session.is_streaming)
            assert not session.is_streaming
            assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []
            assert [str(w.message) for w in caught] == []
            state = await session.state()
            assert state is not None
            # The interrupted turn left its input and no half-written answer.
            assert [m.type for m in state.messages] == ["human", "ai", "human"]
            assert isinstance(state.messages[-1], HumanMessage)
            reply = await session.reply("what's my name?")
            assert reply.status == "success" and reply.text == "Your name is Lance."
    finally:
        loop.set_exception_handler(previous)
    assert problems == []


async def test_cancel_ends_the_run_cancelled() -> None:
    async with LocalRuntime(memory=True, graphs=project_graphs()) as runtime:
        session = await runtime.session("chatbot")
        statuses = []
        async for event in session.send("count to 100"):
            if isinstance(event, TextDelta):
                assert await session.cancel()
            if isinstance(event, RunEnded):
                statuses.append(event.status)
        assert statuses == ["cancelled"]
        assert not await session.cancel()


async def test_messages_mode_never_streams_the_summarizer() -> None:
    async with LocalRuntime(memory=True, graphs=project_graphs()) as runtime:
        session = await runtime.session("chatbot")
        window = {"summarize_after": 2, "keep_last": 1}
        await session.reply("hi! I'm Lance", context=window)
        reply = await session.reply("count to 3", context=window)
        deltas = [e for e in reply.events if isinstance(e, TextDelta)]
        assert {d.node for d in deltas} == {"conversation"}
        summary = [
            e for e in reply.events if isinstance(e, NodeUpdate) and e.node != "conversation"
        ]
        assert summary and summary[0].update["summary"].startswith("The user's name is Lance.")


@pytest.mark.parametrize("modes", TURN_MODES, ids=",".join)
async def test_each_turn_streams_only_what_it_added(modes: tuple[str, ...]) -> None:
    async with LocalRuntime(memory=True, graphs=project_graphs()) as runtime:
        session = await runtime.session("agent")
        turns = []
        for _ in range(3):
            reply = await session.reply("Multiply 2 and 3", stream_mode=modes)
            turns.append(turn_shape(reply.events))
        state = await session.state()
        # The second turn ended with a summary that cut the thread: the third turn
        # starts from the summary, two kept messages and its input.
        assert state is not None and state.summary
        assert turns[1] == turns[0]
        assert turns[2] == turns[0]
        roles = [s[1] for s in turns[0] if s[0] == "message_started"]
        # Only `values` carries the run's input back; no mode replays an earlier turn.
        assert roles == (["human"] if "values" in modes else []) + ["ai", "tool", "ai"]


async def test_no_token_reaches_the_consumer_after_cancel(monkeypatch: pytest.MonkeyPatch) -> None:
    # Paced, so the cancel lands while the consumer waits for the next token, as a
    # Ctrl-C does: the signal handler cancels between two tokens. (The model is built
    # once per process, so its delay is set on it.)
    monkeypatch.setattr(load_chat_model("offline"), "delay", 0.01)
    async with LocalRuntime(memory=True, graphs=project_graphs()) as runtime:
        session = await runtime.session("chatbot")
        # After the first token, 0.002 s more: the consumer is now waiting for the next.
        after_cancel = await kinds_after_cancel(session, "count to 200", settle=0.002)
        assert after_cancel == ["message_finished", "run_ended"]
