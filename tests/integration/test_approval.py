"""Human approval of tool calls (`approve_tools`) through a real server, on both protocols.

The `agent` graph with `approve_tools` on stops before its tools with an interrupt;
`ChatSession.resume` answers it with one `Approve`, `Edit` or `Reject` per call. The
model is ChatOpenAI on the scripted OpenAI server, which checks every request the way
OpenAI does (a tool call without its result, or a result without its call, is a 400),
so each test can also read exactly what the model was sent. Covered: each decision and
the tool result and answer it leads to, parallel calls with mixed decisions, an answer
the graph refuses (the run asks again) or the client refuses (nothing is sent), a
thread that waits for nothing, an interrupt across a server restart, a new message
instead of a decision, summarization around a pending call, each stream mode, and a
resumed run that keeps reviewing. Over `runs` and v3 on SSE; v3 over WebSocket once
(Aegra 0.11 refuses v3 WebSockets).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import pytest
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    ToolMessage,
    convert_to_openai_messages,
)

from agent.memory import DROPPED_CALL
from client.approval import Approve, Decision, Edit, Reject
from client.errors import InvalidInput, NothingToResume
from client.events import (
    ActionRequest,
    Interrupted,
    MessageFinished,
    MessageStarted,
    NodeUpdate,
    RunEnded,
    StreamEvent,
)
from client.remote.client import ChatClient
from client.remote.session import RemoteChatSession
from client.values import Reply, collect_reply
from devtools.fake_openai import FakeOpenAI, ToolCallReply, sequence_error
from devtools.fake_openai import Reply as Scripted
from devtools.process import ServerProcess
from tests.support.servers import Engine, dev_server_env, engine_server

pytestmark = pytest.mark.server

PROTOCOLS = ["runs", "v3"]
"""`runs`: run-centric streams; `v3`: the thread-centric protocol over SSE."""
WEBSOCKET = pytest.param("v3-websocket", "edit", marks=pytest.mark.engines("dev"))
"""v3 over a WebSocket, once (an edit): Aegra 0.11 refuses every v3 WebSocket handshake."""

REVIEW = {"approve_tools": True}
ASK = "2 + 3"
LANCE, HI_LANCE = "hi! I'm Lance", "Hi Lance! How can I assist you today?"
ADD = ActionRequest(
    name="add",
    args={"a": 2, "b": 3},
    description='Tool execution requires approval\n\nTool: add\nArgs: {"a": 2, "b": 3}',
)
INTERRUPTING_TURN = [
    "run_started", "message_started:ai", "tool_call_progress", "message_finished:ai",
    "node_update:assistant", "interrupted", "run_ended:interrupted",
]  # fmt: skip
"""A turn that stops for review, in the default modes (`messages-tuple` and `updates`)."""
BAD_EDIT_ERROR = (
    "decision 1 (add): a: Input should be a valid number, unable to parse string as a number"
)
"""The graph's one line about `Edit({"a": "x", "b": 1})` for `add`."""


# -- fixtures and helpers ------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(fake_openai_server: FakeOpenAI, engine: Engine) -> Iterator[ServerProcess]:
    """A server of this module's own on the scripted model: one test restarts it."""
    with engine_server(engine, dev_server_env(fake_openai_server.base_url)) as running:
        yield running


@pytest.fixture
def fake(fake_openai_server: FakeOpenAI) -> FakeOpenAI:
    fake_openai_server.reset()
    return fake_openai_server


@pytest.fixture
async def chat(server: ServerProcess, request: pytest.FixtureRequest) -> AsyncIterator[ChatClient]:
    """A client of `server` on the test's `protocol` parameter."""
    async with connect(server.url, request.node.callspec.params["protocol"]) as client:
        yield client


def connect(url: str, protocol: str) -> ChatClient:
    """Return a client of `url` speaking `protocol` ("runs", "v3" or "v3-websocket")."""
    if protocol == "runs":
        return ChatClient(url)
    return ChatClient(
        url, protocol="v3", transport="websocket" if "websocket" in protocol else "sse"
    )


