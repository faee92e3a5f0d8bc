"""In-process streams through the shared decoder: every mode, subgraphs, sync = async."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.config import get_stream_writer
from langgraph.graph import START, MessagesState, StateGraph

from agent import agent, chatbot
from agent.offline import OfflineChatModel
from client.errors import InvalidInput
from client.events import (
    CustomEvent,
    MessageFinished,
    MessageStarted,
    NodeUpdate,
    RunEnded,
    RunError,
    RunStarted,
    StateValues,
    StreamEvent,
    TextDelta,
    ToolCallProgress,
    to_json,
)
from client.local.adapter import astream_events, local_modes, stream_events
from client.local.runtime import thread_config

MULTIPLY = {"messages": [{"role": "user", "content": "Multiply 2 and 3"}]}
ALL_MODES = ("messages-tuple", "updates", "values", "custom")


def normalized(events: list[StreamEvent]) -> list[dict[str, Any]]:
    """Return the events as JSON with run, thread and message ids numbered by appearance."""
    ids: dict[str, str] = {}
    for event in events:
        for name in ("run_id", "thread_id", "message_id"):
            value = getattr(event, name, None)
            if isinstance(value, str) and value:
                ids.setdefault(value, f"id{len(ids)}")
    text = json.dumps([to_json(e) for e in events], sort_keys=True)
    for value, alias in ids.items():
        text = text.replace(value, alias)
    return list(json.loads(text))


async def collect(events: Any) -> list[StreamEvent]:
    return [event async for event in events]


async def test_astream_and_stream_give_the_same_events() -> None:
    graph = agent.builder.compile(checkpointer=InMemorySaver())
    sync = list(stream_events(graph, MULTIPLY, thread_config("u", "sync"), stream_mode=ALL_MODES))
    asynchronous = await collect(
        astream_events(graph, MULTIPLY, thread_config("u", "async"), stream_mode=ALL_MODES)
    )
    assert normalized(sync) == normalized(asynchronous)
    assert isinstance(sync[0], RunStarted) and isinstance(sync[-1], RunEnded)
    assert [e.args for e in sync if isinstance(e, ToolCallProgress)] == [
        {},
        {"a": 2},
        {"a": 2, "b": 3},
    ]
    assert any(isinstance(e, StateValues) for e in sync)
    assert {e.node for e in sync if isinstance(e, NodeUpdate)} == {"assistant", "tools"}


async def test_events_mode_gives_the_same_messages_as_messages_mode() -> None:
    graph = agent.builder.compile(checkpointer=InMemorySaver())
    by_events = await collect(
        astream_events(graph, MULTIPLY, thread_config("u", "e"), stream_mode="events")
    )
    by_tuples = await collect(
        astream_events(graph, MULTIPLY, thread_config("u", "t"), stream_mode="messages-tuple")
    )

    def texts(events: list[StreamEvent]) -> list[str]:
        return [e.text for e in events if isinstance(e, TextDelta)]

    assert texts(by_events) == texts(by_tuples) != []
    finished = [e.message.text for e in by_events if isinstance(e, MessageFinished)]
    assert finished[-1] == "The result of multiplying 2 and 3 is 6."


def test_events_mode_is_alone_and_async_only() -> None:
    assert local_modes(["messages-tuple", "messages", "updates"]) == ("messages", "updates")
    assert local_modes("events") == "events"
    with pytest.raises(InvalidInput):
        local_modes(["events", "updates"])
    with pytest.raises(InvalidInput):
        stream_events(agent.graph, MULTIPLY, stream_mode="events")


async def _answer_without_config(state: MessagesState) -> dict[str, Any]:
    # No `config` passed on: on Python 3.11+ the callbacks reach the model anyway.
    model = OfflineChatModel(delay=0)
    return {"messages": [await model.ainvoke(state["messages"])]}


async def test_tokens_stream_without_passing_config_by_hand() -> None:
    assert sys.version_info >= (3, 11)
    builder = StateGraph(MessagesState)
    builder.add_node("answer", _answer_without_config)
    builder.add_edge(START, "answer")
    graph = builder.compile()
    hello = {"messages": [{"role": "user", "content": "count to 4"}]}
    for mode in ("events", "messages-tuple"):
        events = await collect(astream_events(graph, hello, stream_mode=mode))
        assert [e.text for e in events if isinstance(e, TextDelta)] == ["1", " 2", " 3", " 4"]


def test_the_graph_nodes_still_take_and_pass_config() -> None:
    for node in (chatbot.conversation, chatbot.aconversation, agent.assistant, agent.aassistant):
        assert "config" in node.__code__.co_varnames[: node.__code__.co_argcount]


def _inner_node(state: MessagesState, config: RunnableConfig) -> dict[str, Any]:
    get_stream_writer()({"progress": "inner"})
    return {"messages": [OfflineChatModel(delay=0).invoke(state["messages"], config)]}


async def test_subgraphs_and_custom_events_carry_their_namespace() -> None:
    inner = StateGraph(MessagesState)
    inner.add_node("reply", _inner_node)
    inner.add_edge(START, "reply")
    outer = StateGraph(MessagesState)
    outer.add_node("inner", inner.compile())
    outer.add_edge(START, "inner")
    graph = outer.compile()
    hello = {"messages": [{"role": "user", "content": "hello"}]}
    events = await collect(
        astream_events(graph, hello, stream_mode=("messages-tuple", "custom", "updates"))
    )
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert "".join(d.text for d in deltas) == "Hello! How can I assist you today?"
    assert all(d.node == "reply" and d.namespace[0].startswith("inner:") for d in deltas)
    customs = [e for e in events if isinstance(e, CustomEvent)]
    assert [c.data for c in customs] == [{"progress": "inner"}]
    assert customs[0].namespace[0].startswith("inner:")


def _failing_node(state: MessagesState) -> dict[str, Any]:
    raise RuntimeError("the model is down\nsecond line")


async def test_a_failure_becomes_run_error_after_the_partial_output() -> None:
    builder = StateGraph(MessagesState)
    builder.add_node("first", lambda state: {"messages": [AIMessage("partial", id="m1")]})
    builder.add_node("boom", _failing_node)
    builder.add_edge(START, "first")
    builder.add_edge("first", "boom")
    graph = builder.compile()
    events = await collect(astream_events(graph, MULTIPLY, stream_mode="updates"))
    kinds = [type(e) for e in events]
    assert kinds[-2:] == [RunError, RunEnded]
    assert MessageStarted in kinds[: kinds.index(RunError)]
    error = events[-2]
    assert isinstance(error, RunError) and error.message == "the model is down"
    ended = events[-1]
    assert isinstance(ended, RunEnded) and ended.status == "error"
    sync = list(stream_events(graph, MULTIPLY, stream_mode="updates"))
    assert normalized(sync) == normalized(events)


async def test_a_second_turn_reports_its_input_and_answer_only() -> None:
    graph = chatbot.builder.compile(checkpointer=InMemorySaver())
    config = thread_config("u", "history")
    first = {"messages": [{"role": "user", "content": "hi! I'm Lance"}]}
    second = {"messages": [{"role": "user", "content": "what's my name?"}]}
    for modes in (("values",), ("values", "messages-tuple"), ("values", "updates")):
        await collect(astream_events(graph, first, config, stream_mode=modes))
        events = await collect(astream_events(graph, second, config, stream_mode=modes))
        finished = [
            (e.message.type, e.message.text) for e in events if isinstance(e, MessageFinished)
        ]
        # The input's messages carry no ids: the trailing human message is the input.
        assert finished == [("human", "what's my name?"), ("ai", "Your name is Lance.")], modes
