"""Tool-call review in the `agent` graph, in-process: interrupts, decisions, dropped calls.

The graph is compiled with an in-memory checkpointer and run with
`AgentContext(approve_tools=True)`. The offline model makes one call for "2 + 3";
`scripted_plans` makes it answer `PARALLEL` with two parallel calls and `CHAIN` with
two calls one after the other (the second once the first has its result).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolCall,
    ToolMessage,
    convert_to_openai_messages,
)
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command

from agent import approval, memory, models, offline, prompts
from agent.agent import builder
from agent.context import AgentContext
from agent.offline import OfflineChatModel, Plan, PlannedToolCall
from devtools.fake_openai import sequence_error
from tests.unit.test_memory import RecordingModel

PARALLEL = "two calls at once, please"
"""Scripted: the model calls add(2, 3) and multiply(4, 5) in one message."""
CHAIN = "two calls in a row, please"
"""Scripted: the model calls add(2, 3), then multiply(<its result>, 4), then answers."""
ADD_ID, MULTIPLY_ID = "call_add", "call_multiply"
FIRST_ID, SECOND_ID = "call_first", "call_second"
REVIEW = AgentContext(approve_tools=True)
ALLOWED = ["approve", "edit", "reject"]
_offline_plan = offline.plan_reply


def scripted_plan(messages: Sequence[BaseMessage], tool_names: Sequence[str] = ()) -> Plan:
    """Plan the offline model's reply, with `PARALLEL` and `CHAIN` scripted."""
    last = messages[-1] if messages else None
    if isinstance(last, HumanMessage) and last.text == PARALLEL:
        return Plan(
            tool_calls=(
                PlannedToolCall("add", {"a": 2, "b": 3}, ADD_ID),
                PlannedToolCall("multiply", {"a": 4, "b": 5}, MULTIPLY_ID),
            )
        )
    if isinstance(last, HumanMessage) and last.text == CHAIN:
        return Plan(tool_calls=(PlannedToolCall("add", {"a": 2, "b": 3}, FIRST_ID),))
    if isinstance(last, ToolMessage) and last.tool_call_id == FIRST_ID:
        result = float(last.text) if last.status == "success" else 0.0
        value = int(result) if result.is_integer() else result
        return Plan(tool_calls=(PlannedToolCall("multiply", {"a": value, "b": 4}, SECOND_ID),))
    return _offline_plan(messages, tool_names)


