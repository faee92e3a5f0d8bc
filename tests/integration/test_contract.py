"""The API contract, through langgraph-sdk over HTTP against a real server, on either engine.

One server serves the whole session. Its default model is `openai:gpt-4o`, which reaches
the scripted OpenAI-compatible server through the real `ChatOpenAI`; passing
`context={"model": "offline"}` runs the same graphs on the embedded offline model. Every
test that can runs on both paths. Where Aegra's wire differs from `langgraph dev` (a
final `end` event, redacted run errors), the test says so where it checks it.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage, convert_to_messages
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import APIStatusError
from langgraph_sdk.schema import StreamPart

from devtools.fake_openai import FakeOpenAI
from devtools.process import ServerProcess
from tests.support.servers import Engine

pytestmark = pytest.mark.server

MODELS = ["openai", "offline"]
ANSWER = "The result of multiplying 2 and 3 is 6."


ENGINE: dict[str, Engine] = {}
"""The run's engine, for `_run` (set by the `sdk` fixture)."""


@pytest.fixture(scope="module")
async def sdk(dev_server: ServerProcess, engine: Engine) -> AsyncIterator[LangGraphClient]:
    ENGINE["name"] = engine
    client = get_client(url=dev_server.url)
    yield client
    await client.http.client.aclose()


def _split_end(parts: list[StreamPart]) -> tuple[list[StreamPart], Any]:
    """Return the parts without the final `end` event, and that event's data.

    Aegra ends every run's stream with `end` (`{"status": ...}`); `langgraph dev` sends
    none to SDK callers. Anything else is a difference the tests must know about.
    """
    if ENGINE["name"] == "aegra":
        assert parts[-1].event == "end", parts[-1]
        return parts[:-1], parts[-1].data
    assert "end" not in {p.event for p in parts}
    return parts, None


@pytest.fixture
def fake(fake_openai_server: FakeOpenAI) -> FakeOpenAI:
    fake_openai_server.reset()
    return fake_openai_server


def _context(model: str, **settings: Any) -> dict[str, Any]:
    return {"model": "offline", **settings} if model == "offline" else settings


async def _run(
    sdk: LangGraphClient,
    assistant: str,
    text: str,
    stream_mode: Any,
    *,
    model: str,
    thread_id: str | None = None,
    **settings: Any,
) -> tuple[str, list[StreamPart]]:
    """Stream one run on a (new) thread and return the thread id and every part."""
    if thread_id is None:
        thread_id = (await sdk.threads.create())["thread_id"]
    request: Any = {"messages": [{"role": "user", "content": text}]}
    parts = [
        part
        async for part in sdk.runs.stream(
            thread_id,
            assistant,
            input=request,
            stream_mode=stream_mode,
            context=_context(model, **settings),
        )
    ]
    assert [p.event for p in parts if p.event == "error"] == [], parts[-1]
    parts, end = _split_end(parts)
    assert end in (None, {"status": "success"})
    return thread_id, parts


async def _state(sdk: LangGraphClient, thread_id: str) -> dict[str, Any]:
    values: Any = (await sdk.threads.get_state(thread_id))["values"]
    return dict(values)


def _assert_openai_traffic(fake: FakeOpenAI, model: str, *, calls: int) -> None:
    """The OpenAI path really went through ChatOpenAI; the offline path never did."""
    assert fake.rejections == []
    assert len(fake.requests) == (calls if model == "openai" else 0)


async def test_assistants_lists_both_graphs(sdk: LangGraphClient) -> None:
    assistants = await sdk.assistants.search()
    assert sorted(a["graph_id"] for a in assistants) == ["agent", "chatbot"]
    agent_id = next(a["assistant_id"] for a in assistants if a["graph_id"] == "agent")
    schemas: Any = await sdk.assistants.get_schemas(agent_id)
    assert list(schemas["input_schema"]["properties"]) == ["messages"]
    context = schemas["context_schema"]["properties"]
    assert set(context) == {
        "model",
        "system_prompt",
        "summarize_after",
        "keep_last",
        "max_prompt_tokens",
        "approve_tools",
    }


@pytest.mark.parametrize("model", MODELS)
async def test_values_mode_ends_with_the_whole_tool_exchange(
    sdk: LangGraphClient, fake: FakeOpenAI, model: str
) -> None:
    _, parts = await _run(sdk, "agent", "Multiply 2 and 3", "values", model=model)
    assert parts[0].event == "metadata" and parts[0].data["run_id"]
    assert {p.event for p in parts[1:]} == {"values"}
    history = [convert_to_messages(p.data["messages"]) for p in parts[1:]]
    assert [len(h) for h in history] == [1, 2, 3, 4]
    human, call, result, answer = history[-1]
    assert isinstance(human, HumanMessage) and human.content == "Multiply 2 and 3"
    assert isinstance(call, AIMessage)
    assert [(c["name"], c["args"]) for c in call.tool_calls] == [("multiply", {"a": 2, "b": 3})]
    assert isinstance(result, ToolMessage) and result.content == "6"
    assert result.tool_call_id == call.tool_calls[0]["id"]
    assert isinstance(answer, AIMessage) and answer.content == ANSWER
    _assert_openai_traffic(fake, model, calls=2)
    # Without a `messages` stream mode the server calls the model without streaming.
    assert not any(request.stream for request in fake.requests)


