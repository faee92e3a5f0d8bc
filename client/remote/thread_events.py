"""Turn one run's events of the thread-centric protocol (v3) into decoder stream parts.

A thread's v3 event stream (`POST /threads/{id}/stream/events`, or its WebSocket) is
the thread's, not a run's: a new subscription replays every earlier run of the thread
from the start, then follows the thread live, each event numbered by a `seq` that is
the same on every connection. `ThreadEventTranslator` picks out one run's events and
rewrites them as the `StreamPart`s the run-centric decoder (`client.decode`) already
turns into typed events, so both protocols give the same events from the same code:

- `lifecycle` `running` of the run -> `metadata` (`RunStarted`); `completed`,
  `failed` (with its error line) and `interrupted` -> `end` / `error`. The run's
  lifecycle events are told from other runs' by their `event_id`, which carries the
  run id on both engines (`synth:<run_id>:lc||running` on `langgraph dev`,
  `<run_id>:running:0` on Aegra). Runs of one thread never overlap, so every event
  between the run's `running` and its end is the run's.
- `messages`: `message-start`, `content-block-*` (`text-delta`, `tool-call-delta`)
  and `message-finish` -> `messages-tuple` chunks (`AIMessageChunk` dicts), which the
  decoder merges with langchain-core's chunk addition and parses with its partial-JSON
  parser. Only `message-start` names the message; the events after it in the same
  namespace continue it.
- `values` -> `values` parts; `updates` (`{"node": name, "values": update}`) ->
  `updates` parts (`{name: update}`); `custom` (`{"name"?, "payload": data}`) ->
  `custom` parts of the payload. Aegra sends `updates` and `custom`; `langgraph dev`
  0.16.7 sends neither.
- `input.requested` (`{"interrupt_id", "payload"}`: the graph called `interrupt()`)
  -> an `updates` part `{"__interrupt__": [...]}`, as run-centric streams report it.

Each part carries the event's `seq` as its id, which is what a rejoin resumes from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from langgraph_sdk.schema import StreamPart

from client.decode import INTERRUPT_KEY
from client.events import Namespace

__all__ = ["ThreadEventTranslator", "event_seq"]

_ENDS = {"completed": "success", "interrupted": "interrupted"}
"""Root lifecycle events that end a run normally, and the status each ends with."""


_CLASS_PREFIX = re.compile(r"([A-Za-z_][\w.]*(?:Error|Exception)): (.*)", re.DOTALL)
"""`<ExceptionClass>: <message>`: how Aegra (and some graphs) word a run's error."""


def run_failure(error: object) -> dict[str, str]:
    """Return a failed lifecycle event's error as the run-centric `error` event's data.

    The protocol gives one string; an exception class that leads it becomes the
    error's name, as the run-centric stream names it, so Aegra's redacted
    `ValueError: execution failed` is recognised and its message fetched.
    """
    text = str(error or "")
    match = _CLASS_PREFIX.fullmatch(text)
    if match is None:
        return {"error": "Error", "message": text}
    return {"error": match.group(1), "message": match.group(2)}


def event_seq(event: Mapping[str, Any]) -> int | None:
    """Return a protocol event's `seq`, or None when it has none (a command's ack)."""
    seq = event.get("seq")
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else None


