"""Summarizing memory: routing, the tool-pair-safe cut, and the summarizer node."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

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
from pydantic import Field

from agent import memory, models, prompts
from agent.chatbot import builder as chatbot_builder
from agent.context import Context
from agent.offline import OfflineChatModel
from devtools.fake_openai import sequence_error

SUMMARY_PROMPTS = ("Create a summary", "This is summary")

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


def scripted_model(fail_summary: bool) -> RunnableLambda[list[BaseMessage], AIMessage]:
    """Return a model that answers every turn and fails (or not) on the summary prompt."""
    answers: Iterator[int] = itertools.count()

    def reply(messages: list[BaseMessage]) -> AIMessage:
        prompt = str(messages[-1].content)
        if prompt.startswith(SUMMARY_PROMPTS):
            if fail_summary:
                raise RuntimeError("model unavailable")
            return AIMessage(f"summary after {len(messages) - 1} messages")
        return AIMessage(f"answer {next(answers)}")

    return RunnableLambda(reply)


@pytest.mark.parametrize("fail_summary", [False, True])
def test_summarizer_node_cuts_or_keeps_everything_when_it_fails(
    monkeypatch: pytest.MonkeyPatch, fail_summary: bool
) -> None:
    monkeypatch.setitem(models._loaded, "openai:scripted", scripted_model(fail_summary))
    graph = chatbot_builder.compile(checkpointer=MemorySaver())
    config: RunnableConfig = {"configurable": {"thread_id": "t"}}
    context = Context(model="openai:scripted", summarize_after=4, keep_last=2)
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


@settings(max_examples=300, deadline=None)
@given(
    conversation=conversations,
    data=st.data(),
    room=st.integers(min_value=0, max_value=60),
)
def test_budget_cut_keeps_the_longest_fitting_tail_without_splitting_tool_pairs(
    conversation: list[BaseMessage], data: st.DataObject, room: int
) -> None:
    sizes = data.draw(
        st.lists(st.integers(1, 9), min_size=len(conversation), max_size=len(conversation))
    )
    start = memory.keep_from_budget(conversation, sizes, room)
    tail = conversation[start:]
    assert_pairs_intact(tail)
    assert sum(sizes[start:]) <= room
    # Only orphaned ToolMessages are given up beyond the longest tail that fits.
    longest = next(i for i in range(len(sizes) + 1) if sum(sizes[i:]) <= room)
    assert all(isinstance(m, ToolMessage) for m in conversation[longest:start])
    assert start == len(conversation) or not isinstance(conversation[start], ToolMessage)


def test_budget_cut_drops_results_whose_call_does_not_fit() -> None:
    messages = turn([]) + turn([2])  # H A | H AI(2 calls) T T A
    sizes = [1, 1, 1, 5, 1, 1, 1]
    assert memory.keep_from_budget(messages, sizes, 3) == 6  # not T T A: just the answer
    assert memory.keep_from_budget(messages, sizes, 8) == 3  # the call and both results
    assert memory.keep_from_budget(messages, sizes, 0) == len(messages)
    assert memory.keep_from_budget(messages, sizes, 99) == 0


@pytest.mark.parametrize(
    ("count", "tokens", "context", "expected"),
    [
        (4, 500, Context(), None),
        (8, 500, Context(), "messages"),
        (8, 500, Context(max_prompt_tokens=400), "messages"),
        (4, 401, Context(max_prompt_tokens=400), "tokens"),
        (4, 400, Context(max_prompt_tokens=400), None),
        (4, 10**6, Context(max_prompt_tokens=0), None),
    ],
)
def test_either_trigger_fires_at_a_finished_turn(
    count: int, tokens: int, context: Context, expected: str | None
) -> None:
    messages: list[BaseMessage] = [HumanMessage("q"), AIMessage("a")] * (count // 2)
    assert memory.summary_trigger(messages, context, lambda: tokens) == expected
    unfinished = [*messages, HumanMessage("q")]
    assert memory.summary_trigger(unfinished, context, lambda: tokens) is None


class RecordingModel(OfflineChatModel):
    """The offline model, recording every request it gets."""

    requests: list[list[BaseMessage]] = Field(default_factory=list)

    def _chunks(self, messages: list[BaseMessage], tools: Any) -> Any:
        self.requests.append(list(messages))
        return super()._chunks(messages, tools)


@pytest.mark.parametrize("budget", [120, 200, 400])
async def test_token_budget_keeps_every_prompt_within_it(
    monkeypatch: pytest.MonkeyPatch, budget: int
) -> None:
    model = RecordingModel(delay=0, requests=[])
    monkeypatch.setitem(models._loaded, "openai:recording", model)
    graph = chatbot_builder.compile(checkpointer=MemorySaver())
    config: RunnableConfig = {"configurable": {"thread_id": f"budget-{budget}"}}
    context = Context(model="openai:recording", summarize_after=1000, max_prompt_tokens=budget)
    for n in range(40):
        words = " ".join(["word"] * (n % 7 * 5))
        text = f"hi! I'm Lance. {words}" if n == 0 else f"count to {n % 9} {words}"
        await graph.ainvoke({"messages": [HumanMessage(text)]}, config, context=context)
    turns = [r for r in model.requests if not str(r[-1].content).startswith(SUMMARY_PROMPTS)]
    summaries = len(model.requests) - len(turns)
    assert len(turns) == 40
    # The prompt a turn starts from (everything before its new message) fits the budget.
    starts = [model.get_num_tokens_from_messages(r[:-1]) for r in turns]
    assert max(starts) <= budget
    assert 0 < summaries < 40 / 2
    state = (await graph.aget_state(config)).values
    assert state["summary"].startswith("The user's name is Lance.")


@settings(max_examples=300, deadline=None)
@given(
    conversation=conversations,
    data=st.data(),
    keep_last=st.integers(min_value=0, max_value=12),
    budget=st.integers(min_value=0, max_value=80),
    head=st.integers(min_value=0, max_value=40),
    trigger=st.sampled_from(["messages", "tokens"]),
)
def test_cut_after_a_summary_fits_the_budget_whenever_the_head_does(
    conversation: list[BaseMessage],
    data: st.DataObject,
    keep_last: int,
    budget: int,
    head: int,
    trigger: memory.Trigger,
) -> None:
    sizes = data.draw(
        st.lists(st.integers(1, 9), min_size=len(conversation), max_size=len(conversation))
    )
    context = Context(summarize_after=12, keep_last=keep_last, max_prompt_tokens=budget)
    start = memory.cut_index(conversation, context, trigger, sizes, head)
    assert_pairs_intact(conversation[start:])
    if trigger == "messages":
        assert start >= memory.keep_from(conversation, keep_last)
    if budget:
        room = memory.budget_room(context, head)
        assert room == int(budget * 0.75) - head
        if room >= 0:  # the system prompt and summary leave room: the tail fits it
            assert head + sum(sizes[start:]) <= budget * 0.75
    else:
        assert start == (memory.keep_from(conversation, keep_last) if trigger == "messages" else 0)
