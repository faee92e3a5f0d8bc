"""`ChatSession`: what every chat session offers, remote (HTTP) or in-process.

`client.remote.RemoteChatSession` (made by `ChatClient.session`) and
`client.local.LocalChatSession` (made by `LocalRuntime.session`) both satisfy it, so
the CLI, the demos and applications are written once against this protocol.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Protocol

from langchain_core.messages import BaseMessage
from langgraph_sdk.schema import StreamMode

from client.approval import Decision
from client.events import StreamEvent
from client.threads import ThreadInfo
from client.values import AssistantInfo, Reply, ThreadSnapshot


class ChatSession(Protocol):
    """One conversation with one assistant: at most one run streams at a time."""

    stream_mode: tuple[StreamMode, ...]
    """The stream modes `send` uses when given none."""

    @property
    def assistant(self) -> AssistantInfo:
        """Return the assistant every message goes to."""
        ...

    @property
    def thread_id(self) -> str | None:
        """Return the thread's id, None while a remote thread is not known yet."""
        ...

    @property
    def is_streaming(self) -> bool:
        """Return True while a run is streaming."""
        ...

    def send(
        self,
        text: str,
        *,
        stream_mode: str | Sequence[str] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """Send a user message and stream the run as typed events, ending with `RunEnded`.

        Raises:
            InvalidInput: The message, a stream mode or the context is refused.
            ThreadBusy: This session is already streaming a run.
        """
        ...

    async def reply(
        self,
        text: str,
        *,
        stream_mode: str | Sequence[str] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> Reply:
        """Send a message and return the whole streamed run."""
        ...

    def resume(
        self,
        decisions: Sequence[Decision],
        *,
        stream_mode: str | Sequence[str] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """Answer the tool calls the thread waits on (one decision each); stream the run.

        Raises:
            NothingToResume: The thread waits for no decision.
            InvalidInput: The decisions do not answer the pending calls one each.
            ThreadBusy: This session is already streaming a run.
        """
        ...

    async def cancel(self) -> bool:
        """Cancel the run being streamed; return whether one was."""
        ...

    def new_thread(self) -> None:
        """Start a new conversation; its thread exists from the next message on."""
        ...

    async def switch_thread(self, thread_id: str) -> ThreadInfo:
        """Continue an existing thread."""
        ...

    async def state(self) -> ThreadSnapshot | None:
        """Return the thread's current state, or None before its first message."""
        ...

    async def history(self) -> list[BaseMessage]:
        """Return every message of the thread, summarized ones included."""
        ...
