"""Chat sessions over one shared `langgraph-sdk` client.

`ChatClient` owns the HTTP connection pool and answers the read-only questions
(assistants, threads, thread state, history). `ChatSession` is one conversation: an
assistant plus a thread, created lazily on the first message; `send` streams a run as
typed `StreamEvent`s and `cancel` stops it on the server. `client.remote.multiuser` serves
many users at once over one `ChatClient`.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass
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

from client.context_schema import validate_context
from client.decode import StreamDecoder
from client.errors import (
    AssistantNotFound,
    BrokenStream,
    ConnectionLost,
    InvalidInput,
    NotALangGraphServer,
    NotFound,
    RunFailed,
    ServerError,
    ServerUnreachable,
    StreamLost,
    ThreadBusy,
    translate_errors,
)
from client.events import (
    MessageFinished,
    MessageStarted,
    NodeUpdate,
    RunEnded,
    RunError,
    RunStatus,
    StreamEvent,
    StreamResumed,
    TextDelta,
    ToolCallProgress,
)
from client.remote.resume import (
    REPLAY_ALL,
    RUNNING_STATUSES,
    ReplayCursor,
    ResumePolicy,
    guard_event_streams,
)
from client.threads import (
    DEFAULT_CONVERSATION,
    USER_ID_KEY,
    ConversationKey,
    ThreadInfo,
    new_conversation_id,
    parse_thread_id,
    session_key,
)

DEFAULT_URL = "http://127.0.0.1:2024"

DEFAULT_STREAM_MODES: tuple[StreamMode, ...] = ("messages-tuple", "updates")
"""Tokens and tool-call fragments (`messages-tuple`: bytes grow linearly with the reply,
while legacy `messages` resends the whole message per token: 5.9x tuple's bytes at
1,000 tokens, see `make bench`), plus each node's update, which is where the
summarizer's output shows: its model call is tagged `nostream`, so it never appears as
tokens."""

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

_RUN_STATUSES: dict[str, RunStatus] = {
    "success": "success",
    "error": "error",
    "timeout": "error",
    # Stopped on the server: cancelled by another client, or by a message sent with
    # the `interrupt` multitask strategy.
    "interrupted": "cancelled",
}
"""A finished run's server status as the status its stream ends with."""


def is_assistant_role(role: str) -> bool:
    """Return True when `role` names the assistant."""
    return role in ASSISTANT_ROLES


MAX_MESSAGE_CHARS = 100_000
"""The longest message `send` accepts: about 25,000 tokens, a fifth of a 128k-token
context window, so one message cannot crowd the conversation out of the model's
context (a server would take far more; the model would not)."""


def validate_message(text: object) -> str:
    """Return the message to send.

    Raises:
        InvalidInput: The message is not a string, is empty or only whitespace, or is
            longer than `MAX_MESSAGE_CHARS`.
    """
    if not isinstance(text, str):
        raise InvalidInput(f"the message must be text, not {type(text).__name__}")
    if not text.strip():
        raise InvalidInput("the message is empty; type something to send")
    if len(text) > MAX_MESSAGE_CHARS:
        raise InvalidInput(
            f"the message is {len(text):,} characters long; the limit is {MAX_MESSAGE_CHARS:,}"
        )
    return text


def check_url(url: str) -> str:
    """Return the server URL without a trailing slash.

    Raises:
        InvalidInput: The URL has no `http`/`https` scheme or no host. Without the
            check, httpx reports a missing scheme only once a request is made, and as a
            transport error, which reads like a dropped connection.
    """
    if "://" not in url:
        raise InvalidInput(f"bad URL {url!r}: give the scheme, e.g. http://{url}")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as error:
        raise InvalidInput(f"bad URL {url!r}: {error}") from None
    if (
        parsed.scheme not in ("http", "https")
        or not parsed.host
        or any(c.isspace() or c == "%" for c in parsed.host + url)
    ):
        raise InvalidInput(f"bad URL {url!r}: use http://HOST:PORT or https://HOST")
    return url.rstrip("/")


