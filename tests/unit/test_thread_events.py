"""The thread-centric protocol (v3) decoded into the same typed events as `runs.stream`.

Transcripts `v3_*.jsonl` are real event streams of `langgraph dev` (recorded by
`tests/fixtures/record_transcripts.py`): each holds the thread's earlier runs, which
a subscription replays first, then the run itself. The events `ThreadEventTranslator`
picks out of them go through the same `StreamDecoder` as run-centric streams, and give
the same events as the `messages-tuple` transcript of the same conversation. Aegra's
shapes (`updates` as `{"node", "values"}`, tool results without ids) are built here as
Aegra sends them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from client.decode import StreamDecoder, tool_result_id
from client.events import (
    CustomEvent,
    MessageFinished,
    MessageStarted,
    NodeUpdate,
    RunEnded,
    RunError,
    RunStarted,
    StreamEvent,
    TextDelta,
    ToolCallProgress,
)
from client.remote.reconcile import StreamLedger, corrections
from client.remote.thread_events import ThreadEventTranslator, event_seq, run_failure
from tests.unit.test_decode import (
    ANSWER,
    ARGS_PROGRESSION,
    STREAMED_AGENT,
    TRANSCRIPTS,
    args_progression,
    assert_message_lifecycles,
    decode,
    kinds,
    load,
    of_type,
    without_role,
)

Event = dict[str, Any]


def events_of(name: str) -> list[Event]:
    """Return a recorded v3 transcript's events, as the server sent them."""
    lines = (TRANSCRIPTS / f"{name}.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def run_ids(events: Iterable[Event]) -> list[str]:
    """Return the runs whose root `running` events the stream holds, in order."""
    return [
        str(e["event_id"]).split(":")[1]
        for e in events
        if e["method"] == "lifecycle" and e["params"]["data"]["event"] == "running"
    ]


def chat_view(events: Iterable[StreamEvent]) -> list[tuple[Any, ...]]:
    """Return what a chat shows of message events: no ids, nodes or token counts.

    v3 names no node for a streamed message, and this recording's turn is the second
    of its thread, so its token counts differ from the one-turn tuple recording's.
    """
    shown: list[tuple[Any, ...]] = []
    for item in events:
        if isinstance(item, MessageStarted):
            shown.append((item.kind, item.role))
        elif isinstance(item, TextDelta):
            shown.append((item.kind, item.text))
        elif isinstance(item, ToolCallProgress):
            shown.append((item.kind, item.index, item.name, item.args))
        elif isinstance(item, MessageFinished):
            shown.append((item.kind, item.message.type, item.message.text, item.finish_reason))
    return shown


def translate(events: Iterable[Mapping[str, Any]], run_id: str) -> list[StreamEvent]:
    """Translate a thread's events for `run_id` and decode them, as a session does."""
    translator = ThreadEventTranslator(run_id)
    parts = [part for event in events for part in translator.feed(event)]
    return decode(parts, skip_nostream=True)


def lifecycle(run_id: str, what: str, seq: int, **data: Any) -> Event:
    """Return a root lifecycle event with Aegra's event id."""
    return {
        "type": "event",
        "seq": seq,
        "event_id": f"{run_id}_event_{seq}:0",
        "method": "lifecycle",
        "params": {"namespace": [], "data": {"event": what, **data}},
    }


def event(method: str, seq: int, data: Any, namespace: Sequence[str] = ()) -> Event:
    return {
        "type": "event",
        "seq": seq,
        "event_id": f"{seq}-0",
        "method": method,
        "params": {"namespace": list(namespace), "data": data},
    }


def messages(seq: int, **data: Any) -> Event:
    return event("messages", seq, data)


# --- the recorded streams ------------------------------------------------------------


def test_a_threads_stream_replays_its_earlier_runs_first() -> None:
    events = events_of("v3_agent")
    first, _ = run_ids(events)
    assert [event_seq(e) for e in events] == list(range(1, len(events) + 1))
    earlier = translate(events, first)
    assert (
        "".join(e.text for e in of_type(earlier, TextDelta)) == "The result of adding 4 and 5 is 9."
    )
    assert earlier[-1] == RunEnded(first, "success")


def test_the_second_run_gives_exactly_what_the_tuple_stream_of_the_same_turn_gives() -> None:
    events = events_of("v3_agent")
    second = run_ids(events)[1]
    v3 = translate(events, second)
    assert v3[0] == RunStarted(second)
    assert v3[-1] == RunEnded(second, "success")
    # `values` carries the input; tuple mode alone does not: compare the reply itself.
    reply = without_role(v3, "human")
    assert kinds(reply) == STREAMED_AGENT
    assert args_progression(v3) == ARGS_PROGRESSION
    assert "".join(e.text for e in of_type(v3, TextDelta) if e.role == "ai") == ANSWER
    runs = decode(load("agent_messages_tuple"))
    assert chat_view(reply) == chat_view(without_role(runs, "human"))
    assert_message_lifecycles(v3)


def test_finish_reasons_usage_and_whole_messages() -> None:
    events = events_of("v3_agent")
    finished = of_type(translate(events, run_ids(events)[1]), MessageFinished)
    call, result, answer = (f for f in finished if f.message.type != "human")
    assert call.finish_reason == "tool_calls"
    assert call.usage == {"input_tokens": 41, "output_tokens": 4, "total_tokens": 45}
    assert isinstance(call.message, AIMessage)
    assert call.message.tool_calls[0]["args"] == {"a": 2, "b": 3}
    assert isinstance(result.message, ToolMessage) and result.message.content == "6"
    assert answer.finish_reason == "stop" and answer.message.text == ANSWER


def test_a_failed_run_is_one_error_line_and_ends_in_error() -> None:
    events = events_of("v3_agent_error")
    (run_id,) = run_ids(events)
    assert translate(events, run_id) == [
        RunStarted(run_id),
        RunError("summarize_after must be at least 1, got 0", "Error"),
        RunEnded(run_id, "error"),
    ]


def test_the_summarizers_tokens_never_stream_as_chat() -> None:
    events = events_of("v3_chatbot_summary")
    last = run_ids(events)[-1]
    decoded = translate(events, last)
    streamed = [e for e in of_type(decoded, TextDelta) if e.role == "ai"]
    assert "".join(e.text for e in streamed) == "Your name is Ada."
    started = [e for e in of_type(decoded, MessageStarted) if e.role == "ai"]
    assert len(started) == 1
    assert decoded[-1] == RunEnded(last, "success")


@pytest.mark.parametrize(
    ("error", "data"),
    [
        # Aegra's stand-in: the name lets the session fetch the real message.
        ("ValueError: execution failed", {"error": "ValueError", "message": "execution failed"}),
        (
            "openai.RateLimitError: slow down",
            {"error": "openai.RateLimitError", "message": "slow down"},
        ),
        (
            "model 'openai:gpt-4o' needs OPENAI_API_KEY (or OPENAI_BASE_URL)",
            {
                "error": "Error",
                "message": "model 'openai:gpt-4o' needs OPENAI_API_KEY (or OPENAI_BASE_URL)",
            },
        ),
        (None, {"error": "Error", "message": ""}),
    ],
)
def test_a_failed_runs_error_is_named_as_the_run_centric_stream_names_it(
    error: object, data: dict[str, str]
) -> None:
    assert run_failure(error) == data


def test_other_runs_events_and_acknowledgements_give_nothing() -> None:
    translator = ThreadEventTranslator("run-b")
    ack = {"type": "success", "id": 1, "result": {}}
    assert event_seq(ack) is None and translator.feed(ack) == []
    assert translator.feed(lifecycle("run-a", "running", 1)) == []
    assert translator.feed(messages(2, event="message-start", role="ai", id="m1")) == []
    assert translator.feed(lifecycle("run-a", "completed", 3)) == []
    assert not translator.started and not translator.ended
    assert [p.event for p in translator.feed(lifecycle("run-b", "running", 4))] == ["metadata"]
    # A subgraph's end does not end the run.
    nested = lifecycle("run-b", "failed", 5, error="boom")
    nested["params"]["namespace"] = ["delegate:1"]
    assert translator.feed(nested) == [] and not translator.ended
    assert [p.event for p in translator.feed(lifecycle("run-b", "interrupted", 6))] == ["end"]
    assert translator.ended
    assert translator.feed(messages(7, event="message-start", role="ai", id="m2")) == []


# --- tool calls by content block -------------------------------------------------------


def test_tool_call_deltas_find_their_call_by_content_block() -> None:
    """Text first, then two calls: deltas name blocks 1 and 2, the calls are 0 and 1."""
    stream = [
        lifecycle("r", "running", 1),
        messages(2, event="message-start", role="ai", id="m"),
        messages(3, event="content-block-start", index=0, content={"type": "text", "text": ""}),
        messages(
            4, event="content-block-delta", index=0, delta={"type": "text-delta", "text": "On it."}
        ),
    ]
    for block, (call, name) in enumerate((("c1", "add"), ("c2", "multiply")), start=1):
        start = {
            "type": "tool_call_chunk",
            "id": call,
            "name": name,
            "args": "",
            "index": block - 1,
        }
        stream.append(messages(4 + block, event="content-block-start", index=block, content=start))
    fragments = [(1, '{"a": 1'), (2, '{"a": 2'), (1, ', "b": 3}'), (2, ', "b": 4}')]
    for offset, (block, args) in enumerate(fragments):
        delta = {"type": "tool-call-delta", "args": args}
        stream.append(messages(7 + offset, event="content-block-delta", index=block, delta=delta))
    finish = {"finish_reason": "tool_calls", "model_name": "m"}
    stream += [
        messages(11, event="message-finish", metadata=finish),
        lifecycle("r", "completed", 12),
    ]
    decoded = translate(stream, "r")
    progress = [(e.index, e.call_id, e.name, e.args) for e in of_type(decoded, ToolCallProgress)]
    assert progress == [
        (0, "c1", "add", {}),
        (1, "c2", "multiply", {}),
        (0, "c1", "add", {"a": 1}),
        (1, "c2", "multiply", {"a": 2}),
        (0, "c1", "add", {"a": 1, "b": 3}),
        (1, "c2", "multiply", {"a": 2, "b": 4}),
    ]
    (finished,) = of_type(decoded, MessageFinished)
    assert isinstance(finished.message, AIMessage)
    assert finished.message.text == "On it."
    assert [c["args"] for c in finished.message.tool_calls] == [{"a": 1, "b": 3}, {"a": 2, "b": 4}]
    assert finished.finish_reason == "tool_calls"


# --- Aegra's shapes --------------------------------------------------------------------

CALL = {"name": "multiply", "args": {"a": 2, "b": 3}, "id": "call_1", "type": "tool_call"}
AI_CALL = {"type": "ai", "id": "m1", "content": "", "tool_calls": [CALL]}
HUMAN = {"type": "human", "id": "h1", "content": "Multiply 2 and 3"}


def test_aegras_updates_are_node_updates_and_tool_results_come_once() -> None:
    # The tools node's update holds its result before the state's reducer gives it an id.
    result = {
        "type": "tool",
        "id": None,
        "content": "6",
        "tool_call_id": "call_1",
        "name": "multiply",
    }
    saved = {**result, "id": "t1"}
    stream = [
        lifecycle("r", "running", 1),
        event("values", 2, {"messages": [HUMAN]}),
        event("updates", 3, {"node": "assistant", "values": {"messages": [AI_CALL]}}),
        event("updates", 4, {"node": "tools", "values": {"messages": [result]}}),
        event("values", 5, {"messages": [HUMAN, AI_CALL, saved]}),
        lifecycle("r", "completed", 6),
    ]
    decoded = translate(stream, "r")
    updates = of_type(decoded, NodeUpdate)
    assert [u.node for u in updates] == ["assistant", "tools"]
    assert updates[1].update == {"messages": [result]}
    tool_messages = [e for e in of_type(decoded, MessageStarted) if e.role == "tool"]
    assert [m.message_id for m in tool_messages] == [tool_result_id("call_1")]
    # Regression: the reconciliation then sent the saved result again, as a new message.
    ledger = StreamLedger()
    for item in decoded:
        ledger.record(item)
    assert corrections(ledger, "r", [HUMAN, AI_CALL, saved], input_ids=("h1",)) == []


def test_custom_events_carry_what_the_node_wrote() -> None:
    progress = {"summarization": {"status": "done", "removed": 6, "kept": 2}}
    stream = [
        lifecycle("r", "running", 1),
        event("custom", 2, {"payload": progress}),
        event("custom", 3, {"name": "progress", "payload": 7}, namespace=["sub:1"]),
        lifecycle("r", "completed", 4),
    ]
    assert of_type(translate(stream, "r"), CustomEvent) == [
        CustomEvent(progress),
        CustomEvent(7, ("sub:1",)),
    ]


def test_a_message_the_stream_never_carried_is_still_corrected() -> None:
    ledger = StreamLedger()
    ledger.record(MessageStarted("m1", "ai"))
    answer = {"type": "ai", "id": "m2", "content": "6."}
    fixed = corrections(ledger, "r", [HUMAN, AI_CALL, answer], input_ids=("h1",))
    assert [e.kind for e in fixed] == ["message_started", "text_delta", "message_finished"]
    assert isinstance(fixed[-1], MessageFinished) and fixed[-1].message_id == "m2"
    assert not isinstance(fixed[-1].message, HumanMessage)


def test_no_event_is_decoded_twice_by_one_decoder() -> None:
    events = events_of("v3_agent")
    second = run_ids(events)[1]
    translator = ThreadEventTranslator(second)
    decoder = StreamDecoder(skip_nostream=True)
    out = [e for ev in events for part in translator.feed(ev) for e in decoder.feed(part)]
    assert translator.ended and decoder.ended
    assert out[-1] == RunEnded(second, "success")