def call(name: str, call_id: str, **args: float) -> ToolCallReply:
    """Return a scripted tool call."""
    return ToolCallReply(name, json.dumps(args), id=call_id)


def outline(events: Sequence[StreamEvent]) -> list[str]:
    """Return the events by kind (with roles, nodes and end status), deltas squashed."""
    labels: list[str] = []
    for event in events:
        label: str = event.kind
        if isinstance(event, MessageStarted):
            label = f"{event.kind}:{event.role}"
        elif isinstance(event, MessageFinished):
            label = f"{event.kind}:{event.message.type}"
        elif isinstance(event, NodeUpdate):
            label = f"{event.kind}:{event.node}"
        elif isinstance(event, RunEnded):
            label = f"{event.kind}:{event.status}"
        if not (label in ("text_delta", "tool_call_progress") and labels[-1:] == [label]):
            labels.append(label)
    return labels


def sends_updates(protocol: str, engine: Engine) -> bool:
    """Return whether a stream in `updates` mode gets them.

    `langgraph dev` sends no `updates` over v3 (see `test_v3_contract`); Aegra sends
    them on both protocols.
    """
    return protocol == "runs" or engine != "dev"


def on(protocol: str, engine: Engine, labels: list[str]) -> list[str]:
    """Return a copy of `labels` as `protocol` on `engine` streams them.

    `node_update`s come only where the server sends `updates` (see `sends_updates`).
    """
    if not sends_updates(protocol, engine):
        return [label for label in labels if not label.startswith("node_update")]
    return list(labels)


async def resume(session: RemoteChatSession, decisions: Sequence[Decision], **kwargs: Any) -> Reply:
    """Resume the session's thread with `decisions`; return the whole resumed run."""
    return await collect_reply(session.resume(decisions, **kwargs))


def shape(messages: Sequence[BaseMessage]) -> list[tuple[str, str]]:
    """Return each message's type and text (tool calls as `name(args)`)."""
    out = []
    for message in messages:
        text = str(message.text)
        if isinstance(message, AIMessage) and message.tool_calls:
            text = ", ".join(f"{c['name']}({json.dumps(c['args'])})" for c in message.tool_calls)
        if isinstance(message, ToolMessage):
            text = f"{message.tool_call_id}={text} [{message.status}]"
        out.append((message.type, text))
    return out


