"""`client.decode.StreamDecoder` against SSE transcripts recorded from `langgraph dev`.

The transcripts in `tests/fixtures/transcripts/` are real runs of the offline model
(recorded by `tests/fixtures/record_transcripts.py`): "Multiply 2 and 3" to `agent` in
every stream mode, and a `chatbot` turn that triggers summarization.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    HumanMessage,
    ToolMessage,
    message_chunk_to_message,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.tool import tool_call_chunk
from langgraph_sdk.schema import StreamPart

from client.decode import PartInput, StreamDecoder
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

E = TypeVar("E")

TRANSCRIPTS = Path(__file__).resolve().parents[1] / "fixtures" / "transcripts"
ANSWER = "The result of multiplying 2 and 3 is 6."
ARGS_PROGRESSION = [{}, {"a": 2}, {"a": 2, "b": 3}]
# The kinds of the agent's three messages when they stream: a tool call, the tool's
# result (which arrives whole), and the answer, word by word.
STREAMED_AGENT = [
    "message_started",
    *["tool_call_progress"] * 3,
    "message_finished",
    "message_started",
    "message_finished",
    "message_started",
    *["text_delta"] * 9,
    "message_finished",
]
MessageEvent = MessageStarted | TextDelta | ToolCallProgress | MessageFinished


def load(name: str) -> list[StreamPart]:
    """Return a recorded transcript's parts."""
    lines = (TRANSCRIPTS / f"{name}.jsonl").read_text().splitlines()
    return [StreamPart(p["event"], p["data"], p["id"]) for p in map(json.loads, lines)]


def decode(parts: Iterable[PartInput], **options: Any) -> list[StreamEvent]:
    """Feed every part to a fresh decoder, then finish it."""
    decoder = StreamDecoder(**options)
    events = [event for part in parts for event in decoder.feed(part)]
    return events + decoder.finish()


def kinds(events: Iterable[StreamEvent]) -> list[str]:
    return [event.kind for event in events]


def of_type(events: Iterable[StreamEvent], cls: type[E]) -> list[E]:
    return [event for event in events if isinstance(event, cls)]


def message_events(events: Iterable[StreamEvent]) -> list[MessageEvent]:
    return [event for event in events if isinstance(event, MessageEvent)]


def without_role(events: Sequence[StreamEvent], role: str) -> list[MessageEvent]:
    """Return the message events, minus those of messages with `role`."""
    dropped = {e.message_id for e in of_type(events, MessageStarted) if e.role == role}
    return [e for e in message_events(events) if e.message_id not in dropped]


def normalized(events: Iterable[StreamEvent]) -> list[dict[str, Any]]:
    """Return the events' JSON with run-specific ids replaced by stable placeholders.

    Two recordings of the same conversation differ only in their run, message and task
    ids, so comparing normalized events compares what the decoder made of them.
    """
    names: dict[str, str] = {}

    def rename(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: rename(item) for key, item in value.items()}
        if isinstance(value, list):
            return [rename(item) for item in value]
        if isinstance(value, str) and (value.startswith(("lc_run--", "run-")) or _is_uuid(value)):
            return names.setdefault(value, f"<id{len(names)}>")
        if isinstance(value, str) and ":" in value and _is_uuid(value.partition(":")[2]):
            node, _, task = value.partition(":")
            return f"{node}:{names.setdefault(task, f'<id{len(names)}>')}"
        return value

    return [rename(to_json(event)) for event in events]


def legacy_parts(chunks: Sequence[AIMessageChunk], node: str = "model") -> list[PartInput]:
    """Return legacy `messages` parts for a reply, built as the server builds them.

    The server adds each chunk to the message so far and sends the whole sum.
    """
    meta = {"langgraph_node": node, "langgraph_checkpoint_ns": f"{node}:task"}
    parts: list[PartInput] = [("messages/metadata", {chunks[0].id: {"metadata": meta}})]
    total = chunks[0]
    for position, chunk in enumerate(chunks):
        total = chunk if position == 0 else total + chunk
        parts.append(("messages/partial", [message_chunk_to_message(total).model_dump()]))
    return parts


