"""Typed stream events: one model for every stream mode, local or remote.

The decoders in this package turn the SDK's `StreamPart`s (any `stream_mode`, with or
without subgraphs) and in-process `astream` output into these events. Renderers, the
CLI's `--json` output and applications consume only these, so they never depend on
which stream mode produced them.

Every event is a frozen dataclass with a `kind` tag; `to_json` gives its wire form.
`namespace` is the subgraph path (empty for the root graph) and `node` the graph node
that produced the event, where known.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.messages import BaseMessage

Namespace = tuple[str, ...]
RunStatus = Literal["success", "error", "interrupted", "cancelled"]


@dataclass(frozen=True, slots=True)
class RunStarted:
    """The server accepted the run (the stream's `metadata` event)."""

    run_id: str
    thread_id: str | None = None
    attempt: int | None = None
    kind: Literal["run_started"] = "run_started"


@dataclass(frozen=True, slots=True)
class MessageStarted:
    """A new message began streaming (or arrived whole)."""

    message_id: str
    role: str
    node: str | None = None
    namespace: Namespace = ()
    kind: Literal["message_started"] = "message_started"


@dataclass(frozen=True, slots=True)
class TextDelta:
    """New text appended to a streaming message."""

    message_id: str
    text: str
    node: str | None = None
    namespace: Namespace = ()
    role: str = "ai"
    """The message's role, as its `MessageStarted` said (`ai`, `tool`, `human`)."""
    kind: Literal["text_delta"] = "text_delta"


@dataclass(frozen=True, slots=True)
class ToolCallProgress:
    """A tool call's arguments changed as the model generated them.

    `args` is the whole argument object parsed so far (partial JSON), so a renderer can
    redraw the call in place: `{}` -> `{'a': 2}` -> `{'a': 2, 'b': 3}`.
    """

    message_id: str
    index: int
    call_id: str | None
    name: str | None
    args: dict[str, Any]
    node: str | None = None
    namespace: Namespace = ()
    kind: Literal["tool_call_progress"] = "tool_call_progress"


@dataclass(frozen=True, slots=True)
class MessageFinished:
    """A message is complete: the full message, why it stopped, and token usage."""

    message_id: str
    message: BaseMessage
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    node: str | None = None
    namespace: Namespace = ()
    kind: Literal["message_finished"] = "message_finished"


@dataclass(frozen=True, slots=True)
class StateValues:
    """The graph's full state after a step (`values` mode)."""

    values: dict[str, Any]
    namespace: Namespace = ()
    kind: Literal["state_values"] = "state_values"


@dataclass(frozen=True, slots=True)
class NodeUpdate:
    """What one node wrote to the state (`updates` mode)."""

    node: str
    update: Any
    namespace: Namespace = ()
    kind: Literal["node_update"] = "node_update"


@dataclass(frozen=True, slots=True)
class CustomEvent:
    """Data a node wrote with its stream writer (`custom` mode)."""

    data: Any
    namespace: Namespace = ()
    kind: Literal["custom"] = "custom"


DECISION_TYPES: tuple[str, ...] = ("approve", "edit", "reject")
"""Every decision a reviewer can make; what a request allows unless it says otherwise."""


@dataclass(frozen=True, slots=True)
class ActionRequest:
    """One tool call waiting for a person's decision (`action_requests` of an interrupt)."""

    name: str
    args: dict[str, Any]
    description: str | None = None
    allowed_decisions: tuple[str, ...] = DECISION_TYPES


@dataclass(frozen=True, slots=True)
class Interrupted:
    """The graph stopped to ask a person (`interrupt()`); the run ends `interrupted`.

    `value` is what the graph passed to `interrupt()`. When it has the shape of
    LangChain's human-in-the-loop requests (`action_requests` and `review_configs`, as
    the `agent` graph's tool review sends), `requests` lists the calls to decide on,
    and `error` says why the previous answer was refused, if it was. Continue with
    `ChatSession.resume`, one decision per request.
    """

    interrupt_id: str | None
    value: Any
    requests: tuple[ActionRequest, ...] = ()
    error: str | None = None
    namespace: Namespace = ()
    kind: Literal["interrupted"] = "interrupted"


@dataclass(frozen=True, slots=True)
class RunError:
    """The run failed; `message` is one line fit to show a user."""

    message: str
    error: str = "Error"
    kind: Literal["run_error"] = "run_error"


@dataclass(frozen=True, slots=True)
class RunEnded:
    """The run is over. Always the last event of a stream."""

    run_id: str | None
    status: RunStatus = "success"
    kind: Literal["run_ended"] = "run_ended"


@dataclass(frozen=True, slots=True)
class StreamResumed:
    """The connection dropped and the stream was rejoined from `last_event_id`."""

    run_id: str
    last_event_id: str | None
    attempt: int
    kind: Literal["stream_resumed"] = "stream_resumed"


@dataclass(frozen=True, slots=True)
class ReplyRetracted:
    """Messages already streamed are withdrawn: they are not part of the reply.

    The server restarted the run (Aegra retries a run whose instance crashed; the
    retry streams a second `metadata` event and its own messages), so the first
    attempt's unfinished messages never reach the thread. A reconciliation with the
    thread's final state also withdraws a message it then sends again whole. Renderers
    remove the messages' text and tool calls where they can; see `client.cli.render`.
    """

    run_id: str | None
    message_ids: tuple[str, ...]
    reason: Literal["run_restarted", "corrected"] = "run_restarted"
    kind: Literal["reply_retracted"] = "reply_retracted"


StreamEvent = (
    RunStarted
    | MessageStarted
    | TextDelta
    | ToolCallProgress
    | MessageFinished
    | StateValues
    | NodeUpdate
    | CustomEvent
    | Interrupted
    | RunError
    | RunEnded
    | StreamResumed
    | ReplyRetracted
)
"""Any event a decoder yields."""


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseMessage):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return value


def to_json(event: StreamEvent) -> dict[str, Any]:
    """Return the event as a JSON-ready dict (messages as LangChain's message dicts)."""
    return {f.name: _jsonable(getattr(event, f.name)) for f in dataclasses.fields(event)}
