"""The embedded offline model: streaming shape, tool calls, and its rule set."""

from __future__ import annotations

import pytest
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from agent import prompts
from agent.offline import OfflineChatModel, parse_arithmetic, plan_reply, split_arguments
from agent.tools import TOOLS

TOOL_NAMES = [t.name for t in TOOLS]


def _stream(model_input: list[BaseMessage], *, tools: bool = True) -> list[AIMessageChunk]:
    model = OfflineChatModel(delay=0)
    runnable = model.bind_tools(TOOLS) if tools else model
    return [chunk for chunk in runnable.stream(model_input)]  # type: ignore[misc]


def test_tool_call_arguments_grow_fragment_by_fragment() -> None:
    chunks = _stream([HumanMessage("Multiply 2 and 3")])
    fragments = [c.tool_call_chunks[0]["args"] for c in chunks if c.tool_call_chunks]
    assert fragments == ["", '{"a": 2', ', "b": 3', "}"]

    merged: AIMessageChunk | None = None
    seen_args = []
    for chunk in chunks:
        merged = chunk if merged is None else merged + chunk
        if merged.tool_calls and merged.tool_calls[0]["args"] not in seen_args:
            seen_args.append(merged.tool_calls[0]["args"])
    assert seen_args == [{}, {"a": 2}, {"a": 2, "b": 3}]
    assert merged is not None
    assert merged.tool_calls[0]["name"] == "multiply"
    assert str(merged.tool_calls[0]["id"]).startswith("call_")
    assert merged.response_metadata == {"finish_reason": "tool_calls", "model_name": "offline"}
    assert merged.usage_metadata == {"input_tokens": 4, "output_tokens": 4, "total_tokens": 8}


def test_text_streams_word_by_word_with_finish_reason_on_the_last_chunk() -> None:
    chunks = _stream([HumanMessage("hi! I'm Lance")], tools=False)
    assert [c.content for c in chunks] == ["Hi", " Lance!", " How", " can", " I", " assist", " you",
                                           " today?", ""]  # fmt: skip
    assert chunks[-1].response_metadata["finish_reason"] == "stop"
    assert chunks[-1].chunk_position == "last"
    assert all("finish_reason" not in c.response_metadata for c in chunks[:-1])


async def test_sync_async_and_invoke_agree() -> None:
    model = OfflineChatModel(delay=0).bind_tools(TOOLS)
    question = [HumanMessage("what is 10 divided by 2")]
    streamed = [c async for c in model.astream(question) if isinstance(c, AIMessageChunk)]
    merged = streamed[0]
    for chunk in streamed[1:]:
        merged = merged + chunk
    invoked = await model.ainvoke(question)
    assert isinstance(invoked, AIMessage) and not isinstance(invoked, AIMessageChunk)
    assert invoked.tool_calls == merged.tool_calls == model.invoke(question).tool_calls
    assert invoked.tool_calls[0]["args"] == {"a": 10, "b": 2}
    assert invoked.response_metadata["finish_reason"] == "tool_calls"


async def test_delay_paces_each_chunk() -> None:
    import time

    model = OfflineChatModel(delay=0.01)
    started = time.perf_counter()
    chunks = [c async for c in model.astream([HumanMessage("count to 9")])]
    assert len(chunks) == 10
    assert time.perf_counter() - started >= 0.09


def test_bind_tools_accepts_openai_tool_dicts() -> None:
    schema = {
        "type": "function",
        "function": {"name": "add", "parameters": {"type": "object", "properties": {}}},
    }
    reply = OfflineChatModel(delay=0).bind_tools([schema]).invoke([HumanMessage("add 3 and 4")])
    assert isinstance(reply, AIMessage)
    assert [(c["name"], c["args"]) for c in reply.tool_calls] == [("add", {"a": 3, "b": 4})]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Multiply 2 and 3", ("multiply", {"a": 2, "b": 3})),
        ("add 3 and 4", ("add", {"a": 3, "b": 4})),
        ("what is 10 divided by 2", ("divide", {"a": 10, "b": 2})),
        ("7 * 8", ("multiply", {"a": 7, "b": 8})),
        ("1.5 + 2", ("add", {"a": 1.5, "b": 2})),
        ("9 / 0", ("divide", {"a": 9, "b": 0})),
        ("what is the product of 4 and 5?", ("multiply", {"a": 4, "b": 5})),
        ("hello there", None),
        ("add 3", None),
    ],
)
def test_parse_arithmetic(text: str, expected: object) -> None:
    assert parse_arithmetic(text) == expected


def test_split_arguments_cuts_after_each_value() -> None:
    arguments = '{"a": 2, "b": {"c": [1, 2]}, "d": "x, y"}'
    assert split_arguments(arguments) == ['{"a": 2', ', "b": {"c": [1, 2]}', ', "d": "x, y"', "}"]


