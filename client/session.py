"""Chat sessions over one shared `langgraph-sdk` client.

`ChatClient` owns the HTTP connection pool and answers the read-only questions
(assistants, threads, thread state, history). `ChatSession` is one conversation: an
assistant plus a thread, created lazily on the first message; `send` streams a run as
typed `StreamEvent`s and `cancel` stops it on the server. `MultiUserChat` serves many
users at once from one process over the same client, keeping every user's events in
their own stream.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self, cast

import httpx
import langgraph_sdk
from langchain_core.messages import BaseMessage, messages_from_dict
from langgraph_sdk import errors as sdk_errors
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.schema import (
    Assistant,
    Checkpoint,
    DisconnectMode,
    MultitaskStrategy,
    RunCreateMetadata,
    StreamMode,
    StreamPart,
    ThreadState,
)

from client.decode import StreamDecoder
from client.errors import (
    AssistantNotFound,
    InvalidInput,
    RunFailed,
    ThreadBusy,
    translate_errors,
)
from client.events import (
    MessageFinished,
    MessageStarted,
    RunEnded,
    RunError,
    RunStatus,
    StreamEvent,
    TextDelta,
    ToolCallProgress,
)
from client.threads import (
    DEFAULT_CONVERSATION,
    USER_ID_KEY,
    ConversationKey,
    ThreadInfo,
    new_conversation_id,
    parse_thread_id,
)

DEFAULT_URL = "http://127.0.0.1:2024"

DEFAULT_STREAM_MODES: tuple[StreamMode, ...] = ("messages-tuple", "updates")
"""Tokens and tool-call fragments (`messages-tuple` is a third the bytes of legacy
`messages`), plus each node's update, which is where the summarizer's output shows:
its model call is tagged `nostream`, so it never appears as tokens."""

STREAM_MODES: tuple[StreamMode, ...] = (
    "messages",
    "messages-tuple",
    "values",
    "updates",
    "events",
    "custom",
)
"""Stream modes a chat session can ask for."""

ASSISTANT_ROLES = frozenset({"ai"})
"""Message roles that are the assistant speaking."""

_HISTORY_PAGE = 100


def is_assistant_role(role: str) -> bool:
    """Return True when `role` names the assistant."""
    return role in ASSISTANT_ROLES


def validate_message(text: str) -> str:
    """Return the message to send.

    Raises:
        InvalidInput: The message is empty or only whitespace.
    """
    if not text or not text.strip():
        raise InvalidInput("the message is empty; type something to send")
    return text


def parse_stream_modes(modes: str | Iterable[str]) -> tuple[StreamMode, ...]:
    """Return stream modes from a name, comma-separated names, or a sequence of them.

    Raises:
        InvalidInput: A name is not a stream mode a chat session can use.
    """
    names = [modes] if isinstance(modes, str) else list(modes)
    parsed: list[StreamMode] = []
    for name in (part.strip() for entry in names for part in entry.split(",")):
        if not name:
            continue
        if name not in STREAM_MODES:
            raise InvalidInput(
                f"unknown stream mode {name!r}; use one of {', '.join(STREAM_MODES)}"
            )
        if name not in parsed:
            parsed.append(name)
    if not parsed:
        raise InvalidInput(f"no stream mode given; use one of {', '.join(STREAM_MODES)}")
    return tuple(parsed)


def message_from_dict(data: Mapping[str, Any]) -> BaseMessage:
    """Return the LangChain message for a message dict from the server."""
    return messages_from_dict([{"type": data.get("type", "ai"), "data": dict(data)}])[0]


@dataclass(frozen=True, slots=True)
class AssistantInfo:
    """An assistant the server offers."""

    assistant_id: str
    graph_id: str
    name: str
    description: str | None = None

    @classmethod
    def from_assistant(cls, assistant: Assistant) -> AssistantInfo:
        """Build from the SDK's assistant dict."""
        return cls(
            assistant_id=str(assistant["assistant_id"]),
            graph_id=str(assistant["graph_id"]),
            name=str(assistant.get("name") or assistant["graph_id"]),
            description=assistant.get("description"),
        )

    def answers_to(self, name_or_id: str) -> bool:
        """Return True when `name_or_id` is this assistant's id, graph or name."""
        return name_or_id in (self.assistant_id, self.graph_id, self.name)


