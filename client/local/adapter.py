"""Adapt in-process graph streams to the typed events of `client.events`.

In-process streaming has the same shapes as the server's stream parts, so this module
only renames them and feeds the one `StreamDecoder` the remote client uses:

- `graph.stream` / `graph.astream` with `stream_mode=[...]` and `subgraphs=True` yield
  `(namespace, mode, data)`; that is the part `mode|ns1|ns2` with `data`. In-process
  `messages` data is the `(chunk, metadata)` pair the server sends as `messages-tuple`.
- `graph.astream_events(version="v2")` yields the dicts the server's `events` mode
  carries as data.

A failure of the graph becomes `RunError` and `RunEnded("error")`, as a failed remote
run does; the output streamed before it has already been yielded.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from typing import Any, Literal, TypeAlias, cast

from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableConfig
from langgraph.pregel import Pregel
from langgraph.types import StreamMode as LocalStreamMode

from client.decode import PartInput, StreamDecoder
from client.errors import InvalidInput
from client.events import RunStatus, StreamEvent
from client.inputs import parse_stream_modes

__all__ = [
    "LocalChunk",
    "adecode",
    "astream_events",
    "decode",
    "input_message_ids",
    "local_modes",
    "run_config",
    "stream_events",
    "to_part",
]

LocalChunk: TypeAlias = tuple[tuple[str, ...], str, Any] | Mapping[str, Any]
"""One item of `astream(..., subgraphs=True)` with a list of modes, or one v2 event."""

EVENTS_MODE = "events"

# The SDK's `messages-tuple` is what in-process `messages` yields; the server's legacy
# `messages` (whole message so far, per token) has no in-process form, and the decoder
# gives the same events for both, so it maps to the tuple form too.
_LOCAL_MODES: dict[str, LocalStreamMode] = {
    "messages-tuple": "messages",
    "messages": "messages",
    "values": "values",
    "updates": "updates",
    "custom": "custom",
}


def local_modes(modes: str | Sequence[str]) -> tuple[LocalStreamMode, ...] | Literal["events"]:
    """Return the in-process stream modes for SDK stream mode names.

    Args:
        modes: SDK names, as `ChatSession` takes them.

    Returns:
        The modes for `graph.astream`, or "events" for `astream_events`.

    Raises:
        InvalidInput: A name is unknown, or "events" is combined with other modes
            (in-process, `astream_events` is a separate call).
    """
    parsed = parse_stream_modes(modes)
    if EVENTS_MODE in parsed:
        if len(parsed) > 1:
            raise InvalidInput("in-process, the 'events' stream mode cannot be combined")
        return "events"
    return tuple(dict.fromkeys(_LOCAL_MODES[m] for m in parsed))


def to_part(chunk: LocalChunk) -> PartInput:
    """Return the SDK-shaped stream part for one in-process stream item."""
    if isinstance(chunk, Mapping):
        return (EVENTS_MODE, chunk)
    namespace, mode, data = chunk
    # Checkpoint namespaces are "node:task_id"; the server sends them the same way.
    return ("|".join((mode, *namespace)), data)


def run_config(config: RunnableConfig | None, run_id: uuid.UUID) -> RunnableConfig:
    """Return `config` with `run_id` set, so the stream's `RunStarted` names the run."""
    return cast(RunnableConfig, {**(config or {}), "run_id": run_id})


def _never() -> bool:
    return False


def _error_part(error: Exception) -> PartInput:
    return ("error", {"error": type(error).__name__, "message": str(error)})


def decode(
    chunks: Iterable[LocalChunk], decoder: StreamDecoder, run_id: uuid.UUID
) -> Iterator[StreamEvent]:
    """Decode a synchronous in-process stream (`graph.stream`) into typed events.

    Args:
        chunks: The stream, made with `run_config(config, run_id)`.
        decoder: A fresh decoder for this run.
        run_id: The run id given to the graph.
    """
    yield from decoder.feed(("metadata", {"run_id": str(run_id)}))
    try:
        for chunk in chunks:
            yield from decoder.feed(to_part(chunk))
    except Exception as error:
        yield from decoder.feed(_error_part(error))
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()  # a consumer that stopped early stops the graph now
    yield from decoder.finish()


async def adecode(
    chunks: AsyncIterable[LocalChunk],
    decoder: StreamDecoder,
    run_id: uuid.UUID,
    *,
    should_stop: Callable[[], bool] | None = None,
) -> AsyncGenerator[StreamEvent, None]:
    """Decode an async in-process stream (`astream`, `astream_events`) into typed events.

    Closing this generator (a consumer that breaks out of `async for` and closes it,
    or `aclosing`) closes `chunks` at once, which cancels the graph's pending tasks.

    Args:
        chunks: The stream, made with `run_config(config, run_id)`.
        decoder: A fresh decoder for this run.
        run_id: The run id given to the graph.
        should_stop: A callable checked before each event is yielded; when it returns
            True the run stops and ends "cancelled" (Ctrl-C in the CLI): nothing the
            graph made after that reaches the consumer, but the closing events.
    """
    stopped = should_stop or _never
    for event in decoder.feed(("metadata", {"run_id": str(run_id)})):
        yield event
    status: RunStatus = "success"
    iterator = aiter(chunks)
    try:
        async for chunk in iterator:
            # Checked before each event, not after each part: a cancel arrives while
            # the consumer waits for the next part, and that part is already too late.
            for event in () if stopped() else decoder.feed(to_part(chunk)):
                if stopped():
                    break
                yield event
            if stopped():
                status = "cancelled"
                break
    except Exception as error:
        for event in decoder.feed(_error_part(error)):
            yield event
    finally:
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            # Stops the graph now rather than when the generator is garbage-collected.
            with contextlib.suppress(Exception):
                await aclose()
    for event in decoder.finish(status):
        yield event


