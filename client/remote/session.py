"""`RemoteChatSession`: one conversation on a server, and the thread it is on.

It checks input before any request, creates its thread on the first message (a user
conversation's deterministic thread, or one with a server-chosen id), moves to a new or
an existing thread, and hands each run to `RunStreams` (`client.remote.stream`), which
follows it to its end.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.messages import BaseMessage
from langgraph_sdk.schema import (
    DisconnectMode,
    MultitaskStrategy,
    StreamMode,
)

from client.approval import Decision, check_decisions, resume_value
from client.context_schema import validate_context
from client.decode import reports_interrupts
from client.errors import (
    InvalidInput,
    NotFound,
    NothingToResume,
    translate_errors,
)
from client.events import StreamEvent
from client.inputs import DEFAULT_STREAM_MODES, parse_stream_modes, validate_message
from client.remote.interrupts import pending_review
from client.remote.multitask import make_way
from client.remote.resume import REPLAY_ALL
from client.remote.stream import ActiveRun, RunStreams, asked_for, replayable_modes
from client.remote.thread_runs import ThreadRuns
from client.threads import (
    DEFAULT_CONVERSATION,
    ConversationKey,
    ThreadInfo,
    new_conversation_id,
)
from client.values import AssistantInfo, Reply, ThreadSnapshot, collect_reply

if TYPE_CHECKING:
    from client.remote.client import ChatClient

_MESSAGE_MODES = frozenset({"messages", "messages-tuple", "events", "updates", "values"})
"""Stream modes that carry a run's messages, so its reply can be checked at its end."""