def wire(messages: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    """Return an OpenAI request's messages as (role, what), the system prompt left out."""
    out = []
    for message in messages:
        role = message["role"]
        if role == "system":
            continue
        if role == "tool":
            out.append((role, f"{message['tool_call_id']}={message['content']}"))
        elif message.get("tool_calls"):
            calls = message["tool_calls"]
            text = ", ".join(
                f"{c['function']['name']}({c['function']['arguments']})" for c in calls
            )
            out.append((role, text))
        else:
            content = message.get("content")
            if isinstance(content, list):  # v3 runs keep content blocks
                content = "".join(b.get("text", "") for b in content if isinstance(b, dict))
            out.append((role, str(content or "")))
    return out


def without_status(result: str) -> str:
    """Return a `shape` of a tool result as the model sees it: OpenAI has no status."""
    return result.rsplit(" [", 1)[0]


def openai_valid(messages: Sequence[BaseMessage]) -> str | None:
    """Return OpenAI's complaint about `messages` as a prompt, or None when it is valid."""
    return sequence_error(convert_to_openai_messages(list(messages)))


async def interrupted_session(chat: ChatClient, fake: FakeOpenAI) -> RemoteChatSession:
    """Start an agent session whose first turn stops to review `add(2, 3)`."""
    fake.script(Scripted(tool_calls=[call("add", "call_add", a=2, b=3)]))
    session = await chat.session("agent")
    reply = await session.reply(ASK, context=REVIEW)
    assert reply.status == "interrupted", reply.error
    return session


# -- 1. approve, edit, reject -----------------------------------------------------------------

DECISIONS: dict[str, tuple[Decision, str, dict[str, int], str]] = {
    # decision, the tool's result, the call as it ran, the answer
    "approve": (
        Approve(),
        "call_add=5 [success]",
        {"a": 2, "b": 3},
        "The result of adding 2 and 3 is 5.",
    ),
    "edit": (
        Edit({"a": 2, "b": 4}),
        "call_add=6 [success]",
        {"a": 2, "b": 4},
        "The result of adding 2 and 4 is 6.",
    ),
    "reject": (
        Reject("not today"),
        "call_add=not today [error]",
        {"a": 2, "b": 3},
        "Then I will not add them.",  # scripted: the offline model reads it as a result
    ),
}
RESUMED_TURN = {
    "approve": [
        "run_started", "node_update:review_tools", "message_started:tool", "message_finished:tool",
        "node_update:tools", "message_started:ai", "text_delta", "message_finished:ai",
        "node_update:assistant", "run_ended:success",
    ],
    "reject": [
        "run_started", "message_started:tool", "message_finished:tool", "node_update:review_tools",
        "message_started:ai", "text_delta", "message_finished:ai", "node_update:assistant",
        "run_ended:success",
    ],
}  # fmt: skip
RESUMED_TURN["edit"] = RESUMED_TURN["approve"]
EDITED_CALL = ["message_started:ai", "tool_call_progress", "message_finished:ai"]
"""The edited call's message: it replaces the model's under a new id (`<id>-edited`), so
every stream shows what ran before its result."""


@pytest.mark.parametrize(
    ("protocol", "decision"),
    [*((protocol, decision) for protocol in PROTOCOLS for decision in DECISIONS), WEBSOCKET],
)
async def test_each_decision_gives_its_tool_result_and_answer(
    chat: ChatClient, fake: FakeOpenAI, engine: Engine, protocol: str, decision: str
) -> None:
    answer, result, ran, text = DECISIONS[decision]
    fake.script(Scripted(tool_calls=[call("add", "call_add", a=2, b=3)]))
    if isinstance(answer, Reject):
        fake.script(text)
    session = await chat.session("agent")

    first = await session.reply(ASK, context=REVIEW)
    assert outline(first.events) == on(protocol, engine, INTERRUPTING_TURN)
    assert first.interrupt is not None
    assert (first.interrupt.requests, first.interrupt.error) == ((ADD,), None)
    pending = await session.state()
    assert pending is not None
    assert [i.interrupt_id for i in pending.interrupts] == [first.interrupt.interrupt_id]
    assert pending.next_nodes == ("review_tools",)

    second = await resume(session, [answer])
    expected = RESUMED_TURN[decision]
    if decision == "edit":
        expected = [expected[0], *EDITED_CALL, *expected[1:]]
        edited = next(e.message for e in second.events if isinstance(e, MessageFinished))
        assert isinstance(edited, AIMessage)
        assert edited.tool_calls == [
            {"name": "add", "args": ran, "id": "call_add", "type": "tool_call"}
        ]
        assert edited.id == f"{first.messages[0].id}-edited"
    assert outline(second.events) == on(protocol, engine, expected)
    assert (second.status, second.text, second.interrupt) == ("success", text, None)
    state = await session.state()
    assert state is not None
    assert shape(state.messages) == [
        ("human", ASK),
        ("ai", f"add({json.dumps(ran)})"),  # an edit shows what ran
        ("tool", result),
        ("ai", text),
    ]
    assert state.interrupts == ()
    # A v3 run keeps the call in the message's content blocks too: they show it as well.
    content = state.messages[1].content
    blocks = [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []
    assert [b["args"] for b in blocks if b.get("type") == "tool_call"] == (
        [] if protocol == "runs" else [ran]
    )
    # What the model was told: the call as it ran, and its result.
    assert fake.rejections == []
    assert wire(fake.requests[-1].messages) == [
        ("user", ASK),
        ("assistant", f"add({json.dumps(ran)})"),
        ("tool", without_status(result)),
    ]

    # 4. Answered once: a second answer finds nothing to resume, and changes nothing.
    with pytest.raises(NothingToResume):
        await resume(session, [Approve()])
    assert await session.state() == state
    assert len(fake.requests) == 2


# -- 2. parallel calls, mixed decisions ------------------------------------------------------


def request(name: str, **args: int) -> ActionRequest:
    """Return the review request the graph makes for one call."""
    return ActionRequest(
        name=name,
        args=args,
        description=f"Tool execution requires approval\n\nTool: {name}\nArgs: {json.dumps(args)}",
    )


REJECTED_MUL = "User rejected the tool call for `multiply` with id call_mul"
PARALLEL: dict[str, tuple[list[Decision], str, list[tuple[str, str]], str]] = {
    # decisions, the calls as they ran, the results in the thread's order, the answer
    "approve+reject": (
        [Approve(), Reject()],
        'add({"a": 2, "b": 3}), multiply({"a": 4, "b": 5})',
        # The rejection is written by the review itself, before the approved call runs.
        [("tool", f"call_mul={REJECTED_MUL} [error]"), ("tool", "call_add=5 [success]")],
        "2 + 3 is 5; I did not multiply.",
    ),
    "edit+approve": (
        [Edit({"a": 2, "b": 10}), Approve()],
        'add({"a": 2, "b": 10}), multiply({"a": 4, "b": 5})',
        [("tool", "call_add=12 [success]"), ("tool", "call_mul=20 [success]")],
        "The result of adding 2 and 10 is 12. The result of multiplying 4 and 5 is 20.",
    ),
}


@pytest.mark.parametrize("decisions", list(PARALLEL))
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_parallel_calls_with_mixed_decisions_each_get_a_result(
    chat: ChatClient, fake: FakeOpenAI, protocol: str, decisions: str
) -> None:
    answers, ran, results, text = PARALLEL[decisions]
    calls = (call("add", "call_add", a=2, b=3), call("multiply", "call_mul", a=4, b=5))
    fake.script(Scripted(tool_calls=calls))
    if decisions == "approve+reject":
        fake.script(text)  # the offline model would read the rejection as a result
    session = await chat.session("agent")
    first = await session.reply("2 + 3 and 4 * 5", context=REVIEW)
    assert first.interrupt is not None
    assert first.interrupt.requests == (request("add", a=2, b=3), request("multiply", a=4, b=5))

    second = await resume(session, answers)
    assert (second.status, second.text) == ("success", text)
    state = await session.state()
    assert state is not None
    assert shape(state.messages) == [
        ("human", "2 + 3 and 4 * 5"),
        ("ai", ran),
        *results,
        ("ai", text),
    ]
    # Both calls answered, in a prompt OpenAI takes: the fake refused nothing.
    assert fake.rejections == []
    assert len(fake.requests) == 2
    sent = wire(fake.requests[-1].messages)
    assert sent[:2] == [("user", "2 + 3 and 4 * 5"), ("assistant", ran)]
    assert sorted(sent[2:]) == sorted((role, without_status(what)) for role, what in results)
    assert openai_valid(state.messages) is None


# -- 3. a refused answer, a wrong count -------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_refused_edit_asks_again_and_a_wrong_count_sends_nothing(
    chat: ChatClient, fake: FakeOpenAI, protocol: str
) -> None:
    session = await interrupted_session(chat, fake)
    assert session.thread_id is not None
    before = await session.state()
    assert before is not None
    runs_before = await chat.sdk.runs.list(session.thread_id, limit=50)

    # Refused by the client, from the thread's pending review: nothing is sent.
    with pytest.raises(InvalidInput) as caught:
        await resume(session, [Approve(), Approve()])
    assert not isinstance(caught.value, NothingToResume)
    assert str(caught.value) == (
        "1 tool call(s) wait for review; give one decision each, in order (2 given)"
    )
    with pytest.raises(InvalidInput):
        await resume(session, [])
    assert await session.state() == before
    assert await chat.sdk.runs.list(session.thread_id, limit=50) == runs_before

    # Refused by the graph (the tool's schema): the resumed run asks again, with why.
    # Over `runs`, `messages-tuple` alone carries no interrupt: the client looks at the
    # thread to tell the run that asks again from one that finished.
    refused = await resume(session, [Edit({"a": "x", "b": 1})], stream_mode="messages-tuple")
    assert outline(refused.events) == ["run_started", "interrupted", "run_ended:interrupted"]
    assert refused.interrupt is not None
    assert (refused.interrupt.requests, refused.interrupt.error) == ((ADD,), BAD_EDIT_ERROR)
    waiting = await session.state()
    assert waiting is not None
    assert waiting.interrupts == (refused.interrupt,)
    assert waiting.messages == before.messages
    assert len(fake.requests) == 1  # the model was not asked again

    # The question stands: a valid answer now runs the call.
    done = await resume(session, [Edit({"a": 2, "b": 4})])
    assert (done.status, done.text) == ("success", "The result of adding 2 and 4 is 6.")
    after = await session.state()
    assert after is not None
    assert shape(after.messages)[1:3] == [
        ("ai", 'add({"a": 2, "b": 4})'),
        ("tool", "call_add=6 [success]"),
    ]
    assert after.interrupts == ()


# -- 4. nothing to resume -----------------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_thread_that_waits_for_nothing_is_left_alone(
    chat: ChatClient, fake: FakeOpenAI, protocol: str
) -> None:
    session = await chat.session("agent")
    with pytest.raises(NothingToResume):
        session.resume([Approve()])  # no thread yet: refused at the call
    reply = await session.reply(LANCE, context=REVIEW)
    assert (reply.status, reply.text, reply.interrupt) == ("success", HI_LANCE, None)
    assert session.thread_id is not None
    before = await session.state()
    runs_before = await chat.sdk.runs.list(session.thread_id, limit=50)

    with pytest.raises(NothingToResume) as caught:
        await resume(session, [Approve()])
    assert str(caught.value) == (
        f"thread {session.thread_id} is not waiting for a decision; nothing to resume"
    )
    assert await session.state() == before
    assert await chat.sdk.runs.list(session.thread_id, limit=50) == runs_before
    assert len(fake.requests) == 1


