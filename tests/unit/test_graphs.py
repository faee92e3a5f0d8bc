"""Both graphs in-process: served shape, stream modes, tools, memory, summarization."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import MemorySaver
from pydantic import Field

from agent import agent as agent_module
from agent import chatbot as chatbot_module
from agent import models
from agent.context import AgentContext, Context
from agent.offline import OfflineChatModel
from agent.state import InputState

ROOT = Path(__file__).resolve().parents[2]


def _thread(thread_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id}}


def _texts(messages: Sequence[BaseMessage]) -> list[tuple[str, str]]:
    return [(m.type, m.text) for m in messages]


@pytest.mark.parametrize("module", [agent_module, chatbot_module])
def test_served_graphs_have_no_checkpointer_and_take_only_messages(module: Any) -> None:
    assert module.graph.checkpointer is None
    assert module.graph.name == module.__name__.rsplit(".", 1)[1]
    assert list(module.graph.get_input_jsonschema()["properties"]) == ["messages"]
    context = module.graph.get_context_jsonschema()
    review = ["approve_tools"] if module is agent_module else []
    assert list(context["properties"]) == [
        "model",
        "system_prompt",
        "summarize_after",
        "keep_last",
        "max_prompt_tokens",
        *review,
    ]
    assert all(p.get("description") for p in context["properties"].values())


DRAWN_EDGES: dict[str, set[tuple[str, str, bool]]] = {
    "chatbot": {
        ("__start__", "conversation", False),
        ("conversation", "summarize_conversation", True),
        ("conversation", "__end__", True),
        ("summarize_conversation", "__end__", False),
    },
    "agent": {
        ("__start__", "assistant", False),
        ("assistant", "tools", True),
        ("assistant", "review_tools", True),
        ("review_tools", "tools", True),
        ("review_tools", "assistant", True),
        ("assistant", "summarize_conversation", True),
        ("assistant", "__end__", True),
        ("tools", "assistant", False),
        ("summarize_conversation", "__end__", False),
    },
}
"""(source, target, conditional) of every edge Studio should draw, per graph."""


def reachable_from_start(edges: set[tuple[str, str, bool]]) -> set[str]:
    """Return the nodes a walk along `edges` from `__start__` reaches."""
    seen, todo = {"__start__"}, ["__start__"]
    while todo:
        node = todo.pop()
        for source, target, _ in edges:
            if source == node and target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


@pytest.mark.parametrize("module", [agent_module, chatbot_module])
def test_drawing_reaches_every_node_and_marks_branches_conditional(module: Any) -> None:
    drawing = module.graph.get_graph(xray=True)
    edges = {(e.source, e.target, e.conditional) for e in drawing.edges}
    assert edges == DRAWN_EDGES[module.graph.name]
    assert reachable_from_start(edges) == set(drawing.nodes)
    mermaid = drawing.draw_mermaid()
    source = "conversation" if module is chatbot_module else "assistant"
    assert f"{source} -.-> summarize_conversation;" in mermaid


def test_langgraph_json_registers_both_graphs_with_descriptions() -> None:
    config = json.loads((ROOT / "langgraph.json").read_text())
    assert {k: v["path"] for k, v in config["graphs"].items()} == {
        "chatbot": "./agent/chatbot.py:graph",
        "agent": "./agent/agent.py:graph",
    }
    assert all(v["description"] for v in config["graphs"].values())


def test_langgraph_validate_accepts_the_config() -> None:
    cli = Path(sys.executable).with_name("langgraph")
    result = subprocess.run(
        [str(cli), "validate", "--config", str(ROOT / "langgraph.json")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_updates_mode_streams_one_update_per_node() -> None:
    graph = agent_module.builder.compile(checkpointer=MemorySaver())
    updates = list(
        graph.stream(
            {"messages": [HumanMessage("Multiply 2 and 3")]}, _thread("u"), stream_mode="updates"
        )
    )
    assert [next(iter(u)) for u in updates] == ["assistant", "tools", "assistant"]
    call = updates[0]["assistant"]["messages"][0]
    assert call.tool_calls[0]["name"] == "multiply"
    assert call.tool_calls[0]["args"] == {"a": 2, "b": 3}
    assert updates[1]["tools"]["messages"][0].content == "6"
    assert updates[2]["assistant"]["messages"][0].content == (
        "The result of multiplying 2 and 3 is 6."
    )


def test_values_mode_streams_the_whole_state_after_each_step() -> None:
    graph = chatbot_module.builder.compile(checkpointer=MemorySaver())
    values = list(
        graph.stream(
            {"messages": [HumanMessage("hi! I'm Lance")]}, _thread("v"), stream_mode="values"
        )
    )
    assert [_texts(v["messages"]) for v in values] == [
        [("human", "hi! I'm Lance")],
        [("human", "hi! I'm Lance"), ("ai", "Hi Lance! How can I assist you today?")],
    ]


async def test_astream_and_stream_give_the_same_updates() -> None:
    graph = agent_module.builder.compile(checkpointer=MemorySaver())
    request: InputState = {"messages": [HumanMessage("7 * 8")]}
    sync = list(graph.stream(request, _thread("s"), stream_mode="updates"))
    asynchronous = [u async for u in graph.astream(request, _thread("a"), stream_mode="updates")]

    def shape(updates: list[dict[str, Any]]) -> list[tuple[str, list[tuple[str, str]]]]:
        return [(node, _texts(u["messages"])) for update in updates for node, u in update.items()]

    assert shape(sync) == shape(asynchronous)


def test_divide_by_zero_becomes_a_tool_error_not_a_crash() -> None:
    graph = agent_module.builder.compile(checkpointer=MemorySaver())
    state = graph.invoke({"messages": [HumanMessage("what is 5 divided by 0")]}, _thread("d"))
    result = state["messages"][2]
    assert isinstance(result, ToolMessage) and result.status == "error"
    assert result.content == "Error: cannot divide 5 by zero"
    assert (
        state["messages"][-1].content
        == "I couldn't finish dividing 5 by 0: cannot divide 5 by zero."
    )


async def test_memory_survives_summarization() -> None:
    graph = chatbot_module.builder.compile(checkpointer=MemorySaver())
    config = _thread("memory")
    for text in ["hi! I'm Lance", "tell me a joke", "count to 3", "thanks"]:
        await graph.ainvoke({"messages": [HumanMessage(text)]}, config)
    state = (await graph.aget_state(config)).values
    assert state["summary"].startswith("The user's name is Lance.")
    assert len(state["messages"]) == 2
    answer = await graph.ainvoke({"messages": [HumanMessage("what's my name?")]}, config)
    assert answer["messages"][-1].content == "Your name is Lance."


async def test_summarizer_tokens_stay_out_of_the_messages_stream() -> None:
    graph = chatbot_module.builder.compile(checkpointer=MemorySaver())
    config = _thread("nostream")
    for text in ["hi! I'm Lance", "one", "two"]:
        await graph.ainvoke({"messages": [HumanMessage(text)]}, config)
    nodes = [
        metadata["langgraph_node"]  # type: ignore[index]
        async for _, metadata in graph.astream(
            {"messages": [HumanMessage("three")]}, config, stream_mode="messages"
        )
    ]
    assert set(nodes) == {"conversation"}
    assert (await graph.aget_state(config)).values["summary"]  # the summarizer did run


class RecordingModel(OfflineChatModel):
    """The offline model, recording every conversation it is asked to continue."""

    requests: list[list[BaseMessage]] = Field(default_factory=list)

    def _chunks(self, messages: list[BaseMessage], tools: Any) -> Any:
        self.requests.append(list(messages))
        return super()._chunks(messages, tools)


async def test_long_tool_conversation_always_sends_valid_sequences(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.unit.test_memory import assert_pairs_intact

    model = RecordingModel(delay=0, requests=[])
    monkeypatch.setitem(models._loaded, "openai:recording", model)
    graph = agent_module.builder.compile(checkpointer=MemorySaver())
    config = _thread("long")
    asks = ["Multiply 2 and 3", "hello", "add 3 and 4", "9 / 0", "what is 10 divided by 2"]
    for n in range(30):
        context = AgentContext(model="openai:recording", summarize_after=3 + n % 5, keep_last=n % 4)
        await graph.ainvoke({"messages": [HumanMessage(asks[n % len(asks)])]}, config,
                            context=context)  # fmt: skip
    assert len(model.requests) >= 60
    for request in model.requests:
        assert_pairs_intact([m for m in request if m.type != "system"])
    state = (await graph.aget_state(config)).values
    assert state["summary"]
    assert isinstance(state["messages"][-1], AIMessage)


SUMMARIZING_NOW = AgentContext(summarize_after=1, keep_last=0)
"""The first finished turn (two messages) already triggers a summary."""

PROGRESS = [
    {"summarization": {"status": "started", "trigger": "messages", "messages": 2}},
    {"summarization": {"status": "done", "removed": 2, "kept": 0}},
]


def test_summarizer_reports_progress_in_custom_mode() -> None:
    graph = chatbot_module.builder.compile(checkpointer=MemorySaver())
    request: InputState = {"messages": [HumanMessage("hi! I'm Lance")]}
    events = list(
        graph.stream(request, _thread("custom"), stream_mode="custom", context=SUMMARIZING_NOW)
    )
    assert events == PROGRESS


async def test_summarizer_reports_progress_in_custom_mode_async() -> None:
    graph = agent_module.builder.compile(checkpointer=MemorySaver())
    request: InputState = {"messages": [HumanMessage("hello")]}
    events = [
        event
        async for event in graph.astream(
            request, _thread("acustom"), stream_mode="custom", context=SUMMARIZING_NOW
        )
    ]
    assert events == PROGRESS


async def test_summarizer_reports_a_failure_in_custom_mode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.unit.test_memory import scripted_model

    monkeypatch.setitem(models._loaded, "openai:failing", scripted_model(fail_summary=True))
    graph = chatbot_module.builder.compile(checkpointer=MemorySaver())
    context = Context(model="openai:failing", summarize_after=1, keep_last=0)
    request: InputState = {"messages": [HumanMessage("hi")]}
    events = [
        event
        async for event in graph.astream(
            request, _thread("fcustom"), stream_mode="custom", context=context
        )
    ]
    assert events == [
        PROGRESS[0],
        {"summarization": {"status": "failed", "error": "RuntimeError: model unavailable"}},
    ]
