"""`LocalChatSession`: one conversation with one in-process graph, on a `LocalRuntime`.

It satisfies `client.session.ChatSession`: `send` streams a run as the same typed events
as the remote client (through `client.local.adapter`), so the renderers, the CLI's
`--json` output and the demo serve both.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, StateSnapshot
from langgraph_sdk.schema import StreamMode

from client.approval import Decision, check_decisions, interrupted, resume_value
from client.context_schema import validate_context
from client.decode import reports_interrupts
from client.errors import NothingToResume, ThreadBusy, ThreadNotFound
from client.events import Interrupted, RunEnded, StreamEvent
from client.inputs import DEFAULT_STREAM_MODES, parse_stream_modes, validate_message
from client.local.adapter import astream_events
from client.messages import unique_messages
from client.threads import (
    GRAPH_ID_KEY,
    ConversationKey,
    ThreadInfo,
    new_conversation_id,
    parse_thread_id,
)
from client.values import (
    AssistantInfo,
    Reply,
    ThreadSnapshot,
    collect_reply,
)

if TYPE_CHECKING:
    from client.local.runtime import LocalRuntime

TOKEN_MODES = DEFAULT_STREAM_MODES
"""Token-level streaming: tokens and tool-call fragments, plus each node's update."""
NODE_MODES: tuple[StreamMode, ...] = ("updates",)
"""Node-level streaming: one whole update per node, no tokens (the cheapest)."""
RUN_CONTEXT_KEY = "lgchat_run_context"
"""Checkpoint metadata: the context of the run that wrote the checkpoint, as JSON."""


def _interrupts_of(snapshot: StateSnapshot) -> tuple[Interrupted, ...]:
    """Return what a local thread waits for: its snapshot's pending interrupts."""
    return tuple(interrupted(item) for item in snapshot.interrupts)


def _stored_context(stored: object) -> dict[str, Any] | None:
    """Return the context kept in checkpoint metadata, or None if there is none."""
    try:
        context = json.loads(stored) if isinstance(stored, str) else None
    except ValueError:
        return None
    return context if isinstance(context, dict) else None