@dataclass(frozen=True, slots=True)
class ThreadSnapshot:
    """A thread's current state: the kept messages and the summary of removed ones."""

    thread_id: str
    messages: list[BaseMessage]
    summary: str = ""
    next_nodes: tuple[str, ...] = ()

    @classmethod
    def from_state(cls, thread_id: str, state: ThreadState) -> ThreadSnapshot:
        """Build from the SDK's thread state."""
        values = state["values"] if isinstance(state["values"], dict) else {}
        return cls(
            thread_id=thread_id,
            messages=[message_from_dict(m) for m in values.get("messages") or []],
            summary=str(values.get("summary") or ""),
            next_nodes=tuple(state.get("next") or ()),
        )


@dataclass(frozen=True, slots=True)
class Reply:
    """Everything one run streamed, with the answers a caller usually wants."""

    events: tuple[StreamEvent, ...]

    @property
    def status(self) -> RunStatus | None:
        """Return how the run ended, or None if the stream never said."""
        ends = [e for e in self.events if isinstance(e, RunEnded)]
        return ends[-1].status if ends else None

    @property
    def run_id(self) -> str | None:
        """Return the run's id, if the stream named it."""
        ends = [e for e in self.events if isinstance(e, RunEnded)]
        return ends[-1].run_id if ends else None

    @property
    def error(self) -> str | None:
        """Return the run's error message, if it failed."""
        errors = [e.message for e in self.events if isinstance(e, RunError)]
        return errors[-1] if errors else None

    @property
    def roles(self) -> dict[str, str]:
        """Return each streamed message's role by message id."""
        return {e.message_id: e.role for e in self.events if isinstance(e, MessageStarted)}

    @property
    def text(self) -> str:
        """Return the assistant's streamed text, one line per message that had text."""
        roles = self.roles
        texts: dict[str, str] = {}
        for event in self.events:
            if isinstance(event, TextDelta) and is_assistant_role(roles.get(event.message_id, "")):
                texts[event.message_id] = texts.get(event.message_id, "") + event.text
        return "\n".join(text for text in texts.values() if text)

    @property
    def messages(self) -> list[BaseMessage]:
        """Return every finished message, in the order they finished."""
        return [e.message for e in self.events if isinstance(e, MessageFinished)]

    @property
    def finish_reason(self) -> str | None:
        """Return the finish reason of the last assistant message."""
        roles = self.roles
        reasons = [
            e.finish_reason
            for e in self.events
            if isinstance(e, MessageFinished) and is_assistant_role(roles.get(e.message_id, ""))
        ]
        return reasons[-1] if reasons else None

    @property
    def tool_call_args(self) -> list[dict[str, Any]]:
        """Return each reported state of the tool calls' arguments, in order."""
        return [dict(e.args) for e in self.events if isinstance(e, ToolCallProgress)]

    def raise_for_error(self) -> Self:
        """Return self, or raise `RunFailed` if the run reported an error."""
        if self.error is not None or self.status == "error":
            raise RunFailed(self.error or "the run ended with an error")
        return self


