"""Tool-call review on the client side: typed interrupts, decisions, decoding, resuming.

`client.approval` reads interrupts in every shape a server or graph reports them and
writes the resume value; the decoder and the v3 translator turn `__interrupt__` and
`input.requested` into one `Interrupted` event; `LocalChatSession.resume` answers a
thread that waits, in any stream mode and from another process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.types import Interrupt, PregelTask
from langgraph_sdk.schema import StreamPart, ThreadState

from client.approval import (
    Approve,
    Decision,
    Edit,
    Reject,
    check_decisions,
    interrupted,
    resume_value,
)
from client.cli.graphs import project_graphs
from client.decode import StreamDecoder
from client.errors import InvalidInput, NothingToResume
from client.events import (
    ActionRequest,
    Interrupted,
    MessageFinished,
    NodeUpdate,
    RunEnded,
    RunStarted,
    StateValues,
    StreamEvent,
    to_json,
)
from client.local.runtime import LocalRuntime
from client.local.session import LocalChatSession
from client.remote.thread_events import ThreadEventTranslator
from client.values import Reply, ThreadSnapshot, collect_reply, pending_interrupts
from tests.unit.test_approval_graph import (  # the fixture, for this module too
    CHAIN,
    FIRST_ID,
    SECOND_ID,
    scripted_plans,  # noqa: F401
)
from tests.unit.test_decode import decode
from tests.unit.test_thread_events import event, lifecycle, translate

ALL = ("approve", "edit", "reject")
DESCRIPTION = 'Tool execution requires approval\n\nTool: add\nArgs: {"a": 2, "b": 3}'
VALUE: dict[str, Any] = {
    "action_requests": [{"name": "add", "args": {"a": 2, "b": 3}, "description": DESCRIPTION}],
    "review_configs": [{"action_name": "add", "allowed_decisions": list(ALL)}],
}
"""The `agent` graph's interrupt for "2 + 3"."""
ADD = ActionRequest("add", {"a": 2, "b": 3}, DESCRIPTION, ALL)
ANSWER = "The result of adding 2 and 3 is 5."
NOT_A_NUMBER = "a: Input should be a valid number, unable to parse string as a number"
REVIEW = {"approve_tools": True}


def review(*requests: ActionRequest) -> Interrupted:
    return Interrupted("i1", {}, requests)


# --- interrupted(): every shape an interrupt comes in ----------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        {"id": "i1", "value": VALUE},
        {"interrupt_id": "i1", "payload": VALUE},
        Interrupt(value=VALUE, id="i1"),
    ],
    ids=["stream-and-state", "v3-input-requested", "langgraph-object"],
)
def test_every_shape_of_a_review_gives_the_same_event(raw: Any) -> None:
    assert interrupted(raw) == Interrupted("i1", VALUE, (ADD,), None, ())
    assert interrupted(raw, ("sub:1",)).namespace == ("sub:1",)


def test_an_interrupt_that_is_no_review_has_no_requests() -> None:
    question = interrupted({"id": "i2", "value": "What is your name?"})
    assert question == Interrupted("i2", "What is your name?", (), None, ())
    other = interrupted({"id": "i3", "value": {"question": "why?", "error": "x"}})
    assert (other.requests, other.error) == ((), None)
    not_a_list = interrupted({"id": "i4", "value": {"action_requests": "add"}})
    assert not_a_list.requests == ()
    assert interrupted("bare") == Interrupted(None, "bare")
    assert interrupted({"id": 7, "value": None}) == Interrupted("7", None)
    assert interrupted({"value": 1}).interrupt_id is None


def test_the_error_of_a_refused_answer_is_read_when_it_is_text() -> None:
    assert interrupted({"id": "i", "value": {**VALUE, "error": "b: Field required"}}).error == (
        "b: Field required"
    )
    assert interrupted({"id": "i", "value": {**VALUE, "error": 3}}).error is None


def test_requests_are_read_leniently() -> None:
    value = {
        "action_requests": [
            {"name": "add", "args": {"a": 1}},
            "not a request",
            {"args": ["x"], "description": 5},
            {"name": "divide", "args": {"a": 1, "b": 2}},
        ],
        "review_configs": [
            {"action_name": "add", "allowed_decisions": ["approve", "reject"]},
            {"action_name": "?"},
        ],
    }
    assert interrupted({"id": "i", "value": value}).requests == (
        ActionRequest("add", {"a": 1}, None, ("approve", "reject")),
        # The configs follow the requests by position, as they were sent.
        ActionRequest("?", {}, None, ALL),
        ActionRequest("divide", {"a": 1, "b": 2}, None, ALL),
    )


