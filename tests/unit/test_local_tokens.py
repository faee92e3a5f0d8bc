"""Token helpers: node filter, headers, errors with partial output, batching, replay."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, RemoveMessage
from langgraph.checkpoint.memory import InMemorySaver

from agent import chatbot, memory
from agent.context import Context
from agent.window import ConversationWindow
from client.cli.graphs import project_graphs
from client.cli.render import PlainRenderer
from client.events import (
    MessageFinished,
    MessageStarted,
    NodeUpdate,
    ReplyRetracted,
    RunEnded,
    RunError,
    RunStarted,
    StreamEvent,
    StreamResumed,
    TextDelta,
    ToolCallProgress,
    to_json,
)
from client.local.replay import Recording, event_from_json
from client.local.runtime import LocalRuntime, thread_config
from client.local.tokens import (
    StreamFailed,
    Token,
    TokenStream,
    batch,
    guard,
    stream_tokens,
    texts,
    with_node_headers,
)
from tests.unit.test_local_session import settle


def user(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


async def test_node_filter_keeps_the_summarizer_out() -> None:
    graph = chatbot.builder.compile(checkpointer=InMemorySaver())
    config = thread_config("lance", "window")
    window = ConversationWindow.of(summarize_after=2, keep_last=1)
    first = stream_tokens(graph, user("hi! I'm Lance"), config, context=window.run_context())
    assert [t.node async for t in first] == ["conversation"] * 8
    only = stream_tokens(
        graph, user("count to 3"), config, node="conversation", context=window.run_context()
    )
    tokens = [t async for t in only]
    assert "".join(t.text for t in tokens) == "1 2 3"
    assert {t.node for t in tokens} == {"conversation"}
    assert [m.text for m in only.messages] == ["1 2 3"]  # from on_chat_model_end
    state = await graph.aget_state(config)
    assert state.values["summary"].startswith("The user's name is Lance.")
    everything = stream_tokens(graph, user("count to 2"), config, context=window.run_context())
    nodes = [t.node async for t in everything]
    assert nodes[-1] == memory.SUMMARIZE_NODE and nodes[0] == "conversation"
    assert all(token for token in everything.text)


async def tokens_of(*items: tuple[str | None, str]) -> AsyncIterator[Token]:
    for node, text in items:
        yield Token(text, node, f"m-{node}")


async def test_node_headers_when_the_node_changes() -> None:
    source = tokens_of(("conversation", "Hi"), ("conversation", " there"), ("summarize", "S"))
    assert "".join([t async for t in with_node_headers(source)]) == (
        "[conversation] Hi there\n[summarize] S"
    )


async def events_then_failure(fail: bool) -> AsyncIterator[StreamEvent]:
    yield MessageStarted("m", "ai", "conversation")
    yield TextDelta("m", "The", "conversation")
    yield TextDelta("m", "", "conversation")
    yield TextDelta("m", " answer", "conversation")
    if fail:
        raise ConnectionError("dropped")
    yield RunError("rate limited", "RateLimitError")
    yield RunEnded(None, "error")


@pytest.mark.parametrize("raises", [True, False], ids=["exception", "run-error"])
async def test_failures_keep_the_partial_output(raises: bool) -> None:
    stream = TokenStream(events_then_failure(raises))
    seen: list[str] = []
    with pytest.raises(StreamFailed) as failure:
        async for token in stream:
            seen.append(token.text)
    assert seen == ["The", " answer"]  # the empty token is skipped
    assert failure.value.partial == "The answer" == stream.text
    if raises:
        assert isinstance(failure.value.__cause__, ConnectionError)
    else:
        assert failure.value.error is not None
        assert "rate limited" in failure.value.message


async def test_guard_passes_a_clean_stream() -> None:
    async def clean() -> AsyncIterator[StreamEvent]:
        yield TextDelta("m", "ok")
        yield RunEnded(None)

    assert len([e async for e in guard(clean())]) == 2


async def paced(*items: tuple[float, str], error: Exception | None = None) -> AsyncIterator[str]:
    for pause, text in items:
        await asyncio.sleep(pause)
        yield text
    if error is not None:
        raise error


async def test_batch_by_count_flushes_the_remainder() -> None:
    source = paced(*[(0, str(n)) for n in range(7)])
    assert [b async for b in batch(source, size=3)] == ["012", "345", "6"]


async def test_batch_by_time_flushes_while_the_source_is_silent() -> None:
    source = paced((0, "a"), (0, "b"), (0.15, "c"), (0, "d"))
    assert [b async for b in batch(source, interval=0.05)] == ["ab", "cd"]


async def test_batch_flushes_before_an_error() -> None:
    out: list[str] = []
    with pytest.raises(ValueError, match="late"):
        async for item in batch(paced((0, "a"), (0, "b"), error=ValueError("late")), size=5):
            out.append(item)
    assert out == ["ab"]


async def test_batch_validates_its_limits() -> None:
    with pytest.raises(ValueError):
        [b async for b in batch(paced(), size=0)]
    with pytest.raises(ValueError):
        [b async for b in batch(paced())]


async def test_batch_of_token_texts() -> None:
    source = texts([Token("a", None, "m"), Token("b", None, "m")])
    assert [b async for b in batch(source, size=10)] == ["ab"]


async def test_record_then_replay_without_a_model(tmp_path: Path) -> None:
    async with LocalRuntime(memory=True, graphs=project_graphs()) as runtime:
        session = await runtime.session("agent")
        recording = Recording()
        live = [e async for e in recording.record(session.send("Multiply 2 and 3"))]
    assert [e for _, e in recording.events] == live
    path = tmp_path / "run.jsonl"
    recording.dump(path)
    loaded = Recording.load(path)
    replayed = [e async for e in loaded.replay(delay=0)]
    assert [type(e) for e in replayed] == [type(e) for e in live]

    def rendered(events: list[StreamEvent]) -> str:
        import io

        out = io.StringIO()
        renderer = PlainRenderer(out, io.StringIO())
        for event in events:
            renderer.render(event)
        renderer.close()
        return out.getvalue()

    assert rendered(replayed) == rendered(live)
    assert "Arguments: {'a': 2, 'b': 3}" in rendered(replayed)
    start = asyncio.get_running_loop().time()
    [e async for e in Recording(loaded.events[:3]).replay(delay=0.02)]
    assert asyncio.get_running_loop().time() - start >= 0.05


def test_window_is_the_graphs_own() -> None:
    window = ConversationWindow.of(summarize_after=4, keep_last=2)
    assert window.run_context() == {"summarize_after": 4, "keep_last": 2}
    assert ConversationWindow().summarize_after == Context().summarize_after
    messages = [AIMessage(str(n), id=str(n)) for n in range(5)]
    assert window.should_summarize(messages) == memory.needs_summary(messages, 4) is True
    assert window.kept(messages) == messages[3:]
    removed = window.to_remove(messages)
    assert all(isinstance(r, RemoveMessage) for r in removed)
    assert [r.id for r in removed] == ["0", "1", "2"]
    with pytest.raises(ValueError, match="keep_last"):
        ConversationWindow.of(summarize_after=2, keep_last=3)


async def test_breaking_out_of_a_token_stream_stops_the_run() -> None:
    graph = chatbot.builder.compile(checkpointer=InMemorySaver())
    config = thread_config("lance", "break")
    stream = stream_tokens(graph, user("count to 500"), config, node="conversation")
    async for token in stream:
        assert token.text == "1"
        break
    del stream
    await settle(lambda: True)
    assert asyncio.all_tasks() == {asyncio.current_task()}
    state = await graph.aget_state(config)
    assert [m.type for m in state.values["messages"]] == ["human"]
    again = stream_tokens(graph, user("count to 2"), config)
    assert [t.text async for t in again] == ["1", " 2"]


def test_the_window_knows_the_token_budget() -> None:
    window = ConversationWindow.of(summarize_after=6, keep_last=2, max_prompt_tokens=100)
    assert window.max_prompt_tokens == 100
    assert window.run_context() == {"summarize_after": 6, "keep_last": 2, "max_prompt_tokens": 100}
    turn = [HumanMessage("hi", id="h"), AIMessage("hello", id="a")]
    assert not window.should_summarize(turn)
    assert not window.should_summarize(turn, prompt_tokens=100)
    assert window.should_summarize(turn, prompt_tokens=101)


def test_every_event_kind_survives_a_json_round_trip() -> None:
    message = AIMessage(content="6", id="m1")
    events: list[StreamEvent] = [
        RunStarted("r1", "t1", 1),
        MessageStarted("m1", "ai"),
        TextDelta("m1", "6", role="ai"),
        ToolCallProgress("m1", 0, "c1", "multiply", {"a": 2}),
        MessageFinished("m1", message, "stop"),
        NodeUpdate("assistant", {"messages": []}, ("sub",)),
        StreamResumed("r1", "5-0", 1),
        ReplyRetracted("r1", ("m1", "m2"), "run_restarted"),
        RunEnded("r1", "success"),
    ]
    assert [event_from_json(json.loads(json.dumps(to_json(e)))) for e in events] == events