class ChatClient:
    """One connection to a LangGraph server, shared by every session made from it.

    Use it as an async context manager (or call `aclose`) so the connection pool is
    closed. Methods raise `client.errors.ChatClientError` subclasses only.
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        api_key: str | None = None,
        *,
        connect_retries: int = 1,
        timeout: httpx.Timeout | None = None,
    ) -> None:
        """Prepare the client; no request is made until a method needs one.

        Args:
            url: The server's base URL.
            api_key: Sent as `x-api-key`. None sends no key (the environment is not read
                here; the CLI does that).
            connect_retries: Connection attempts retried on failure. The SDK's default
                (5, with backoff) makes "no server" take 7.5 s to report.
            timeout: HTTP timeouts; by default the SDK's (read 300 s, for long runs).
        """
        self.url = url.rstrip("/")
        headers = {"User-Agent": f"lgchat langgraph-sdk-py/{langgraph_sdk.__version__}"}
        if api_key:
            headers["x-api-key"] = api_key
        # Built like `get_client` builds its pool, but with `connect_retries`: the
        # factory hard-codes five retries.
        http = httpx.AsyncClient(
            base_url=self.url,
            transport=httpx.AsyncHTTPTransport(retries=connect_retries),
            timeout=timeout or httpx.Timeout(connect=5, read=300, write=300, pool=5),
            headers=headers,
        )
        self.sdk = LangGraphClient(http)
        self._assistants: list[AssistantInfo] | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self.sdk.aclose()

    async def assistants(self, *, refresh: bool = False) -> list[AssistantInfo]:
        """Return the server's assistants (cached after the first call)."""
        if self._assistants is None or refresh:
            with translate_errors(url=self.url):
                found = await self.sdk.assistants.search(limit=100)
            self._assistants = [AssistantInfo.from_assistant(a) for a in found]
        return list(self._assistants)

    async def assistant(self, name_or_id: str) -> AssistantInfo:
        """Return the assistant with this id, graph name or name.

        Raises:
            AssistantNotFound: None matches; the message lists the available ones.
        """
        assistants = await self.assistants()
        for assistant in assistants:
            if assistant.answers_to(name_or_id):
                return assistant
        raise AssistantNotFound(name_or_id, sorted({a.graph_id for a in assistants}))

    async def threads(self, user_id: str | None = None, *, limit: int = 20) -> list[ThreadInfo]:
        """Return the most recently updated threads, only `user_id`'s if given."""
        metadata = {USER_ID_KEY: user_id} if user_id is not None else None
        with translate_errors(url=self.url):
            found = await self.sdk.threads.search(
                metadata=metadata, limit=limit, sort_by="updated_at", sort_order="desc"
            )
        return [ThreadInfo.from_thread(thread) for thread in found]

    async def thread(self, thread_id: str) -> ThreadInfo:
        """Return one thread.

        Raises:
            ThreadNotFound: No thread has this id.
        """
        thread_id = parse_thread_id(thread_id)
        with translate_errors(url=self.url, thread_id=thread_id):
            return ThreadInfo.from_thread(await self.sdk.threads.get(thread_id))

    async def create_thread(
        self, key: ConversationKey | None = None, *, graph_id: str | None = None
    ) -> ThreadInfo:
        """Create a thread, or return the existing one for `key`.

        Args:
            key: The user conversation the thread belongs to; its thread id is
                deterministic, so creating it again resumes it. None makes a thread
                with a server-chosen id and no owner.
            graph_id: The graph the thread is for (stored in its metadata).
        """
        thread_id = key.thread_id if key else None
        with translate_errors(url=self.url, thread_id=thread_id):
            thread = await self.sdk.threads.create(
                thread_id=thread_id,
                metadata=key.metadata if key else None,
                if_exists="do_nothing" if key else None,
                graph_id=graph_id,
            )
        return ThreadInfo.from_thread(thread)

    async def thread_state(self, thread_id: str) -> ThreadSnapshot:
        """Return a thread's current messages (as LangChain messages) and summary.

        Raises:
            ThreadNotFound: No thread has this id.
        """
        thread_id = parse_thread_id(thread_id)
        with translate_errors(url=self.url, thread_id=thread_id):
            state = await self.sdk.threads.get_state(thread_id)
        return ThreadSnapshot.from_state(thread_id, state)

    async def history(self, thread_id: str) -> list[BaseMessage]:
        """Return every message the thread ever held, oldest first.

        Unlike `thread_state`, this includes the messages a summarization removed:
        they are recovered from the thread's checkpoints.

        Raises:
            ThreadNotFound: No thread has this id.
        """
        thread_id = parse_thread_id(thread_id)
        states: list[ThreadState] = []
        before: Checkpoint | None = None
        with translate_errors(url=self.url, thread_id=thread_id):
            await self.sdk.threads.get(thread_id)  # a missing thread has an empty history
            while True:
                page = await self.sdk.threads.get_history(
                    thread_id, limit=_HISTORY_PAGE, before=before
                )
                states.extend(page)
                if len(page) < _HISTORY_PAGE:
                    break
                before = _history_cursor(page[-1]["checkpoint"])
        seen: dict[str, BaseMessage] = {}
        for state in reversed(states):  # the server lists the newest checkpoint first
            values = state["values"] if isinstance(state["values"], dict) else {}
            for data in values.get("messages") or []:
                seen.setdefault(str(data.get("id")), message_from_dict(data))
        return list(seen.values())

    async def session(
        self,
        assistant: str = "agent",
        thread_id: str | None = None,
        user_id: str | None = None,
        conversation_id: str | None = None,
        *,
        stream_mode: str | Sequence[str] = DEFAULT_STREAM_MODES,
    ) -> ChatSession:
        """Open a chat session.

        Args:
            assistant: Graph name or assistant id.
            thread_id: Resume this thread. Excludes `user_id`/`conversation_id`.
            user_id: Owner of the conversation; with `conversation_id` (default
                "default") it picks a deterministic thread, created on first send.
            conversation_id: Which of the user's conversations.
            stream_mode: Default stream modes for `send`.

        Raises:
            AssistantNotFound: Unknown assistant.
            ThreadNotFound: `thread_id` does not exist.
            InvalidInput: Both a thread id and a user were given.
        """
        if thread_id is not None and (user_id is not None or conversation_id is not None):
            raise InvalidInput("give either a thread id or a user/conversation, not both")
        if thread_id is not None:
            thread_id = parse_thread_id(thread_id)  # a malformed id fails before any request
        info = await self.assistant(assistant)
        key = None
        if user_id is not None:
            key = ConversationKey(user_id, conversation_id or DEFAULT_CONVERSATION)
        elif conversation_id is not None:
            raise InvalidInput("a conversation id needs a user id")
        session = ChatSession(self, info, key=key, stream_mode=stream_mode)
        if thread_id is not None:
            await session.switch_thread(thread_id)
        return session


