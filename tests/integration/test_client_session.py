"""`ChatClient`, `ChatSession` and `MultiUserChat` against a real `langgraph dev`.

Every stream mode on both graphs with exact assertions, memory and resuming, a
summarized conversation, ten users at once, and cancelling a reply mid-stream.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from client.errors import AssistantNotFound, InvalidInput, ThreadBusy, ThreadNotFound
from client.events import (
    MessageStarted,
    NodeUpdate,
    RunEnded,
    RunStarted,
    StateValues,
    StreamEvent,
    TextDelta,
)
from client.remote.client import ChatClient
from client.remote.multiuser import MultiUserChat
from client.threads import conversation_thread_id
from client.values import Reply
from tests.integration._helpers import (
    ARGS_PROGRESSION,
    LONG_COUNT,
    MULTIPLY,
    MULTIPLY_ANSWER,
    count_reply,
)

pytestmark = pytest.mark.server

STREAMING_MODES = ("messages", "messages-tuple", "events")
"""Modes that carry tokens; the others deliver each message whole."""


@pytest.fixture(scope="module")
def server_url(offline_server_url: str) -> str:
    return offline_server_url


@pytest.fixture(scope="module")
async def client(server_url: str) -> AsyncIterator[ChatClient]:
    async with ChatClient(server_url) as chat_client:
        yield chat_client


def assert_well_formed(reply: Reply, thread_id: str | None) -> None:
    first, last = reply.events[0], reply.events[-1]
    assert isinstance(first, RunStarted)
    assert first.thread_id == thread_id
    assert last == RunEnded(first.run_id, "success")
    assert reply.error is None


# -- assistants ----------------------------------------------------------------------


async def test_assistants_resolve_by_graph_name_or_id(client: ChatClient) -> None:
    assistants = await client.assistants()
    assert sorted(a.graph_id for a in assistants) == ["agent", "chatbot"]
    agent = await client.assistant("agent")
    assert await client.assistant(agent.assistant_id) == agent
    with pytest.raises(AssistantNotFound) as caught:
        await client.session("nope")
    assert str(caught.value) == "no assistant 'nope' on this server; available: agent, chatbot"


# -- every stream mode, both graphs ----------------------------------------------------


@pytest.mark.parametrize("mode", ["messages", "messages-tuple", "values", "updates", "events"])
async def test_agent_streams_the_tool_call_and_answer(client: ChatClient, mode: str) -> None:
    session = await client.session("agent")
    reply = await session.reply(MULTIPLY, stream_mode=mode)

    assert_well_formed(reply, session.thread_id)
    expected_args = ARGS_PROGRESSION if mode in STREAMING_MODES else ARGS_PROGRESSION[-1:]
    assert reply.tool_call_args == expected_args
    assert reply.text == MULTIPLY_ANSWER
    ai_messages = [m for m in reply.messages if isinstance(m, AIMessage)]
    assert [m.response_metadata.get("finish_reason") for m in ai_messages] == ["tool_calls", "stop"]
    assert reply.finish_reason == "stop"
    if mode != "events":  # events mode carries chat-model events only, not the ToolMessage
        tool_results = [m for m in reply.messages if isinstance(m, ToolMessage)]
        assert [(m.name, m.content) for m in tool_results] == [("multiply", "6")]
    if mode in STREAMING_MODES:
        deltas = [e.text for e in reply.events if isinstance(e, TextDelta) and e.node]
        assert len(deltas) > 1  # typed out, not whole
    if mode == "values":
        assert isinstance(reply.events[-2], StateValues)

    assert session.thread_id is not None
    state = await client.thread_state(session.thread_id)
    assert [type(m) for m in state.messages] == [HumanMessage, AIMessage, ToolMessage, AIMessage]
    assert state.messages[0].content == MULTIPLY
    assert state.messages[-1].content == MULTIPLY_ANSWER
    assert state.summary == ""


@pytest.mark.parametrize("mode", ["messages", "messages-tuple", "values", "updates", "events"])
async def test_chatbot_streams_its_answer(client: ChatClient, mode: str) -> None:
    session = await client.session("chatbot")
    reply = await session.reply("hi! I'm Lance", stream_mode=mode)

    assert_well_formed(reply, session.thread_id)
    assert reply.text == "Hi Lance! How can I assist you today?"
    assert reply.finish_reason == "stop"
    assert reply.tool_call_args == []
    started = [e for e in reply.events if isinstance(e, MessageStarted) and e.role == "ai"]
    assert [e.node for e in started] == ([None] if mode == "values" else ["conversation"])
    if mode == "updates":
        assert [e.node for e in reply.events if isinstance(e, NodeUpdate)] == ["conversation"]
    assert session.thread_id is not None
    state = await client.thread_state(session.thread_id)
    assert [m.content for m in state.messages] == [
        "hi! I'm Lance",
        "Hi Lance! How can I assist you today?",
    ]


# -- memory, resuming, summarization, history ------------------------------------------


async def test_memory_resume_summary_and_history(client: ChatClient) -> None:
    # The server is shared with other modules (the demo talks as "lance"): a user of our own.
    user = f"lance-{uuid.uuid4().hex[:8]}"
    first = await client.session("chatbot", user_id=user, conversation_id="memory")
    thread_id = conversation_thread_id(user, "memory", "chatbot")
    assert first.thread_id == thread_id  # known before the thread exists
    (await first.reply("hi! I'm Lance")).raise_for_error()

    # Resume by thread id, from another session: memory is on the server.
    by_id = await client.session("chatbot", thread_id=thread_id)
    assert (await by_id.reply("what's my name?")).text == "Your name is Lance."

    # Resume by user and conversation: the same deterministic thread.
    again = await client.session("chatbot", user_id=user, conversation_id="memory")
    assert (await again.reply("count to 3")).text == "1 2 3"
    listed = await client.threads(user)
    assert [(t.thread_id, t.user_id, t.conversation_id) for t in listed] == [
        (thread_id, user, "memory")
    ]

    # Eight messages: past the chatbot's six, so this turn ends with a summary.
    fourth = await again.reply("what is 7 * 8?")
    assert fourth.text == "The result of multiplying 7 and 8 is 56."
    summaries = [
        e.update["summary"]
        for e in fourth.events
        if isinstance(e, NodeUpdate) and e.node == "summarize_conversation"
    ]
    assert summaries == [
        "The user's name is Lance. Recent requests: what's my name?; count to 3; what is 7 * 8?."
    ]
    state = await client.thread_state(thread_id)
    assert state.summary == summaries[0]
    assert [m.content for m in state.messages] == [
        "what is 7 * 8?",
        "The result of multiplying 7 and 8 is 56.",
    ]

    # The introduction was cut, yet the name survives in the summary.
    assert (await again.reply("what's my name?")).text == "Your name is Lance."
    history = await client.history(thread_id)
    assert [m.content for m in history if isinstance(m, HumanMessage)] == [
        "hi! I'm Lance",
        "what's my name?",
        "count to 3",
        "what is 7 * 8?",
        "what's my name?",
    ]
    assert len(history) == 10


async def test_session_argument_and_state_errors(client: ChatClient) -> None:
    session = await client.session("chatbot")
    with pytest.raises(InvalidInput):
        session.send("  \n")  # raised at the call, before any request
    with pytest.raises(InvalidInput):
        session.send("hi", stream_mode="tokens")
    with pytest.raises(ThreadNotFound):
        await session.switch_thread("6f1c1d52-0000-4000-8000-000000000001")
    with pytest.raises(ThreadNotFound):
        await client.session("chatbot", thread_id="not-a-uuid")
    with pytest.raises(ThreadNotFound):
        await client.history("6f1c1d52-0000-4000-8000-000000000001")
    assert await session.state() is None
    assert await session.cancel() is False


# -- many users at once ------------------------------------------------------------------


async def test_ten_users_stream_at_once_without_crossing(client: ChatClient) -> None:
    room = MultiUserChat(client, "agent")
    messages: dict[str, str] = {}
    expected: dict[str, str] = {}
    for i in range(10):
        user = f"user-{i}"
        if i % 2:
            messages[user], expected[user] = f"count to {10 + i}", count_reply(10 + i)
        else:
            messages[user] = f"Multiply {i + 2} and {i + 3}"
            expected[user] = (
                f"The result of multiplying {i + 2} and {i + 3} is {(i + 2) * (i + 3)}."
            )

    events: dict[str, list[StreamEvent]] = {user: [] for user in messages}
    peak_active = 0
    async for item in room.stream_many(messages, stream_mode="messages-tuple"):
        events[item.user_id].append(item.event)
        peak_active = max(peak_active, len(room.active_users()))

    assert room.active_users() == []
    assert peak_active > 1
    message_ids: dict[str, set[str]] = {}
    for user, user_events in events.items():
        reply = Reply(tuple(user_events))
        assert reply.status == "success", (user, reply.error)
        assert reply.text == expected[user], user
        started = user_events[0]
        assert isinstance(started, RunStarted)
        assert started.thread_id == conversation_thread_id(user, "default", "agent")
        message_ids[user] = {e.message_id for e in user_events if isinstance(e, TextDelta)}
    for user, ids in message_ids.items():
        others = set().union(*(v for k, v in message_ids.items() if k != user))
        assert not ids & others, user


# -- cancelling ---------------------------------------------------------------------------


async def test_cancel_mid_reply_then_the_thread_takes_the_next_message(
    client: ChatClient,
) -> None:
    session = await client.session("chatbot")
    events: list[StreamEvent] = []
    async for event in session.send(f"count to {LONG_COUNT}"):
        events.append(event)
        if isinstance(event, TextDelta) and sum(isinstance(e, TextDelta) for e in events) == 3:
            with pytest.raises(ThreadBusy):
                session.send("meanwhile")  # refused locally
            assert session.thread_id is not None
            other = await client.session("chatbot", thread_id=session.thread_id)
            with pytest.raises(ThreadBusy, match="this thread is busy"):
                await other.reply("meanwhile")  # refused by the server (409)
            assert await session.cancel() is True
    reply = Reply(tuple(events))

    started = events[0]
    assert isinstance(started, RunStarted)
    assert events[-1] == RunEnded(started.run_id, "cancelled")
    full = count_reply(LONG_COUNT)
    assert full.startswith(reply.text)
    assert len(reply.text) < len(full) // 10
    assert not session.is_streaming

    after = await session.reply("hi! I'm Lance")
    assert after.status == "success"
    assert after.text == "Hi Lance! How can I assist you today?"
    assert session.thread_id is not None
    state = await client.thread_state(session.thread_id)
    # The cancelled run left its input; its partial answer was never saved.
    assert [m.content for m in state.messages] == [
        f"count to {LONG_COUNT}",
        "hi! I'm Lance",
        "Hi Lance! How can I assist you today?",
    ]


async def test_cancel_before_the_server_names_the_run(client: ChatClient) -> None:
    session = await client.session("chatbot")
    stream = session.send(f"count to {LONG_COUNT}")
    first = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)  # the stream starts and waits on its first request
    assert session.is_streaming
    assert session.active_run_id is None
    assert await session.cancel() is True
    events = [await first, *[e async for e in stream]]
    assert events[-1].kind == "run_ended"
    assert isinstance(events[-1], RunEnded)
    assert events[-1].status == "cancelled"
    assert Reply(tuple(events)).text == ""