def stream_events(
    graph: Pregel[Any, Any, Any, Any],
    graph_input: Any,
    config: RunnableConfig | None = None,
    *,
    stream_mode: str | Sequence[str] = ("messages-tuple", "updates"),
    context: Any = None,
    nodes: Iterable[str] | None = None,
    skip_nostream: bool = False,
) -> Iterator[StreamEvent]:
    """Run `graph.stream` and yield typed events; the synchronous twin of `astream_events`.

    It takes `astream_events`' arguments (but `should_stop`) and yields the same events,
    except that the "events" stream mode is async-only.

    Raises:
        InvalidInput: A stream mode is unknown, or is "events".
    """
    modes, run_id, cfg, decoder = _prepare(config, stream_mode, nodes, graph_input, skip_nostream)
    if isinstance(modes, str):
        raise InvalidInput("the 'events' stream mode needs the async API")
    chunks = graph.stream(
        graph_input, cfg, stream_mode=list(modes), subgraphs=True, context=context
    )
    return decode(cast(Iterator[LocalChunk], chunks), decoder, run_id)


def astream_events(
    graph: Pregel[Any, Any, Any, Any],
    graph_input: Any,
    config: RunnableConfig | None = None,
    *,
    stream_mode: str | Sequence[str] = ("messages-tuple", "updates"),
    context: Any = None,
    nodes: Iterable[str] | None = None,
    should_stop: Callable[[], bool] | None = None,
    skip_nostream: bool = False,
) -> AsyncGenerator[StreamEvent, None]:
    """Run the graph in-process and yield the typed events the remote client yields.

    Args:
        graph: A compiled graph (with a checkpointer when `config` names a thread).
        graph_input: The run's input, e.g. `{"messages": [("user", "hi")]}`.
        config: The run config, e.g. `thread_config(...)`.
        stream_mode: SDK stream mode names: any of "messages-tuple" (or "messages"),
            "values", "updates", "custom"; or "events" alone for `astream_events` v2.
        context: The run context (`agent.context.Context` or a dict of its fields).
        nodes: Only message events of these nodes; None means all.
        should_stop: Checked before each event; True stops the run ("cancelled").
        skip_nostream: Leave model calls tagged `nostream` (the summarizer's) out of
            "events" mode, as "messages" modes leave them out (`StreamDecoder`).
    """
    modes, run_id, cfg, decoder = _prepare(config, stream_mode, nodes, graph_input, skip_nostream)
    chunks: AsyncIterable[Any]
    if isinstance(modes, str):
        chunks = graph.astream_events(graph_input, cfg, version="v2", context=context)
    else:
        chunks = graph.astream(
            graph_input, cfg, stream_mode=list(modes), subgraphs=True, context=context
        )
    return adecode(chunks, decoder, run_id, should_stop=should_stop)


def _prepare(
    config: RunnableConfig | None,
    stream_mode: str | Sequence[str],
    nodes: Iterable[str] | None,
    graph_input: Any,
    skip_nostream: bool,
) -> tuple[
    tuple[LocalStreamMode, ...] | Literal["events"], uuid.UUID, RunnableConfig, StreamDecoder
]:
    """Return a run's local modes, run id, config with that id, and decoder."""
    run_id = uuid.uuid4()
    decoder = _decoder(config, nodes, graph_input, skip_nostream)
    return local_modes(stream_mode), run_id, run_config(config, run_id), decoder


def _decoder(
    config: RunnableConfig | None,
    nodes: Iterable[str] | None,
    graph_input: Any,
    skip_nostream: bool,
) -> StreamDecoder:
    thread_id = (config or {}).get("configurable", {}).get("thread_id")
    return StreamDecoder(
        thread_id=None if thread_id is None else str(thread_id),
        nodes=None if nodes is None else frozenset(nodes),
        input_ids=input_message_ids(graph_input),
        skip_nostream=skip_nostream,
    )


def input_message_ids(graph_input: Any) -> list[str] | None:
    """Return the ids of a run input's messages, or None unless every one has an id.

    With them the decoder tells the run's input from the thread's earlier messages in
    the run's first state; without them it takes the trailing human messages for it.
    """
    messages = graph_input.get("messages") if isinstance(graph_input, Mapping) else None
    if isinstance(messages, Mapping | BaseMessage):
        messages = [messages]
    if not isinstance(messages, list | tuple) or not messages:
        return None
    ids = [
        message.get("id") if isinstance(message, Mapping) else getattr(message, "id", None)
        for message in messages
    ]
    return [str(i) for i in ids] if all(ids) else None
