"""Self-tests: the fake OpenAI server drives the real ``ChatOpenAI`` client."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import openai
import pytest
from hypothesis import given
from hypothesis import strategies as st
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    ToolMessage,
)
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.json import parse_partial_json
from langchain_openai import ChatOpenAI
from pydantic import Field

from devtools.fake_openai import (
    ORPHAN_TOOL_MESSAGE,
    UNANSWERED_TOOL_CALLS,
    BadRequest,
    CutConnection,
    FakeOpenAI,
    MalformedChunk,
    RateLimit,
    Reply,
    ServerError,
    Stall,
    ToolCallReply,
    model_responder,
    split_arguments,
    split_text,
)

ADD_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "add",
        "description": "Add two numbers.",
        "parameters": {
            "type": "object",
            "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
            "required": ["a", "b"],
        },
    },
}
USER = {"role": "user", "content": "hi"}
MULTIPLY_TOOL = {
    "type": "function",
    "function": {**ADD_TOOL["function"], "name": "multiply", "description": "Multiply."},
}


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def fake(server: FakeOpenAI) -> Iterator[FakeOpenAI]:
    server.reset()
    yield server
    assert server.pending_replies == 0, "test left scripted replies unused"


def chat_model(fake: FakeOpenAI, **overrides: Any) -> ChatOpenAI:
    settings: dict[str, Any] = {
        "base_url": fake.base_url,
        "api_key": "test",
        "model": "gpt-4o",
        "stream_usage": True,
        "max_retries": 0,
    }
    return ChatOpenAI(**(settings | overrides))


async def collect(model: Runnable[LanguageModelInput, BaseMessage], prompt: Any) -> list[Any]:
    return [chunk async for chunk in model.astream(prompt)]


def merge(chunks: Sequence[AIMessageChunk]) -> AIMessageChunk:
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
    return merged


# -- chunking helpers ----------------------------------------------------------


def test_split_text_keeps_leading_whitespace() -> None:
    assert split_text("Hello there,  world ") == ["Hello", " there,", "  world", " "]
    assert split_text("") == []


def test_split_arguments_example() -> None:
    assert split_arguments('{"a": 2, "b": 3}') == ['{"a": 2', ', "b": 3', "}"]
    assert split_arguments("not json") == ["not json"]


@given(st.text())
def test_split_text_joins_back(text: str) -> None:
    assert "".join(split_text(text)) == text


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@given(st.dictionaries(st.text(), json_values, max_size=5))
def test_split_arguments_grows_one_key_at_a_time(args: dict[str, Any]) -> None:
    arguments = json.dumps(args)
    fragments = split_arguments(arguments)
    assert "".join(fragments) == arguments
    items = list(args.items())
    for count in range(1, len(items) + 1):
        assert parse_partial_json("".join(fragments[:count])) == dict(items[:count])


# -- text ------------------------------------------------------------------------


async def test_astream_text_preserves_chunks_finish_reason_and_usage(fake: FakeOpenAI) -> None:
    fake.script(Reply("Hello there world", chunks=["Hel", "lo there", " world"]))

    chunks = await collect(chat_model(fake), "say hi to me")

    assert [c.content for c in chunks if c.content] == ["Hel", "lo there", " world"]
    merged = merge(chunks)
    assert merged.content == "Hello there world"
    assert merged.response_metadata["finish_reason"] == "stop"
    assert merged.response_metadata["model_name"] == "gpt-4o"
    assert merged.usage_metadata is not None
    assert merged.usage_metadata["input_tokens"] == 4  # "say hi to me"
    assert merged.usage_metadata["output_tokens"] == 3
    assert merged.usage_metadata["total_tokens"] == 7


async def test_default_chunking_is_word_by_word(fake: FakeOpenAI) -> None:
    fake.script("one two  three")

    chunks = await collect(chat_model(fake), "count")

    assert [c.content for c in chunks if c.content] == ["one", " two", "  three"]


async def test_ainvoke_text_and_usage(fake: FakeOpenAI) -> None:
    fake.script(Reply("fine thanks", finish_reason="length"))

    message = await chat_model(fake).ainvoke("how are you")

    assert isinstance(message, AIMessage)
    assert message.content == "fine thanks"
    assert message.response_metadata["finish_reason"] == "length"
    assert message.response_metadata["id"].startswith("chatcmpl-")
    assert message.usage_metadata is not None
    assert message.usage_metadata["input_tokens"] == 3
    assert message.usage_metadata["output_tokens"] == 2
    assert fake.requests[-1].stream is False


def test_sync_invoke_records_request_and_headers(fake: FakeOpenAI) -> None:
    fake.script("pong")

    message = chat_model(fake).invoke([("system", "be brief"), ("user", "ping")])

    assert message.content == "pong"
    [request] = fake.requests
    assert request.model == "gpt-4o"
    assert [m["role"] for m in request.messages] == ["system", "user"]
    assert request.headers["authorization"] == "Bearer test"
    assert request.prompt_tokens == 3


# -- tool calls -------------------------------------------------------------------


async def test_astream_tool_call_arguments_grow(fake: FakeOpenAI) -> None:
    fake.script(Reply(tool_calls=[ToolCallReply("add", '{"a": 2, "b": 3}', id="call_add")]))
    model = chat_model(fake).bind_tools([ADD_TOOL])

    chunks = await collect(model, "add 2 and 3")

    seen_args: list[dict[str, Any]] = []
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
        if chunk.tool_call_chunks and merged.tool_calls[0]["args"] not in seen_args:
            seen_args.append(merged.tool_calls[0]["args"])
    assert seen_args == [{}, {"a": 2}, {"a": 2, "b": 3}]
    [header] = [c.tool_call_chunks[0] for c in chunks if c.tool_call_chunks][:1]
    assert (header["name"], header["id"], header["args"], header["index"]) == (
        "add",
        "call_add",
        "",
        0,
    )
    assert merged.tool_calls == [
        {"name": "add", "args": {"a": 2, "b": 3}, "id": "call_add", "type": "tool_call"}
    ]
    assert merged.response_metadata["finish_reason"] == "tool_calls"
    assert fake.requests[-1].tools == [ADD_TOOL]


async def test_parallel_tool_calls_stream_and_invoke(fake: FakeOpenAI) -> None:
    calls = [
        ToolCallReply("add", '{"a": 1, "b": 2}'),
        ToolCallReply("multiply", '{"a": 3, "b": 4}', fragments=['{"a": 3, "b"', ": 4}"]),
    ]
    fake.script(Reply("Let me compute.", tool_calls=calls), Reply(tool_calls=calls))
    model = chat_model(fake).bind_tools([ADD_TOOL, MULTIPLY_TOOL])

    streamed = merge(await collect(model, "add 1 and 2, multiply 3 and 4"))
    invoked = await model.ainvoke("add 1 and 2, multiply 3 and 4")

    for message in (streamed, invoked):
        assert isinstance(message, AIMessage)
        assert [(c["name"], c["args"]) for c in message.tool_calls] == [
            ("add", {"a": 1, "b": 2}),
            ("multiply", {"a": 3, "b": 4}),
        ]
        ids = [c["id"] for c in message.tool_calls]
        assert all(i and i.startswith("call_") for i in ids) and len(set(ids)) == 2
    assert streamed.content == "Let me compute."
    assert invoked.content == ""


def test_fragments_must_join_to_arguments() -> None:
    with pytest.raises(ValueError, match="fragments"):
        ToolCallReply("add", '{"a": 1}', fragments=['{"a"'])
    with pytest.raises(ValueError, match="chunks"):
        Reply("abc", chunks=["a", "b"])


async def test_wire_format_of_a_stream(fake: FakeOpenAI) -> None:
    fake.script(Reply("Hi there", tool_calls=[ToolCallReply("add", '{"a": 1}', id="call_1")]))
    body = {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{fake.base_url}/chat/completions", json=body)

    assert response.headers["content-type"].startswith("text/event-stream")
    raw_events = response.text.split("\n\n")
    assert raw_events[-2:] == ["data: [DONE]", ""]
    events = [json.loads(e.removeprefix("data: ")) for e in raw_events[:-2]]
    assert {(e["id"], e["created"], e["model"], e["object"]) for e in events} == {
        (events[0]["id"], events[0]["created"], "gpt-4o", "chat.completion.chunk")
    }
    deltas = [e["choices"][0]["delta"] for e in events if e["choices"]]
    assert deltas == [
        {"role": "assistant", "content": ""},
        {"content": "Hi"},
        {"content": " there"},
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "add", "arguments": ""},
                }
            ]
        },
        {"tool_calls": [{"index": 0, "function": {"arguments": '{"a": 1'}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": "}"}}]},
        {},
    ]
    assert [e["choices"][0]["finish_reason"] for e in events[:-1]][-1] == "tool_calls"
    assert events[-1]["choices"] == []
    assert events[-1]["usage"] == {"prompt_tokens": 1, "completion_tokens": 5, "total_tokens": 6}
    assert all(e["usage"] is None for e in events[:-1])


# -- faults -------------------------------------------------------------------------


async def test_rate_limit_once_then_success(fake: FakeOpenAI) -> None:
    fake.fail_next(RateLimit(retry_after=0.01))
    fake.script("made it")

    message = await chat_model(fake, max_retries=2).ainvoke("hi")

    assert message.content == "made it"
    first, retry = fake.requests
    assert "x-stainless-retry-count" not in first.headers or (
        first.headers["x-stainless-retry-count"] == "0"
    )
    assert retry.headers["x-stainless-retry-count"] == "1"


async def test_rate_limited_reply_in_the_script(fake: FakeOpenAI) -> None:
    fake.script(Reply(fault=RateLimit(retry_after=0.01)), "second try")

    chunks = await collect(chat_model(fake, max_retries=1), "hi")

    assert merge(chunks).content == "second try"
    assert len(fake.requests) == 2


async def test_rate_limit_without_retries_raises(fake: FakeOpenAI) -> None:
    fake.fail_next(RateLimit(message="slow down"))

    with pytest.raises(openai.RateLimitError, match="slow down") as caught:
        await chat_model(fake).ainvoke("hi")

    assert caught.value.response.headers["retry-after"] == "0.01"


async def test_persistent_server_error(fake: FakeOpenAI) -> None:
    fake.fail_next(ServerError(), times=None)

    with pytest.raises(openai.InternalServerError):
        await chat_model(fake, max_retries=1).ainvoke("hi")

    assert len(fake.requests) == 2
    fake.reset()
    fake.script("recovered")
    assert (await chat_model(fake).ainvoke("hi")).content == "recovered"


async def test_injected_faults_queue_up_and_keep_the_script(fake: FakeOpenAI) -> None:
    fake.fail_next(RateLimit(), times=2)
    fake.fail_next(ServerError(status=503))
    fake.script("ok")
    body = {"model": "m", "messages": [USER]}

    async with httpx.AsyncClient() as client:
        responses = [
            await client.post(f"{fake.base_url}/chat/completions", json=body) for _ in range(4)
        ]

    assert [r.status_code for r in responses] == [429, 429, 503, 200]
    assert responses[-1].json()["choices"][0]["message"]["content"] == "ok"


async def test_mid_stream_cut_raises_connection_error(fake: FakeOpenAI) -> None:
    fake.script(Reply("a b c d", fault=CutConnection(after_chunks=2)))
    received: list[str] = []

    with pytest.raises(openai.APIConnectionError):
        async for chunk in chat_model(fake).astream("hi"):
            received.append(chunk.text)

    assert received == ["", "a"]  # The role chunk, then one content chunk.


async def test_cut_of_a_plain_response_is_retried(fake: FakeOpenAI) -> None:
    fake.fail_next(CutConnection())
    fake.script("whole")

    message = await chat_model(fake, max_retries=1).ainvoke("hi")

    assert message.content == "whole"
    assert len(fake.requests) == 2


async def test_stall_trips_client_timeout(fake: FakeOpenAI) -> None:
    fake.script(Reply("slow reply", fault=Stall(seconds=10, after_chunks=1)))
    started = time.monotonic()

    with pytest.raises(openai.APITimeoutError):
        await collect(chat_model(fake, timeout=0.5), "hi")

    assert time.monotonic() - started < 3


async def test_malformed_chunk_raises_json_error(fake: FakeOpenAI) -> None:
    fake.script(Reply("a b", fault=MalformedChunk(after_chunks=2)))

    with pytest.raises(json.JSONDecodeError):
        await collect(chat_model(fake), "hi")


async def test_delay_paces_chunks(fake: FakeOpenAI) -> None:
    fake.script(Reply("a b c d e", delay=0.05))
    started = time.monotonic()

    await collect(chat_model(fake), "hi")

    assert time.monotonic() - started >= 0.25


# -- validation ---------------------------------------------------------------------


async def test_orphan_tool_message_is_rejected(fake: FakeOpenAI) -> None:
    messages = [HumanMessage("hi"), ToolMessage("3", tool_call_id="call_x")]

    with pytest.raises(openai.BadRequestError, match="preceeding message with 'tool_calls'"):
        await chat_model(fake).ainvoke(messages)

    [rejection] = fake.rejections
    assert rejection.message == ORPHAN_TOOL_MESSAGE


async def test_unanswered_tool_call_is_rejected(fake: FakeOpenAI) -> None:
    calls = [{"name": "add", "args": {"a": 1, "b": 2}, "id": "call_x"}]
    messages = [HumanMessage("add"), AIMessage("", tool_calls=calls), HumanMessage("well?")]

    with pytest.raises(openai.BadRequestError) as caught:
        await chat_model(fake).ainvoke(messages)

    assert UNANSWERED_TOOL_CALLS.format(ids="call_x") in str(caught.value)
    assert caught.value.param == "messages"
    assert caught.value.type == "invalid_request_error"
    assert len(fake.rejections) == 1


def _post(fake: FakeOpenAI, messages: list[dict[str, Any]]) -> httpx.Response:
    body = {"model": "gpt-4o", "messages": messages}
    return httpx.post(f"{fake.base_url}/chat/completions", json=body)


def _assistant_calling(*ids: str) -> dict[str, Any]:
    calls = [
        {"id": i, "type": "function", "function": {"name": "add", "arguments": "{}"}} for i in ids
    ]
    return {"role": "assistant", "content": None, "tool_calls": calls}


def _tool(call_id: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": "1"}


@pytest.mark.parametrize(
    ("messages", "error"),
    [
        ([], "empty array"),
        ([USER, _tool("call_a")], "preceeding message"),
        ([USER, _assistant_calling("call_a"), _tool("call_b")], "'call_b' not found"),
        ([USER, _assistant_calling("call_a", "call_b"), _tool("call_a")], "call_b"),
        ([USER, _assistant_calling("call_a"), USER], "call_a"),
        ([USER, _assistant_calling("call_a"), _tool("call_a"), _tool("call_a"), USER], None),
        ([USER, _assistant_calling("a", "b"), _tool("b"), _tool("a"), {"role": "x"}], "'x'"),
    ],
)
def test_validation(fake: FakeOpenAI, messages: list[dict[str, Any]], error: str | None) -> None:
    if error is None:
        fake.script("ok")

    response = _post(fake, messages)

    if error is None:
        assert response.status_code == 200
        assert fake.rejections == []
    else:
        assert response.status_code == 400
        assert error in response.json()["error"]["message"]
        assert response.json()["error"]["type"] == "invalid_request_error"
        assert len(fake.rejections) == 1


def test_models_endpoint_and_request_waiting(fake: FakeOpenAI) -> None:
    assert httpx.get(f"{fake.base_url}/models").json()["object"] == "list"
    with pytest.raises(TimeoutError):
        fake.wait_for_requests(1, timeout=0.05)


def test_stop_is_quick_with_a_stalled_request_in_flight() -> None:
    fake = FakeOpenAI(responder=lambda request: Reply("never"))
    fake.script(Reply("x", fault=Stall(seconds=60)))
    fake.start()
    body = {"model": "m", "messages": [USER], "stream": True}
    with (
        httpx.Client(timeout=30) as client,
        client.stream("POST", f"{fake.base_url}/chat/completions", json=body) as response,
    ):
        assert response.status_code == 200
        started = time.monotonic()
        fake.stop()
        assert time.monotonic() - started < 2
        with pytest.raises(httpx.RemoteProtocolError):
            response.read()
    fake.stop()  # Idempotent.


# -- fallback responder ---------------------------------------------------------------


class StandInModel(BaseChatModel):
    """Calls the first bound tool, then reports the tool result."""

    tools: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "stand-in"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> StandInModel:
        return self.model_copy(update={"tools": list(tools)})

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        last = messages[-1]
        if isinstance(last, ToolMessage):
            message = AIMessage(f"The answer is {last.content}.")
        elif self.tools:
            name = self.tools[0]["function"]["name"]
            message = AIMessage("", tool_calls=[{"name": name, "args": {"a": 2}, "id": "x"}])
        else:
            message = AIMessage(f"You said: {last.text}")
        return ChatResult(generations=[ChatGeneration(message=message)])


async def test_model_responder_round_trip() -> None:
    with FakeOpenAI(responder=model_responder(StandInModel)) as fake:
        model = chat_model(fake).bind_tools([ADD_TOOL])
        history: list[BaseMessage] = [HumanMessage("add 2")]
        call = await model.ainvoke(history)
        assert isinstance(call, AIMessage)
        [tool_call] = call.tool_calls
        assert (tool_call["name"], tool_call["args"]) == ("add", {"a": 2})
        assert tool_call["id"] != "x"  # The server issues its own ids, like OpenAI.
        assert tool_call["id"] is not None
        history += [call, ToolMessage("4", tool_call_id=tool_call["id"])]
        answer = merge(await collect(model, history))
        assert answer.content == "The answer is 4."
        plain = await chat_model(fake).ainvoke("hello")
        assert plain.content == "You said: hello"
        assert fake.rejections == []


async def test_offline_responder_matches_real_offline_model() -> None:
    """Run once agent/offline.py exists: the default fallback answers like it."""
    offline = pytest.importorskip("agent.offline")
    reference = offline.OfflineChatModel(delay=0).bind_tools([ADD_TOOL, MULTIPLY_TOOL])
    with FakeOpenAI() as fake:
        model = chat_model(fake).bind_tools([ADD_TOOL, MULTIPLY_TOOL])
        history: list[BaseMessage] = [HumanMessage("Multiply 2 and 3")]
        call = await model.ainvoke(history)
        expected = await reference.ainvoke(history)
        assert isinstance(call, AIMessage)
        assert [(c["name"], c["args"]) for c in call.tool_calls] == [
            (c["name"], c["args"]) for c in expected.tool_calls
        ]
        assert call.tool_calls, "the offline model should call a tool for arithmetic"
        tool_call_id = call.tool_calls[0]["id"]
        assert tool_call_id is not None
        history += [call, ToolMessage("6", tool_call_id=tool_call_id)]
        answer = merge(await collect(model, history))
        assert answer.content == (await reference.ainvoke(history)).content
        assert "6" in answer.text
        assert fake.rejections == []


def test_responder_failure_becomes_a_server_error() -> None:
    def broken(request: Any) -> Reply:
        raise LookupError("no rule")

    with FakeOpenAI(responder=broken) as fake, pytest.raises(openai.InternalServerError) as caught:
        chat_model(fake).invoke("hi")
    assert "no rule" in str(caught.value)


def test_a_responders_reply_carries_its_fault() -> None:
    """A fault on a responder's reply is served like a scripted reply's: it was ignored."""
    with FakeOpenAI(responder=lambda request: Reply("never", fault=BadRequest("refused"))) as fake:
        with pytest.raises(openai.BadRequestError, match="refused"):
            chat_model(fake).invoke("hi")
        fake.responder = lambda request: Reply(fault=ServerError(message="down"))
        with pytest.raises(openai.InternalServerError, match="down"):
            chat_model(fake).invoke("hi")


async def test_concurrent_streams(fake: FakeOpenAI) -> None:
    fake.responder = lambda request: Reply(f"echo {request.messages[-1]['content']}", delay=0.01)
    model = chat_model(fake)

    results = await asyncio.gather(*(model.ainvoke(f"n{i}") for i in range(8)))

    assert sorted(str(r.content) for r in results) == sorted(f"echo n{i}" for i in range(8))