def tuple_parts(chunks: Sequence[AIMessageChunk], node: str = "model") -> list[PartInput]:
    """Return `messages-tuple` parts for a reply: each chunk with its metadata."""
    meta = {"langgraph_node": node, "langgraph_checkpoint_ns": f"{node}:task"}
    return [("messages", [chunk.model_dump(), meta]) for chunk in chunks]


def tool_chunk(
    message_id: str,
    args: str,
    *,
    index: int = 0,
    name: str | None = None,
    call_id: str | None = None,
) -> AIMessageChunk:
    """Return a chunk carrying a fragment of a tool call's JSON arguments."""
    fragment = tool_call_chunk(name=name, args=args, id=call_id, index=index)
    return AIMessageChunk(content="", id=message_id, tool_call_chunks=[fragment])


def _is_uuid(text: str) -> bool:
    parts = text.split("-")
    return [len(p) for p in parts] == [8, 4, 4, 4, 12]


def args_progression(events: Iterable[StreamEvent]) -> list[dict[str, Any]]:
    return [event.args for event in of_type(events, ToolCallProgress)]


def text_of(events: Iterable[StreamEvent], message_id: str) -> str:
    return "".join(e.text for e in of_type(events, TextDelta) if e.message_id == message_id)


def assert_message_lifecycles(events: Sequence[StreamEvent]) -> None:
    """Assert that each message has one start, then its deltas, then one finish."""
    state: dict[str, str] = {}
    for event in message_events(events):
        message_id = event.message_id
        if isinstance(event, MessageStarted):
            assert message_id not in state, f"{message_id} started twice"
            state[message_id] = "open"
        elif isinstance(event, MessageFinished):
            assert state.get(message_id) == "open", f"{message_id} finished while not open"
            state[message_id] = "finished"
        else:
            assert state.get(message_id) == "open", f"{event.kind} outside its message"
    assert set(state.values()) <= {"finished"}


# --- the recorded transcripts themselves ----------------------------------------------


def test_legacy_transcript_has_the_tutorials_event_order() -> None:
    names = [part.event for part in load("agent_messages")]

    assert names == [
        "metadata",
        "messages/metadata",
        *["messages/partial"] * 5,
        "messages/metadata",
        "messages/complete",
        "messages/metadata",
        *["messages/partial"] * 10,
    ]


def test_langgraph_dev_sends_no_end_event() -> None:
    assert all(
        part.event != "end" for name in ("agent_messages", "agent_values") for part in load(name)
    )


# --- legacy `messages` mode -------------------------------------------------------------


def test_legacy_messages_give_the_exact_typed_sequence() -> None:
    events = decode(load("agent_messages"), thread_id="thread-1")

    assert kinds(events) == ["run_started", *STREAMED_AGENT, "run_ended"]
    started = events[0]
    assert isinstance(started, RunStarted)
    assert started.thread_id == "thread-1"
    assert started.attempt == 1
    assert isinstance(events[-1], RunEnded)
    assert events[-1].status == "success"
    assert events[-1].run_id == started.run_id


def test_legacy_tool_call_args_grow_exactly_once_per_change() -> None:
    events = decode(load("agent_messages"))

    progress = of_type(events, ToolCallProgress)
    assert args_progression(events) == ARGS_PROGRESSION
    assert {(p.index, p.name, p.node) for p in progress} == {(0, "multiply", "assistant")}
    assert progress[0].call_id is not None
    assert progress[0].call_id.startswith("call_")


