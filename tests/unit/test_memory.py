"""Summarizing memory: routing, the tool-pair-safe cut, and the summarizer node."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    RemoveMessage,
    SystemMessage,
    ToolMessage,
    convert_to_openai_messages,
)
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langgraph.checkpoint.memory import MemorySaver
from langgraph.graph import END

from agent import memory, models, prompts
from agent.chatbot import builder as chatbot_builder
from agent.context import Context
from tests.support.fake_openai import sequence_error

_ids = itertools.count()


def _id() -> str:
    return f"m{next(_ids)}"


def turn(tool_rounds: list[int]) -> list[BaseMessage]:
    """Return one finished turn: a question, rounds of parallel tool calls, an answer."""
    messages: list[BaseMessage] = [HumanMessage("q", id=_id())]
    for width in tool_rounds:
        calls = [{"name": "add", "args": {}, "id": f"call_{_id()}"} for _ in range(width)]
        messages.append(AIMessage("", tool_calls=calls, id=_id()))
        messages += [ToolMessage("1", tool_call_id=c["id"], id=_id()) for c in calls]
    messages.append(AIMessage("answer", id=_id()))
    return messages


conversations = st.lists(
    st.lists(st.integers(min_value=1, max_value=3), max_size=3), min_size=1, max_size=8
).map(lambda turns: [m for rounds in turns for m in turn(rounds)])


def assert_pairs_intact(messages: list[BaseMessage]) -> None:
    """Assert OpenAI would accept `messages`: every tool call answered, every result paired."""
    assert sequence_error(convert_to_openai_messages(messages)) is None


@settings(max_examples=300, deadline=None)
@given(conversation=conversations, keep_last=st.integers(min_value=0, max_value=12))
def test_kept_tail_never_splits_a_tool_call_from_its_results(
    conversation: list[BaseMessage], keep_last: int
) -> None:
    start = memory.keep_from(conversation, keep_last)
    tail = conversation[start:]
    assert_pairs_intact(tail)
    assert len(tail) >= min(keep_last, len(conversation))
    removed = memory.messages_to_remove(conversation, keep_last)
    assert [r.id for r in removed] == [m.id for m in conversation[:start]]
    # The cut moves only as far as it must: past the ToolMessages, onto their AI call.
    if keep_last and start < len(conversation) - keep_last:
        first = conversation[start]
        assert isinstance(first, AIMessage) and first.tool_calls


def test_cut_moves_onto_the_tool_call_when_the_tail_would_start_with_its_result() -> None:
    messages = turn([]) + turn([2])  # H A | H AI(2 calls) T T A
    assert memory.keep_from(messages, 2) == 3  # the AI tool call, not the second ToolMessage
    assert memory.keep_from(messages, 3) == 3
    assert memory.keep_from(messages, 5) == 2
    assert memory.keep_from(messages, 0) == len(messages)
    assert memory.keep_from(messages, 99) == 0


def test_removes_exactly_the_messages_before_the_last_k() -> None:
    messages = turn([]) + turn([]) + turn([]) + turn([])
    removed = memory.messages_to_remove(messages, 2)
    assert all(isinstance(r, RemoveMessage) for r in removed)
    assert [r.id for r in removed] == [m.id for m in messages[:6]]
    # keep_last=0 removes everything; the tutorial's `[:-0]` slice would remove nothing.
    assert len(memory.messages_to_remove(messages, 0)) == len(messages)


@pytest.mark.parametrize(
    ("count", "expected"),
    [(5, END), (6, END), (7, memory.SUMMARIZE_NODE), (8, memory.SUMMARIZE_NODE)],
)
def test_summarizes_only_past_the_threshold(count: int, expected: str) -> None:
    messages: list[BaseMessage] = [HumanMessage("q"), AIMessage("a")] * 4
    messages = messages[len(messages) - count :]
    assert memory.needs_summary(messages, 6) == (expected == memory.SUMMARIZE_NODE)


def test_never_summarizes_in_the_middle_of_a_turn() -> None:
    long = turn([]) * 5
    call = AIMessage("", tool_calls=[{"name": "add", "args": {}, "id": "c1"}])
    assert memory.needs_summary(long, 6)
    assert not memory.needs_summary([*long, call], 6)
    assert not memory.needs_summary([*long, call, ToolMessage("1", tool_call_id="c1")], 6)
    assert not memory.needs_summary([*long, HumanMessage("q")], 6)


def test_summary_is_prepended_as_a_system_message() -> None:
    history = [HumanMessage("hi")]
    assert memory.with_summary(history, "", "") == history
    model_input = memory.with_summary(history, "Lance likes football.", "Be brief.")
    assert model_input == [
        SystemMessage("Be brief."),
        SystemMessage("Summary of conversation earlier: Lance likes football."),
        HumanMessage("hi"),
    ]


def test_summary_request_creates_then_extends() -> None:
    history = [HumanMessage("hi"), AIMessage("hello")]
    assert memory.summary_request(history, "")[-1] == HumanMessage(prompts.CREATE_SUMMARY_PROMPT)
    extend = memory.summary_request(history, "Lance said hi.")[-1]
    assert extend.content == (
        "This is summary of the conversation to date: Lance said hi.\n\n"
        "Extend the summary by taking into account the new messages above:"
    )
    assert memory.summary_request(history, "x")[:-1] == history


def test_context_validates_the_window() -> None:
    assert Context().summarize_after == 6 and Context().keep_last == 2
    with pytest.raises(ValueError, match="keep_last"):
        Context(summarize_after=3, keep_last=4)
    with pytest.raises(ValueError, match="summarize_after"):
        Context(summarize_after=0)


def _scripted_model(fail_summary: bool) -> RunnableLambda[list[BaseMessage], AIMessage]:
    """Return a model that answers every turn and fails (or not) on the summary prompt."""
    answers: Iterator[int] = itertools.count()

    def reply(messages: list[BaseMessage]) -> AIMessage:
        prompt = str(messages[-1].content)
        if prompt.startswith(("Create a summary", "This is summary")):
            if fail_summary:
                raise RuntimeError("model unavailable")
            return AIMessage(f"summary after {len(messages) - 1} messages")
        return AIMessage(f"answer {next(answers)}")

    return RunnableLambda(reply)


@pytest.mark.parametrize("fail_summary", [False, True])
def test_summarizer_node_cuts_or_keeps_everything_when_it_fails(
    monkeypatch: pytest.MonkeyPatch, fail_summary: bool
) -> None:
    monkeypatch.setitem(models._loaded, "scripted", _scripted_model(fail_summary))
    graph = chatbot_builder.compile(checkpointer=MemorySaver())
    config: RunnableConfig = {"configurable": {"thread_id": "t"}}
    context = Context(model="scripted", summarize_after=4, keep_last=2)
    for n in range(2):
        graph.invoke({"messages": [HumanMessage(f"q{n}")]}, config, context=context)
    assert "summary" not in graph.get_state(config).values  # 4 messages: not yet

    state = graph.invoke({"messages": [HumanMessage("q2")]}, config, context=context)
    if fail_summary:
        assert [m.content for m in state["messages"]] == ["q0", "answer 0", "q1", "answer 1",
                                                          "q2", "answer 2"]  # fmt: skip
        assert "summary" not in state
    else:
        assert [m.content for m in state["messages"]] == ["q2", "answer 2"]
        assert state["summary"] == "summary after 6 messages"
