"""Token helpers over typed events: token streams, node headers, errors, batching.

The tutorial's "best practices" and "advanced" sketches, made correct:

- `TokenStream` yields the non-empty tokens of one node or of every node, each labelled
  with its node; the full messages come from `on_chat_model_end` (`MessageFinished`).
- `stream_tokens` runs a graph in-process with `astream_events` v2 and wraps it.
- `with_node_headers` prints `[node]` when the active node changes (progress display).
- `guard` keeps the partial output and raises `StreamFailed` on a failure, instead of
  printing or swallowing it.
- `batch` joins tokens by count or by time and always flushes the remainder.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableConfig
from langgraph.pregel import Pregel

from client.errors import ChatClientError
from client.events import (
    MessageFinished,
    Namespace,
    RunError,
    StreamEvent,
    TextDelta,
)
from client.local.adapter import astream_events
from client.messages import is_assistant_role


class StreamFailed(ChatClientError):
    """A stream failed part-way; `partial` is the text received before the failure."""

    def __init__(self, message: str, partial: str, error: RunError | None = None) -> None:
        super().__init__(message)
        self.partial = partial
        self.error = error


@dataclass(frozen=True, slots=True)
class Token:
    """One non-empty piece of assistant text, labelled with where it came from."""

    text: str
    node: str | None
    message_id: str
    namespace: Namespace = ()


async def guard(events: AsyncIterable[StreamEvent]) -> AsyncGenerator[StreamEvent, None]:
    """Pass events through; raise `StreamFailed` after the last one on a failure.

    A `RunError` event, or an exception raised by the stream, becomes `StreamFailed`
    carrying the assistant text streamed so far. Every event before the failure is
    still yielded, so a front end shows the partial reply and then the error.

    Raises:
        StreamFailed: The run reported an error or the stream raised.
    """
    partial: list[str] = []
    error: RunError | None = None
    try:
        async for event in events:
            if isinstance(event, TextDelta) and is_assistant_role(event.role):
                partial.append(event.text)
            elif isinstance(event, RunError):
                error = event
            yield event
    except StreamFailed:
        raise
    except Exception as exc:
        raise StreamFailed(f"the stream failed: {exc}", "".join(partial)) from exc
    finally:
        await _aclose(events)
    if error is not None:
        raise StreamFailed(f"the run failed: {error.message}", "".join(partial), error)


class TokenStream:
    """The tokens of a run's typed events, for one node or for every node.

    Iterate it for `Token`s (empty ones are skipped). Afterwards `messages` holds the
    finished assistant messages of those nodes and `text` the joined tokens. A failed
    run raises `StreamFailed` after its last token (see `guard`).
    """

    def __init__(self, events: AsyncIterable[StreamEvent], node: str | None = None) -> None:
        """Read tokens from `events`, only those of `node` if given."""
        self._events = events
        self.node = node
        self.messages: list[BaseMessage] = []
        self._parts: list[str] = []

    @property
    def text(self) -> str:
        """Return every token yielded so far, joined."""
        return "".join(self._parts)

    def _wanted(self, node: str | None) -> bool:
        return self.node is None or node == self.node

    def __aiter__(self) -> AsyncIterator[Token]:
        return self._tokens()

    async def _tokens(self) -> AsyncIterator[Token]:
        # Closed with this generator, so a consumer that stops early stops the run now.
        async with contextlib.aclosing(guard(self._events)) as events:
            async for event in events:
                if isinstance(event, TextDelta):
                    if event.text and is_assistant_role(event.role) and self._wanted(event.node):
                        self._parts.append(event.text)
                        yield Token(event.text, event.node, event.message_id, event.namespace)
                elif (
                    isinstance(event, MessageFinished)
                    and is_assistant_role(event.message.type)
                    and self._wanted(event.node)
                ):
                    self.messages.append(event.message)


def stream_tokens(
    graph: Pregel[Any, Any, Any, Any],
    graph_input: Any,
    config: RunnableConfig | None = None,
    *,
    node: str | None = None,
    context: Any = None,
) -> TokenStream:
    """Stream a graph's tokens in-process with `astream_events` v2.

    The node filter reads each token's `langgraph_node` metadata, so a summarizer
    running after the conversation node never mixes its tokens into that node's stream.

    Args:
        graph: A compiled graph.
        graph_input: The run's input.
        config: The run config, e.g. `client.local.runtime.thread_config(...)`.
        node: Only this node's tokens; None means every node's.
        context: The run context.
    """
    nodes = None if node is None else [node]
    events = astream_events(
        graph, graph_input, config, stream_mode="events", context=context, nodes=nodes
    )
    return TokenStream(events, node)


async def with_node_headers(tokens: AsyncIterable[Token]) -> AsyncIterator[str]:
    """Yield the tokens' text with a `[node] ` header whenever the active node changes.

    The first header starts the output; each later one starts a new line.
    """
    first = True
    current: str | None = None
    async for token in tokens:
        if first or token.node != current:
            yield ("" if first else "\n") + f"[{token.node or 'graph'}] "
            first, current = False, token.node
        yield token.text


async def batch(
    texts: AsyncIterable[str], *, size: int | None = None, interval: float | None = None
) -> AsyncIterator[str]:
    """Join texts into batches of `size` items or of `interval` seconds, whichever first.

    A time batch is flushed when its interval ends even if no new text arrives, and the
    remainder is always flushed when the source ends (or fails, before the error).

    Args:
        texts: The source, e.g. token texts.
        size: Flush after this many texts.
        interval: Flush this many seconds after a batch's first text.

    Raises:
        ValueError: Neither limit is given, or one is not positive.
    """
    if size is None and interval is None:
        raise ValueError("give a batch size, an interval, or both")
    if (size is not None and size < 1) or (interval is not None and interval <= 0):
        raise ValueError("the batch size and interval must be positive")
    loop = asyncio.get_running_loop()
    source = aiter(texts)
    buffer: list[str] = []
    deadline: float | None = None
    pending: asyncio.Future[str] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(source))
            timeout = None if deadline is None else max(deadline - loop.time(), 0)
            done, _ = await asyncio.wait({pending}, timeout=timeout)
            if not done:  # the interval ended with the source still silent
                yield "".join(buffer)
                buffer, deadline = [], None
                continue
            finished, pending = pending, None
            try:
                item = finished.result()
            except StopAsyncIteration:
                break
            except BaseException:
                if buffer:  # what arrived before the failure is still delivered
                    yield "".join(buffer)
                    buffer = []
                raise
            buffer.append(item)
            if deadline is None and interval is not None:
                deadline = loop.time() + interval
            if size is not None and len(buffer) >= size:
                yield "".join(buffer)
                buffer, deadline = [], None
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await pending
        await _aclose(source)
    if buffer:
        yield "".join(buffer)


async def texts(tokens: Iterable[Token] | AsyncIterable[Token]) -> AsyncIterator[str]:
    """Yield the text of each token (to feed `batch`)."""
    if isinstance(tokens, AsyncIterable):
        async for token in tokens:
            yield token.text
    else:
        for token in tokens:
            yield token.text


async def _aclose(source: object) -> None:
    """Close `source` now if it is an async generator (or anything with `aclose`)."""
    aclose = getattr(source, "aclose", None)
    if aclose is not None:
        await aclose()