def test_legacy_messages_finish_with_reasons_usage_and_whole_messages() -> None:
    events = decode(load("agent_messages"))

    finished = of_type(events, MessageFinished)
    assert [f.finish_reason for f in finished] == ["tool_calls", None, "stop"]
    assert [type(f.message) for f in finished] == [AIMessage, ToolMessage, AIMessage]
    call, result, answer = (f.message for f in finished)
    assert isinstance(call, AIMessage)
    assert call.tool_calls[0]["args"] == {"a": 2, "b": 3}
    assert result.content == "6"
    assert answer.content == ANSWER
    assert text_of(events, finished[2].message_id) == ANSWER
    assert finished[2].usage == {"input_tokens": 28, "output_tokens": 9, "total_tokens": 37}
    assert [f.node for f in finished] == ["assistant", "tools", "assistant"]
    assert_message_lifecycles(events)


def test_text_deltas_carry_only_the_new_text() -> None:
    deltas = [e.text for e in of_type(decode(load("agent_messages")), TextDelta)]

    assert deltas == ["The", " result", " of", " multiplying", " 2", " and", " 3", " is", " 6."]


# --- `messages-tuple` and the equivalence of the message modes --------------------------


def test_tuple_mode_gives_the_same_events_as_legacy_mode() -> None:
    legacy = decode(load("agent_messages"))
    tuple_mode = decode(load("agent_messages_tuple"))

    assert kinds(tuple_mode) == ["run_started", *STREAMED_AGENT, "run_ended"]
    assert args_progression(tuple_mode) == ARGS_PROGRESSION
    assert normalized(tuple_mode) == normalized(legacy)


def test_in_process_objects_decode_like_wire_dicts() -> None:
    """In-process adapters pass `(event, (message object, metadata))` tuples."""
    classes = {"AIMessageChunk": AIMessageChunk, "tool": ToolMessage}
    as_objects: list[PartInput] = []
    for part in load("agent_messages_tuple"):
        if part.event == "messages":
            message, meta = part.data
            as_objects.append(("messages", (classes[message["type"]](**message), meta)))
        else:
            as_objects.append((part.event, part.data))

    assert normalized(decode(as_objects)) == normalized(decode(load("agent_messages_tuple")))


# --- whole-message modes ---------------------------------------------------------------


def test_values_mode_reports_each_new_message_whole() -> None:
    events = decode(load("agent_values"))

    whole = ["message_started", "message_finished"]
    assert kinds(events) == [
        "run_started",
        *whole,  # the human input
        "state_values",
        "message_started",
        "tool_call_progress",
        "message_finished",
        "state_values",
        *whole,  # the tool's result
        "state_values",
        "message_started",
        "text_delta",
        "message_finished",
        "state_values",
        "run_ended",
    ]
    assert [e.role for e in of_type(events, MessageStarted)] == ["human", "ai", "tool", "ai"]
    assert args_progression(events) == [{"a": 2, "b": 3}]
    assert [e.text for e in of_type(events, TextDelta)] == [ANSWER]
    assert isinstance(of_type(events, MessageFinished)[0].message, HumanMessage)
    states = of_type(events, StateValues)
    assert [len(s.values["messages"]) for s in states] == [1, 2, 3, 4]
    assert_message_lifecycles(events)


def test_updates_mode_reports_node_updates_and_their_messages() -> None:
    events = decode(load("agent_updates"))

    assert [u.node for u in of_type(events, NodeUpdate)] == ["assistant", "tools", "assistant"]
    assert [(e.role, e.node) for e in of_type(events, MessageStarted)] == [
        ("ai", "assistant"),
        ("tool", "tools"),
        ("ai", "assistant"),
    ]
    assert [f.finish_reason for f in of_type(events, MessageFinished)] == [
        "tool_calls",
        None,
        "stop",
    ]
    # A message's events come before the update of the node that wrote it.
    assert kinds(events)[1:5] == [
        "message_started",
        "tool_call_progress",
        "message_finished",
        "node_update",
    ]