# -- 5. a restart -------------------------------------------------------------------------------


async def test_an_interrupt_survives_a_graceful_restart(
    server: ServerProcess, fake: FakeOpenAI
) -> None:
    """Two threads wait, one interrupted over each protocol; each is resumed over the other.

    Over `runs`, the v3 thread's resume takes the interrupted run's context from the
    server, where `langgraph dev` keeps keys of its own in a v3 run's context.
    """
    waiting: dict[str, tuple[str, Interrupted]] = {}
    for protocol in PROTOCOLS:
        async with connect(server.url, protocol) as client:
            session = await interrupted_session(client, fake)
            state = await session.state()
            assert state is not None and session.thread_id is not None
            (interrupt,) = state.interrupts
            waiting[protocol] = (session.thread_id, interrupt)

    before = server.pid
    server.restart()
    assert server.pid != before

    for began, ends in zip(PROTOCOLS, reversed(PROTOCOLS), strict=True):
        thread_id, interrupt = waiting[began]
        async with connect(server.url, ends) as client:
            state = await client.thread_state(thread_id)
            assert state.interrupts == (interrupt,)
            assert [type(m) for m in state.messages] == [HumanMessage, AIMessage]
            session = await client.session("agent", thread_id=thread_id)
            reply = await resume(session, [Edit({"a": 2, "b": 4})])
            assert (reply.status, reply.text) == ("success", "The result of adding 2 and 4 is 6.")
            after = await client.thread_state(thread_id)
            assert shape(after.messages)[2:] == [
                ("tool", "call_add=6 [success]"),
                ("ai", "The result of adding 2 and 4 is 6."),
            ]
            assert after.interrupts == ()
    assert fake.rejections == []


