"""What a run's typed events say, without the ids and payloads that differ run to run.

Two runs that add the same messages to a thread must give the same shape, whatever the
thread held before: a second turn on a thread with history is compared with a first
turn on a fresh thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any, Protocol

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


class CancellableSession(Protocol):
    """A session that streams runs and cancels them: `ChatSession` or `LocalChatSession`."""

    def send(
        self, text: str, *, stream_mode: str | Sequence[str] | None = None
    ) -> AsyncIterator[StreamEvent]:
        """Stream one run."""
        ...

    async def cancel(self) -> bool:
        """Cancel the run being streamed; return whether there was one."""
        ...


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


async def kinds_after_cancel(
    session: CancellableSession,
    text: str,
    *,
    stream_mode: str | Sequence[str] | None = None,
    settle: float = 0.0,
) -> list[str]:
    """Cancel a run from another task than its consumer's, as Ctrl-C in `lgchat chat` does.

    One task consumes ``session.send(text)``; this one waits for the first token, then
    ``settle`` seconds more, then cancels (the cancel must report a run).

    Args:
        session: The session to send ``text`` on.
        text: The user's message; it should ask for a long reply.
        stream_mode: The run's stream modes; the session's default if None.
        settle: Seconds to wait after the first token before cancelling; none if 0.

    Returns:
        The kinds of the events the consumer got after `cancel` returned.
    """
    first_token = asyncio.Event()
    cancelled = False
    after_cancel: list[str] = []

    async def consume() -> None:
        async for event in session.send(text, stream_mode=stream_mode):
            if cancelled:
                after_cancel.append(event.kind)
            if isinstance(event, TextDelta):
                first_token.set()

    consumer = asyncio.create_task(consume())
    await first_token.wait()
    if settle:
        await asyncio.sleep(settle)
    assert await session.cancel()
    cancelled = True
    await consumer
    return after_cancel