def test_events_mode_streams_the_model_calls_and_the_tool_result() -> None:
    events = decode(load("agent_events"))

    # The tool's result comes from `on_tool_end` (and the tools node's `on_chain_end`,
    # which is all a failed tool leaves): once, between the two AI messages.
    assert kinds(events) == ["run_started", *STREAMED_AGENT, "run_ended"]
    assert args_progression(events) == ARGS_PROGRESSION
    assert normalized(message_events(events)) == normalized(
        message_events(decode(load("agent_messages_tuple")))
    )
    finished = of_type(events, MessageFinished)
    assert [f.finish_reason for f in finished] == ["tool_calls", None, "stop"]
    assert isinstance(finished[1].message, ToolMessage)
    assert (finished[1].message.name, finished[1].message.content) == ("multiply", "6")
    assert finished[1].node == "tools"
    assert finished[2].message.content == ANSWER


# --- several modes at once, subgraphs ---------------------------------------------------


def test_several_modes_at_once_never_duplicate_a_message() -> None:
    events = decode(load("agent_multi"))

    started = of_type(events, MessageStarted)
    assert [e.role for e in started] == ["human", "ai", "tool", "ai"]
    assert Counter(kinds(events))["message_finished"] == 4
    assert_message_lifecycles(events)
    assert args_progression(events) == ARGS_PROGRESSION
    # The streamed messages decode exactly as in `messages-tuple` mode alone.
    assert normalized(without_role(events, "human")) == normalized(
        message_events(decode(load("agent_messages_tuple")))
    )
    assert len(of_type(events, StateValues)) == 4
    assert len(of_type(events, NodeUpdate)) == 3


def test_subgraphs_flag_on_a_flat_graph_changes_nothing() -> None:
    events = decode(load("agent_subgraphs"))

    assert all(getattr(e, "namespace", ()) == () for e in events)
    assert normalized(message_events(events)) == normalized(
        message_events(decode(load("agent_messages_tuple")))
    )


def test_subgraph_events_carry_their_namespace() -> None:
    events = decode(load("nested_subgraphs"))

    updates = of_type(events, NodeUpdate)
    task = updates[0].namespace
    assert len(task) == 1
    assert task[0].startswith("delegate:")
    assert [(u.node, u.namespace) for u in updates] == [
        ("assistant", task),
        ("tools", task),
        ("assistant", task),
        ("delegate", ()),
    ]
    started = of_type(events, MessageStarted)
    assert [(e.role, e.node, e.namespace) for e in started] == [
        ("ai", "assistant", task),
        ("tool", "tools", task),
        ("ai", "assistant", task),
        # The subgraph's input reaches the parent only in `delegate`'s update.
        ("human", "delegate", ()),
    ]
    assert all(e.namespace == task for e in of_type(events, TextDelta))
    assert args_progression(events) == ARGS_PROGRESSION


def test_legacy_messages_take_their_namespace_from_the_metadata() -> None:
    """Legacy `messages` events never name a namespace, even with `stream_subgraphs`."""
    legacy = decode(load("nested_messages"))
    tuple_mode = decode(load("nested_subgraphs"))

    assert all("|" not in part.event for part in load("nested_messages"))
    (namespace,) = {e.namespace for e in of_type(legacy, MessageStarted)}
    assert len(namespace) == 1
    assert namespace[0].startswith("delegate:")
    # The human input shows only in the parent's `updates`, absent from this transcript.
    assert normalized(message_events(legacy)) == normalized(without_role(tuple_mode, "human"))


def test_event_names_with_namespaces_are_split() -> None:
    decoder = StreamDecoder()

    events = decoder.feed(("custom|outer:1|inner:2", {"progress": 0.5}))

    assert events == [CustomEvent({"progress": 0.5}, ("outer:1", "inner:2"))]


# --- the summarizing chatbot and the `nodes` filter -------------------------------------