# -- 6. a new message instead of a decision ----------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_new_message_instead_of_a_decision_drops_the_call(
    chat: ChatClient, fake: FakeOpenAI, protocol: str
) -> None:
    session = await interrupted_session(chat, fake)
    reply = await session.reply(LANCE)
    assert (reply.status, reply.text, reply.interrupt) == ("success", HI_LANCE, None)

    # Either way the model is told the call was not run, in a prompt OpenAI takes.
    assert fake.rejections == []
    assert wire(fake.requests[-1].messages) == [
        ("user", ASK),
        ("assistant", 'add({"a": 2, "b": 3})'),
        ("tool", f"call_add={DROPPED_CALL}"),
        ("user", LANCE),
    ]
    state = await session.state()
    assert state is not None
    assert state.interrupts == ()
    if protocol == "runs":
        # A run-centric run with new input starts afresh: the call stays in the thread
        # without a result, and only the prompt answers it (`memory.answer_dropped_calls`).
        assert [m.type for m in reply.messages] == ["ai"]
        assert shape(state.messages) == [
            ("human", ASK),
            ("ai", 'add({"a": 2, "b": 3})'),
            ("human", LANCE),
            ("ai", HI_LANCE),
        ]
        assert openai_valid(state.messages) is not None
    else:
        # v3 resumes a waiting thread with its next input: the review answers the call
        # with an error result, then the message follows.
        assert [m.type for m in reply.messages] == ["tool", "ai"]
        assert shape(state.messages) == [
            ("human", ASK),
            ("ai", 'add({"a": 2, "b": 3})'),
            ("tool", f"call_add={DROPPED_CALL} [error]"),
            ("human", LANCE),
            ("ai", HI_LANCE),
        ]
        assert openai_valid(state.messages) is None