class LocalChatSession:
    """One conversation with one local graph; made by `LocalRuntime.session`.

    It satisfies `client.session.ChatSession`, so the CLI and the demo drive either.
    """

    def __init__(
        self,
        runtime: LocalRuntime,
        assistant: AssistantInfo,
        graph: CompiledStateGraph[Any, Any, Any, Any],
        *,
        key: ConversationKey | None = None,
    ) -> None:
        """Set up the session; prefer `LocalRuntime.session`."""
        self.runtime = runtime
        self.assistant = assistant
        self.graph = graph
        self.key = key
        self.stream_mode: tuple[StreamMode, ...] = TOKEN_MODES
        self._thread_id: str | None = None if key else str(uuid.uuid4())
        self._streaming = False
        self._stop = False

    @property
    def stream_tokens(self) -> bool:
        """Return whether `send` streams tokens (else whole node updates)."""
        return self.stream_mode != NODE_MODES

    @stream_tokens.setter
    def stream_tokens(self, value: bool) -> None:
        """Switch between token-level and node-level streaming (the tutorial's switch)."""
        self.stream_mode = TOKEN_MODES if value else NODE_MODES

    @property
    def thread_id(self) -> str:
        """Return the thread's id (known before its first message)."""
        return self.key.thread_id if self.key is not None else str(self._thread_id)

    @property
    def config(self) -> RunnableConfig:
        """Return the run config of this session's thread.

        Its metadata (owner and graph) lands in every checkpoint, which is how
        `LocalRuntime.threads` lists a user's threads, as thread metadata does on a server.
        """
        metadata = self.key.metadata if self.key else {GRAPH_ID_KEY: self.assistant.graph_id}
        return {"configurable": {"thread_id": self.thread_id}, "metadata": dict(metadata)}

    @property
    def is_streaming(self) -> bool:
        """Return True while a run is streaming."""
        return self._streaming

    def send(
        self,
        text: str,
        *,
        stream_mode: str | Sequence[str] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> AsyncGenerator[StreamEvent, None]:
        """Send a user message and stream the run as events, ending with `RunEnded`.

        Breaking out of the `async for` and closing the iterator (or using
        `contextlib.aclosing`) stops the graph; the thread keeps its last checkpoint.

        Raises:
            InvalidInput: The message is empty, a stream mode is unknown, or the context
                does not fit the graph's context schema.
            ThreadBusy: This session is already streaming a run.
        """
        validate_message(text)
        modes = self.stream_mode if stream_mode is None else parse_stream_modes(stream_mode)
        context = validate_context(context, self.graph.get_context_jsonschema())
        if self._streaming:
            raise ThreadBusy(self.thread_id)
        # An id of our own lets the decoder tell this input from the thread's earlier
        # messages in the run's first state (`values` mode).
        message = {"role": "user", "content": text, "id": str(uuid.uuid4())}
        return self._run({"messages": [message]}, modes, dict(context) if context else None)

    def resume(
        self,
        decisions: Sequence[Decision],
        *,
        stream_mode: str | Sequence[str] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> AsyncGenerator[StreamEvent, None]:
        """Answer the tool calls the thread waits on, and stream the resumed run.

        The arguments and errors are `RemoteChatSession.resume`'s; the interrupted
        run's context is kept in its checkpoints' metadata, so it is found again by
        another process (`lgchat --local resume`).
        """
        modes = self.stream_mode if stream_mode is None else parse_stream_modes(stream_mode)
        if context is not None:
            context = validate_context(context, self.graph.get_context_jsonschema())
        self._ensure_idle()
        return self._resume(list(decisions), modes, context)

    async def _resume(
        self, decisions: list[Decision], modes: Sequence[str], context: Mapping[str, Any] | None
    ) -> AsyncGenerator[StreamEvent, None]:
        snapshot = await self.graph.aget_state(self.config)
        interrupts = _interrupts_of(snapshot)
        if not interrupts:
            raise NothingToResume(self.thread_id)
        check_decisions(interrupts[0], decisions)
        value = resume_value(interrupts[0], decisions)
        if context is None:
            context = _stored_context((snapshot.metadata or {}).get(RUN_CONTEXT_KEY))
        run_context = dict(context) if context else None
        # Closed with this generator, not left to the garbage collector, which may
        # come late: the session is busy until it is closed.
        async with contextlib.aclosing(self._run(Command(resume=value), modes, run_context)) as run:
            async for event in run:
                yield event

    async def _run(
        self, graph_input: Any, modes: Sequence[str], context: dict[str, Any] | None
    ) -> AsyncGenerator[StreamEvent, None]:
        """Stream one run of the graph; an interrupt it ends at is reported in any mode."""
        if self._streaming:
            raise ThreadBusy(self.thread_id)
        self._streaming, self._stop = True, False
        config = self.config
        # Checkpoint metadata keeps the run's context for a resume by another process;
        # as JSON, since LangGraph keeps only scalar metadata values.
        config["metadata"][RUN_CONTEXT_KEY] = json.dumps(context or {})
        events = astream_events(
            self.graph,
            graph_input,
            config,
            stream_mode=modes,
            context=context,
            should_stop=lambda: self._stop,
            # A chat shows the same messages in every mode (see `ChatSession`).
            skip_nostream=True,
        )
        # In other modes the stream does not show where the run stopped: the state does.
        look = not reports_interrupts(modes)
        try:
            async with contextlib.aclosing(events):
                async for event in events:
                    if look and isinstance(event, RunEnded) and event.status == "success":
                        pending = _interrupts_of(await self.graph.aget_state(self.config))
                        for found in pending:
                            yield found
                        if pending:
                            event = RunEnded(event.run_id, "interrupted")
                    yield event
        finally:
            self._streaming = False

    async def reply(
        self,
        text: str,
        *,
        stream_mode: str | Sequence[str] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> Reply:
        """Send a message and return the whole streamed run."""
        return await collect_reply(self.send(text, stream_mode=stream_mode, context=context))

    async def cancel(self) -> bool:
        """Stop the run being streamed; return whether one was.

        From the moment this is called, the stream yields no more of the run's output:
        only the closing `MessageFinished` of a message cut short and
        `RunEnded("cancelled")`.
        """
        self._stop = self._streaming
        return self._streaming

    def new_thread(self) -> None:
        """Start a new conversation (a new thread).

        Raises:
            ThreadBusy: A run is streaming.
        """
        self._ensure_idle()
        if self.key is not None:
            self.key = self.key.with_conversation(new_conversation_id())
        else:
            self._thread_id = str(uuid.uuid4())

    async def switch_thread(self, thread_id: str) -> ThreadInfo:
        """Continue an existing local thread.

        Raises:
            ThreadNotFound: No checkpoint has this thread id.
            ThreadBusy: A run is streaming.
        """
        self._ensure_idle()
        thread_id = parse_thread_id(thread_id)
        saver = await self.runtime.checkpointer()
        found = await saver.aget_tuple({"configurable": {"thread_id": thread_id}})
        if found is None:
            raise ThreadNotFound(thread_id, f"not in {self.runtime.url}")
        self.key, self._thread_id = None, thread_id
        messages = found.checkpoint["channel_values"].get("messages") or []
        return ThreadInfo(thread_id, "idle", None, message_count=len(messages))

    async def state(self) -> ThreadSnapshot | None:
        """Return the thread's current state, or None before its first message."""
        snapshot = await self.graph.aget_state(self.config)
        if not snapshot.values:
            return None
        values = snapshot.values
        return ThreadSnapshot(
            self.thread_id,
            list(values.get("messages") or []),
            str(values.get("summary") or ""),
            tuple(snapshot.next),
            _interrupts_of(snapshot),
        )

    async def history(self) -> list[BaseMessage]:
        """Return every message the thread ever held, including summarized ones."""
        states = [s async for s in self.graph.aget_state_history(self.config)]
        return unique_messages(  # newest first, as on the server
            state.values.get("messages") or [] for state in reversed(states)
        )

    def _ensure_idle(self) -> None:
        if self._streaming:
            raise ThreadBusy(self.thread_id)