def test_nostream_keeps_summarizer_tokens_out_of_messages_mode() -> None:
    events = decode(load("chatbot_summary_messages"))

    assert [u.node for u in of_type(events, NodeUpdate)] == [
        "conversation",
        "summarize_conversation",
    ]
    assert {e.node for e in message_events(events)} == {"conversation"}
    assert [e.role for e in of_type(events, MessageStarted)] == ["ai"]
    # The summarizer's update removes old messages: those are not messages to show.
    assert text_of(events, of_type(events, MessageStarted)[0].message_id) == "Your name is Ada."


def test_events_mode_streams_summarizer_tokens_unless_filtered() -> None:
    parts = load("chatbot_summary_events")
    everything = decode(parts)
    answers_only = decode(parts, nodes={"conversation"})

    summary = [e for e in of_type(everything, TextDelta) if e.node == "summarize_conversation"]
    assert "".join(e.text for e in summary).startswith("The user's name is Ada.")
    assert {e.node for e in message_events(answers_only)} == {"conversation"}
    assert_message_lifecycles(answers_only)
    assert normalized(message_events(answers_only)) == normalized(
        message_events(decode(load("chatbot_summary_messages")))
    )


def test_events_mode_can_leave_out_nostream_model_calls_like_messages_mode() -> None:
    parts = load("chatbot_summary_events")
    events = decode(parts, skip_nostream=True)

    # The summarizer's model call is tagged `nostream`: `messages` modes never stream
    # it, and a chat session's `events` mode must show the same messages.
    assert any("nostream" in (p.data.get("tags") or ()) for p in parts if p.event == "events")
    assert {e.node for e in message_events(events)} == {"conversation"}
    assert_message_lifecycles(events)
    assert normalized(message_events(events)) == normalized(
        message_events(decode(load("chatbot_summary_messages")))
    )


def test_nodes_filter_applies_to_every_message_mode() -> None:
    for name in ("agent_messages", "agent_messages_tuple", "agent_updates", "agent_events"):
        events = decode(load(name), nodes={"tools"})
        assert [e.role for e in of_type(events, MessageStarted)] == ["tool"], name
        assert_message_lifecycles(events)


def test_messages_of_unknown_node_pass_the_filter() -> None:
    events = decode(load("agent_values"), nodes={"tools"})

    assert len(of_type(events, MessageStarted)) == 4


# --- errors and the end of the run ------------------------------------------------------


def test_error_event_gives_one_line_and_ends_the_run() -> None:
    decoder = StreamDecoder()
    events = [e for part in load("agent_error") for e in decoder.feed(part)]

    assert kinds(events) == ["run_started", "run_error", "run_ended"]
    assert events[1] == RunError("summarize_after must be at least 1, got 0", "ValueError")
    assert isinstance(events[2], RunEnded)
    assert events[2].status == "error"
    assert decoder.ended
    assert decoder.finish() == []
    assert decoder.feed(("values", {"messages": []})) == []


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"error": "ValidationError", "message": "2 errors\n  field a\n    missing"},
            RunError("2 errors", "ValidationError"),
        ),
        ({"error": "RuntimeError", "message": ""}, RunError("RuntimeError", "RuntimeError")),
        ("upstream   timed\tout", RunError("upstream timed out", "Error")),
        (None, RunError("Error", "Error")),
        ({"message": "x" * 1000}, RunError("x" * 299 + "…", "Error")),
    ],
)
def test_error_messages_become_one_clean_line(data: Any, expected: RunError) -> None:
    events = StreamDecoder().feed(("error", data))

    assert events[0] == expected
    assert events[1] == RunEnded(None, "error")


