"""Cancellation and model faults, through `langgraph dev`, `ChatOpenAI` and the scripted server.

The rule under test: nothing the user typed or the model finished is lost or shown
twice, every failure is one clear line, and the thread takes the next message. The
scripted server checks every request against OpenAI's message rules, so a thread left
with a half answer or an orphan tool call would show up as a rejection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from client.events import RunEnded, RunError, StreamEvent, TextDelta, ToolCallProgress
from client.remote.client import ChatClient
from client.session import ChatSession
from client.values import Reply
from devtools.fake_openai import (
    CutConnection,
    FakeOpenAI,
    Fault,
    MalformedChunk,
    RateLimit,
    ServerError,
    Stall,
    ToolCallReply,
)
from devtools.fake_openai import Reply as Scripted
from devtools.process import ServerProcess
from tests.support.servers import Engine, dev_server_env, engine_server

pytestmark = pytest.mark.server

ANSWER = "The result of multiplying 2 and 3 is 6."


@pytest.fixture
def fake(fake_openai_server: FakeOpenAI) -> FakeOpenAI:
    fake_openai_server.reset()
    return fake_openai_server


@pytest.fixture(scope="module")
async def client(dev_server: ServerProcess) -> AsyncIterator[ChatClient]:
    async with ChatClient(dev_server.url) as chat_client:
        yield chat_client


async def cancel_when(
    session: ChatSession, text: str, stop: type[StreamEvent], *, count: int = 1
) -> Reply:
    """Send `text`, cancel once `count` events of type `stop` arrived; return the stream."""
    events: list[StreamEvent] = []
    async for event in session.send(text, stream_mode="messages-tuple"):
        events.append(event)
        if sum(isinstance(e, stop) for e in events) == count:
            assert await session.cancel()
    return Reply(tuple(events))


async def kinds(client: ChatClient, session: ChatSession) -> list[type]:
    assert session.thread_id is not None
    return [type(m) for m in (await client.thread_state(session.thread_id)).messages]


# -- 2. cancellation ----------------------------------------------------------------------


async def test_cancel_keeps_only_completed_steps_and_the_thread_goes_on(
    client: ChatClient, fake: FakeOpenAI
) -> None:
    session = await client.session("agent")
    slow_args = ToolCallReply(
        "multiply", '{"a": 2, "b": 3}', fragments=['{"a"', ": 2", ', "b"', ": 3", "}"]
    )
    # Cancelled while the tool call's arguments stream: no tool call may be left behind.
    fake.script(Scripted(tool_calls=[slow_args], delay=0.3))
    first = await cancel_when(session, "Multiply 2 and 3", ToolCallProgress)
    assert first.events[-1] == RunEnded(first.run_id, "cancelled")
    assert first.tool_call_args and first.error is None
    assert await kinds(client, session) == [HumanMessage]

    # Cancelled while the answer streams, after the tool ran: the tool exchange is a
    # completed step and stays; the half answer does not.
    fake.script(
        Scripted(tool_calls=[ToolCallReply("multiply", '{"a": 2, "b": 3}')]),
        Scripted(" ".join(["word"] * 200), delay=0.01),
    )
    second = await cancel_when(session, "Multiply 2 and 3", TextDelta, count=3)
    assert second.status == "cancelled"
    assert second.text.startswith("word word word")
    assert await kinds(client, session) == [
        HumanMessage,
        HumanMessage,
        AIMessage,
        ToolMessage,
    ]

    # Two user messages in a row, then a user message after a tool result: both valid.
    third = await session.reply("Multiply 2 and 3", stream_mode="messages-tuple")
    assert (third.status, third.text) == ("success", ANSWER)
    assert fake.rejections == []


# -- 4. model faults ----------------------------------------------------------------------


async def test_rate_limit_and_transient_errors_are_retried_by_the_model_layer(
    client: ChatClient, fake: FakeOpenAI
) -> None:
    fake.fail_next(RateLimit(retry_after=0.05))
    fake.fail_next(ServerError())
    session = await client.session("chatbot")
    reply = await session.reply("hi! I'm Lance")
    assert (reply.status, reply.error) == ("success", None)
    assert reply.text == "Hi Lance! How can I assist you today?"
    assert len(fake.requests) == 3  # 429, 500, then the answer


async def test_model_failures_are_one_line_and_leave_no_partial_message(
    client: ChatClient, fake: FakeOpenAI
) -> None:
    session = await client.session("chatbot")
    faults: dict[str, tuple[Fault, int | None]] = {
        "persistent 500": (ServerError(), None),
        "connection cut mid-stream": (CutConnection(after_chunks=4), None),
        "malformed chunk": (MalformedChunk(after_chunks=3), 1),
    }
    errors: dict[str, RunError] = {}
    for name, (fault, times) in faults.items():
        fake.reset()
        fake.fail_next(fault, times=times)
        fake.script(Scripted("one two three four five six seven eight"))
        reply = await session.reply("hi! I'm Lance")
        assert reply.status == "error", name
        [errors[name]] = [e for e in reply.events if isinstance(e, RunError)]
        # Nothing of the failed answer stays: only the user's messages.
        assert set(await kinds(client, session)) == {HumanMessage}, name

    assert all("\n" not in e.message and e.message for e in errors.values())
    # Each names its cause; the server hides the model API's own messages.
    assert errors["persistent 500"].message.startswith("OpenAIAPIError: ")
    assert errors["connection cut mid-stream"].message.startswith("OpenAIConnectionError: ")
    assert errors["malformed chunk"].message.startswith("JSONDecodeError: Expecting property")

    fake.reset()
    ok = await session.reply("what's my name?")
    assert (ok.status, ok.text) == ("success", "Your name is Lance.")
    assert await kinds(client, session) == [HumanMessage] * 4 + [AIMessage]
    assert fake.rejections == []


@pytest.fixture(scope="module")
def impatient_server(fake_openai_server: FakeOpenAI, engine: Engine) -> Iterator[ServerProcess]:
    """A server whose model gives up after one second, with no retry."""
    env = dev_server_env(fake_openai_server.base_url)
    env |= {"OPENAI_TIMEOUT": "1", "OPENAI_MAX_RETRIES": "0"}
    with engine_server(engine, env) as server:
        yield server


async def test_a_model_timeout_is_one_line_and_the_thread_goes_on(
    impatient_server: ServerProcess, fake: FakeOpenAI
) -> None:
    async with ChatClient(impatient_server.url) as impatient:
        session = await impatient.session("chatbot")
        fake.fail_next(Stall(seconds=5))
        timed_out = await session.reply("hi! I'm Lance")
        assert timed_out.status == "error"
        assert timed_out.error is not None and "\n" not in timed_out.error
        assert timed_out.error.startswith("OpenAITimeoutError: ")
        assert len(fake.requests) == 1  # no retry: the timeout is the run's error

        ok = await session.reply("what's my name?")
        assert (ok.status, ok.text) == ("success", "Your name is Lance.")
        assert session.thread_id is not None
        assert await kinds(impatient, session) == [HumanMessage, HumanMessage, AIMessage]
        assert fake.rejections == []


# -- 6. summarization under faults --------------------------------------------------------


async def test_a_failed_summary_deletes_nothing_and_is_tried_again_next_turn(
    client: ChatClient, fake: FakeOpenAI
) -> None:
    memory = {"summarize_after": 2, "keep_last": 2}
    session = await client.session("chatbot")
    (await session.reply("hi! I'm Lance", context=memory)).raise_for_error()

    # The answer arrives; the summarizer's call then fails on every retry.
    fake.script(Scripted("1 2 3"), *[Scripted(fault=ServerError())] * 3)
    turn = await session.reply("count to 3", context=memory)
    assert (turn.status, turn.text, turn.error) == ("success", "1 2 3", None)
    assert session.thread_id is not None
    state = await client.thread_state(session.thread_id)
    assert state.summary == ""
    assert [m.content for m in state.messages] == [
        "hi! I'm Lance",
        "Hi Lance! How can I assist you today?",
        "count to 3",
        "1 2 3",
    ]

    fake.reset()
    retried = await session.reply("what's my name?", context=memory)
    assert (retried.status, retried.text) == ("success", "Your name is Lance.")
    state = await client.thread_state(session.thread_id)
    assert "Lance" in state.summary
    assert [m.content for m in state.messages] == ["what's my name?", "Your name is Lance."]
    assert fake.rejections == []