@pytest.fixture
def scripted_plans(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the offline model follow `scripted_plan` (in this process)."""
    monkeypatch.setattr(offline, "plan_reply", scripted_plan)


def thread(name: str = "t") -> RunnableConfig:
    return {"configurable": {"thread_id": name}}


Graph = CompiledStateGraph[Any, Any, Any, Any]


@pytest.fixture
def graph() -> Graph:
    return builder.compile(checkpointer=InMemorySaver())


def ask(graph: Graph, text: str, context: AgentContext = REVIEW, name: str = "t") -> Any:
    return graph.invoke({"messages": [HumanMessage(text, id="h1")]}, thread(name), context=context)


def answer(graph: Graph, resume: Any, context: AgentContext = REVIEW, name: str = "t") -> Any:
    return graph.invoke(Command(resume=resume), thread(name), context=context)


def shown(messages: Sequence[BaseMessage]) -> list[tuple[str, str, str | None]]:
    """Return each message's type, text and (for tool results) status."""
    return [(m.type, m.text, getattr(m, "status", None)) for m in messages]


def description(name: str, args: str) -> str:
    return f"Tool execution requires approval\n\nTool: {name}\nArgs: {args}"


ADD_REQUEST = {
    "action_requests": [
        {
            "name": "add",
            "args": {"a": 2, "b": 3},
            "description": description("add", '{"a": 2, "b": 3}'),
        }
    ],
    "review_configs": [{"action_name": "add", "allowed_decisions": ALLOWED}],
}


def pending_call(graph: Graph, name: str = "t") -> ToolCall:
    """Return the one tool call the thread waits on."""
    last = graph.get_state(thread(name)).values["messages"][-1]
    assert isinstance(last, AIMessage) and len(last.tool_calls) == 1
    return last.tool_calls[0]


# --- the interrupt -------------------------------------------------------------------


def test_a_tool_call_stops_the_run_with_the_hitl_request(graph: Graph) -> None:
    out = ask(graph, "2 + 3")
    assert [i.value for i in out["__interrupt__"]] == [ADD_REQUEST]
    state = graph.get_state(thread())
    assert state.next == (approval.REVIEW_NODE,)
    assert [i.value for i in state.interrupts] == [ADD_REQUEST]
    assert [i.id for i in state.interrupts] == [out["__interrupt__"][0].id]
    # The call waits, unrun: no result yet.
    assert shown(state.values["messages"]) == [("human", "2 + 3", None), ("ai", "", None)]
    assert pending_call(graph)["args"] == {"a": 2, "b": 3}


def test_review_request_lists_every_call_and_the_error_only_when_given() -> None:
    calls = [
        ToolCall(name="add", args={"a": 1, "b": 2}, id="c1", type="tool_call"),
        ToolCall(name="divide", args={"a": 1, "b": 0}, id="c2", type="tool_call"),
    ]
    add_args, divide_args = '{"a": 1, "b": 2}', '{"a": 1, "b": 0}'
    assert approval.review_request(calls) == {
        "action_requests": [
            {"name": "add", "args": {"a": 1, "b": 2}, "description": description("add", add_args)},
            {
                "name": "divide",
                "args": {"a": 1, "b": 0},
                "description": description("divide", divide_args),
            },
        ],
        "review_configs": [
            {"action_name": "add", "allowed_decisions": ALLOWED},
            {"action_name": "divide", "allowed_decisions": ALLOWED},
        ],
    }
    assert approval.review_request(calls, "wrong")["error"] == "wrong"
    assert "error" not in approval.review_request(calls, "")


def test_without_approve_tools_the_tools_run_with_no_review(graph: Graph) -> None:
    for context, name in ((AgentContext(), "off"), (None, "none")):
        updates = list(
            graph.stream(
                {"messages": [HumanMessage("2 + 3")]},
                thread(name),
                context=context,
                stream_mode="updates",
            )
        )
        assert [next(iter(update)) for update in updates] == ["assistant", "tools", "assistant"]
        state = graph.get_state(thread(name))
        assert (state.next, state.interrupts) == ((), ())
        assert state.values["messages"][-1].text == "The result of adding 2 and 3 is 5."


# --- approve, edit, reject -----------------------------------------------------------


def test_approve_runs_the_call_as_the_model_made_it(graph: Graph) -> None:
    ask(graph, "2 + 3")
    call = pending_call(graph)
    updates = list(
        graph.stream(
            Command(resume={"decisions": [{"type": "approve"}]}),
            thread(),
            context=REVIEW,
            stream_mode="updates",
        )
    )
    # An approval changes no message: the review node writes nothing.
    assert updates[0] == {approval.REVIEW_NODE: {"messages": []}}
    assert [next(iter(update)) for update in updates[1:]] == ["tools", "assistant"]
    messages = graph.get_state(thread()).values["messages"]
    assert shown(messages) == [
        ("human", "2 + 3", None),
        ("ai", "", None),
        ("tool", "5", "success"),
        ("ai", "The result of adding 2 and 3 is 5.", None),
    ]
    assert messages[1].tool_calls == [call]
    assert messages[2].tool_call_id == call["id"]
    assert graph.get_state(thread()).interrupts == ()


def test_edit_runs_the_edited_args_and_rewrites_the_models_message(graph: Graph) -> None:
    ask(graph, "2 + 3")
    call = pending_call(graph)
    original = graph.get_state(thread()).values["messages"][1]
    edit = {"type": "edit", "edited_action": {"name": "add", "args": {"a": 2, "b": 4}}}
    out = answer(graph, {"decisions": [edit]})
    assert "__interrupt__" not in out
    messages = out["messages"]
    assert shown(messages) == [
        ("human", "2 + 3", None),
        ("ai", "", None),
        ("tool", "6", "success"),
        ("ai", "The result of adding 2 and 4 is 6.", None),
    ]
    edited = messages[1]
    # It takes the model's message's place under a new id, which streams report as new.
    assert edited.id == f"{original.id}-edited"
    assert [m.id for m in messages].count(original.id) == 0
    assert edited.tool_calls == [
        {"name": "add", "args": {"a": 2, "b": 4}, "id": call["id"], "type": "tool_call"}
    ]
    assert edited.response_metadata == original.response_metadata


def test_edit_may_call_another_tool(graph: Graph) -> None:
    ask(graph, "2 + 3")
    edit = {"type": "edit", "edited_action": {"name": "multiply", "args": {"a": 2, "b": 3}}}
    out = answer(graph, {"decisions": [edit]})
    assert out["messages"][1].tool_calls[0]["name"] == "multiply"
    assert shown(out["messages"][2:]) == [
        ("tool", "6", "success"),
        ("ai", "The result of multiplying 2 and 3 is 6.", None),
    ]


@pytest.mark.parametrize(
    ("decision", "told"),
    [
        ({"type": "reject", "message": "not now"}, "not now"),
        ({"type": "reject"}, None),
        ({"type": "reject", "message": ""}, None),
        ({"type": "reject", "message": None}, None),
    ],
)
def test_reject_runs_nothing_and_answers_the_call_with_an_error(
    graph: Graph, decision: dict[str, Any], told: str | None
) -> None:
    ask(graph, "2 + 3")
    call = pending_call(graph)
    default = f"User rejected the tool call for `add` with id {call['id']}"
    assert approval.rejection_text(call) == default
    updates = list(
        graph.stream(
            Command(resume={"decisions": [decision]}),
            thread(),
            context=REVIEW,
            stream_mode="updates",
        )
    )
    # No tools node: the review node answers the call and goes back to the model.
    assert [next(iter(update)) for update in updates] == [approval.REVIEW_NODE, "assistant"]
    messages = graph.get_state(thread()).values["messages"]
    result = messages[2]
    assert isinstance(result, ToolMessage)
    assert (result.text, result.status, result.name) == (told or default, "error", "add")
    assert result.tool_call_id == call["id"]
    assert messages[1].tool_calls == [call]  # the call itself stays as the model made it
    reason = told or default
    assert messages[3].text == f"I couldn't finish adding 2 and 3: {reason}."
    assert sequence_error(convert_to_openai_messages(messages)) is None


def test_edit_updates_the_v3_content_blocks_of_the_call(
    graph: Graph, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `output_version="v1"` gives the model's message standard content blocks, tool
    # calls included, as v3 runs keep them.
    monkeypatch.setitem(
        models._loaded, "openai:blocks", OfflineChatModel(delay=0, output_version="v1")
    )
    context = AgentContext(approve_tools=True, model="openai:blocks")
    ask(graph, "2 + 3", context)
    call = pending_call(graph)
    before = graph.get_state(thread()).values["messages"][1]
    assert before.content == [
        {"type": "tool_call", "id": call["id"], "name": "add", "args": {"a": 2, "b": 3}}
    ]
    edit = {"type": "edit", "edited_action": {"name": "add", "args": {"a": 2, "b": 4}}}
    out = answer(graph, {"decisions": [edit]}, context)
    edited = out["messages"][1]
    assert edited.content == [
        {"type": "tool_call", "id": call["id"], "name": "add", "args": {"a": 2, "b": 4}}
    ]
    assert edited.tool_calls[0]["args"] == {"a": 2, "b": 4}
    assert out["messages"][2].text == "6"


def test_with_calls_rewrites_only_the_tool_call_blocks_it_knows() -> None:
    message = AIMessage(
        content=[
            {"type": "text", "text": "Let me add."},
            {"type": "tool_call", "id": "c1", "name": "add", "args": {"a": 1, "b": 2}},
            {"type": "tool_call", "id": "c9", "name": "add", "args": {"a": 7, "b": 7}},
            "plain",
        ],
        tool_calls=[ToolCall(name="add", args={"a": 1, "b": 2}, id="c1", type="tool_call")],
        id="m1",
    )
    revised = [ToolCall(name="multiply", args={"a": 3, "b": 4}, id="c1", type="tool_call")]
    rewritten = approval._with_calls(message, revised)
    assert rewritten.content == [
        {"type": "text", "text": "Let me add."},
        {"type": "tool_call", "id": "c1", "name": "multiply", "args": {"a": 3, "b": 4}},
        {"type": "tool_call", "id": "c9", "name": "add", "args": {"a": 7, "b": 7}},
        "plain",
    ]
    assert rewritten.tool_calls == revised
    assert rewritten.id == "m1"
    assert message.tool_calls[0]["name"] == "add"  # a copy: the original is untouched
    text = approval._with_calls(AIMessage("hi", tool_calls=message.tool_calls, id="m2"), revised)
    assert (text.content, text.tool_calls) == ("hi", revised)


# --- parallel calls ------------------------------------------------------------------


@pytest.mark.usefixtures("scripted_plans")
def test_parallel_calls_take_one_decision_each_in_order(graph: Graph) -> None:
    out = ask(graph, PARALLEL)
    request = out["__interrupt__"][0].value
    assert [(r["name"], r["args"]) for r in request["action_requests"]] == [
        ("add", {"a": 2, "b": 3}),
        ("multiply", {"a": 4, "b": 5}),
    ]
    assert [c["action_name"] for c in request["review_configs"]] == ["add", "multiply"]
    decisions = [
        {"type": "edit", "edited_action": {"name": "add", "args": {"a": 2, "b": 4}}},
        {"type": "reject", "message": "no"},
    ]
    out = answer(graph, {"decisions": decisions})
    messages = out["messages"]
    assert messages[1].tool_calls == [
        {"name": "add", "args": {"a": 2, "b": 4}, "id": ADD_ID, "type": "tool_call"},
        {"name": "multiply", "args": {"a": 4, "b": 5}, "id": MULTIPLY_ID, "type": "tool_call"},
    ]
    results = {m.tool_call_id: (m.text, m.status) for m in messages if isinstance(m, ToolMessage)}
    assert results == {ADD_ID: ("6", "success"), MULTIPLY_ID: ("no", "error")}
    # The rejection comes from the review node, before the tools node's result.
    assert [m.tool_call_id for m in messages[2:4]] == [MULTIPLY_ID, ADD_ID]
    assert messages[-1].text == (
        "I couldn't finish multiplying 4 and 5: no. The result of adding 2 and 4 is 6."
    )
    assert sequence_error(convert_to_openai_messages(messages)) is None


@pytest.mark.usefixtures("scripted_plans")
def test_parallel_calls_approved_and_rejected_all(graph: Graph) -> None:
    ask(graph, PARALLEL, name="approved")
    out = answer(graph, {"decisions": [{"type": "approve"}] * 2}, name="approved")
    assert sorted(m.text for m in out["messages"] if isinstance(m, ToolMessage)) == ["20", "5"]
    ask(graph, PARALLEL, name="rejected")
    out = answer(graph, {"decisions": [{"type": "reject"}] * 2}, name="rejected")
    assert shown(out["messages"][2:4]) == [
        ("tool", f"User rejected the tool call for `add` with id {ADD_ID}", "error"),
        ("tool", f"User rejected the tool call for `multiply` with id {MULTIPLY_ID}", "error"),
    ]
    assert sequence_error(convert_to_openai_messages(out["messages"])) is None


@pytest.mark.usefixtures("scripted_plans")
def test_each_later_call_is_reviewed_too(graph: Graph) -> None:
    ask(graph, CHAIN)
    out = answer(graph, {"decisions": [{"type": "approve"}]})
    assert [i.value["action_requests"][0]["args"] for i in out["__interrupt__"]] == [
        {"a": 5, "b": 4}
    ]
    assert pending_call(graph)["id"] == SECOND_ID
    out = answer(graph, {"decisions": [{"type": "approve"}]})
    assert "__interrupt__" not in out
    assert out["messages"][-1].text == "The result of multiplying 5 and 4 is 20."


# --- answers the graph refuses ---------------------------------------------------------


SHAPE = 'the answer must be {"decisions": [...]}, one decision per call'
NEEDS_ARGS = 'decision 1 (add): an edit needs "edited_action": {"args": {...}}'
BAD_TYPE = "decision 1 (add): the type must be one of approve, edit, reject, got "
NOT_A_NUMBER = "a: Input should be a valid number, unable to parse string as a number"


def decisions(*items: Any) -> dict[str, Any]:
    return {"decisions": list(items)}


def edit(args: Any, name: str | None = None) -> dict[str, Any]:
    action = {"args": args} if name is None else {"name": name, "args": args}
    return {"type": "edit", "edited_action": action}


APPROVE = {"type": "approve"}


@pytest.mark.parametrize(
    ("resume", "error"),
    [
        ("yes", SHAPE),
        ({"decisions": APPROVE}, SHAPE),
        ([APPROVE], SHAPE),
        (decisions(), "1 tool call(s) wait for review, but 0 decision(s) came"),
        (decisions(APPROVE, APPROVE), "1 tool call(s) wait for review, but 2 decision(s) came"),
        (decisions({"type": "maybe"}), BAD_TYPE + "'maybe'"),
        (decisions("approve"), BAD_TYPE + "None"),
        (decisions({"type": "edit"}), NEEDS_ARGS),
        (decisions(edit([2, 4])), NEEDS_ARGS),
        (decisions(edit({"a": 2}, "power")), "decision 1 (add): there is no tool 'power'"),
        (decisions(edit({"a": "x", "b": 4})), f"decision 1 (add): {NOT_A_NUMBER}"),
        (decisions(edit({"a": 2})), "decision 1 (add): b: Field required"),
        (
            decisions({"type": "reject", "message": 3}),
            "decision 1 (add): a reject's message must be a string",
        ),
    ],
)
def test_a_refused_answer_asks_again_with_the_error_and_runs_nothing(
    graph: Graph, resume: Any, error: str
) -> None:
    ask(graph, "2 + 3")
    before = graph.get_state(thread()).values["messages"]
    out = answer(graph, resume)
    assert [i.value for i in out["__interrupt__"]] == [{**ADD_REQUEST, "error": error}]
    state = graph.get_state(thread())
    assert state.next == (approval.REVIEW_NODE,)
    assert [i.value for i in state.interrupts] == [{**ADD_REQUEST, "error": error}]
    assert state.values["messages"] == before  # nothing ran, nothing was written
    # A valid answer after the refusal is taken.
    out = answer(graph, {"decisions": [{"type": "approve"}]})
    assert "__interrupt__" not in out
    assert shown(out["messages"][2:]) == [
        ("tool", "5", "success"),
        ("ai", "The result of adding 2 and 3 is 5.", None),
    ]


def test_each_refusal_says_what_was_wrong_with_the_latest_answer(graph: Graph) -> None:
    ask(graph, "2 + 3")
    first = answer(graph, {"decisions": []})["__interrupt__"][0]
    second = answer(graph, {"decisions": [{"type": "nope"}]})["__interrupt__"][0]
    assert first.value["error"] == "1 tool call(s) wait for review, but 0 decision(s) came"
    assert second.value["error"] == (
        "decision 1 (add): the type must be one of approve, edit, reject, got 'nope'"
    )
    assert first.id != second.id  # a fresh question each time
    edit = {"type": "edit", "edited_action": {"args": {"a": 1, "b": 1}}}
    out = answer(graph, {"decisions": [edit]})
    assert out["messages"][-1].text == "The result of adding 1 and 1 is 2."


@pytest.mark.usefixtures("scripted_plans")
def test_a_refused_decision_among_parallel_calls_runs_none_of_them(graph: Graph) -> None:
    ask(graph, PARALLEL)
    bad_second = [
        {"type": "approve"},
        {"type": "edit", "edited_action": {"args": {"a": 4}}},
    ]
    out = answer(graph, {"decisions": bad_second})
    assert out["__interrupt__"][0].value["error"] == "decision 2 (multiply): b: Field required"
    assert not any(isinstance(m, ToolMessage) for m in graph.get_state(thread()).values["messages"])


@pytest.mark.parametrize(
    ("resume", "error"),
    [
        ("yes", SHAPE),
        (decisions({"type": "edit", "edited_action": "x"}), NEEDS_ARGS),
        (decisions({"type": "edit", "edited_action": {"name": "add"}}), NEEDS_ARGS),
    ],
)
def test_apply_decisions_raises_invalid_decision(resume: Any, error: str) -> None:
    call = ToolCall(name="add", args={"a": 2, "b": 3}, id="c1", type="tool_call")
    with pytest.raises(approval.InvalidDecision) as raised:
        approval.apply_decisions([call], resume)
    assert str(raised.value) == error


def test_apply_decisions_returns_the_calls_as_they_now_stand() -> None:
    add = ToolCall(name="add", args={"a": 2, "b": 3}, id="c1", type="tool_call")
    mul = ToolCall(name="multiply", args={"a": 4, "b": 5}, id="c2", type="tool_call")
    div = ToolCall(name="divide", args={"a": 1, "b": 2}, id="c3", type="tool_call")
    decisions = [
        {"type": "reject", "message": "no"},
        {"type": "edit", "edited_action": {"args": {"a": 1, "b": 1}}},
        {"type": "approve"},
    ]
    revised, to_run, rejected = approval.apply_decisions([add, mul, div], {"decisions": decisions})
    edited = ToolCall(name="multiply", args={"a": 1, "b": 1}, id="c2", type="tool_call")
    assert revised == [add, edited, div]
    assert to_run == [edited, div]
    assert [(m.text, m.tool_call_id, m.name, m.status) for m in rejected] == [
        ("no", "c1", "add", "error")
    ]


# --- a new message instead of a decision --------------------------------------------


@pytest.mark.parametrize("as_list", [True, False])
def test_a_message_instead_of_a_decision_drops_the_calls(graph: Graph, as_list: bool) -> None:
    ask(graph, "2 + 3")
    call = pending_call(graph)
    sent = {"role": "user", "content": "hi! I'm Ada", "id": "h2"}
    out = answer(graph, {"messages": [sent] if as_list else sent})
    assert "__interrupt__" not in out
    messages = out["messages"]
    assert shown(messages) == [
        ("human", "2 + 3", None),
        ("ai", "", None),
        ("tool", memory.DROPPED_CALL, "error"),
        ("human", "hi! I'm Ada", None),
        ("ai", "Hi Ada! How can I assist you today?", None),
    ]
    assert (messages[2].tool_call_id, messages[2].name) == (call["id"], "add")
    assert messages[3].id == "h2"
    assert messages[1].tool_calls == [call]
    assert graph.get_state(thread()).interrupts == ()
    assert sequence_error(convert_to_openai_messages(messages)) is None


@pytest.mark.usefixtures("scripted_plans")
def test_a_message_drops_every_parallel_call(graph: Graph) -> None:
    ask(graph, PARALLEL)
    out = answer(graph, {"messages": [HumanMessage("never mind", id="h2")]})
    assert [(m.tool_call_id, m.text) for m in out["messages"][2:4]] == [
        (ADD_ID, memory.DROPPED_CALL),
        (MULTIPLY_ID, memory.DROPPED_CALL),
    ]
    assert out["messages"][4].id == "h2"
    assert sequence_error(convert_to_openai_messages(out["messages"])) is None


def test_decisions_win_over_messages_in_one_answer(graph: Graph) -> None:
    ask(graph, "2 + 3")
    both = {"decisions": [{"type": "approve"}], "messages": [HumanMessage("ignored")]}
    out = answer(graph, both)
    assert [m.text for m in out["messages"]] == [
        "2 + 3",
        "",
        "5",
        "The result of adding 2 and 3 is 5.",
    ]


def test_new_input_instead_of_a_resume_leaves_the_call_and_tells_the_model(
    graph: Graph, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A run-centric run with new input does not resume: the call stays without a
    # result in the thread, and the model's prompt says it was not run.
    model = RecordingModel(delay=0, requests=[])
    monkeypatch.setitem(models._loaded, "openai:recording", model)
    context = AgentContext(approve_tools=True, model="openai:recording")
    ask(graph, "2 + 3", context)
    call = pending_call(graph)
    out = graph.invoke(
        {"messages": [HumanMessage("hi! I'm Ada", id="h2")]}, thread(), context=context
    )
    assert shown(out["messages"]) == [
        ("human", "2 + 3", None),
        ("ai", "", None),
        ("human", "hi! I'm Ada", None),
        ("ai", "Hi Ada! How can I assist you today?", None),
    ]
    assert graph.get_state(thread()).interrupts == ()
    prompt = model.requests[-1]
    assert shown(prompt) == [
        ("system", prompts.AGENT_SYSTEM_PROMPT, None),
        ("human", "2 + 3", None),
        ("ai", "", None),
        ("tool", memory.DROPPED_CALL, "error"),
        ("human", "hi! I'm Ada", None),
    ]
    assert prompt[3].tool_call_id == call["id"]  # type: ignore[attr-defined]
    assert sequence_error(convert_to_openai_messages(prompt)) is None


# --- memory: dropped calls and summaries -----------------------------------------------


def _call(call_id: str, name: str = "add") -> ToolCall:
    return ToolCall(name=name, args={"a": 1, "b": 2}, id=call_id, type="tool_call")


def test_answer_dropped_calls_answers_only_the_calls_left_without_results() -> None:
    messages: list[BaseMessage] = [
        HumanMessage("q1"),
        AIMessage("", tool_calls=[_call("a1"), _call("a2", "multiply")]),
        ToolMessage("3", tool_call_id="a2"),
        HumanMessage("q2"),
        AIMessage("", tool_calls=[_call("b1")]),
        ToolMessage("3", tool_call_id="b1"),
        AIMessage("3"),
        HumanMessage("q3"),
        AIMessage("", tool_calls=[_call("c1")]),
    ]
    answered = memory.answer_dropped_calls(messages)
    dropped = answered[3]
    assert isinstance(dropped, ToolMessage)
    assert (dropped.text, dropped.tool_call_id, dropped.name, dropped.status) == (
        memory.DROPPED_CALL,
        "a1",
        "add",
        "error",
    )
    assert answered[:3] + answered[4:] == messages
    # The last call waits for review: it is not a prompt's, and stays unanswered.
    assert answered[-1] is messages[-1]
    assert memory.answer_dropped_calls(messages[:-1]) == answered[:-1]
    assert sequence_error(convert_to_openai_messages(answered[:-1])) is None
    assert memory.answer_dropped_calls([]) == []


def test_dropped_results_name_each_call() -> None:
    results = memory.dropped_results([_call("x1"), _call("x2", "divide")])
    assert [(r.text, r.tool_call_id, r.name, r.status) for r in results] == [
        (memory.DROPPED_CALL, "x1", "add", "error"),
        (memory.DROPPED_CALL, "x2", "divide", "error"),
    ]
    assert memory.DROPPED_CALL == (
        "Not run: the user sent a new message instead of reviewing this call."
    )


_ids = iter(range(10**9))


def _id() -> str:
    return f"x{next(_ids)}"


@st.composite
def histories_with_dropped_calls(draw: st.DrawFn) -> tuple[list[BaseMessage], int]:
    """Return a thread whose turns may end at a call left without (all) its results.

    Also returns how many calls have no result. The thread ends with a new human
    message, as a prompt does.
    """
    messages: list[BaseMessage] = []
    unanswered = 0
    for _ in range(draw(st.integers(min_value=1, max_value=5))):
        messages.append(HumanMessage("q", id=_id()))
        for _ in range(draw(st.integers(min_value=0, max_value=2))):
            width = draw(st.integers(min_value=1, max_value=3))
            calls = [
                _call(f"call_{_id()}", draw(st.sampled_from(["add", "divide"])))
                for _ in range(width)
            ]
            messages.append(AIMessage("", tool_calls=calls, id=_id()))
            kept = draw(st.lists(st.booleans(), min_size=width, max_size=width))
            answered = draw(
                st.permutations([c for c, keep in zip(calls, kept, strict=True) if keep])
            )
            messages += [ToolMessage("3", tool_call_id=c["id"], id=_id()) for c in answered]
            if len(answered) < width:  # dropped: the user wrote instead
                unanswered += width - len(answered)
                break
        else:
            if draw(st.booleans()):
                messages.append(AIMessage("answer", id=_id()))
    messages.append(HumanMessage("new message", id=_id()))
    return messages, unanswered


@settings(max_examples=300, deadline=None)
@given(history=histories_with_dropped_calls(), summary=st.sampled_from(["", "Ada likes sums."]))
def test_every_prompt_built_from_a_thread_with_dropped_calls_is_valid_for_openai(
    history: tuple[list[BaseMessage], int], summary: str
) -> None:
    messages, unanswered = history
    answered = memory.answer_dropped_calls(messages)
    assert sequence_error(convert_to_openai_messages(answered)) is None
    added = [m for m in answered if m not in messages]
    assert len(added) == unanswered
    assert all(
        isinstance(m, ToolMessage) and (m.text, m.status) == (memory.DROPPED_CALL, "error")
        for m in added
    )
    assert [m for m in answered if m in messages] == messages  # nothing else changes
    prompt = memory.with_summary(messages, summary, "Be brief.")
    assert sequence_error(convert_to_openai_messages(prompt)) is None
    assert prompt[0] == SystemMessage("Be brief.")
    assert prompt[len(prompt) - len(answered) :] == answered
    request = memory.summary_request(messages, summary)
    assert sequence_error(convert_to_openai_messages(request)) is None
    assert request[:-1] == answered


def test_summary_request_and_prompt_answer_a_dropped_call() -> None:
    messages: list[BaseMessage] = [
        HumanMessage("2 + 3"),
        AIMessage("", tool_calls=[_call("d1")]),
        HumanMessage("hi"),
    ]
    dropped = ("tool", memory.DROPPED_CALL, "error")
    assert shown(memory.summary_request(messages, "")) == [
        ("human", "2 + 3", None),
        ("ai", "", None),
        dropped,
        ("human", "hi", None),
        ("human", prompts.CREATE_SUMMARY_PROMPT, None),
    ]
    assert shown(memory.with_summary(messages, "S", "")) == [
        ("system", prompts.SUMMARY_SYSTEM_PREFIX + "S", None),
        ("human", "2 + 3", None),
        ("ai", "", None),
        dropped,
        ("human", "hi", None),
    ]


def test_no_summary_while_a_call_waits_for_review(graph: Graph) -> None:
    context = AgentContext(approve_tools=True, summarize_after=1, keep_last=0)
    out = ask(graph, "2 + 3", context)
    assert "__interrupt__" in out
    state = graph.get_state(thread())
    assert "summary" not in state.values
    assert shown(state.values["messages"]) == [("human", "2 + 3", None), ("ai", "", None)]
    assert state.values["messages"][-1].tool_calls[0]["name"] == "add"
    # Once the turn ends, the summary it made due runs.
    out = answer(graph, {"decisions": [{"type": "approve"}]}, context)
    assert out == {"messages": [], "summary": "Recent requests: 2 + 3."}


async def test_the_review_node_runs_async_too(graph: Graph) -> None:
    config = thread("async")
    out = await graph.ainvoke({"messages": [HumanMessage("2 + 3")]}, config, context=REVIEW)
    assert [i.value for i in out["__interrupt__"]] == [ADD_REQUEST]
    edit = {"type": "edit", "edited_action": {"args": {"a": 2, "b": 4}}}
    out = await graph.ainvoke(Command(resume={"decisions": [edit]}), config, context=REVIEW)
    assert out["messages"][-1].text == "The result of adding 2 and 4 is 6."