def test_error_mid_message_finishes_the_message_first() -> None:
    parts = load("agent_messages")[:12]  # stops in the middle of the answer
    decoder = StreamDecoder()
    for part in parts:
        decoder.feed(part)

    events = decoder.feed(("error", {"error": "CancelledError", "message": "cancelled"}))

    assert kinds(events) == ["message_finished", "run_error", "run_ended"]
    finished = events[0]
    assert isinstance(finished, MessageFinished)
    assert finished.message.content == "The result"
    assert finished.finish_reason is None


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ({"status": "success"}, "success"),
        ({"status": "interrupted"}, "interrupted"),
        ({"status": "timeout"}, "error"),
        (None, "success"),
    ],
)
def test_end_event_ends_the_run_once(data: Any, status: str) -> None:
    decoder = StreamDecoder()
    events = [e for part in load("agent_messages") for e in decoder.feed(part)]

    events += decoder.feed(("end", data))

    assert kinds(events) == ["run_started", *STREAMED_AGENT, "run_ended"]
    assert isinstance(events[-1], RunEnded)
    assert events[-1].status == status
    assert decoder.ended
    assert decoder.finish() == []
    assert decoder.finish("error") == []


def test_finish_is_idempotent() -> None:
    decoder = StreamDecoder()
    for part in load("agent_messages"):
        decoder.feed(part)
    assert not decoder.ended

    first = decoder.finish("cancelled")

    assert kinds(first) == ["message_finished", "run_ended"]
    assert first[-1] == RunEnded(decoder.run_id, "cancelled")
    assert decoder.finish() == []
    assert decoder.ended


def test_run_id_and_last_event_id_are_tracked() -> None:
    decoder = StreamDecoder()
    decoder.feed(StreamPart("metadata", {"run_id": "run-1", "attempt": 2}, "1"))
    decoder.feed(StreamPart("values", {"messages": []}, "2"))
    decoder.feed(StreamPart("values", {"messages": []}, None))

    assert decoder.run_id == "run-1"
    assert decoder.last_event_id == "2"


def test_plain_tuples_and_unknown_events_are_accepted() -> None:
    decoder = StreamDecoder(thread_id="t")

    assert decoder.feed(("metadata", {"run_id": "r", "attempt": 1})) == [RunStarted("r", "t", 1)]
    assert decoder.feed(("debug", {"type": "checkpoint"}, "7")) == []
    assert decoder.feed(("feedback", {})) == []
    assert decoder.last_event_id == "7"


# --- synthetic streams: shapes the offline model does not produce -----------------------


def test_usage_sent_after_the_finish_reason_is_kept() -> None:
    """OpenAI sends the finish reason, then a usage-only chunk, then the last chunk."""
    usage = UsageMetadata(input_tokens=5, output_tokens=2, total_tokens=7)
    chunks = [
        AIMessageChunk(content="Hi", id="m1", response_metadata={"model_provider": "openai"}),
        AIMessageChunk(
            content=" there",
            id="m1",
            response_metadata={"model_provider": "openai", "finish_reason": "stop"},
        ),
        AIMessageChunk(content="", id="m1", usage_metadata=usage),
        AIMessageChunk(content="", id="m1", chunk_position="last"),
    ]

    for events in (decode(legacy_parts(chunks)), decode(tuple_parts(chunks))):
        (finished,) = of_type(events, MessageFinished)
        assert finished.finish_reason == "stop"
        assert finished.usage == usage
        assert finished.message.content == "Hi there"
    assert decode(legacy_parts(chunks)) == decode(tuple_parts(chunks))


def test_finish_reason_finishes_the_message_at_the_next_other_part() -> None:
    chunks = [AIMessageChunk(content="Done", id="m1", response_metadata={"finish_reason": "stop"})]
    decoder = StreamDecoder()
    for part in legacy_parts(chunks):
        decoder.feed(part)

    events = decoder.feed(("custom", {"step": 1}))

    assert kinds(events) == ["message_finished", "custom"]


