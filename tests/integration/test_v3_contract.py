"""The contract suite on the thread-centric streaming protocol (v3), over SSE and WebSocket.

`ChatClient(protocol="v3", transport=...)` against a real server of the run's engine:
both graphs on ChatOpenAI (through the scripted OpenAI server) and on the embedded
offline model; memory across turns and through a summary; a tool call's arguments as
they grow, finish reasons and usage; a second turn that reports only its own run,
although a thread's v3 stream replays every earlier run; cancelling; a second message
on a busy thread; fifty sessions at once; bad input as one line. The engines' v3
servers differ: `langgraph dev` sends no `updates` and no `custom` data, and Aegra
0.11 serves v3 over SSE only (see `TRANSPORTS`).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from client.cli import app as cli
from client.cli.exit_codes import EXIT_UNREACHABLE, EXIT_USAGE
from client.errors import AssistantNotFound, InvalidInput, ProtocolUnsupported, ThreadBusy
from client.events import (
    CustomEvent,
    MessageFinished,
    MessageStarted,
    RunEnded,
    RunError,
    StateValues,
    StreamEvent,
    TextDelta,
    ToolCallProgress,
)
from client.inputs import Transport
from client.remote.client import ChatClient
from client.values import Reply
from devtools.fake_openai import FakeOpenAI
from devtools.process import ServerProcess
from tests.integration._helpers import ARGS_PROGRESSION, LONG_COUNT, MULTIPLY, MULTIPLY_ANSWER
from tests.integration._helpers import count_reply as count
from tests.support.servers import Engine

pytestmark = pytest.mark.server

TRANSPORTS = [
    "sse",
    # Aegra 0.11 refuses every v3 WebSocket handshake (403), so streaming over one is a
    # langgraph dev test; on Aegra, the two websocket tests at the end check the refusal.
    pytest.param("websocket", marks=pytest.mark.engines("dev")),
]
MODELS = ["openai", "offline"]
USAGE = {  # (input, output) tokens of the tool-call message, then of the answer
    "openai": [(27, 4), (32, 9)],  # the scripted server counts the tool call's JSON too
    "offline": [(27, 4), (28, 9)],
}
LANCE, HI_LANCE = "hi! I'm Lance", "Hi Lance! How can I assist you today?"
NAME, YOUR_NAME = "what's my name?", "Your name is Lance."
SUMMARY = "The user's name is Lance. Recent requests: hi! I'm Lance; what's my name?; count to 3."
AGENT_TURN = [
    "run_started", "start:ai", "args", "args", "args", "finish:ai", "start:tool",
    "finish:tool", "start:ai", "text", "finish:ai", "run_ended",
]  # fmt: skip
"""An agent turn's events in `messages-tuple` mode: as over `runs`, the input is not
reported (v3 always carries `values`, which hold it)."""
CHAT_TURN = ["run_started", "start:ai", "text", "finish:ai"]
"""A chat turn's events in `messages-tuple` mode, but for its `run_ended`."""
CHAT_VALUES_TURN = [
    "run_started", "start:human", "finish:human", "state_values", "start:ai", "text",
    "finish:ai", "state_values",
]  # fmt: skip
"""A chat turn's events with `values` too: the input is reported, as over `runs`."""