class RemoteChatSession:
    """One conversation with one assistant on a server; made by `ChatClient.session`.

    It satisfies `client.session.ChatSession`.

    At most one run streams at a time; `send` while one does raises `ThreadBusy`.
    With the `reject` strategy, `send` also raises `ThreadBusy` when the thread's
    status is `busy` (a run of another session or process), before creating a run.
    """

    def __init__(
        self,
        client: ChatClient,
        assistant: AssistantInfo,
        *,
        key: ConversationKey | None = None,
        thread_id: str | None = None,
        stream_mode: str | Sequence[str] = DEFAULT_STREAM_MODES,
        resumable: bool = True,
        on_disconnect: DisconnectMode = "continue",
        multitask_strategy: MultitaskStrategy = "reject",
    ) -> None:
        """Set up the session; prefer `ChatClient.session`, which checks its arguments.

        Args:
            client: The shared client.
            assistant: The assistant every message goes to.
            key: The user conversation this session continues.
            thread_id: An existing thread to continue instead.
            stream_mode: Default stream modes for `send`.
            resumable: Create runs with `stream_resumable=True`, so a dropped
                connection is rejoined (see `client.remote.resume`) instead of ending silently.
            on_disconnect: What the server does with a run whose client went away;
                "continue" keeps it going, so a rejoin finds it.
            multitask_strategy: What the server does with this session's message when
                another run is active on the thread (from another session or process):
                "reject" (the default; `ThreadBusy`, "this thread is busy"), "enqueue"
                (it waits for the active run; both replies complete), "interrupt" (the
                active run stops, its stream ends `cancelled`, its partial answer is
                dropped but its user message stays), "rollback" (the active run is
                stopped and deleted with its user message). The server's own default
                is "enqueue", which makes a reply wait with no word of why.
        """
        self.client = client
        self.assistant = assistant
        self.key = key
        self.stream_mode = parse_stream_modes(stream_mode)
        self.resumable = resumable
        self.on_disconnect: DisconnectMode = on_disconnect
        self.multitask_strategy: MultitaskStrategy = multitask_strategy
        self._thread_id = thread_id
        self._thread_ready = thread_id is not None
        self._runs = RunStreams(client)
        self._v3 = ThreadRuns(client, self._runs)

    @property
    def thread_id(self) -> str | None:
        """Return the thread's id; without auth, a user conversation's is known before it exists."""
        if self._thread_id is None and self.key is not None:
            return self.client.known_thread_id(self.key)
        return self._thread_id

    @property
    def is_streaming(self) -> bool:
        """Return True while a run is streaming."""
        return self._runs.active is not None

    @property
    def active_run_id(self) -> str | None:
        """Return the id of the run being streamed, once the server has named it."""
        return self._runs.active.run_id if self._runs.active else None

    def send(
        self,
        text: str,
        *,
        stream_mode: str | Sequence[str] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """Send a user message and stream the run as events, ending with `RunEnded`.

        The input is checked before any request; the thread is created on the first
        send if the session has none yet.

        Args:
            text: The user's message.
            stream_mode: Stream modes for this run; the session's default if None.
            context: Run context (the graphs' `Context` fields, e.g. `model`).

        Raises:
            InvalidInput: The message is empty, a stream mode is unknown, or the context
                does not fit the assistant's context schema.
            ThreadBusy: This session is already streaming a run; or, with the
                `reject` strategy, another run is active on the thread (raised on
                iteration, before a run is created).
        """
        validate_message(text)
        modes = self.stream_mode if stream_mode is None else parse_stream_modes(stream_mode)
        schema = self.client.context_schemas.get(self.assistant.assistant_id)
        context = validate_context(context, schema)  # before the thread is created
        self._runs.ensure_idle(self.thread_id)
        return self._stream(text, modes, dict(context) if context else None)

    async def reply(
        self,
        text: str,
        *,
        stream_mode: str | Sequence[str] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> Reply:
        """Send a message and return the whole streamed run."""
        return await collect_reply(self.send(text, stream_mode=stream_mode, context=context))

    async def _stream(
        self, text: str, modes: Sequence[StreamMode], context: dict[str, Any] | None
    ) -> AsyncIterator[StreamEvent]:
        # Claimed before the first await, so a concurrent `send` sees the session busy.
        with self._runs.claim(ActiveRun(thread_id=self.thread_id or ""), self.thread_id) as run:
            created = await self._ensure_thread()
            thread_id = run.thread_id = created.thread_id if created else self._thread_id or ""
            await make_way(self.client, thread_id, created, self.multitask_strategy)
            # The input gets its id here, so the decoder can tell it from earlier turns
            # in the run's first state (`values` mode).
            input_id = str(uuid.uuid4())
            run_input: dict[str, Any] = {
                "messages": [{"role": "user", "content": text, "id": input_id}]
            }
            if self.client.protocol == "v3":
                v3 = self._v3.stream(
                    run, self.assistant.assistant_id, run_input, input_id, modes, context
                )
                async for event in v3:
                    yield event
                return
            events = self._run_centric(run, modes, context, input_id, input=run_input)
            async with contextlib.aclosing(events):
                async for event in events:
                    yield event

    async def _run_centric(
        self,
        run: ActiveRun,
        modes: Sequence[StreamMode],
        context: Mapping[str, Any] | None,
        input_id: str,
        **start: Any,
    ) -> AsyncGenerator[StreamEvent, None]:
        """Create a run-centric run and follow it, passing on the events `modes` asked for.

        Args:
            run: The session's active run.
            modes: The stream modes asked for.
            context: The run's context.
            input_id: The id of the message the input adds; empty for a resume.
            **start: `input=` or `command=`, as `runs.stream` takes them.
        """
        wire_modes = replayable_modes(modes) if self.resumable else tuple(modes)
        parts = self.client.sdk.runs.stream(
            run.thread_id,
            self.assistant.assistant_id,
            stream_mode=list(wire_modes),
            stream_resumable=self.resumable,
            on_disconnect=self.on_disconnect,
            multitask_strategy=self.multitask_strategy,
            context=dict(context) if context else None,
            on_run_created=lambda created: self._runs.run_created(run, created),
            **start,
        )
        follow = self._runs.follow(
            run,
            parts,
            input_ids=(input_id,) if input_id else (),
            reconcile=bool(_MESSAGE_MODES & set(wire_modes)),
            interrupts_streamed=reports_interrupts(wire_modes),
        )
        # Closed here, in turn, when this generator is: left to the garbage collector,
        # the nested generators' finalizers would race each other.
        async with contextlib.aclosing(follow):
            async for event in follow:
                if asked_for(event, modes, input_id):
                    yield event

    def resume(
        self,
        decisions: Sequence[Decision],
        *,
        stream_mode: str | Sequence[str] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """Answer the tool calls the thread waits on, and stream the resumed run.

        Over `runs` the run is resumed with `command={"resume": ...}`; over v3 with the
        protocol's `input.respond`. The thread's pending review is read first, so a
        wrong answer is refused before anything is sent.

        Args:
            decisions: One `Approve`, `Edit` or `Reject` per pending tool call, in order.
            stream_mode: Stream modes for this run; the session's default if None.
            context: Run context; None reuses the interrupted run's, so the resumed
                run goes on as it began (reviewing later tool calls too).

        Raises:
            NothingToResume: The thread waits for no decision (raised on iteration).
            InvalidInput: The decisions do not answer the pending calls one each, or
                a stream mode or the context is refused.
            ThreadBusy: This session is already streaming a run.
        """
        modes = self.stream_mode if stream_mode is None else parse_stream_modes(stream_mode)
        schema = self.client.context_schemas.get(self.assistant.assistant_id)
        context = validate_context(context, schema) if context is not None else None
        self._runs.ensure_idle(self.thread_id)
        if not self._thread_ready or self._thread_id is None:
            raise NothingToResume(self.thread_id)
        return self._resume(self._thread_id, list(decisions), modes, context)

    async def _resume(
        self,
        thread_id: str,
        decisions: list[Decision],
        modes: Sequence[StreamMode],
        context: Mapping[str, Any] | None,
    ) -> AsyncIterator[StreamEvent]:
        with self._runs.claim(ActiveRun(thread_id=thread_id), thread_id) as run:
            review = await pending_review(self.client, thread_id, self.assistant.assistant_id)
            check_decisions(review.interrupt, decisions)
            value = resume_value(review.interrupt, decisions)
            run_context = dict(review.context if context is None else context) or None
            if self.client.protocol == "v3":
                v3 = self._v3.respond(run, review.interrupt, value, modes, run_context)
                async for event in v3:
                    yield event
                return
            events = self._run_centric(run, modes, run_context, "", command={"resume": value})
            async with contextlib.aclosing(events):
                async for event in events:
                    yield event

    def join(self, run_id: str) -> AsyncIterator[StreamEvent]:
        """Stream a run of this thread from its first event, whether it is running or over.

        This is how a stream lost for good (`StreamLost`) is picked up again, from any
        process: a run created resumable keeps its events on the server. Cancel works
        as for `send`.

        Raises:
            ThreadBusy: This session is already streaming a run.
            InvalidInput: The session has no thread yet.
            NotFound: The thread has no such run (raised on iteration).
        """
        self._runs.ensure_idle(self.thread_id)
        if not self._thread_ready or self._thread_id is None:
            raise InvalidInput("this session has no thread yet; give a thread id to join a run")
        return self._join(self._thread_id, run_id)

    async def _join(self, thread_id: str, run_id: str) -> AsyncIterator[StreamEvent]:
        active = ActiveRun(thread_id=thread_id, run_id=run_id)
        with self._runs.claim(active, self.thread_id) as run:
            try:
                with translate_errors(url=self.client.url):
                    await self.client.sdk.runs.get(thread_id, run_id)
            except (NotFound, InvalidInput) as error:  # a 422 for an id that is no UUID
                raise NotFound(f"no run {run_id!r} on thread {thread_id}") from error
            if self.client.protocol == "v3":
                async for event in self._v3.join(run):
                    yield event
                return
            parts = self.client.sdk.runs.join_stream(thread_id, run_id, last_event_id=REPLAY_ALL)
            async for event in self._runs.follow(run, parts):
                yield event

    async def cancel(self) -> bool:
        """Cancel the run being streamed, on the server; its stream then ends cancelled.

        Safe to call at any moment: before the server has named the run, the cancel is
        sent as soon as it does; after the run finished, it does nothing. Once the
        server has cancelled the run (when this returns), the stream yields none of
        its output: only the `MessageFinished` of a message cut short and
        `RunEnded("cancelled")`.

        Returns:
            Whether a run was streaming.
        """
        return await self._runs.cancel()

    async def _ensure_thread(self) -> ThreadInfo | None:
        """Create the session's thread if it has none yet; return it when created."""
        if self._thread_ready and self._thread_id is not None:
            return None
        created = await self.client.create_thread(self.key, graph_id=self.assistant.graph_id)
        self._thread_id, self._thread_ready = created.thread_id, True
        return created

    def new_thread(self) -> None:
        """Start a new conversation; its thread is created on the next send.

        A user's session moves to a new conversation id of the same user.

        Raises:
            ThreadBusy: A run is streaming.
        """
        self._ensure_idle()
        if self.key is not None:
            self.key = self.key.with_conversation(new_conversation_id())
        self._thread_id, self._thread_ready = None, False

    async def switch_thread(self, thread_id: str) -> ThreadInfo:
        """Continue an existing thread.

        Raises:
            ThreadNotFound: No thread has this id.
            ThreadBusy: A run is streaming.
        """
        self._ensure_idle()
        info = await self.client.thread(thread_id)
        self.key = None
        if info.user_id is not None:
            # A thread made before the graph was part of thread ids keeps its own id;
            # the key only names its owner (and `/new` makes a new-scheme thread).
            self.key = ConversationKey(
                info.user_id,
                info.conversation_id or DEFAULT_CONVERSATION,
                graph_id=info.graph_id or self.assistant.graph_id,
            )
        self._thread_id, self._thread_ready = info.thread_id, True
        return info

    async def state(self) -> ThreadSnapshot | None:
        """Return the thread's current state, or None before its first message."""
        if not self._thread_ready or self._thread_id is None:
            return None
        return await self.client.thread_state(self._thread_id)

    async def history(self) -> list[BaseMessage]:
        """Return every message of the thread, including summarized ones."""
        if not self._thread_ready or self._thread_id is None:
            return []
        return await self.client.history(self._thread_id)

    def _ensure_idle(self) -> None:
        self._runs.ensure_idle(self.thread_id)