def test_state_completes_a_message_streamed_without_finish_reason() -> None:
    chunks = [AIMessageChunk(content="Hel", id="m1")]
    whole = AIMessage(content="Hello", id="m1").model_dump()

    events = decode([*legacy_parts(chunks), ("values", {"messages": [whole]})])

    assert kinds(events) == [
        "message_started",
        "text_delta",
        "text_delta",
        "message_finished",
        "state_values",
        "run_ended",
    ]
    assert [e.text for e in of_type(events, TextDelta)] == ["Hel", "lo"]
    assert of_type(events, MessageFinished)[0].message == AIMessage(content="Hello", id="m1")


def test_a_finished_message_is_never_started_again() -> None:
    chunks = [AIMessageChunk(content="Hi", id="m1", response_metadata={"finish_reason": "stop"})]
    whole = message_chunk_to_message(chunks[0]).model_dump()
    parts = [
        *legacy_parts(chunks),
        ("values", {"messages": [whole]}),
        ("updates", {"model": {"messages": whole}}),
        *legacy_parts(chunks),
    ]

    events = decode(parts)

    assert kinds(events) == [
        "message_started",
        "text_delta",
        "message_finished",
        "state_values",
        "node_update",
        "run_ended",
    ]


def test_invalid_tool_call_args_parse_as_partial_json() -> None:
    truncated = AIMessage(
        content="",
        id="m1",
        invalid_tool_calls=[
            {
                "type": "invalid_tool_call",
                "name": "add",
                "args": '{"a": 2, "b',
                "id": "c1",
                "error": "x",
            },
            {
                "type": "invalid_tool_call",
                "name": "add",
                "args": "not json",
                "id": "c2",
                "error": "x",
            },
        ],
    )

    events = decode([("messages/complete", [truncated.model_dump()])])

    assert [(e.index, e.call_id, e.args) for e in of_type(events, ToolCallProgress)] == [
        (0, "c1", {"a": 2})
    ]


def test_reported_args_never_lose_a_key() -> None:
    """Mid unicode escape, partial JSON drops the string being written for a moment."""
    fragments = ['{"a": 1, "s": "x', "\\u00", 'e9"}']
    chunks = [tool_chunk("m1", fragments[0], name="f", call_id="c1")]
    chunks += [tool_chunk("m1", fragment) for fragment in fragments[1:]]

    for parts in (legacy_parts(chunks), tuple_parts(chunks)):
        assert args_progression(decode(parts)) == [{"a": 1, "s": "x"}, {"a": 1, "s": "x\u00e9"}]


def test_content_blocks_stream_their_text() -> None:
    chunks = [
        AIMessageChunk(content=[{"type": "text", "text": "Hel", "index": 0}], id="m1"),
        AIMessageChunk(content=[{"type": "text", "text": "lo", "index": 0}], id="m1"),
        AIMessageChunk(content=[], id="m1", chunk_position="last"),
    ]

    events = decode(tuple_parts(chunks))

    assert [e.text for e in of_type(events, TextDelta)] == ["Hel", "lo"]
    assert events == decode(legacy_parts(chunks))


def test_messages_without_ids_and_remove_entries_are_skipped() -> None:
    parts: list[PartInput] = [
        ("values", {"messages": [{"type": "human", "content": "no id"}]}),
        ("updates", {"summarize": {"messages": [{"type": "remove", "id": "old"}]}}),
    ]

    assert kinds(decode(parts)) == ["state_values", "node_update", "run_ended"]


def test_tokens_of_two_message_modes_at_once_count_once() -> None:
    """With `["events", "messages-tuple"]` every token arrives twice, once per mode."""
    chunks = [
        AIMessageChunk(content="Hi", id="m1"),
        AIMessageChunk(content=" you", id="m1"),
        AIMessageChunk(content="", id="m1", response_metadata={"finish_reason": "stop"}),
    ]
    meta = {"langgraph_node": "model"}
    events_parts = [
        (
            "events",
            {"event": "on_chat_model_stream", "data": {"chunk": c.model_dump()}, "metadata": meta},
        )
        for c in chunks
    ]
    both = [part for pair in zip(events_parts, tuple_parts(chunks), strict=True) for part in pair]

    assert decode(both) == decode(tuple_parts(chunks))
    assert [e.text for e in of_type(decode(both), TextDelta)] == ["Hi", " you"]