@pytest.fixture(scope="module", params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> Transport:
    return cast(Transport, request.param)


@pytest.fixture(scope="module")
async def scripted(dev_server: ServerProcess, transport: Transport) -> AsyncIterator[ChatClient]:
    """A v3 client of the server whose default model is ChatOpenAI on the scripted server."""
    async with ChatClient(dev_server.url, protocol="v3", transport=transport) as client:
        yield client


@pytest.fixture(scope="module")
async def paced(offline_server_url: str, transport: Transport) -> AsyncIterator[ChatClient]:
    """A v3 client of the offline server, slow enough that a cancel lands mid-reply."""
    async with ChatClient(offline_server_url, protocol="v3", transport=transport) as client:
        yield client


@pytest.fixture
def fake(fake_openai_server: FakeOpenAI) -> FakeOpenAI:
    fake_openai_server.reset()
    return fake_openai_server


def model_context(model: str, **settings: Any) -> dict[str, Any]:
    """Return the run context that picks `model` (the offline one by name)."""
    return {"model": "offline", **settings} if model == "offline" else settings


def outline(reply: Reply) -> list[str]:
    """Return the reply's events by kind (with roles), one `text` per run of deltas."""
    roles, labels = reply.roles, list[str]()
    for event in reply.events:
        label = {TextDelta: "text", ToolCallProgress: "args"}.get(type(event), event.kind)
        if isinstance(event, MessageStarted | MessageFinished):
            label = f"{event.kind[8:-2]}:{roles.get(event.message_id)}"  # start, finish
        if not (label == "text" and labels[-1:] == ["text"]):
            labels.append(label)
    return labels


@pytest.mark.parametrize("model", MODELS)
async def test_agent_args_finish_reasons_usage_then_a_turn_of_its_own(
    scripted: ChatClient, fake: FakeOpenAI, model: str
) -> None:
    session = await scripted.session("agent")
    context = model_context(model)
    first = await session.reply(MULTIPLY, stream_mode="messages-tuple", context=context)

    assert outline(first) == AGENT_TURN
    assert (first.status, first.error, first.text) == ("success", None, MULTIPLY_ANSWER)
    assert first.tool_call_args == ARGS_PROGRESSION
    calls = {(e.name, e.index) for e in first.events if isinstance(e, ToolCallProgress)}
    assert calls == {("multiply", 0)}
    ai = [e for e in first.events if isinstance(e, MessageFinished) and e.message.type == "ai"]
    assert [e.finish_reason for e in ai] == ["tool_calls", "stop"]
    assert [e.usage for e in ai] == [
        {"input_tokens": i, "output_tokens": o, "total_tokens": i + o} for i, o in USAGE[model]
    ]
    assert [(m.type, m.text) for m in first.messages] == [
        ("ai", ""), ("tool", "6"), ("ai", MULTIPLY_ANSWER),
    ]  # fmt: skip

    # Another session on the thread: its v3 stream replays the first run before the
    # second, and none of it may show, in events or in `values`.
    assert session.thread_id is not None
    earlier = [m.id for m in (await scripted.thread_state(session.thread_id)).messages]
    other = await scripted.session("agent", thread_id=session.thread_id)
    second = await other.reply(LANCE, stream_mode=["messages-tuple", "values"], context=context)
    assert outline(second) == [*CHAT_VALUES_TURN, "run_ended"]
    assert second.text == HI_LANCE
    new = [m.id for m in second.messages]
    assert [m.type for m in second.messages] == ["human", "ai"]
    assert not {e.message_id for e in first.events if isinstance(e, MessageStarted)} & set(new)
    values = [e.values["messages"] for e in second.events if isinstance(e, StateValues)]
    assert [[m["id"] for m in v] for v in values] == [[*earlier, new[0]], [*earlier, *new]]

    state = await scripted.thread_state(session.thread_id)
    assert [type(m) for m in state.messages] == [
        HumanMessage, AIMessage, ToolMessage, AIMessage, HumanMessage, AIMessage,
    ]  # fmt: skip
    assert [m.id for m in state.messages] == [*earlier, *new]
    assert (fake.rejections, len(fake.requests)) == ([], 3 if model == "openai" else 0)


@pytest.mark.parametrize("model", MODELS)
async def test_chatbot_memory_and_a_summary_that_never_streams(
    scripted: ChatClient, fake: FakeOpenAI, model: str
) -> None:
    session = await scripted.session("chatbot")
    replies: list[Reply] = []
    turns = [(LANCE, {}), (NAME, {}), ("count to 3", {"summarize_after": 2}), (NAME, {})]
    for text, settings in turns:
        context = model_context(model, **settings)
        modes = ["messages-tuple", "values"]
        replies.append(await session.reply(text, stream_mode=modes, context=context))
    assert [r.text for r in replies] == [HI_LANCE, YOUR_NAME, "1 2 3", YOUR_NAME]
    assert [r.status for r in replies] == ["success"] * 4

    # The third turn left 6 > 2 messages: the summarizer ran, and none of its model's
    # tokens reached the chat (its call is tagged `nostream`).
    summarized = replies[2]
    assert outline(summarized) == [*CHAT_VALUES_TURN, "state_values", "run_ended"]
    assert "".join(e.text for e in summarized.events if isinstance(e, TextDelta)) == "1 2 3"
    assert [m.text for m in summarized.messages] == ["count to 3", "1 2 3"]
    last_values = [e.values for e in summarized.events if isinstance(e, StateValues)][-1]
    assert last_values["summary"] == SUMMARY
    # The introduction is gone, yet the fourth turn knew the name from the summary.
    assert session.thread_id is not None
    state = await scripted.thread_state(session.thread_id)
    assert state.summary == SUMMARY
    assert [m.text for m in state.messages] == ["count to 3", "1 2 3", NAME, YOUR_NAME]
    assert (fake.rejections, len(fake.requests)) == ([], 5 if model == "openai" else 0)


async def test_summarizer_progress_as_custom_events(paced: ChatClient, engine: Engine) -> None:
    """The summarizer's `custom` progress, as the runs protocol gives it (`dev` sends none)."""
    session = await paced.session("chatbot")
    for text in (LANCE, "count to 3"):
        reply = await session.reply(text, stream_mode="custom", context={"summarize_after": 2})
    custom = [e.data for e in reply.events if isinstance(e, CustomEvent)]
    assert custom == ([] if engine == "dev" else [
        {"summarization": {"status": "started", "trigger": "messages", "messages": 4}},
        {"summarization": {"status": "done", "removed": 2, "kept": 2}},
    ])  # fmt: skip


async def test_cancel_mid_reply_then_the_next_message(paced: ChatClient) -> None:
    session = await paced.session("chatbot")
    events: list[StreamEvent] = []
    async for event in session.send(f"count to {LONG_COUNT}", stream_mode="messages-tuple"):
        events.append(event)
        if isinstance(event, TextDelta) and sum(isinstance(e, TextDelta) for e in events) == 3:
            assert await session.cancel() is True
    cancelled = Reply(tuple(events))
    assert outline(cancelled) == [*CHAT_TURN, "run_ended"]
    assert (cancelled.status, cancelled.error) == ("cancelled", None)
    assert count(LONG_COUNT).startswith(cancelled.text)
    assert 0 < len(cancelled.text) < len(count(LONG_COUNT)) // 10

    after = await session.reply(LANCE, stream_mode="messages-tuple")
    assert outline(after) == [*CHAT_TURN, "run_ended"]  # nothing of the cancelled run
    assert (after.status, after.text) == ("success", HI_LANCE)
    assert session.thread_id is not None
    state = await paced.thread_state(session.thread_id)
    assert [m.text for m in state.messages] == [f"count to {LONG_COUNT}", LANCE, HI_LANCE]


async def test_cancel_before_the_run_is_named(
    paced: ChatClient,
) -> None:
    """A cancel sent before `run.start` returned.

    A run cancelled while still pending never runs, so the thread's stream never shows
    it: the session ends its stream when the cancel is done (regression: it waited
    forever). The run is always pending then on `langgraph dev` (its queue polls every
    0.5 s), sometimes on Aegra.
    """
    session = await paced.session("chatbot")
    stream = session.send(f"count to {LONG_COUNT}")
    first = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)  # the stream starts and waits on `run.start`
    assert session.is_streaming and session.active_run_id is None
    assert await session.cancel() is True
    async with asyncio.timeout(5):  # it takes under 2 s when it ends
        events = [await first, *[e async for e in stream]]
    assert isinstance(events[-1], RunEnded) and events[-1].status == "cancelled"
    assert Reply(tuple(events)).text == ""
    assert (await session.reply("count to 3")).text == "1 2 3"