# -- 7. summarization around a pending call ----------------------------------------------------

SUMMARIES: dict[str, tuple[dict[str, int], list[str], list[tuple[str, str]], str]] = {
    # memory settings, turns before the call, the messages kept, the summary
    "keep-none": ({"summarize_after": 1, "keep_last": 0}, [], [], "Recent requests: 2 + 3."),
    "keep-the-call": (
        {"summarize_after": 2, "keep_last": 2},
        [LANCE],
        # Two would start the tail at the tool result: the cut moves back to its call.
        [
            ("ai", 'add({"a": 2, "b": 3})'),
            ("tool", "call_add=5 [success]"),
            ("ai", "The result of adding 2 and 3 is 5."),
        ],
        "The user's name is Lance. Recent requests: hi! I'm Lance; 2 + 3.",
    ),
}


@pytest.mark.parametrize("case", list(SUMMARIES))
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_summary_never_cuts_a_call_from_its_decision(
    chat: ChatClient, fake: FakeOpenAI, protocol: str, case: str
) -> None:
    memory, earlier, kept, summary = SUMMARIES[case]
    context = {**REVIEW, **memory}
    session = await chat.session("agent")
    for text in earlier:
        (await session.reply(text, context=context)).raise_for_error()
    fake.script(Scripted(tool_calls=[call("add", "call_add", a=2, b=3)]))

    # More messages than `summarize_after`, but a call waits: no summary.
    stopped = await session.reply(ASK, context=context)
    assert stopped.status == "interrupted"
    pending = await session.state()
    assert pending is not None
    assert pending.summary == ""
    assert shape(pending.messages)[-2:] == [("human", ASK), ("ai", 'add({"a": 2, "b": 3})')]
    assert len(pending.messages) == 2 * len(earlier) + 2

    resumed = await resume(session, [Approve()])
    assert (resumed.status, resumed.text) == ("success", "The result of adding 2 and 3 is 5.")
    state = await session.state()
    assert state is not None
    assert (state.summary, shape(state.messages)) == (summary, kept)
    assert openai_valid(state.messages) is None
    assert fake.rejections == []  # the summarizer's prompt too