@pytest.mark.parametrize("model", MODELS)
async def test_messages_mode_shows_arguments_growing_then_the_answer(
    sdk: LangGraphClient, fake: FakeOpenAI, model: str
) -> None:
    _, parts = await _run(sdk, "agent", "Multiply 2 and 3", "messages", model=model)
    events = [p.event for p in parts]
    assert events[:2] == ["metadata", "messages/metadata"]
    assert set(events[2:]) == {"messages/metadata", "messages/partial", "messages/complete"}

    partials = [p.data[0] for p in parts if p.event == "messages/partial"]
    call_partials = [m for m in partials if m["tool_calls"]]
    args: list[dict[str, Any]] = []
    for message in call_partials:
        if not args or message["tool_calls"][0]["args"] != args[-1]:
            args.append(message["tool_calls"][0]["args"])
    assert args == [{}, {"a": 2}, {"a": 2, "b": 3}]
    assert call_partials[-1]["tool_calls"][0]["name"] == "multiply"

    completes = [p.data[0] for p in parts if p.event == "messages/complete"]
    assert [(m["type"], m["content"]) for m in completes] == [("tool", "6")]

    # The OpenAI path opens each message with an empty role chunk.
    texts = [m["content"] for m in partials if not m["tool_calls"] and m["content"]]
    assert texts[0] == "The" and texts[-1] == ANSWER
    assert all(b.startswith(a) for a, b in itertools.pairwise(texts))
    assert len(set(texts)) == len(ANSWER.split())  # one new word per token

    # The finish reason is on the last partials of each message (repeats included).
    reasons = {m["id"]: m["response_metadata"].get("finish_reason") for m in partials}
    assert list(reasons.values()) == ["tool_calls", "stop"]
    _assert_openai_traffic(fake, model, calls=2)
    assert all(request.stream for request in fake.requests)


@pytest.mark.parametrize("model", MODELS)
async def test_tuple_updates_and_events_modes_in_one_run(
    sdk: LangGraphClient, fake: FakeOpenAI, model: str
) -> None:
    modes = ["messages-tuple", "updates", "events"]
    thread_id, parts = await _run(sdk, "agent", "add 3 and 4", modes, model=model)
    assert parts[0].event == "metadata"
    assert {p.event for p in parts[1:]} == {"messages", "updates", "events"}

    chunks = [p.data for p in parts if p.event == "messages"]
    assert all(len(data) == 2 and isinstance(data[1], dict) for data in chunks)
    fragments = [c["args"] for chunk, _ in chunks for c in chunk.get("tool_call_chunks", [])]
    assert "".join(fragments) == '{"a": 3, "b": 4}' and len(fragments) >= 3
    # The tool result is a `tool` message on langgraph dev, a `ToolMessageChunk` on Aegra.
    tool_types = {"tool", "ToolMessageChunk"}
    nodes = {meta["langgraph_node"] for chunk, meta in chunks if chunk["type"] not in tool_types}
    assert nodes == {"assistant"}
    text = "".join(c["content"] for c, _ in chunks if c["type"] == "AIMessageChunk")
    assert text == "The result of adding 3 and 4 is 7."

    updates = [p.data for p in parts if p.event == "updates"]
    assert [next(iter(u)) for u in updates] == ["assistant", "tools", "assistant"]

    tokens = [
        (p.data["metadata"]["langgraph_node"], p.data["data"]["chunk"]["content"])
        for p in parts
        if p.event == "events" and p.data["event"] == "on_chat_model_stream"
    ]
    assert {node for node, _ in tokens} == {"assistant"}
    assert "".join(token for _, token in tokens) == text

    assert (await _state(sdk, thread_id))["messages"][-1]["content"] == text
    _assert_openai_traffic(fake, model, calls=2)