def _history_cursor(checkpoint: Checkpoint) -> Checkpoint:
    # `langgraph dev` reads `before["configurable"]` (a bare checkpoint gives a 500)
    # while the API schema documents a bare checkpoint; this dict satisfies both.
    return cast(Checkpoint, {**checkpoint, "configurable": dict(checkpoint)})


@dataclass(slots=True)
class _ActiveRun:
    """Bookkeeping for the run a session is streaming."""

    thread_id: str
    run_id: str | None = None
    cancel_requested: bool = False
    cancelled: bool = False
    cancel_task: asyncio.Task[None] | None = None


class ChatSession:
    """One conversation with one assistant; made by `ChatClient.session`.

    At most one run streams at a time; `send` while one does raises `ThreadBusy`.
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
                connection resumes from the last event instead of ending silently.
            on_disconnect: What the server does with a run whose client went away.
            multitask_strategy: What the server does with a message for a thread that
                is still running another run. "reject" (a `ThreadBusy` here) rather
                than the server's default, which queues the message silently.
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
        self._active: _ActiveRun | None = None

    @property
    def thread_id(self) -> str | None:
        """Return the thread's id; a user conversation's is known before it exists."""
        if self._thread_id is None and self.key is not None:
            return self.key.thread_id
        return self._thread_id

    @property
    def is_streaming(self) -> bool:
        """Return True while a run is streaming."""
        return self._active is not None

    @property
    def active_run_id(self) -> str | None:
        """Return the id of the run being streamed, once the server has named it."""
        return self._active.run_id if self._active else None

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
            InvalidInput: The message is empty, or a stream mode is unknown.
            ThreadBusy: This session is already streaming a run.
        """
        validate_message(text)
        modes = self.stream_mode if stream_mode is None else parse_stream_modes(stream_mode)
        if self._active is not None:
            raise ThreadBusy(self.thread_id)
        return self._stream(text, modes, dict(context) if context else None)

    async def reply(
        self,
        text: str,
        *,
        stream_mode: str | Sequence[str] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> Reply:
        """Send a message and return the whole streamed run."""
        return Reply(
            tuple([e async for e in self.send(text, stream_mode=stream_mode, context=context)])
        )

    async def _stream(
        self, text: str, modes: Sequence[StreamMode], context: dict[str, Any] | None
    ) -> AsyncIterator[StreamEvent]:
        if self._active is not None:
            raise ThreadBusy(self.thread_id)
        # Claimed before the first await, so a concurrent `send` sees the session busy.
        run = self._active = _ActiveRun(thread_id=self.thread_id or "")
        try:
            thread_id = run.thread_id = await self._ensure_thread()
            decoder = StreamDecoder(thread_id=thread_id)
            run_input: dict[str, Any] = {"messages": [{"role": "user", "content": text}]}
            parts = self.client.sdk.runs.stream(
                thread_id,
                self.assistant.assistant_id,
                input=run_input,
                stream_mode=list(modes),
                stream_resumable=self.resumable,
                on_disconnect=self.on_disconnect,
                multitask_strategy=self.multitask_strategy,
                context=context,
                on_run_created=lambda created: self._run_created(run, created),
            )
            with translate_errors(url=self.client.url, thread_id=thread_id):
                async with contextlib.aclosing(cast(AsyncGenerator[StreamPart], parts)):
                    async for part in parts:
                        for event in decoder.feed(part):
                            yield event
                        if run.run_id is None and decoder.run_id is not None:
                            self._learn_run_id(run, decoder.run_id)
                        if run.cancelled:
                            # The server may still hold a backlog of tokens it made
                            # before the cancel; a cancelled reply stops right here.
                            break
                if run.cancel_task is not None:
                    await run.cancel_task
            for event in decoder.finish("cancelled" if run.cancelled else "success"):
                yield event
        finally:
            self._active = None
            if run.cancel_task is not None and not run.cancel_task.done():
                run.cancel_task.cancel()

    def _run_created(self, run: _ActiveRun, created: RunCreateMetadata) -> None:
        self._learn_run_id(run, created["run_id"])

    def _learn_run_id(self, run: _ActiveRun, run_id: str) -> None:
        run.run_id = run_id
        if run.cancel_requested and run.cancel_task is None:
            run.cancel_task = asyncio.get_running_loop().create_task(self._cancel_on_server(run))

    async def _cancel_on_server(self, run: _ActiveRun) -> None:
        assert run.run_id is not None
        with translate_errors(url=self.client.url, thread_id=run.thread_id):
            try:
                await self.client.sdk.runs.cancel(run.thread_id, run.run_id, action="interrupt")
            except sdk_errors.NotFoundError:
                return  # The run finished before the cancel reached it.
        run.cancelled = True

    async def cancel(self) -> bool:
        """Cancel the run being streamed, on the server; its stream then ends cancelled.

        Safe to call at any moment: before the server has named the run, the cancel is
        sent as soon as it does; after the run finished, it does nothing.

        Returns:
            Whether a run was streaming.
        """
        run = self._active
        if run is None:
            return False
        run.cancel_requested = True
        if run.run_id is not None and run.cancel_task is None:
            run.cancel_task = asyncio.get_running_loop().create_task(self._cancel_on_server(run))
        if run.cancel_task is not None:
            # Shielded: the caller giving up waiting must not abort the request.
            with contextlib.suppress(Exception):
                await asyncio.shield(run.cancel_task)
        return True

    async def _ensure_thread(self) -> str:
        if self._thread_ready and self._thread_id is not None:
            return self._thread_id
        created = await self.client.create_thread(self.key, graph_id=self.assistant.graph_id)
        self._thread_id, self._thread_ready = created.thread_id, True
        return created.thread_id

    def new_thread(self) -> None:
        """Start a new conversation; its thread is created on the next send.

        A user's session moves to a new conversation id of the same user.

        Raises:
            ThreadBusy: A run is streaming.
        """
        self._ensure_idle()
        if self.key is not None:
            self.key = ConversationKey(self.key.user_id, new_conversation_id())
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
            self.key = ConversationKey(info.user_id, info.conversation_id or DEFAULT_CONVERSATION)
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
        if self._active is not None:
            raise ThreadBusy(self.thread_id)


@dataclass(frozen=True, slots=True)
class UserEvent:
    """One event of one user's run, as `MultiUserChat` streams it."""

    user_id: str
    event: StreamEvent


@dataclass
class MultiUserChat:
    """Many users chatting at once through one `ChatClient`.

    Each (user, conversation) gets its own `ChatSession` on its own deterministic
    thread, so users never share state and a user's conversation resumes across
    processes. A failure in one user's run ends only that user's stream (with
    `RunError` and `RunEnded(status="error")`).
    """

    client: ChatClient
    assistant: str = "agent"
    stream_mode: Sequence[str] = DEFAULT_STREAM_MODES
    _sessions: dict[ConversationKey, ChatSession] = field(default_factory=dict, repr=False)
    _active: Counter[str] = field(default_factory=Counter, repr=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    async def session_for(
        self, user_id: str, conversation_id: str = DEFAULT_CONVERSATION
    ) -> ChatSession:
        """Return the user's session for this conversation (made once, then reused)."""
        key = ConversationKey(user_id, conversation_id)
        async with self._lock:
            if key not in self._sessions:
                self._sessions[key] = await self.client.session(
                    self.assistant,
                    user_id=user_id,
                    conversation_id=conversation_id,
                    stream_mode=self.stream_mode,
                )
            return self._sessions[key]

    def active_users(self) -> list[str]:
        """Return the users with a run streaming right now, sorted."""
        return sorted(user for user, count in self._active.items() if count > 0)

    async def stream_for_user(
        self,
        user_id: str,
        text: str,
        *,
        conversation_id: str = DEFAULT_CONVERSATION,
        stream_mode: str | Sequence[str] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[UserEvent]:
        """Stream one user's run, each event tagged with the user."""
        validate_message(text)
        session = await self.session_for(user_id, conversation_id)
        self._active[user_id] += 1
        try:
            async for event in session.send(text, stream_mode=stream_mode, context=context):
                yield UserEvent(user_id, event)
        finally:
            self._active[user_id] -= 1
            if self._active[user_id] <= 0:
                del self._active[user_id]

    async def stream_many(
        self,
        messages: Mapping[str, str],
        *,
        stream_mode: str | Sequence[str] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[UserEvent]:
        """Run one message per user concurrently and yield their events as they come.

        Args:
            messages: Each user's message, by user id (their default conversation).
            stream_mode: Stream modes for every run.
            context: Run context for every run.

        Raises:
            InvalidInput: A message is empty (checked before any run starts).
        """
        for text in messages.values():
            validate_message(text)
        queue: asyncio.Queue[UserEvent | None] = asyncio.Queue()

        async def pump(user_id: str, text: str) -> None:
            try:
                stream = self.stream_for_user(
                    user_id, text, stream_mode=stream_mode, context=context
                )
                async for item in stream:
                    queue.put_nowait(item)
            except Exception as error:  # one user's failure must not end the others'
                queue.put_nowait(UserEvent(user_id, RunError(str(error), type(error).__name__)))
                queue.put_nowait(UserEvent(user_id, RunEnded(None, "error")))
            finally:
                queue.put_nowait(None)

        tasks = [asyncio.create_task(pump(user, text)) for user, text in messages.items()]
        try:
            remaining = len(tasks)
            while remaining:
                item = await queue.get()
                if item is None:
                    remaining -= 1
                else:
                    yield item
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def reply_all(
        self,
        messages: Mapping[str, str],
        *,
        stream_mode: str | Sequence[str] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> dict[str, Reply]:
        """Run one message per user concurrently and return each user's whole reply."""
        events: dict[str, list[StreamEvent]] = {user: [] for user in messages}
        async for item in self.stream_many(messages, stream_mode=stream_mode, context=context):
            events[item.user_id].append(item.event)
        return {user: Reply(tuple(user_events)) for user, user_events in events.items()}
