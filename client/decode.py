"""Decode a run's `langgraph-sdk` stream parts into the typed events of `client.events`.

`StreamDecoder` is a synchronous, per-run state machine. Feed it every `StreamPart` of one
run in order, whatever the `stream_mode` (one mode or several, with or without
subgraphs), then call `finish()` when the iteration ends; it returns the typed events, so
renderers never depend on the stream mode:

- `metadata` -> `RunStarted`; `error` -> `RunError` (one line) and `RunEnded("error")`;
  `end` (sent by some LangGraph servers, not by `langgraph dev`) -> `finish()`. A
  second `metadata` in one run means the server restarted it (Aegra's crash
  recovery): the messages still streaming are withdrawn (`ReplyRetracted`).
- Legacy `messages` (`messages/metadata`, `messages/partial` with the whole message so
  far, `messages/complete`), `messages-tuple` (`[chunk, metadata]`) and `events`
  (`on_chat_model_stream` / `on_chat_model_end`) -> one `MessageStarted`, then
  `TextDelta`s (only the new text) and `ToolCallProgress`es (the whole parsed arguments,
  only when they change), then one `MessageFinished` per message. Legacy partials and
  tuple chunks of the same reply give the same events, because both are reduced to the
  same thing: a snapshot of the message so far.
- `values` -> `StateValues`; `updates` -> one `NodeUpdate` per node; `custom` ->
  `CustomEvent`. Messages first seen there arrive whole. An `__interrupt__` in either
  (the graph called `interrupt()`) -> one `Interrupted` per interrupt, however many
  modes report it, and the run then ends `interrupted` rather than `success`.
- A run's events describe what the run added, whatever the thread held before: its
  first `values` event is the thread so far plus the run's input, and only the input
  of it is reported (see `input_ids`); the rest are earlier turns.
- `events` mode reports tool results too (`on_tool_end`, and the tools node's
  `on_chain_end`, the only trace of a failed tool), once per tool call this run made.
- `event|ns1|ns2` names (`stream_subgraphs=True`) put `("ns1", "ns2")` in `namespace`.

A message id that was finished (or filtered out by `nodes`) is never started again, so
several modes at once never duplicate a message.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from itertools import chain
from operator import itemgetter
from typing import Any, TypeAlias, TypeGuard, cast, get_args

from langchain_core.messages import (
    AIMessageChunk,
    BaseMessage,
    BaseMessageChunk,
    message_chunk_to_message,
)
from langchain_core.messages.ai import add_ai_message_chunks
from langchain_core.utils.json import parse_partial_json
from langgraph_sdk.schema import StreamPart

from client.approval import interrupted
from client.events import (
    CustomEvent,
    MessageFinished,
    MessageStarted,
    Namespace,
    NodeUpdate,
    ReplyRetracted,
    RunEnded,
    RunError,
    RunStarted,
    RunStatus,
    StateValues,
    StreamEvent,
    TextDelta,
    ToolCallProgress,
)
from client.messages import message_from_dict

__all__ = ["PartInput", "StreamDecoder", "reports_interrupts", "run_error", "tool_result_id"]

PartInput: TypeAlias = StreamPart | tuple[str, Any] | tuple[str, Any, str | None]
"""What `StreamDecoder.feed` accepts: an SDK `StreamPart`, or `(event, data[, id])`."""

_Message: TypeAlias = Mapping[str, Any] | BaseMessage
"""A message as it arrives: a dict off the wire, or an object from an in-process stream."""

_STATUSES: frozenset[str] = frozenset(get_args(RunStatus))
# OpenAI and most providers say `finish_reason`; Anthropic says `stop_reason`.
_FINISH_KEYS = ("finish_reason", "stop_reason")
_MAX_ERROR_CHARS = 300
# Where a message's content comes from (`_Live.source`).
_PARTIAL, _TUPLE, _EVENTS, _WHOLE = "messages/partial", "messages", "events", "whole"
INTERRUPT_KEY = "__interrupt__"
"""Where `values` and `updates` modes report the interrupts the run stopped at."""
_INTERRUPT_MODES = frozenset({"values", "updates"})
# The tag that keeps a model call's tokens out of `messages` streams.
_NOSTREAM = "nostream"


def reports_interrupts(modes: Iterable[str]) -> bool:
    """Tell whether a run streamed in `modes` reports the interrupt it stops at.

    Only `values` and `updates` carry `__interrupt__`; after a run in other modes,
    the thread's state is where to look.
    """
    return not _INTERRUPT_MODES.isdisjoint(modes)


def tool_result_id(call_id: str) -> str:
    """Return the stand-in id of a tool result that arrives without one yet.

    A node's update holds its messages before the state's reducer gives them ids;
    the result of tool call `call_id` is reported under this id until then.
    """
    return f"tool-result:{call_id}"


@dataclass(slots=True, eq=False)
class _ToolCall:
    """What was reported for one tool call of a message."""

    index: int
    args: dict[str, Any] | None = None


@dataclass(slots=True, eq=False)
class _Live:
    """A message that was started and not yet finished."""

    message_id: str
    role: str
    node: str | None
    namespace: Namespace
    source: str
    """The event that streams it ("messages/partial", "messages" or "events"): with
    several modes at once the same tokens come once per mode, and one is enough."""
    latest: _Message
    """The latest whole snapshot (a legacy partial, a whole message, or the first chunk)."""
    text_len: int = 0
    """How many characters of text `TextDelta`s have carried so far."""
    calls: dict[object, _ToolCall] = field(default_factory=dict)
    chunk: AIMessageChunk | None = None
    """The chunks folded so far (`messages-tuple` and `events` modes)."""
    pending: list[_Message] = field(default_factory=list)
    """Chunks not folded yet: text-only chunks need no fold until the message finishes."""
    plain: list[str] = field(default_factory=list)
    """The texts of the latest plain chunks (text and nothing else), not folded yet."""
    plain_metadata: dict[str, Any] = field(default_factory=dict)
    """The idempotent response metadata those plain chunks carried (e.g. the provider)."""
    blocks: bool = False
    """The content is a list of content blocks, so the text must come from the fold."""


class StreamDecoder:
    """Turn one run's stream parts, in any stream mode, into typed stream events.

    Attributes:
        run_id: The run's id, from the stream's `metadata` event.
        last_event_id: The id of the last part that had one, to resume the stream from.
        ended: True once the run ended: an `end` or `error` event, or `finish()`.
        thread_id: The thread the run belongs to, reported in `RunStarted`.
    """

    def __init__(
        self,
        *,
        thread_id: str | None = None,
        nodes: Collection[str] | None = None,
        input_ids: Collection[str] | None = None,
        skip_nostream: bool = False,
    ) -> None:
        """Create a decoder for one run.

        Args:
            thread_id: The run's thread, for `RunStarted` (the stream does not carry it).
            nodes: Emit message and token events only for messages produced by these
                graph nodes; None means all. Messages whose node is unknown (first seen
                in a `values` event) always pass.
            input_ids: The ids of the messages the run's input adds. A run's first
                `values` event is the thread so far plus that input; its other messages
                are earlier turns, not this run's output. None: the human messages at
                the end of that first state are taken for the input.
            skip_nostream: Leave out model calls tagged `nostream` (the summarizer's)
                in `events` mode too, as the server leaves them out of `messages`
                modes, so every mode shows the same messages. Off by default: in
                `events` mode every node's tokens are there to be seen.
        """
        self.thread_id = thread_id
        self.run_id: str | None = None
        self.last_event_id: str | None = None
        self.ended = False
        self._nodes = frozenset(nodes) if nodes is not None else None
        self._input_ids = frozenset(input_ids) if input_ids is not None else None
        self._skip_nostream = skip_nostream
        # Namespaces whose first `values` event (the state the run started from) came.
        self._started_states: set[Namespace] = set()
        # Tool calls this run's AI messages made, and those whose result was reported:
        # a tool result can come from several events (`events` mode has no stable id
        # for it), and only a call made in this run has its result in this run.
        self._calls_made: set[str] = set()
        self._calls_answered: set[str] = set()
        self._live: dict[str, _Live] = {}
        # Live messages whose finish reason was seen: they finish at the next part that
        # does not continue them, since a usage-only chunk may still follow (OpenAI).
        self._finishing: dict[str, _Live] = {}
        self._done: set[str] = set()
        # Interrupts reported, by id: `values` and `updates` both carry them.
        self._interrupts: set[str | None] = set()
        # Legacy `messages/metadata`: message id -> (node, namespace).
        self._origins: dict[str, tuple[str | None, Namespace]] = {}
        self._handlers = {
            "metadata": self._on_metadata,
            "end": self._on_end,
            "error": self._on_error,
            "messages/metadata": self._on_message_metadata,
            "messages/partial": self._on_partial,
            "messages/complete": self._on_complete,
            "messages": self._on_tuple,
            "values": self._on_values,
            "updates": self._on_updates,
            "custom": self._on_custom,
            "events": self._on_events,
        }

    def feed(self, part: PartInput) -> list[StreamEvent]:
        """Decode one stream part and return the events it completes.

        Args:
            part: An SDK `StreamPart`, or an `(event, data)` / `(event, data, id)` tuple.
                Parts of unknown or unneeded kinds (`debug`, `tasks`, ...) yield nothing.
        """
        event, data = part[0], part[1]
        if len(part) > 2 and part[2]:
            self.last_event_id = part[2]
        if self.ended:
            return []
        if event == "messages" and (fast := self._next_plain_token(data)) is not None:
            return fast
        name, nested, rest = event.partition("|")
        handler = self._handlers.get(name)
        out: list[StreamEvent] = []
        if handler is not None:
            handler(data, tuple(rest.split("|")) if nested else (), out)
        return out

    def _next_plain_token(self, data: Any) -> list[StreamEvent] | None:
        """Decode the commonest part, or return None to take the general path.

        That part is a `messages-tuple` chunk off the wire that adds text and nothing
        else to a message already streaming, with the same response metadata as the
        plain chunks before it. `_chunk` would only append its text to `live.plain`
        and report it; this does the same without looking at the tuple's metadata half
        (about 0.9 KB that only matters when a message starts) or copying anything.
        """
        if self._finishing or type(data) is not list or not data or type(data[0]) is not dict:
            return None
        try:
            kind, message_id, content, calls, extra, usage, position, metadata = _PLAIN_FIELDS(
                data[0]
            )
        except KeyError:
            return None
        live = self._live.get(message_id or "")
        if (
            live is None
            or kind != "AIMessageChunk"
            or type(content) is not str
            or calls
            or extra
            or usage
            or position
            or live.source != _TUPLE
            or live.blocks
            or not live.plain
            or metadata != live.plain_metadata
        ):
            return None
        # Metadata equal to the plain chunks' has only idempotent keys: no finish reason.
        live.plain.append(content)
        if not content:
            return []
        live.text_len += len(content)
        return [TextDelta(live.message_id, content, live.node, live.namespace)]

    @property
    def interrupted(self) -> bool:
        """Return True once the stream reported an interrupt of the graph."""
        return bool(self._interrupts)

    def finish(self, status: RunStatus = "success") -> list[StreamEvent]:
        """Finish every pending message, then end the run; idempotent.

        Args:
            status: How the run ended, for `RunEnded`.

        Returns:
            `MessageFinished` for each pending message and one `RunEnded`; nothing when
            the run has already ended.
        """
        out: list[StreamEvent] = []
        self._end(status, out)
        return out

    # --- run lifecycle -------------------------------------------------------------

    def _on_metadata(self, data: Any, namespace: Namespace, out: list[StreamEvent]) -> None:
        self._settle(None, out)
        data = data if isinstance(data, Mapping) else {}
        restarted = self.run_id is not None
        self.run_id = str(data.get("run_id") or self.run_id or "")
        out.append(RunStarted(self.run_id, self.thread_id, data.get("attempt")))
        if restarted and self._live:
            # The first attempt's unfinished messages never reach the thread: the retry
            # starts its own. Finished ones stay; the run's checkpoints may hold them.
            withdrawn = tuple(self._live)
            self._live.clear()
            self._done.update(withdrawn)
            out.append(ReplyRetracted(self.run_id, withdrawn))

    def _on_end(self, data: Any, namespace: Namespace, out: list[StreamEvent]) -> None:
        status = data.get("status") if isinstance(data, Mapping) else None
        if status is None or status in _STATUSES:
            self._end(status or "success", out)
        else:
            self._end("error", out)  # e.g. "timeout"

    def _on_error(self, data: Any, namespace: Namespace, out: list[StreamEvent]) -> None:
        self._end("error", out, run_error(data))

    def _end(
        self, status: RunStatus, out: list[StreamEvent], error: RunError | None = None
    ) -> None:
        if self.ended:
            return
        for live in list(self._live.values()):
            self._finish(live, out)
        if error is not None:
            out.append(error)
        if status == "success" and self._interrupts:
            status = "interrupted"  # the stream ended because the graph waits
        out.append(RunEnded(self.run_id, status))
        self.ended = True

    # --- state and custom modes ----------------------------------------------------

    def _on_values(self, data: Any, namespace: Namespace, out: list[StreamEvent]) -> None:
        self._settle(None, out)
        values = data if isinstance(data, dict) else {"value": data}
        if INTERRUPT_KEY in values:
            values = dict(values)
            self._interrupted(values.pop(INTERRUPT_KEY), namespace, out)
        messages = values.get("messages")
        if namespace not in self._started_states:
            self._started_states.add(namespace)
            self._known_before(messages)
        self._whole_all(messages, None, namespace, out)
        out.append(StateValues(values, namespace))

    def _known_before(self, messages: Any) -> None:
        """Mark the messages of a run's first state, but its input, as not this run's.

        That state is the thread so far with the run's input applied: reporting its
        earlier turns would replay them as if this run had just produced them.
        """
        if not isinstance(messages, list | tuple):
            return
        found = [m for m in messages if _is_message(m) and _get(m, "id")]
        if self._input_ids is not None:
            earlier = [m for m in found if _get(m, "id") not in self._input_ids]
        else:
            # No ids given (a joined run): the input is the trailing human messages.
            cut = len(found)
            while cut and _role(found[cut - 1]) == "human":
                cut -= 1
            earlier = found[:cut]
        for message in earlier:
            message_id = _get(message, "id")
            if message_id not in self._live:
                self._done.add(message_id)

    def _on_updates(self, data: Any, namespace: Namespace, out: list[StreamEvent]) -> None:
        self._settle(None, out)
        if not isinstance(data, Mapping):
            return
        for node, update in data.items():
            if node == INTERRUPT_KEY:
                self._interrupted(update, namespace, out)
                continue
            if isinstance(update, Mapping):
                self._whole_all(update.get("messages"), node, namespace, out)
            out.append(NodeUpdate(node, update, namespace))

    def _interrupted(self, raw: Any, namespace: Namespace, out: list[StreamEvent]) -> None:
        """Report each interrupt of an `__interrupt__` list once."""
        for item in raw if isinstance(raw, list | tuple) else [raw]:
            event = interrupted(item, namespace)
            if event.interrupt_id not in self._interrupts:
                self._interrupts.add(event.interrupt_id)
                out.append(event)

    def _on_custom(self, data: Any, namespace: Namespace, out: list[StreamEvent]) -> None:
        self._settle(None, out)
        out.append(CustomEvent(data, namespace))

    # --- message modes -------------------------------------------------------------

    def _on_message_metadata(self, data: Any, namespace: Namespace, out: list[StreamEvent]) -> None:
        self._settle(None, out)
        if not isinstance(data, Mapping):
            return
        for message_id, value in data.items():
            meta = value.get("metadata") if isinstance(value, Mapping) else None
            self._origins[message_id] = _origin(meta)

    def _on_partial(self, data: Any, namespace: Namespace, out: list[StreamEvent]) -> None:
        for message in data:
            message_id = _get(message, "id") or ""
            self._settle(message_id, out)
            if message_id in self._done:
                continue
            live = self._live.get(message_id)
            if live is None:
                node, origin = self._origins.get(message_id, (None, ()))
                live = self._start(message, message_id, node, namespace or origin, _PARTIAL, out)
                if live is None:
                    continue
            elif live.source != _PARTIAL:
                continue
            # A legacy partial is the whole message so far: a snapshot like any other.
            live.latest = message
            if live.role == "ai":
                self._observe(live, message, out)
            if _finish_reason(message) is not None:
                self._finishing[message_id] = live

    def _on_complete(self, data: Any, namespace: Namespace, out: list[StreamEvent]) -> None:
        for message in data:
            node, origin = self._origins.get(_get(message, "id") or "", (None, ()))
            self._whole(message, node, namespace or origin, out)

    def _on_tuple(self, data: Any, namespace: Namespace, out: list[StreamEvent]) -> None:
        message, meta = data[0], data[1] if len(data) > 1 else None
        if isinstance(message, AIMessageChunk) or _get(message, "type") == "AIMessageChunk":
            self._chunk(message, meta, namespace, _TUPLE, out)
        else:
            self._whole(message, *_origin(meta, namespace), out)

    def _on_events(self, data: Any, namespace: Namespace, out: list[StreamEvent]) -> None:
        kind = data.get("event")
        payload = data.get("data") or {}
        meta = data.get("metadata")
        if (
            self._skip_nostream
            and kind in ("on_chat_model_stream", "on_chat_model_end")
            and _NOSTREAM in (data.get("tags") or ())
        ):
            self._settle(None, out)
        elif kind == "on_chat_model_stream" and _is_message(chunk := payload.get("chunk")):
            self._chunk(chunk, meta, namespace, _EVENTS, out)
        elif kind == "on_chat_model_end" and _is_message(output := payload.get("output")):
            self._whole(output, *_origin(meta, namespace), out)
        elif kind == "on_tool_end" and _is_message(output := payload.get("output")):
            self._tool_result(output, meta, namespace, out)
        elif (
            kind == "on_chain_end"
            and isinstance(meta, Mapping)
            and data.get("name") == meta.get("langgraph_node")
            and isinstance(output := payload.get("output"), Mapping)
            and isinstance(messages := output.get("messages"), list | tuple)
        ):
            # A node's own end: the tool results it wrote, including the error results
            # a `ToolNode` makes of failed tools, which have no `on_tool_end`.
            for message in messages:
                if _is_message(message) and _role(message) == "tool":
                    self._tool_result(message, meta, namespace, out)
            self._settle(None, out)
        else:
            self._settle(None, out)  # every other event type carries nothing to show

    def _tool_result(
        self, message: _Message, meta: Any, namespace: Namespace, out: list[StreamEvent]
    ) -> None:
        """Report a tool's result from `events` mode if this run made the call."""
        if _get(message, "tool_call_id") in self._calls_made:
            self._whole(message, *_origin(meta, namespace), out)
        else:
            self._settle(None, out)

    # --- the message lifecycle, shared by every mode --------------------------------

    def _start(
        self,
        message: _Message,
        message_id: str,
        node: str | None,
        namespace: Namespace,
        source: str,
        out: list[StreamEvent],
    ) -> _Live | None:
        """Start a message, or return None (and never start it) if `nodes` excludes it."""
        if self._nodes is not None and node is not None and node not in self._nodes:
            self._done.add(message_id)
            return None
        live = _Live(message_id, _role(message), node, namespace, source, message)
        self._live[message_id] = live
        out.append(MessageStarted(message_id, live.role, node, namespace))
        return live

    def _whole_all(
        self, messages: Any, node: str | None, namespace: Namespace, out: list[StreamEvent]
    ) -> None:
        """Handle a state's or an update's messages: a list, one message, or nothing."""
        if _is_message(messages):
            self._whole(messages, node, namespace, out)
        elif isinstance(messages, list | tuple):
            for message in messages:
                if _is_message(message):
                    self._whole(message, node, namespace, out)

    def _whole(
        self, message: _Message, node: str | None, namespace: Namespace, out: list[StreamEvent]
    ) -> None:
        """Handle a message that arrived whole; it may complete a streamed one."""
        if _get(message, "type") == "remove":
            return
        call_id = _get(message, "tool_call_id") if _role(message) == "tool" else None
        message_id = _get(message, "id") or (tool_result_id(call_id) if call_id else None)
        if not message_id:
            # Without an id a message cannot be told apart from its copies in later states.
            return
        self._settle(message_id, out)
        self._note_calls(_get(message, "tool_calls"))
        if message_id in self._done:
            return
        if call_id and call_id in self._calls_answered and message_id not in self._live:
            # This run reported the call's result already: in-process, a tool result
            # has no id until the state takes it (after `updates` and `events` report
            # it), so it came under a stand-in id named after its call.
            self._done.add(message_id)
            return
        try:
            whole = _to_message(message)
        except ValueError:
            return  # not a LangChain message after all (pydantic errors are ValueErrors)
        live = self._live.get(message_id)
        if live is None:
            live = self._start(whole, message_id, node, namespace, _WHOLE, out)
            if live is None:
                return
        # The whole message is authoritative: it replaces whatever was streamed.
        live.latest, live.chunk, live.pending, live.plain = whole, None, [], []
        if live.role == "ai":
            self._observe(live, whole, out)
        self._finish(live, out)

    def _chunk(
        self,
        chunk: _Message,
        meta: Any,
        namespace: Namespace,
        source: str,
        out: list[StreamEvent],
    ) -> None:
        """Accumulate one AI message chunk (`messages-tuple` and `events` modes)."""
        message_id = _get(chunk, "id") or ""
        self._settle(message_id, out)
        self._note_calls(_get(chunk, "tool_call_chunks"))
        if message_id in self._done:
            return
        live = self._live.get(message_id)
        if live is None:
            live = self._start(chunk, message_id, *_origin(meta, namespace), source, out)
            if live is None:
                return
        elif live.source != source:
            return
        content = _get(chunk, "content")
        if isinstance(content, str) and not live.blocks and not _get(chunk, "tool_call_chunks"):
            # Chunk addition concatenates string contents, so the chunk's text is the
            # delta: no need to fold (and re-validate) the message for every token.
            metadata = _plain_metadata(chunk)
            if metadata is not None and metadata != live.plain_metadata and live.plain:
                self._flush_plain(live)
            if metadata is not None:
                live.plain.append(content)
                live.plain_metadata = metadata
            else:
                self._flush_plain(live)
                live.pending.append(chunk)
            if content:
                self._text(live, content, out)
        else:
            live.blocks = live.blocks or not isinstance(content, str)
            self._flush_plain(live)
            live.pending.append(chunk)
            self._observe(live, self._fold(live), out)
        if _get(chunk, "chunk_position") == "last":
            self._finish(live, out)
        elif _finish_reason(chunk) is not None:
            self._finishing[message_id] = live

    def _note_calls(self, calls: Any) -> None:
        """Remember the ids of tool calls made in this run (even by filtered nodes)."""
        if calls:
            for call in calls:
                if isinstance(call, Mapping) and (call_id := call.get("id")):
                    self._calls_made.add(call_id)

    def _flush_plain(self, live: _Live) -> None:
        """Turn the run of plain chunks into one pending chunk with their joined text."""
        if live.plain:
            # Adding a chunk that has only text to another concatenates the texts and
            # changes nothing else, so a run of them equals one chunk with the joined text.
            text = "".join(live.plain)
            metadata = live.plain_metadata
            live.pending.append(
                AIMessageChunk(content=text, id=live.message_id or None, response_metadata=metadata)
            )
            live.plain = []

    def _fold(self, live: _Live) -> AIMessageChunk:
        """Add the pending chunks to the message so far, with langchain-core's `+`."""
        self._flush_plain(live)
        chunks = [_as_chunk(c) for c in live.pending]
        live.pending = []
        if live.chunk is not None:
            chunks.insert(0, live.chunk)
        live.chunk = add_ai_message_chunks(chunks[0], *chunks[1:])
        return live.chunk

    def _observe(self, live: _Live, message: _Message, out: list[StreamEvent]) -> None:
        """Report what a snapshot of an AI message adds to what was reported before."""
        content = _get(message, "content")
        text = content if isinstance(content, str) else _block_text(content)
        if len(text) > live.text_len:
            self._text(live, text[live.text_len :], out)
        tool_calls = _get(message, "tool_calls")
        invalid = _get(message, "invalid_tool_calls")
        if tool_calls or invalid:
            self._observe_calls(live, chain(tool_calls or (), invalid or ()), out)

    def _text(self, live: _Live, text: str, out: list[StreamEvent]) -> None:
        live.text_len += len(text)
        out.append(TextDelta(live.message_id, text, live.node, live.namespace, live.role))

    def _observe_calls(
        self, live: _Live, calls: Iterable[Mapping[str, Any]], out: list[StreamEvent]
    ) -> None:
        for position, call in enumerate(calls):
            call_id = call.get("id")
            key: object = call_id or position
            state = live.calls.get(key)
            if state is None:
                state = live.calls[key] = _ToolCall(len(live.calls))
            args = call.get("args")
            if not isinstance(args, dict):
                # An invalid tool call: its arguments are still a raw JSON string.
                args = _parse_args(args)
            if args is None or args == state.args:
                continue
            # Partial JSON can lose a key for a moment (mid `\u` escape): skip that, so
            # the reported arguments only ever grow.
            if state.args is not None and not state.args.keys() <= args.keys():
                continue
            state.args = args
            out.append(
                ToolCallProgress(
                    live.message_id,
                    state.index,
                    call_id,
                    call.get("name"),
                    args,
                    live.node,
                    live.namespace,
                )
            )

    def _settle(self, keep: str | None, out: list[StreamEvent]) -> None:
        """Finish messages that reported a finish reason, unless this part continues them."""
        if self._finishing:
            for message_id, live in list(self._finishing.items()):
                if message_id != keep:
                    self._finish(live, out)

    def _finish(self, live: _Live, out: list[StreamEvent]) -> None:
        if live.pending or live.plain or live.chunk is not None:
            message = message_chunk_to_message(self._fold(live))
        else:
            message = _to_message(live.latest)
        usage = getattr(message, "usage_metadata", None)
        out.append(
            MessageFinished(
                live.message_id,
                message,
                _finish_reason(message),
                dict(usage) if usage else None,
                live.node,
                live.namespace,
            )
        )
        del self._live[live.message_id]
        self._finishing.pop(live.message_id, None)
        self._done.add(live.message_id)
        if live.role == "tool" and (call_id := getattr(message, "tool_call_id", None)):
            self._calls_answered.add(call_id)


# --- helpers -------------------------------------------------------------------------


def _get(message: Any, key: str) -> Any:
    """Return a field of a message given as a dict or as a LangChain message object."""
    if isinstance(message, dict):  # the wire format; checked first as it is the fastest
        return message.get(key)
    if isinstance(message, Mapping):
        return message.get(key)
    return getattr(message, key, None)


def _is_message(value: Any) -> TypeGuard[_Message]:
    return isinstance(value, BaseMessage) or (isinstance(value, Mapping) and "type" in value)


_PLAIN_FIELDS = itemgetter(
    "type",
    "id",
    "content",
    "tool_call_chunks",
    "additional_kwargs",
    "usage_metadata",
    "chunk_position",
    "response_metadata",
)
"""The fields of a wire chunk that `StreamDecoder._next_plain_token` looks at."""

_IDEMPOTENT_METADATA = frozenset({"model_provider", "output_version"})
"""Response metadata keys that chunk addition keeps once when the values are equal."""


def _plain_metadata(chunk: _Message) -> dict[str, Any] | None:
    """Return the metadata of a chunk that adds text and nothing else, or None.

    ChatOpenAI tags every chunk with `{"model_provider": "openai"}`. Chunk addition
    keeps one copy of equal values under such keys, so a run of these chunks still
    equals one chunk with the joined text and that metadata.
    """
    if _get(chunk, "additional_kwargs") or _get(chunk, "usage_metadata"):
        return None
    if _get(chunk, "chunk_position"):
        return None
    metadata = _get(chunk, "response_metadata") or {}
    return dict(metadata) if metadata.keys() <= _IDEMPOTENT_METADATA else None


def _as_chunk(chunk: _Message) -> AIMessageChunk:
    """Return an AI message chunk given as a wire dict or as an object."""
    if isinstance(chunk, BaseMessage):
        return cast(AIMessageChunk, chunk)  # `_chunk` only takes AI chunks
    # The wire dicts are dumps of valid chunks, so skip validating each one: their sum
    # is validated (and its tool-call arguments parsed) once, in `add_ai_message_chunks`.
    return AIMessageChunk.model_construct(**chunk)


def _role(message: _Message) -> str:
    """Return the role: "ai", "human", "tool", "system", ... (chunks as their message)."""
    kind = str(_get(message, "type") or "ai")
    if kind.endswith("MessageChunk"):
        return kind.removesuffix("MessageChunk").lower()
    return kind


def _finish_reason(message: _Message) -> str | None:
    metadata = _get(message, "response_metadata")
    if metadata:
        for key in _FINISH_KEYS:
            if reason := metadata.get(key):
                return str(reason)
    return None


def _origin(meta: Any, namespace: Namespace = ()) -> tuple[str | None, Namespace]:
    """Return the node and namespace of a message from its stream metadata.

    The namespace from the event name wins; legacy `messages` events never carry one, so
    it comes from `langgraph_checkpoint_ns` ("parent:<task>|node:<task>") minus the node.
    """
    if not isinstance(meta, Mapping):
        return None, namespace
    if not namespace and (checkpoint_ns := meta.get("langgraph_checkpoint_ns")):
        namespace = tuple(checkpoint_ns.split("|")[:-1])
    return meta.get("langgraph_node"), namespace


def _block_text(content: Any) -> str:
    """Return the text of list content: plain strings and `text` blocks."""
    if not isinstance(content, list):
        return ""
    return "".join(
        block if isinstance(block, str) else str(block.get("text", ""))
        for block in content
        if isinstance(block, str) or (isinstance(block, Mapping) and block.get("type") == "text")
    )


def _parse_args(raw: Any) -> dict[str, Any] | None:
    """Parse a tool call's raw argument string as partial JSON; None if impossible."""
    if not isinstance(raw, str):
        return None
    if not raw.strip():
        return {}
    try:
        parsed = parse_partial_json(raw)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _to_message(message: _Message) -> BaseMessage:
    """Return a message object (never a chunk) for a message dict or object."""
    if not isinstance(message, BaseMessage):
        message = message_from_dict(message)
    if isinstance(message, BaseMessageChunk):
        return message_chunk_to_message(message)
    return message


def run_error(data: Any) -> RunError:
    """Return a `RunError` whose message is one clean line, whatever the server sent."""
    if isinstance(data, Mapping):
        name = str(data.get("error") or "Error")
        text = str(data.get("message") or "")
    else:
        name, text = "Error", "" if data is None else str(data)
    line = next((" ".join(line.split()) for line in text.splitlines() if line.strip()), name)
    if len(line) > _MAX_ERROR_CHARS:
        line = line[: _MAX_ERROR_CHARS - 1] + "…"
    return RunError(message=line, error=name)