@pytest.mark.parametrize("model", MODELS)
async def test_memory_across_turns_and_through_summarization(
    sdk: LangGraphClient, fake: FakeOpenAI, model: str
) -> None:
    turns = ["hi! I'm Lance", "tell me a joke", "count to 5"]
    thread_id = None
    for text in turns:
        thread_id, _ = await _run(sdk, "chatbot", text, "values", model=model, thread_id=thread_id)
    assert thread_id is not None
    state = await _state(sdk, thread_id)
    assert "summary" not in state and len(state["messages"]) == 6

    # The fourth turn leaves 8 > 6 messages: summarize, keep the last 2. Its `messages`
    # stream must not show the summary as a chat message.
    _, parts = await _run(sdk, "chatbot", "thanks", "messages", model=model, thread_id=thread_id)
    streamed = [p.data[0] for p in parts if p.event == "messages/partial"]
    assert {m["content"] for m in streamed} >= {streamed[-1]["content"]}
    assert not any("Recent requests" in m["content"] for m in streamed)
    metadata = [meta for p in parts if p.event == "messages/metadata" for meta in p.data.values()]
    assert {m["metadata"]["langgraph_node"] for m in metadata} == {"conversation"}

    state = await _state(sdk, thread_id)
    assert state["summary"] == (
        "The user's name is Lance. Recent requests: tell me a joke; count to 5; thanks."
    )
    assert [m["type"] for m in state["messages"]] == ["human", "ai"]

    _, parts = await _run(sdk, "chatbot", "what's my name?", "values", model=model,
                          thread_id=thread_id)  # fmt: skip
    assert parts[-1].data["messages"][-1]["content"] == "Your name is Lance."
    if model == "openai":
        last = fake.requests[-1].messages
        assert [m["role"] for m in last] == ["system", "system", "user", "assistant", "user"]
        assert last[1]["content"] == "Summary of conversation earlier: " + state["summary"]
        assert [m["content"] for m in last[2:]] == ["thanks", streamed[-1]["content"],
                                                    "what's my name?"]  # fmt: skip
    _assert_openai_traffic(fake, model, calls=len(turns) + 2 + 1)  # + the summary call


async def test_long_tool_conversation_never_sends_an_invalid_sequence(
    sdk: LangGraphClient, fake: FakeOpenAI
) -> None:
    asks = ["Multiply 2 and 3", "hello", "what is 10 divided by 0", "7 * 8", "add 1.5 and 2"]
    thread_id = None
    summaries: list[str] = []
    for turn in range(50):
        thread_id, parts = await _run(
            sdk, "agent", asks[turn % len(asks)], "updates", model="openai",
            thread_id=thread_id, summarize_after=4, keep_last=1 + turn % 3,
        )  # fmt: skip
        summaries += [
            u["summarize_conversation"]["summary"]
            for u in (p.data for p in parts)
            if "summarize_conversation" in u
        ]
    assert fake.rejections == []
    assert len(summaries) >= 12
    assert thread_id is not None
    state = await _state(sdk, thread_id)
    assert state["messages"][-1]["type"] == "ai" and state["summary"] == summaries[-1]
    # Turns after a summary carry it right after the system prompt.
    prompts = ("Create a summary", "This is summary")
    turns = [r for r in fake.requests if not r.messages[-1]["content"].startswith(prompts)]
    assert len(turns) < len(fake.requests)
    assert turns[-1].messages[1]["content"].startswith("Summary of conversation earlier:")


async def test_unknown_assistant_is_rejected(sdk: LangGraphClient) -> None:
    thread_id = (await sdk.threads.create())["thread_id"]
    with pytest.raises(APIStatusError) as error:
        async for _ in sdk.runs.stream(thread_id, "no-such-graph", input={}):
            pass
    assert error.value.response.status_code in {404, 422}


async def test_malformed_input_is_rejected_and_the_thread_still_works(
    sdk: LangGraphClient, fake: FakeOpenAI
) -> None:
    thread_id = (await sdk.threads.create())["thread_id"]
    bad: Any = {"messages": [{"role": "wizard", "content": "hi"}]}
    parts, end = _split_end([p async for p in sdk.runs.stream(thread_id, "chatbot", input=bad)])
    assert [p.event for p in parts] == ["metadata", "error"]
    assert parts[1].data["error"] == "ValueError"
    if ENGINE["name"] == "aegra":
        # Aegra redacts run errors in the stream; the detail is only in its log.
        redacted = "ValueError: execution failed"
        assert (parts[1].data["message"], end) == (redacted, {"status": "error"})
    else:
        assert parts[1].data["message"].startswith("Unexpected message type: 'wizard'.")

    # The next message runs normally, and the bad one left no trace in the thread.
    _, parts = await _run(sdk, "chatbot", "hi! I'm Ada", "values", model="openai",
                          thread_id=thread_id)  # fmt: skip
    assert parts[-1].data["messages"][-1]["content"] == "Hi Ada! How can I assist you today?"
    state = await _state(sdk, thread_id)
    assert [m["content"] for m in state["messages"]] == [
        "hi! I'm Ada",
        "Hi Ada! How can I assist you today?",
    ]
    assert fake.rejections == []
