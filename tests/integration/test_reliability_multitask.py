"""A second message while a run is active on the thread, under each multitask strategy.

The second message comes from another session on the same thread (another window, or
`lgchat send --thread`); a session refuses a second message of its own locally. What
each user-visible stream shows, and what the thread keeps, is asserted per strategy.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from client.errors import InvalidInput, ThreadBusy
from client.events import StreamEvent, TextDelta
from client.remote.client import ChatClient
from client.values import Reply
from tests.integration._helpers import count_reply
from tests.support.servers import Engine

pytestmark = pytest.mark.server

FIRST, SECOND = "count to 600", "count to 3"
"""At the offline server's 2 ms a token, the first reply streams for over a second."""


@pytest.fixture(scope="module")
async def client(offline_server_url: str) -> AsyncIterator[ChatClient]:
    async with ChatClient(offline_server_url) as chat_client:
        yield chat_client


# Aegra 0.11 accepts `multitask_strategy` but ignores it (both runs would execute at
# once, the second turn surviving only in a forked branch); the session applies the
# strategy itself, so the outcome is the same on both engines, except that Aegra cannot
# roll a run back: there, `rollback` is refused in one line and the first run goes on.
@pytest.mark.parametrize("strategy", ["reject", "enqueue", "interrupt", "rollback"])
async def test_a_second_message_while_a_run_is_active(
    client: ChatClient, strategy: str, engine: Engine
) -> None:
    first_session = await client.session("chatbot")
    events: list[StreamEvent] = []
    started = asyncio.Event()

    async def stream_first() -> None:
        async for event in first_session.send(FIRST, stream_mode="messages-tuple"):
            events.append(event)
            if isinstance(event, TextDelta):
                started.set()

    first_task = asyncio.create_task(stream_first())
    await asyncio.wait_for(started.wait(), 30)
    assert first_session.thread_id is not None
    other = await client.session(
        "chatbot",
        thread_id=first_session.thread_id,
        multitask_strategy=strategy,  # type: ignore[arg-type]
    )
    second: Reply | None = None
    if strategy == "reject":
        with pytest.raises(ThreadBusy, match="this thread is busy"):
            await other.reply(SECOND)
    elif strategy == "rollback" and engine == "aegra":
        with pytest.raises(InvalidInput, match=r"^this server cannot rollback the active run"):
            await other.reply(SECOND)
        strategy = "reject"  # what the thread must show: the first turn, whole
    else:
        second = await other.reply(SECOND)
    await asyncio.wait_for(first_task, 30)
    first = Reply(tuple(events))

    state = await client.thread_state(first_session.thread_id)
    kept = [(type(m), m.content) for m in state.messages]
    if second is not None:
        assert (second.status, second.text) == ("success", "1 2 3")
    if strategy in ("reject", "enqueue"):
        # Nothing is lost: the first reply completes, the second waits its turn.
        assert (first.status, first.text) == ("success", count_reply(600))
        expected = [(HumanMessage, FIRST), (AIMessage, count_reply(600))]
        if strategy == "enqueue":
            expected += [(HumanMessage, SECOND), (AIMessage, "1 2 3")]
        assert kept == expected
    else:
        # The first reply stops, visibly, and its partial answer is not kept.
        assert first.status == "cancelled"
        assert count_reply(600).startswith(first.text) and first.text != count_reply(600)
        if strategy == "interrupt":
            # The first message stays: the model sees two user messages in a row.
            assert kept == [(HumanMessage, FIRST), (HumanMessage, SECOND), (AIMessage, "1 2 3")]
        else:
            # Rollback deletes the first run and, with it, the first message.
            assert kept == [(HumanMessage, SECOND), (AIMessage, "1 2 3")]