def test_answer_after_tool_result_and_tool_error() -> None:
    call = {"name": "multiply", "args": {"a": 2, "b": 3}, "id": "call_1"}
    history = [HumanMessage("Multiply 2 and 3"), AIMessage("", tool_calls=[call])]
    ok = plan_reply([*history, ToolMessage("6", tool_call_id="call_1")], TOOL_NAMES)
    assert ok.text == "The result of multiplying 2 and 3 is 6." and ok.finish_reason == "stop"

    call = {"name": "divide", "args": {"a": 1, "b": 0}, "id": "call_2"}
    error = ToolMessage("Error: cannot divide 1 by zero", tool_call_id="call_2", status="error")
    failed = plan_reply([AIMessage("", tool_calls=[call]), error], TOOL_NAMES)
    assert failed.text == "I couldn't finish dividing 1 by 0: cannot divide 1 by zero."


def test_arithmetic_without_tools_is_answered_directly() -> None:
    assert plan_reply([HumanMessage("7 * 8")]).text == "The result of multiplying 7 and 8 is 56."
    assert plan_reply([HumanMessage("2 + 3 and 4 * 5")]).text == (
        "The result of adding 2 and 3 is 5. The result of multiplying 4 and 5 is 20."
    )


def test_two_expressions_become_two_parallel_calls_streamed_in_turn() -> None:
    chunks = _stream([HumanMessage("2 + 3 and 4 * 5")])
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
    assert [(c["name"], c["args"]) for c in merged.tool_calls] == [
        ("add", {"a": 2, "b": 3}),
        ("multiply", {"a": 4, "b": 5}),
    ]
    assert len({c["id"] for c in merged.tool_calls}) == 2
    indexes = [c.tool_call_chunks[0]["index"] for c in chunks if c.tool_call_chunks]
    assert indexes == [0] * indexes.count(0) + [1] * indexes.count(1)
    assert indexes.count(0) > 1 and indexes.count(1) > 1
    # Words around them still ask for one call: "Multiply 2 and 3" is not two.
    assert len(plan_reply([HumanMessage("Multiply 2 and 3")], TOOL_NAMES).tool_calls) == 1


def test_remembers_a_name_from_messages_and_from_the_summary() -> None:
    hello = [HumanMessage("hi! I'm Lance"), AIMessage("Hi Lance! How can I assist you today?")]
    assert plan_reply([*hello, HumanMessage("what's my name?")]).text == "Your name is Lance."
    from_summary = [
        SystemMessage(prompts.SUMMARY_SYSTEM_PREFIX + "The user's name is Lance."),
        HumanMessage("What is my name?"),
    ]
    assert plan_reply(from_summary).text == "Your name is Lance."
    assert plan_reply([HumanMessage("who am I")]).text.startswith("I don't know your name")


def test_summary_keeps_the_name_and_stays_bounded() -> None:
    turns: list[BaseMessage] = [HumanMessage("hi! I'm Lance"), AIMessage("Hi Lance!")]
    for n in range(10):
        turns += [HumanMessage(f"question number {n}"), AIMessage("answer")]
    created = plan_reply([*turns, HumanMessage(prompts.CREATE_SUMMARY_PROMPT)]).text
    assert created == (
        "The user's name is Lance. Recent requests: question number 7; question number 8; "
        "question number 9."
    )
    extend = prompts.EXTEND_SUMMARY_PROMPT.format(summary=created)
    extended = plan_reply([HumanMessage("one more"), AIMessage("ok"), HumanMessage(extend)]).text
    assert extended == (
        "The user's name is Lance. Recent requests: question number 8; question number 9; one more."
    )


def test_count_gives_a_reply_of_n_words() -> None:
    reply = plan_reply([HumanMessage("please count to 300")]).text
    assert reply.split() == [str(n) for n in range(1, 301)]


def test_deterministic_call_ids() -> None:
    question = [HumanMessage("Multiply 2 and 3")]
    assert plan_reply(question, TOOL_NAMES) == plan_reply(question, TOOL_NAMES)


def test_counts_prompt_tokens_as_its_usage_reports_them() -> None:
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

    model = OfflineChatModel(delay=0)
    prompt = [SystemMessage("Be brief."), HumanMessage("hi! I'm Lance"), AIMessage("Hi Lance!")]
    assert model.get_num_tokens_from_messages(prompt) == 7
    assert model.get_num_tokens_from_messages(prompt) == sum(
        model.get_num_tokens_from_messages([m]) for m in prompt
    )
    usage = model.invoke([*prompt, HumanMessage("what's my name?")]).usage_metadata
    assert usage is not None and usage["input_tokens"] == 10
