"""What a run's typed events say, without the ids and payloads that differ run to run.

Two runs that add the same messages to a thread must give the same shape, whatever the
thread held before: a second turn on a thread with history is compared with a first
turn on a fresh thread.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from langchain_core.messages import AIMessage

from client.events import (
    MessageFinished,
    MessageStarted,
    RunEnded,
    RunStarted,
    StreamEvent,
    TextDelta,
    ToolCallProgress,
)

TURN_MODES: tuple[tuple[str, ...], ...] = (
    ("values",),
    ("updates",),
    ("messages",),
    ("messages-tuple",),
    ("events",),
    ("values", "messages-tuple"),
    ("values", "messages"),
    ("updates", "messages-tuple"),
)
"""Stream mode combinations a turn is compared in (`events` combines with none locally)."""


def turn_shape(events: Iterable[StreamEvent]) -> list[tuple[Any, ...]]:
    """Return the run's lifecycle and message events, minus ids, usage and state payloads.

    `StateValues` and `NodeUpdate` carry the whole state or a node's write, which differ
    with the thread's history by design (and a summarizing turn has one more update),
    so only their messages, which the decoder reports as message events, are compared.
    """
    shape: list[tuple[Any, ...]] = []
    for event in events:
        match event:
            case RunStarted():
                shape.append(("run_started",))
            case MessageStarted(role=role, node=node):
                shape.append(("message_started", role, node))
            case TextDelta(text=text, node=node):
                shape.append(("text_delta", text, node))
            case ToolCallProgress(index=index, name=name, args=args, node=node):
                shape.append(("tool_call_progress", index, name, args, node))
            case MessageFinished(message=message, finish_reason=reason, node=node):
                calls = (
                    [(c["name"], c["args"]) for c in message.tool_calls]
                    if isinstance(message, AIMessage)
                    else None
                )
                shape.append(("message_finished", message.type, message.text, calls, reason, node))
            case RunEnded(status=status):
                shape.append(("run_ended", status))
    return shape