async def test_a_second_message_on_a_busy_thread(paced: ChatClient) -> None:
    """A second session's message while a run streams on the thread.

    v3's `run.start` has no multitask strategy: the server would enqueue the second
    run. The session applies its own strategy before starting one, as with runs:
    `reject` (the default) raises `ThreadBusy`; `enqueue` waits for the active run, so
    both replies complete, in order, and the second shows none of the first.
    """
    first_session = await paced.session("chatbot")
    events: list[StreamEvent] = []
    streaming = asyncio.Event()

    async def stream_first() -> None:
        async for event in first_session.send("count to 600", stream_mode="messages-tuple"):
            events.append(event)
            streaming.set()

    task = asyncio.create_task(stream_first())
    await asyncio.wait_for(streaming.wait(), 30)
    thread_id = first_session.thread_id
    assert thread_id is not None
    rejecting = await paced.session("chatbot", thread_id=thread_id)
    with pytest.raises(ThreadBusy, match=r"^this thread is busy"):
        await rejecting.reply("count to 3")
    waiting = await paced.session("chatbot", thread_id=thread_id, multitask_strategy="enqueue")
    second = await waiting.reply("count to 3", stream_mode="messages-tuple")
    await asyncio.wait_for(task, 30)
    first = Reply(tuple(events))

    assert (first.status, first.text) == ("success", count(600))
    assert (second.status, second.text) == ("success", "1 2 3")
    assert outline(second) == [*CHAT_TURN, "run_ended"]
    state = await paced.thread_state(thread_id)
    assert [m.text for m in state.messages] == ["count to 600", count(600), "count to 3", "1 2 3"]