# --- check_decisions() and resume_value() ----------------------------------------------


@pytest.mark.parametrize(
    ("interrupt", "decisions", "message"),
    [
        (
            Interrupted("i", "name?"),
            [Approve()],
            "the pending interrupt is not a tool-call review",
        ),
        (
            review(ADD, ADD),
            [Approve()],
            "2 tool call(s) wait for review; give one decision each, in order (1 given)",
        ),
        (
            review(ADD),
            [],
            "1 tool call(s) wait for review; give one decision each, in order (0 given)",
        ),
        (
            review(ADD, ActionRequest("multiply", {}, None, ("approve", "reject"))),
            [Approve(), Edit({"a": 1, "b": 2})],
            "decision 2 (multiply): edit is not allowed (allowed: approve, reject)",
        ),
        (
            review(ActionRequest("add", {}, None, ("approve",))),
            [Reject("no")],
            "decision 1 (add): reject is not allowed (allowed: approve)",
        ),
    ],
)
def test_check_decisions_refuses_what_does_not_answer_the_review(
    interrupt: Interrupted, decisions: list[Decision], message: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        check_decisions(interrupt, decisions)
    assert str(raised.value) == message


def test_check_decisions_takes_one_allowed_decision_per_call() -> None:
    check_decisions(review(ADD, ADD, ADD), [Approve(), Edit({"a": 1, "b": 1}), Reject()])


def test_resume_value_is_what_the_graph_reads() -> None:
    multiply = ActionRequest("multiply", {"a": 4, "b": 5})
    decisions: list[Decision] = [
        Approve(),
        Edit({"a": 2, "b": 4}),
        Edit({"a": 1, "b": 1}, name="divide"),
        Reject(),
        Reject(""),
        Reject("too big"),
    ]
    interrupt = review(ADD, ADD, ADD, multiply, multiply, multiply)
    assert resume_value(interrupt, decisions) == {
        "decisions": [
            {"type": "approve"},
            {"type": "edit", "edited_action": {"name": "add", "args": {"a": 2, "b": 4}}},
            {"type": "edit", "edited_action": {"name": "divide", "args": {"a": 1, "b": 1}}},
            {"type": "reject"},
            {"type": "reject"},
            {"type": "reject", "message": "too big"},
        ]
    }


# --- the decoder -------------------------------------------------------------------------


def test_an_interrupt_in_values_and_updates_is_one_event_and_ends_the_run_interrupted() -> None:
    state = {"messages": [], "__interrupt__": [{"id": "i1", "value": VALUE}]}
    parts: list[Any] = [
        StreamPart("metadata", {"run_id": "r1"}, None),
        ("updates", {"__interrupt__": [{"id": "i1", "value": VALUE}]}),
        ("values", state),
    ]
    events = decode(parts)
    assert events == [
        RunStarted("r1"),
        Interrupted("i1", VALUE, (ADD,)),
        StateValues({"messages": []}),
        RunEnded("r1", "interrupted"),
    ]
    assert "__interrupt__" in state  # the part itself is left as it came


def test_the_decoder_reports_an_interrupt_once_and_knows_it_stopped() -> None:
    decoder = StreamDecoder()
    assert decoder.feed(("metadata", {"run_id": "r1"})) == [RunStarted("r1")]
    assert not decoder.interrupted
    update = {"__interrupt__": (Interrupt(value=VALUE, id="i1"),)}
    assert decoder.feed(("updates", update)) == [Interrupted("i1", VALUE, (ADD,))]
    assert decoder.interrupted
    assert decoder.feed(("values", {"__interrupt__": [{"id": "i1", "value": VALUE}]})) == [
        StateValues({})
    ]
    assert decoder.feed(("updates", update)) == []
    assert decoder.finish() == [RunEnded("r1", "interrupted")]


def test_no_node_update_is_made_of_the_interrupt_key() -> None:
    update = {
        "assistant": {"messages": []},
        "__interrupt__": [{"id": "i1", "value": "continue?"}],
    }
    events = decode([("updates|child:1", update)])
    assert events == [
        NodeUpdate("assistant", {"messages": []}, ("child:1",)),
        Interrupted("i1", "continue?", (), None, ("child:1",)),
        RunEnded(None, "interrupted"),
    ]


def test_two_interrupts_are_two_events() -> None:
    interrupts = [{"id": "i1", "value": "a?"}, {"id": "i2", "value": "b?"}]
    events = decode([("updates", {"__interrupt__": interrupts})])
    assert events == [
        Interrupted("i1", "a?"),
        Interrupted("i2", "b?"),
        RunEnded(None, "interrupted"),
    ]


@pytest.mark.parametrize(
    ("end", "status"),
    [({"status": "success"}, "interrupted"), ({"status": "error"}, "error"), ({}, "interrupted")],
)
def test_an_interrupted_run_never_ends_as_a_success(end: dict[str, Any], status: str) -> None:
    events = decode([("values", {"__interrupt__": [{"id": "i1", "value": 1}]}), ("end", end)])
    assert events[-1] == RunEnded(None, status)  # type: ignore[arg-type]


def test_a_run_without_interrupt_still_ends_in_success() -> None:
    events = decode([("values", {"messages": []})])
    assert events == [StateValues({"messages": []}), RunEnded(None, "success")]


# --- the thread-centric protocol (v3) ----------------------------------------------------


def test_input_requested_becomes_the_same_interrupted_event() -> None:
    data = {"interrupt_id": "i1", "payload": VALUE}
    stream = [
        event("input.requested", 1, data),  # an earlier run's, replayed: not ours
        lifecycle("r1", "running", 2),
        event("input.requested", 3, data),
        lifecycle("r1", "interrupted", 4),
    ]
    assert translate(stream, "r1") == [
        RunStarted("r1"),
        Interrupted("i1", VALUE, (ADD,)),
        RunEnded("r1", "interrupted"),
    ]
    translator = ThreadEventTranslator("r1")
    translator.feed(lifecycle("r1", "running", 2))
    nested = translator.feed(event("input.requested", 3, data, ("child:1",)))
    assert nested == [StreamPart("updates|child:1", {"__interrupt__": [data]}, "3")]
    assert translator.feed(event("input.requested", 4, "not a mapping")) == []


# --- what callers read -----------------------------------------------------------------


def test_interrupted_events_serialize_for_json_lines() -> None:
    event = Interrupted("i1", VALUE, (ADD,), "b: Field required", ("child:1",))
    assert to_json(event) == {
        "interrupt_id": "i1",
        "value": VALUE,
        "requests": [
            {
                "name": "add",
                "args": {"a": 2, "b": 3},
                "description": DESCRIPTION,
                "allowed_decisions": ["approve", "edit", "reject"],
            }
        ],
        "error": "b: Field required",
        "namespace": ["child:1"],
        "kind": "interrupted",
    }


def test_reply_interrupt_is_the_last_interrupt_of_the_run() -> None:
    first, second = Interrupted("i1", "a?"), Interrupted("i2", "b?")
    events: tuple[StreamEvent, ...] = (RunStarted("r"), first, second, RunEnded("r", "interrupted"))
    reply = Reply(events)
    assert (reply.interrupt, reply.status) == (second, "interrupted")
    assert Reply((RunStarted("r"), RunEnded("r"))).interrupt is None


def test_thread_state_interrupts_come_from_the_state_or_its_tasks() -> None:
    listed = {
        "values": {"messages": []},
        "next": ["review_tools"],
        "tasks": [],
        "interrupts": [{"id": "i1", "value": VALUE}],
    }
    snapshot = ThreadSnapshot.from_state("t1", listed)  # type: ignore[arg-type]
    assert snapshot.interrupts == (Interrupted("i1", VALUE, (ADD,)),)
    assert snapshot.next_nodes == ("review_tools",)
    in_tasks = {"interrupts": [], "tasks": [{"interrupts": [{"id": "i2", "value": "b?"}]}]}
    assert pending_interrupts(in_tasks) == (Interrupted("i2", "b?"),)
    # LangGraph's own snapshot (`StateSnapshot._asdict()`): tasks are `PregelTask`s.
    interrupt = Interrupt(value="c?", id="i3")
    task = PregelTask("t1", "review_tools", ("__pregel_pull", "review_tools"), None, (interrupt,))
    assert pending_interrupts({"interrupts": (), "tasks": (task,)}) == (Interrupted("i3", "c?"),)
    assert pending_interrupts({"values": {}}) == ()
    state: ThreadState = {  # type: ignore[typeddict-item]
        "values": {"messages": []},
        "next": [],
        "tasks": [],
        "interrupts": [],
    }
    assert ThreadSnapshot.from_state("t1", state).interrupts == ()


# --- LocalChatSession.resume -----------------------------------------------------------


def assert_ends_once_interrupted(reply: Reply) -> Interrupted:
    """Return the run's interrupt, checking it is reported once, at the end.

    In `values` mode the state the run stopped at follows it (LangGraph sends it
    with the interrupt).
    """
    assert reply.status == "interrupted"
    interrupts = [e for e in reply.events if isinstance(e, Interrupted)]
    assert len(interrupts) == 1
    after = reply.events[reply.events.index(interrupts[0]) + 1 :]
    assert after[-1] == RunEnded(reply.run_id, "interrupted")
    assert all(isinstance(e, StateValues) for e in after[:-1])
    return interrupts[0]


@pytest.mark.parametrize(
    "modes",
    [("messages-tuple",), ("values",), ("updates",), ("custom",), ("messages-tuple", "updates")],
    ids=" ".join,
)
async def test_a_review_is_reported_and_resumed_in_every_stream_mode(
    modes: tuple[str, ...],
) -> None:
    async with LocalRuntime(memory=True, graphs=project_graphs()) as runtime:
        session = await runtime.session("agent", stream_mode=modes)
        reply = await session.reply("2 + 3", context=REVIEW)
        interrupt = assert_ends_once_interrupted(reply)
        state = await session.state()
        assert state is not None
        assert state.interrupts == (interrupt,)
        assert (interrupt.value, interrupt.requests) == (VALUE, (ADD,))
        assert state.next_nodes == ("review_tools",)

        resumed = await collect_reply(session.resume([Approve()]))
        assert resumed.status == "success"
        assert resumed.interrupt is None
        shown = [(m.type, m.text) for m in resumed.messages]
        if modes == ("custom",):
            assert [e.kind for e in resumed.events] == ["run_started", "run_ended"]
            assert shown == []
        else:
            assert shown == [("tool", "5"), ("ai", ANSWER)]
            assert resumed.text == ANSWER
        after = await session.state()
        assert after is not None
        assert [(m.type, m.text) for m in after.messages] == [
            ("human", "2 + 3"),
            ("ai", ""),
            ("tool", "5"),
            ("ai", ANSWER),
        ]
        assert (after.interrupts, after.next_nodes) == ((), ())


async def test_custom_mode_alone_still_reports_the_interrupt() -> None:
    async with LocalRuntime(memory=True, graphs=project_graphs()) as runtime:
        session = await runtime.session("agent", stream_mode="custom")
        reply = await session.reply("2 + 3", context=REVIEW)
        assert [type(e) for e in reply.events] == [RunStarted, Interrupted, RunEnded]


async def test_an_edit_shows_the_call_as_it_runs() -> None:
    async with LocalRuntime(memory=True, graphs=project_graphs()) as runtime:
        session = await runtime.session("agent", stream_mode="updates")
        await session.reply("2 + 3", context=REVIEW)
        resumed = await collect_reply(session.resume([Edit({"a": 2, "b": 4})]))
        finished = [e for e in resumed.events if isinstance(e, MessageFinished)]
        assert [(e.node, e.message.type, e.message.text) for e in finished] == [
            ("review_tools", "ai", ""),
            ("tools", "tool", "6"),
            ("assistant", "ai", "The result of adding 2 and 4 is 6."),
        ]
        call = finished[0].message
        assert isinstance(call, AIMessage)
        assert [(c["name"], c["args"]) for c in call.tool_calls] == [("add", {"a": 2, "b": 4})]


async def test_a_refused_decision_leaves_the_review_pending_with_its_error() -> None:
    async with LocalRuntime(memory=True, graphs=project_graphs()) as runtime:
        session = await runtime.session("agent")
        await session.reply("2 + 3", context=REVIEW)
        resumed = await collect_reply(session.resume([Edit({"a": "x", "b": 4})]))
        error = f"decision 1 (add): {NOT_A_NUMBER}"
        interrupt = assert_ends_once_interrupted(resumed)
        assert (interrupt.requests, interrupt.error) == ((ADD,), error)
        state = await session.state()
        assert state is not None and state.interrupts == (interrupt,)
        done = await collect_reply(session.resume([Reject("no")]))
        assert done.text == "I couldn't finish adding 2 and 3: no."


async def state_of(session: LocalChatSession) -> tuple[Any, ...]:
    snapshot = await session.state()
    history = await session.history()
    if snapshot is None:
        return (None, len(history))
    return (snapshot.messages, snapshot.interrupts, snapshot.next_nodes, len(history))


async def test_nothing_to_resume_leaves_the_thread_as_it_was() -> None:
    async with LocalRuntime(memory=True, graphs=project_graphs()) as runtime:
        session = await runtime.session("agent")
        message = f"thread {session.thread_id} is not waiting for a decision; nothing to resume"
        with pytest.raises(NothingToResume) as raised:  # a thread with no message yet
            await collect_reply(session.resume([Approve()]))
        assert str(raised.value) == message
        assert await session.state() is None

        await session.reply("2 + 3")  # no review asked: the tools just run
        before = await state_of(session)
        with pytest.raises(NothingToResume) as raised:
            await collect_reply(session.resume([Approve()]))
        assert str(raised.value) == message
        assert await state_of(session) == before

        await session.reply("2 + 3", context=REVIEW)
        assert (await collect_reply(session.resume([Reject()]))).status == "success"
        before = await state_of(session)
        with pytest.raises(NothingToResume):  # a second answer to the same review
            await collect_reply(session.resume([Approve()]))
        assert await state_of(session) == before
        assert not session.is_streaming


async def test_decisions_that_do_not_fit_are_refused_before_the_run() -> None:
    async with LocalRuntime(memory=True, graphs=project_graphs()) as runtime:
        session = await runtime.session("agent")
        await session.reply("2 + 3", context=REVIEW)
        before = await state_of(session)
        with pytest.raises(InvalidInput) as raised:
            await collect_reply(session.resume([Approve(), Approve()]))
        assert str(raised.value) == (
            "1 tool call(s) wait for review; give one decision each, in order (2 given)"
        )
        assert await state_of(session) == before
        with pytest.raises(InvalidInput) as raised:
            session.resume([Approve()], stream_mode="bogus")
        assert str(raised.value) == (
            "unknown stream mode 'bogus'; use one of messages, messages-tuple, values, "
            "updates, events, custom"
        )


@pytest.mark.usefixtures("scripted_plans")
async def test_another_process_resumes_with_the_interrupted_runs_context(tmp_path: Path) -> None:
    async with LocalRuntime(tmp_path, graphs=project_graphs()) as runtime:
        session = await runtime.session("agent", user_id="ada")
        first = await session.reply(CHAIN, context=REVIEW)
        assert first.interrupt is not None
        assert [(r.name, r.args) for r in first.interrupt.requests] == [("add", {"a": 2, "b": 3})]
        thread_id = session.thread_id

    # A new runtime on the same data directory: what `lgchat --local resume` does.
    async with LocalRuntime(tmp_path, graphs=project_graphs()) as runtime:
        session = await runtime.session("agent", thread_id=thread_id)
        second = await collect_reply(session.resume([Approve()]))
        # The kept context asks for a review of the model's next call too.
        assert (second.status, second.text) == ("interrupted", "")
        interrupt = assert_ends_once_interrupted(second)
        assert [(r.name, r.args) for r in interrupt.requests] == [("multiply", {"a": 5, "b": 4})]
        state = await session.state()
        assert state is not None
        last = state.messages[-1]
        assert isinstance(last, AIMessage) and last.tool_calls[0]["id"] == SECOND_ID
        done = await collect_reply(session.resume([Approve()]))
        assert done.text == "The result of multiplying 5 and 4 is 20."


@pytest.mark.usefixtures("scripted_plans")
async def test_a_context_given_to_resume_wins_over_the_kept_one(tmp_path: Path) -> None:
    async with LocalRuntime(tmp_path, graphs=project_graphs()) as runtime:
        session = await runtime.session("agent", user_id="bo")
        await session.reply(CHAIN, context=REVIEW)
    async with LocalRuntime(tmp_path, graphs=project_graphs()) as runtime:
        session = await runtime.session("agent", user_id="bo")
        done = await collect_reply(session.resume([Approve()], context={"approve_tools": False}))
        assert done.status == "success"
        assert done.text == "The result of multiplying 5 and 4 is 20."
        state = await session.state()
        assert state is not None
        ids = [getattr(m, "tool_call_id", None) for m in state.messages]
        assert ids.count(FIRST_ID) == ids.count(SECOND_ID) == 1
        assert isinstance(state.messages[0], HumanMessage)
        with pytest.raises(InvalidInput) as raised:
            session.resume([Approve()], context={"approve_tools": "yes"})
        assert str(raised.value) == "context field approve_tools must be a boolean, not 'yes'"