def replayable_modes(modes: Sequence[StreamMode]) -> tuple[StreamMode, ...]:
    """Return the stream modes to request so a rejoined stream misses no message.

    `langgraph dev` does not store legacy `messages` events for replay (see
    `client.remote.resume`): after a rejoin, a message that finished while disconnected would
    be known only from its last partial. `updates` events are stored and carry each
    finished message whole, so they are added when no whole-state mode was asked for.
    """
    if "messages" in modes and not {"updates", "values"} & set(modes):
        return (*modes, "updates")
    return tuple(modes)


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
    def ended(self) -> RunEnded | None:
        """Return the stream's last `RunEnded` event, if it has one."""
        ends = [e for e in self.events if isinstance(e, RunEnded)]
        return ends[-1] if ends else None

    @property
    def status(self) -> RunStatus | None:
        """Return how the run ended, or None if the stream never said."""
        return self.ended.status if self.ended else None

    @property
    def run_id(self) -> str | None:
        """Return the run's id, if the stream named it."""
        return self.ended.run_id if self.ended else None

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
        resume: ResumePolicy | None = None,
        max_connections: int | None = None,
    ) -> None:
        """Prepare the client; no request is made until a method needs one.

        Args:
            url: The server's base URL.
            api_key: Sent as `x-api-key`. None sends no key (the environment is not read
                here; the CLI does that).
            connect_retries: Connection attempts retried on failure. The SDK's default
                (5, with backoff) makes "no server" take 7.5 s to report.
            timeout: HTTP timeouts; by default the SDK's (read 300 s, for long runs).
            resume: How sessions rejoin a dropped run stream; `ResumePolicy()` by default.
            max_connections: Cap on open connections. Each streaming session holds one
                for the whole run, so the default is no cap: httpx's usual 100 would
                make the 101st concurrent user fail.
        """
        self.url = check_url(url)
        headers = {"User-Agent": f"lgchat langgraph-sdk-py/{langgraph_sdk.__version__}"}
        if api_key:
            headers["x-api-key"] = api_key
        # Built like `get_client` builds its pool, but with `connect_retries`: the
        # factory hard-codes five retries.
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=20)
        http = httpx.AsyncClient(
            base_url=self.url,
            # Limits belong to the transport: httpx ignores the client's when given one.
            transport=httpx.AsyncHTTPTransport(retries=connect_retries, limits=limits),
            timeout=timeout or httpx.Timeout(connect=5, read=300, write=300, pool=5),
            headers=headers,
            # Sessions rejoin dropped streams themselves (client.remote.resume explains why).
            event_hooks={"response": [guard_event_streams]},
        )
        self.sdk = LangGraphClient(http)
        self.resume = resume or ResumePolicy()
        self._assistants: list[AssistantInfo] | None = None
        self.context_schemas: dict[str, Mapping[str, Any] | None] = {}
        """Each opened assistant's published context JSON schema, by assistant id; a
        session's `send` checks its context against it before any request."""

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
        """Return the server's assistants (cached after the first call).

        Raises:
            NotALangGraphServer: The answer is not a list of assistants, so whatever
                answers at the URL is not a LangGraph server.
        """
        if self._assistants is None or refresh:
            self._assistants = await self._list_assistants()
        return list(self._assistants)

    async def _list_assistants(self) -> list[AssistantInfo]:
        # Every LangGraph server answers this request with a list of assistants, so
        # anything else means the URL points elsewhere: a web page, another JSON API,
        # or a static file server (which refuses POST with 501).
        try:
            with translate_errors(url=self.url):
                found: object = await self.sdk.assistants.search(limit=100)
        except ServerError as error:
            if error.status not in (405, 501):
                raise
            raise NotALangGraphServer(self.url, f"HTTP {error.status}") from error
        except (NotFound, InvalidInput) as error:
            raise NotALangGraphServer(self.url, str(error)) from error
        except ValueError as error:  # the SDK's orjson decode error on a page of HTML
            raise NotALangGraphServer(self.url, "the answer is not JSON") from error
        except ConnectionLost as error:
            # Nothing was ever connected at this point, so this is no lost connection:
            # something listens on the port but does not speak HTTP (or hangs up).
            cause = error.__cause__
            if isinstance(cause, httpx.ReadError | httpx.WriteError):
                detail = "it closed the connection without an HTTP answer"
            elif isinstance(cause, httpx.RemoteProtocolError):
                detail = f"it does not answer in HTTP ({cause})"
            else:
                raise
            raise NotALangGraphServer(self.url, detail) from error
        if not isinstance(found, list) or not all(_is_assistant(a) for a in found):
            raise NotALangGraphServer(self.url, "the answer is not a list of assistants")
        return [AssistantInfo.from_assistant(a) for a in found]

    async def ensure_langgraph(self) -> None:
        """Check, once per client, that the URL serves the LangGraph API.

        Thread requests alone cannot tell: a static file server answers a GET for a
        thread with 404, which would read as "no such thread".

        Raises:
            NotALangGraphServer: It does not.
            ServerUnreachable: Nothing answers at the URL.
        """
        await self.assistants()

    async def context_schema(self, assistant_id: str) -> Mapping[str, Any] | None:
        """Return the JSON schema of the assistant's run context (cached), None if none."""
        if assistant_id not in self.context_schemas:
            try:
                with translate_errors(url=self.url):
                    schemas: object = await self.sdk.assistants.get_schemas(assistant_id)
            except NotFound:
                schemas = None  # a server without schemas: the run checks the context
            schema = schemas.get("context_schema") if isinstance(schemas, dict) else None
            self.context_schemas[assistant_id] = schema if isinstance(schema, dict) else None
        return self.context_schemas[assistant_id]

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
        """Return the most recently updated threads, only `user_id`'s if given.

        Raises:
            InvalidInput: `limit` is below 1.
        """
        if limit < 1:
            raise InvalidInput(f"the thread limit must be at least 1, got {limit}")
        metadata = {USER_ID_KEY: user_id} if user_id is not None else None
        await self.ensure_langgraph()
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
        await self.ensure_langgraph()
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
        await self.ensure_langgraph()
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
        await self.ensure_langgraph()
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
        multitask_strategy: MultitaskStrategy = "reject",
        on_disconnect: DisconnectMode = "continue",
        resumable: bool = True,
    ) -> ChatSession:
        """Open a chat session.

        Args:
            assistant: Graph name or assistant id.
            thread_id: Resume this thread. Excludes `user_id`/`conversation_id`.
            user_id: Owner of the conversation; with `conversation_id` (default
                "default") it picks a deterministic thread, created on first send.
            conversation_id: Which of the user's conversations.
            stream_mode: Default stream modes for `send`.
            multitask_strategy: What the server does with a message sent while another
                run is active on the thread (see `ChatSession`).
            on_disconnect: What the server does with a run whose client went away.
            resumable: Create runs whose stream can be rejoined after a dropped
                connection.

        Raises:
            AssistantNotFound: Unknown assistant.
            ThreadNotFound: `thread_id` does not exist.
            InvalidInput: Both a thread id and a user were given.
        """
        # Arguments and a malformed id fail before any request.
        session_key(thread_id, user_id, conversation_id, graph_id=assistant)
        if thread_id is not None:
            thread_id = parse_thread_id(thread_id)
        info = await self.assistant(assistant)
        key = session_key(thread_id, user_id, conversation_id, graph_id=info.graph_id)
        await self.context_schema(info.assistant_id)
        session = ChatSession(
            self,
            info,
            key=key,
            stream_mode=stream_mode,
            resumable=resumable,
            on_disconnect=on_disconnect,
            multitask_strategy=multitask_strategy,
        )
        if thread_id is not None:
            await session.switch_thread(thread_id)
        return session