async def test_fifty_sessions_at_once_never_cross(paced: ChatClient) -> None:
    numbers = range(1000, 1050)

    async def chat(number: int) -> Reply:
        session = await paced.session("chatbot")
        return await session.reply(f"hi! I'm n{number}", stream_mode="messages-tuple")

    replies = await asyncio.wait_for(asyncio.gather(*(chat(n) for n in numbers)), 120)
    for number, reply in zip(numbers, replies, strict=True):
        assert (reply.status, reply.error) == ("success", None), number
        assert reply.text == f"Hi N{number}! How can I assist you today?"
        tokens = "".join(e.text for e in reply.events if isinstance(e, TextDelta))
        assert re.findall(r"\d+", tokens) == [str(number)]
    assert len({r.run_id for r in replies} - {None}) == 50


async def test_bad_input_is_one_line(paced: ChatClient) -> None:
    session = await paced.session("chatbot")
    with pytest.raises(InvalidInput, match=r"^the message is empty"):
        session.send("  \n")  # at the call, before any request
    with pytest.raises(InvalidInput, match=r"^context field model must match .+, not 'nope/bad'$"):
        session.send("hi", context={"model": "nope/bad"})
    assert session.thread_id is None  # no thread was made
    with pytest.raises(AssistantNotFound) as caught:
        await paced.session("nope")
    assert str(caught.value) == "no assistant 'nope' on this server; available: agent, chatbot"

    # A context the schema allows but the run cannot use: the offline server has no key.
    failed = await session.reply("hi", context={"model": "openai:gpt-4o"})
    assert [e.kind for e in failed.events][-2:] == ["run_error", "run_ended"]
    assert failed.status == "error" and failed.error is not None and "\n" not in failed.error
    assert (await session.reply("count to 3")).text == "1 2 3"


async def test_a_failed_runs_error_reads_as_on_the_runs_protocol(
    paced: ChatClient,
) -> None:
    """The run's own error line, as the runs protocol gives it (Aegra's redaction undone).

    Regression: it read `RunFailed: …`, and on Aegra `RunFailed: ValueError: execution
    failed`.
    """
    session = await paced.session("chatbot")
    failed = await session.reply("hi", context={"model": "openai:gpt-4o"})
    assert [e.message for e in failed.events if isinstance(e, RunError)] == [
        "model 'openai:gpt-4o' needs OPENAI_API_KEY (or OPENAI_BASE_URL)"
    ]


def test_cli_bad_transport_and_websocket_on_each_engine(
    capsys: pytest.CaptureFixture[str], offline_server_url: str, engine: Engine
) -> None:
    """`lgchat --protocol v3` with a bad transport, then over WebSocket (refused by Aegra)."""
    v3 = ["--url", offline_server_url, "--protocol", "v3", "--transport"]
    code = cli.main([*v3, "pigeon", "send", "hi"])
    err = capsys.readouterr().err
    bad = "lgchat: error: unknown transport 'pigeon'; choose sse or websocket\n"
    assert (code, err) == (EXIT_USAGE, bad)

    code = cli.main([*v3, "websocket", "send", "count to 3"])
    out, err = capsys.readouterr()
    if engine == "dev":
        assert (code, out.splitlines()[:2], err) == (0, ["AI: 1 2 3", "Finish Reason: stop"], "")
    else:
        refusal = (
            f"lgchat: error: the server at {offline_server_url} does not serve the v3 protocol"
            " over websocket; use sse (lgchat: --protocol runs, or --transport sse)\n"
        )
        assert (code, out, err) == (EXIT_UNREACHABLE, "", refusal)


# Only Aegra refuses v3 WebSockets.
@pytest.mark.engines("aegra")
async def test_a_refused_websocket_is_one_line_and_starts_no_run(offline_server_url: str) -> None:
    """Regression: the run was started over HTTP before the WebSocket was refused."""
    async with ChatClient(offline_server_url, protocol="v3", transport="websocket") as client:
        session = await client.session("chatbot")
        with pytest.raises(ProtocolUnsupported) as caught:
            await session.reply("count to 3")
        assert str(caught.value) == (
            f"the server at {offline_server_url} does not serve the v3 protocol over websocket; "
            "use sse"
        )
        assert session.thread_id is not None
        assert await client.sdk.runs.list(session.thread_id) == []