def test_provider_tagged_text_chunks_keep_their_metadata_on_the_final_message() -> None:
    # ChatOpenAI tags every chunk with its provider; such chunks take the text-only fast
    # path, and the final message must still equal the plain sum of the chunks.
    provider = {"model_provider": "openai"}
    chunks = [
        AIMessageChunk(content=word, id="m1", response_metadata=provider)
        for word in ["The", " result", " is", " 6."]
    ]
    chunks.append(
        AIMessageChunk(
            content="",
            id="m1",
            response_metadata={**provider, "finish_reason": "stop"},
            usage_metadata={"input_tokens": 3, "output_tokens": 4, "total_tokens": 7},
        )
    )
    expected = chunks[0]
    for chunk in chunks[1:]:
        expected = expected + chunk
    events = decode([("metadata", {"run_id": "r"}), *tuple_parts(chunks)])
    finished = of_type(events, MessageFinished)
    assert [f.message.content for f in finished] == ["The result is 6."]
    assert finished[0].message.response_metadata == expected.response_metadata
    assert isinstance(finished[0].message, AIMessageChunk | AIMessage)
    assert finished[0].message.usage_metadata == expected.usage_metadata
    assert finished[0].finish_reason == "stop"
    assert text_of(events, "m1") == "The result is 6."


# --- a run on a thread with history -----------------------------------------------------


def _state(*messages: Any) -> PartInput:
    return ("values", {"messages": [m.model_dump() for m in messages], "summary": ""})


def test_values_on_a_thread_with_history_report_only_the_runs_own_messages() -> None:
    earlier = [HumanMessage("hi", id="h1"), AIMessage("1 2", id="a1")]
    # A cancelled run leaves its user message with no answer after it.
    dangling = HumanMessage("count on", id="h2")
    question, answer = HumanMessage("again", id="h3"), AIMessage("1 2", id="a3")
    parts: list[PartInput] = [
        ("metadata", {"run_id": "run"}),
        _state(*earlier, dangling, question),
        (
            "messages",
            [AIMessageChunk(content="1 2", id="a3").model_dump(), {"langgraph_node": "n"}],
        ),
        _state(*earlier, dangling, question, answer),
    ]

    told = decode(parts, input_ids={"h3"})
    guessed = decode(parts)

    def started(events: list[StreamEvent]) -> list[tuple[str, str]]:
        return [(e.message_id, e.role) for e in of_type(events, MessageStarted)]

    assert started(told) == [("h3", "human"), ("a3", "ai")]
    assert [e.text for e in of_type(told, TextDelta)] == ["1 2"]
    assert len(of_type(told, StateValues)) == 2
    # Without the input's ids, the human messages at the end are taken for the input.
    assert started(guessed) == [("h2", "human"), ("h3", "human"), ("a3", "ai")]


def test_tool_results_without_ids_are_reported_once_under_their_call() -> None:
    call = {"name": "multiply", "args": {"a": 2, "b": 3}, "id": "call_1"}
    asked = AIMessage("", id="a1", tool_calls=[call])
    result = ToolMessage("6", tool_call_id="call_1", name="multiply")
    parts: list[PartInput] = [
        ("metadata", {"run_id": "run"}),
        ("updates", {"assistant": {"messages": [asked]}}),
        # In-process the state gives the result its id only after `updates` has it.
        ("updates", {"tools": {"messages": [result]}}),
        _state(asked, result.model_copy(update={"id": "t1"})),
    ]

    events = decode(parts)

    finished = of_type(events, MessageFinished)
    assert [(f.message_id, f.message.type, f.node) for f in finished] == [
        ("a1", "ai", "assistant"),
        ("tool-result:call_1", "tool", "tools"),
    ]