class ThreadEventTranslator:
    """Pick one run's events out of its thread's v3 stream, as decoder parts.

    Attributes:
        run_id: The run whose events are kept.
        started: True once the run's `running` event was seen.
        ended: True once its terminal lifecycle event was seen.
        missed_start: True when the run's end came without its `running` event: the
            stream began after the run's start, so its first events were not given.
    """

    def __init__(self, run_id: str) -> None:
        """Keep the events of run `run_id`."""
        self.run_id = run_id
        self.started = False
        self.ended = False
        self.missed_start = False
        # The message each namespace is streaming: the protocol names a message only
        # in its `message-start`.
        self._streaming: dict[Namespace, str] = {}
        # Content block index -> tool call index, for the message each namespace is
        # streaming: deltas name only their block.
        self._call_indexes: dict[Namespace, dict[object, int]] = {}

    def feed(self, event: Mapping[str, Any]) -> list[StreamPart]:
        """Return the parts one protocol event makes; none for other runs' events."""
        method = event.get("method")
        params = event.get("params")
        if self.ended or not isinstance(method, str) or not isinstance(params, Mapping):
            return []
        namespace = tuple(str(part) for part in params.get("namespace") or ())
        data = params.get("data")
        seq = event_seq(event)
        part_id = str(seq) if seq is not None else None
        if method == "lifecycle":
            return self._lifecycle(event, namespace, data, part_id)
        if not self.started:
            return []  # an earlier run's, replayed
        name = "|".join((method, *namespace)) if namespace else method
        if method == "values":
            return [StreamPart(name, data, part_id)]  # type: ignore[arg-type]
        if method == "input.requested" and isinstance(data, Mapping):
            interrupt = {INTERRUPT_KEY: [data]}
            return [StreamPart(name.replace(method, "updates", 1), interrupt, part_id)]
        if method == "custom" and isinstance(data, Mapping) and "payload" in data:
            # `{"name"?, "payload": ...}`: the payload is what the node wrote.
            return [StreamPart(name, data["payload"], part_id)]
        if method == "updates" and isinstance(data, Mapping) and isinstance(data.get("node"), str):
            # `{"node": name, "values": update}`, where `updates` mode says `{name: update}`.
            return [StreamPart(name, {data["node"]: data.get("values")}, part_id)]
        if method == "messages" and isinstance(data, Mapping):
            chunk = self._chunk(namespace, data)
            if chunk is not None:
                # A `messages-tuple` part's data is `[chunk, metadata]`, not a dict.
                return [StreamPart(name, [chunk, {}], part_id)]  # type: ignore[arg-type]
        return []

    def _lifecycle(
        self, event: Mapping[str, Any], namespace: Namespace, data: Any, part_id: str | None
    ) -> list[StreamPart]:
        if namespace or not isinstance(data, Mapping):
            return []  # a subgraph's lifecycle does not end the run
        ours = self.run_id in str(event.get("event_id") or "")
        what = data.get("event")
        if what == "running" and ours and not self.started:
            self.started = True
            return [StreamPart("metadata", {"run_id": self.run_id}, part_id)]
        if not ours:
            return []
        if not self.started:
            self.missed_start = what != "running"
            return []
        if what == "failed":
            self.ended = True
            return [StreamPart("error", run_failure(data.get("error")), part_id)]
        if what in _ENDS:
            self.ended = True
            return [StreamPart("end", {"status": _ENDS[what]}, part_id)]
        return []

    def _chunk(self, namespace: Namespace, data: Mapping[str, Any]) -> dict[str, Any] | None:
        """Return the `AIMessageChunk` dict one `messages` event adds, if any."""
        what = data.get("event")
        if what == "message-start":
            started = str(data.get("id") or "")
            self._streaming[namespace] = started
            self._call_indexes[namespace] = {}
            return _ai_chunk(started)
        message_id = self._streaming.get(namespace)
        if message_id is None:
            return None
        if what == "content-block-start":
            block = data.get("content")
            if isinstance(block, Mapping) and block.get("type") == "tool_call_chunk":
                calls = self._call_indexes[namespace]
                index = block.get("index")
                calls[data.get("index")] = index if isinstance(index, int) else len(calls)
                return _ai_chunk(message_id, calls=[_call_chunk(block, calls[data.get("index")])])
            if isinstance(block, Mapping) and block.get("text"):
                return _ai_chunk(message_id, text=str(block["text"]))
            return None
        if what == "content-block-delta":
            delta = data.get("delta")
            if not isinstance(delta, Mapping):
                return None
            if delta.get("type") == "text-delta":
                return _ai_chunk(message_id, text=str(delta.get("text") or ""))
            if delta.get("type") == "tool-call-delta":
                index = self._call_indexes[namespace].get(data.get("index"), 0)
                return _ai_chunk(message_id, calls=[_call_chunk(delta, index)])
            return None
        if what == "message-finish":
            del self._streaming[namespace], self._call_indexes[namespace]
            metadata = data.get("metadata")
            chunk = _ai_chunk(message_id)
            chunk["response_metadata"] = dict(metadata) if isinstance(metadata, Mapping) else {}
            usage = data.get("usage")
            if isinstance(usage, Mapping):
                chunk["usage_metadata"] = dict(usage)
            chunk["chunk_position"] = "last"
            return chunk
        return None


def _ai_chunk(
    message_id: str, *, text: str = "", calls: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    # Every field a wire chunk has, so the decoder's fast path takes text deltas.
    return {
        "type": "AIMessageChunk",
        "id": message_id,
        "content": text,
        "tool_call_chunks": calls or [],
        "additional_kwargs": {},
        "usage_metadata": None,
        "chunk_position": None,
        "response_metadata": {},
    }


def _call_chunk(block: Mapping[str, Any], index: int) -> dict[str, Any]:
    """Return a `tool_call_chunk` from a block's start or one of its deltas.

    Deltas name neither the call nor the tool: chunk addition merges chunks that
    share an `index` into the call the start named.
    """
    return {
        "type": "tool_call_chunk",
        "id": block.get("id"),
        "name": block.get("name"),
        "args": str(block.get("args") or ""),
        "index": index,
    }