_GENERIC_ERRORS = frozenset({"", "Error", "Exception", "ValueError", "RuntimeError", "TypeError"})
"""Exception classes whose name adds nothing to the message (a graph's own checks)."""

_MASKED_ERROR = "An internal error occurred"
"""The message langgraph-api sends instead of an exception's own when it hides it."""


def _named_error(error: RunError) -> RunError:
    """Return the run error with its cause named: a specific exception's class leads.

    The server hides some exceptions' messages (a model API's error, for one) behind a
    generic sentence; the class name (`OpenAIAPIError`, `OpenAIConnectionError`) is then
    all that tells a rate limit from a dropped model connection.
    """
    if error.error in _GENERIC_ERRORS or error.message.startswith(error.error):
        return error
    detail = error.message
    if detail == _MASKED_ERROR:
        detail = "the server hid the details; they are in its log"
    return RunError(f"{error.error}: {detail}", error.error)


def _is_assistant(value: object) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("assistant_id"), str)
        and isinstance(value.get("graph_id"), str)
    )


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


class Replying:
    """Collect a session's streamed run into a `Reply`; for any session with `send`."""

    def send(
        self,
        text: str,
        *,
        stream_mode: str | Sequence[str] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """Send a user message and stream the run as events."""
        raise NotImplementedError

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


class ChatSession(Replying):
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
            InvalidInput: The message is empty, a stream mode is unknown, or the context
                does not fit the assistant's context schema.
            ThreadBusy: This session is already streaming a run.
        """
        validate_message(text)
        modes = self.stream_mode if stream_mode is None else parse_stream_modes(stream_mode)
        schema = self.client.context_schemas.get(self.assistant.assistant_id)
        context = validate_context(context, schema)  # before the thread is created
        if self._active is not None:
            raise ThreadBusy(self.thread_id)
        return self._stream(text, modes, dict(context) if context else None)

    async def _stream(
        self, text: str, modes: Sequence[StreamMode], context: dict[str, Any] | None
    ) -> AsyncIterator[StreamEvent]:
        # Claimed before the first await, so a concurrent `send` sees the session busy.
        with self._claim(_ActiveRun(thread_id=self.thread_id or "")) as run:
            thread_id = run.thread_id = await self._ensure_thread()
            # The input gets its id here, so the decoder can tell it from earlier turns
            # in the run's first state (`values` mode).
            input_id = str(uuid.uuid4())
            run_input: dict[str, Any] = {
                "messages": [{"role": "user", "content": text, "id": input_id}]
            }
            wire_modes = replayable_modes(modes) if self.resumable else tuple(modes)
            parts = self.client.sdk.runs.stream(
                thread_id,
                self.assistant.assistant_id,
                input=run_input,
                stream_mode=list(wire_modes),
                stream_resumable=self.resumable,
                on_disconnect=self.on_disconnect,
                multitask_strategy=self.multitask_strategy,
                context=context,
                on_run_created=lambda created: self._run_created(run, created),
            )
            async for event in self._follow(run, parts, input_ids=(input_id,)):
                if isinstance(event, NodeUpdate) and "updates" not in modes:
                    continue  # asked for by `replayable_modes`, not by the caller
                yield event

    @contextlib.contextmanager
    def _claim(self, run: _ActiveRun) -> Iterator[_ActiveRun]:
        """Make `run` the session's active run for the block; cancel its cancel on exit."""
        self._ensure_idle()
        self._active = run
        try:
            yield run
        finally:
            self._active = None
            if run.cancel_task is not None and not run.cancel_task.done():
                run.cancel_task.cancel()

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
        self._ensure_idle()
        if not self._thread_ready or self._thread_id is None:
            raise InvalidInput("this session has no thread yet; give a thread id to join a run")
        return self._join(self._thread_id, run_id)

    async def _join(self, thread_id: str, run_id: str) -> AsyncIterator[StreamEvent]:
        with self._claim(_ActiveRun(thread_id=thread_id, run_id=run_id)) as run:
            try:
                with translate_errors(url=self.client.url):
                    await self.client.sdk.runs.get(thread_id, run_id)
            except (NotFound, InvalidInput) as error:  # a 422 for an id that is no UUID
                raise NotFound(f"no run {run_id!r} on thread {thread_id}") from error
            parts = self.client.sdk.runs.join_stream(thread_id, run_id, last_event_id=REPLAY_ALL)
            async for event in self._follow(run, parts):
                yield event

    async def _follow(
        self,
        run: _ActiveRun,
        parts: AsyncIterator[StreamPart],
        *,
        input_ids: Sequence[str] | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """Decode a run's stream to its end, rejoining it whenever it drops early.

        The stream is over at an `end` or `error` event, or when it closes and the
        server says the run is no longer pending or running (`langgraph dev` sends no
        `end`). A network error, or a close while the run still runs, rejoins from the
        `ReplayCursor`, up to `ResumePolicy.attempts` times in a row with backoff.

        Args:
            run: The run being streamed.
            parts: Its stream.
            input_ids: The ids of the messages the run's input added, if known (see
                `StreamDecoder`).
        """
        thread_id, policy, url = run.thread_id, self.client.resume, self.client.url
        # A chat shows the same messages in every mode: the summarizer's `nostream`
        # model call stays out of `events` mode as the server keeps it out of `messages`.
        decoder = StreamDecoder(thread_id=thread_id, input_ids=input_ids, skip_nostream=True)
        cursor = ReplayCursor()
        attempt = 0
        status: RunStatus = "success"
        while True:
            lost: str | None = None
            try:
                with translate_errors(url=url, thread_id=thread_id):
                    async with contextlib.aclosing(cast(AsyncGenerator[StreamPart], parts)):
                        async for part in parts:
                            if run.cancelled:
                                # Cancelled while this part was on its way: the
                                # consumer sees nothing the run made after the cancel.
                                break
                            if not cursor.accept(part):
                                continue  # replayed, and already decoded
                            if attempt:
                                assert run.run_id is not None
                                yield StreamResumed(run.run_id, cursor.last_id, attempt)
                                attempt = 0
                            for event in decoder.feed(part):
                                yield _named_error(event) if isinstance(event, RunError) else event
                            if run.run_id is None and decoder.run_id is not None:
                                self._learn_run_id(run, decoder.run_id)
                            if run.cancelled:
                                # The server may still hold a backlog of tokens it made
                                # before the cancel; a cancelled reply stops right here.
                                break
                    if run.cancel_task is not None:
                        await run.cancel_task
                    if not decoder.ended and not run.cancelled and run.run_id is not None:
                        lost, status = await self._after_close(run)
            except ValueError as error:
                # The SDK's SSE decoder raises orjson's ValueError on data that is not JSON.
                raise BrokenStream(url, str(error)) from error
            except (ConnectionLost, ServerUnreachable, ServerError) as error:
                # A 5xx or a refused connection here is a server restarting mid-run.
                if run.run_id is None or policy.attempts == 0:
                    raise  # the run was never created (or rejoining is off)
                lost = str(error)
            if lost is None:
                break
            attempt += 1
            if attempt > policy.attempts:
                raise StreamLost(url, thread_id, run.run_id or "?", lost)
            await asyncio.sleep(policy.delay(attempt))
            assert run.run_id is not None
            parts = self.client.sdk.runs.join_stream(
                thread_id, run.run_id, last_event_id=cursor.rejoin_from()
            )
        if run.cancelled:
            status = "cancelled"
        elif status == "error" and not decoder.ended:
            yield RunError("the run failed on the server", "RunFailed")
        for event in decoder.finish(status):
            yield event

    async def _after_close(self, run: _ActiveRun) -> tuple[str | None, RunStatus]:
        """Ask the server how a run whose stream closed without `end` is doing.

        Returns:
            Why the stream must be rejoined (None when the run is over), and the
            status the run ended with.
        """
        assert run.run_id is not None
        try:
            with translate_errors(url=self.client.url, thread_id=run.thread_id):
                found = await self.client.sdk.runs.get(run.thread_id, run.run_id)
        except NotFound:
            return None, "cancelled"  # deleted: rolled back by another message
        except (ConnectionLost, ServerUnreachable, ServerError) as error:
            return str(error), "success"  # the server is restarting; rejoin to find out
        server_status = str(found.get("status"))
        if server_status in RUNNING_STATUSES:
            return "the stream closed before the run ended", "success"
        return None, _RUN_STATUSES.get(server_status, "success")

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
        sent as soon as it does; after the run finished, it does nothing. Once the
        server has cancelled the run (when this returns), the stream yields none of
        its output: only the `MessageFinished` of a message cut short and
        `RunEnded("cancelled")`.

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
        if self._active is not None:
            raise ThreadBusy(self.thread_id)