# -- 8. every stream mode -------------------------------------------------------------------------

MODE_TURNS = {
    "values": [
        "run_started", "message_started:human", "message_finished:human", "state_values",
        "message_started:ai", "tool_call_progress", "message_finished:ai", "state_values",
        "interrupted", "run_ended:interrupted",
    ],
    "messages-tuple": [
        "run_started", "message_started:ai", "tool_call_progress", "message_finished:ai",
        "interrupted", "run_ended:interrupted",
    ],
    "updates": [
        "run_started", "message_started:ai", "tool_call_progress", "message_finished:ai",
        "node_update:assistant", "interrupted", "run_ended:interrupted",
    ],
}  # fmt: skip
VALUES_AFTER_THE_INTERRUPT: dict[tuple[Engine, str], int] = {
    ("dev", "runs"): 1,
    ("dev", "v3"): 0,
    ("aegra", "runs"): 2,
    ("aegra", "v3"): 1,
}
"""`values` events after the interrupt, as measured: each server sends the state again
(`langgraph dev` not over v3), and Aegra sends it once more at the run's end."""


@pytest.mark.parametrize("mode", list(MODE_TURNS))
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_each_stream_mode_alone_reports_the_interrupt(
    chat: ChatClient, fake: FakeOpenAI, engine: Engine, protocol: str, mode: str
) -> None:
    fake.script(Scripted(tool_calls=[call("add", "call_add", a=2, b=3)]))
    session = await chat.session("agent", stream_mode=mode)
    first = await session.reply(ASK, context=REVIEW)
    expected = on(protocol, engine, MODE_TURNS[mode])
    if mode == "values":
        expected[-1:-1] = ["state_values"] * VALUES_AFTER_THE_INTERRUPT[engine, protocol]
    assert outline(first.events) == expected, outline(first.events)
    (interrupt,) = [e for e in first.events if isinstance(e, Interrupted)]
    assert (interrupt.requests, interrupt.error) == ((ADD,), None)

    second = await resume(session, [Approve()])
    assert (second.status, second.text) == ("success", "The result of adding 2 and 3 is 5.")
    assert not [e for e in second.events if isinstance(e, Interrupted)]


# -- 9. a resumed run keeps the run's context ----------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_resumed_run_keeps_reviewing_with_the_first_runs_context(
    chat: ChatClient, fake: FakeOpenAI, protocol: str
) -> None:
    fake.script(
        Scripted(tool_calls=[call("add", "call_add", a=2, b=3)]),
        Scripted(tool_calls=[call("multiply", "call_mul", a=5, b=4)]),
    )
    session = await chat.session("agent")
    # `summarize_after` and `keep_last` must carry over too: the last turn summarizes.
    context = {**REVIEW, "summarize_after": 1, "keep_last": 1}
    first = await session.reply("(2 + 3) * 4", context=context)
    assert first.interrupt is not None and first.interrupt.requests == (ADD,)

    second = await resume(session, [Approve()])  # context=None: the first run's
    assert second.status == "interrupted"
    assert second.interrupt is not None
    assert second.interrupt.requests == (request("multiply", a=5, b=4),)
    assert wire(fake.requests[-1].messages)[-1] == ("tool", "call_add=5")

    third = await resume(session, [Approve()])
    assert (third.status, third.text) == ("success", "The result of multiplying 5 and 4 is 20.")
    state = await session.state()
    assert state is not None
    assert (state.summary, shape(state.messages)) == (
        "Recent requests: (2 + 3) * 4.",
        [("ai", "The result of multiplying 5 and 4 is 20.")],
    )
    assert fake.rejections == []
