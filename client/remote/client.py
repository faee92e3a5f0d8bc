"""`ChatClient`: one HTTP connection pool to a LangGraph server, and its read-only questions.

Assistants (and whether the URL serves the LangGraph API at all), threads, thread
state, history (paged through every checkpoint) and context schemas; `session` opens a
`RemoteChatSession` over the same pool. With a bearer token the client acts as the
token's user; `as_user` acts as another user over the same pool.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Self

import httpx
from langchain_core.messages import BaseMessage
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.schema import DisconnectMode, MultitaskStrategy

from client.auth import TokenIdentity, check_user, token_identity
from client.errors import (
    AssistantNotFound,
    ConnectionLost,
    InvalidInput,
    NotALangGraphServer,
    NotFound,
    ServerError,
    translate_errors,
)
from client.inputs import (
    DEFAULT_STREAM_MODES,
    StreamProtocol,
    Transport,
    check_streaming,
    check_url,
)
from client.remote.connection import ServerConnection
from client.remote.resume import ResumePolicy
from client.remote.session import RemoteChatSession
from client.remote.thread_reads import counted, whole_history
from client.threads import (
    USER_ID_KEY,
    ConversationKey,
    ThreadInfo,
    parse_thread_id,
    session_key,
)
from client.values import AssistantInfo, ThreadSnapshot

DEFAULT_URL = "http://127.0.0.1:2024"


class ChatClient:
    """One connection to a LangGraph server, shared by every session made from it.

    Use it as an async context manager (or call `aclose`) so the connection pool is
    closed. Methods raise `client.errors.ChatClientError` subclasses only; with auth on
    the server, `AuthenticationFailed` for a token it refuses and `PermissionDenied`
    for an action it refuses the user.
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        api_key: str | None = None,
        *,
        token: str | None = None,
        connect_retries: int = 1,
        timeout: httpx.Timeout | None = None,
        resume: ResumePolicy | None = None,
        max_connections: int | None = None,
        protocol: StreamProtocol = "runs",
        transport: Transport = "sse",
    ) -> None:
        """Prepare the client; no request is made until a method needs one.

        Args:
            url: The server's base URL.
            api_key: Sent as `x-api-key` (LangGraph Platform's deployment key). None
                sends no key (the environment is not read here; the CLI does that).
            token: The user's bearer token, sent as `Authorization: Bearer`. With a
                JWT, its `sub` claim is the user every user conversation is for (see
                `session`). None sends no token (a server with auth off).
            connect_retries: Connection attempts retried on failure. The SDK's default
                (5, with backoff) makes "no server" take 7.5 s to report.
            timeout: HTTP timeouts; by default the SDK's (read 300 s, for long runs).
            resume: How sessions rejoin a dropped run stream; `ResumePolicy()` by default.
            max_connections: Cap on open connections. Each streaming session holds one
                for the whole run, so the default is no cap: httpx's usual 100 would
                make the 101st concurrent user fail.
            protocol: How sessions stream runs: "runs" (`runs.stream` with stream
                modes; the default, see the README for why) or "v3" (the
                thread-centric protocol: `run.start`, then the thread's event stream,
                resumed by `seq`). Both give the same events.
            transport: What carries v3 events: "sse" or "websocket".

        Raises:
            InvalidInput: A bad URL, protocol or transport.
        """
        self.protocol, self.transport = check_streaming(protocol, transport)
        connection = ServerConnection.open(
            check_url(url),
            api_key,
            connect_retries=connect_retries,
            timeout=timeout,
            max_connections=max_connections,
        )
        self._attach(connection, token, resume or ResumePolicy(), owns_connection=True)

    def _attach(
        self,
        connection: ServerConnection,
        token: str | None,
        resume: ResumePolicy,
        *,
        owns_connection: bool,
        context_schemas: dict[str, Mapping[str, Any] | None] | None = None,
    ) -> None:
        self.connection = connection
        self.url = connection.url
        self.token = token
        self.identity: TokenIdentity | None = token_identity(token) if token else None
        """Who the token says the user is; None without a token or with an opaque one."""
        self.sdk = LangGraphClient(connection.http_client(token))
        self.resume = resume
        self._owns_connection = owns_connection
        # Per user: with auth on, the server lists each user's own assistants too.
        self._assistants: list[AssistantInfo] | None = None
        self.context_schemas: dict[str, Mapping[str, Any] | None] = (
            {} if context_schemas is None else context_schemas
        )
        """Each opened assistant's published context JSON schema, by assistant id; a
        session's `send` checks its context against it before any request."""

    def as_user(self, token: str) -> Self:
        """Return a client that acts as `token`'s user over this client's connections.

        Many users served by one process keep one connection pool this way. The new
        client's `aclose` leaves the pool open; closing the client that opened the
        pool closes it, so close that one last (a request made after it would open a
        connection nobody closes).
        """
        other = type(self).__new__(type(self))
        other.protocol, other.transport = self.protocol, self.transport
        other._attach(
            self.connection,
            token,
            self.resume,
            owns_connection=False,
            context_schemas=self.context_schemas,  # by assistant id: the same for everyone
        )
        return other

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
        """Close the connection pool, if this client opened it (see `as_user`)."""
        if self._owns_connection:
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

        With auth on, the server lists only the token's user's threads.

        Raises:
            InvalidInput: `limit` is below 1, or `user_id` is not the token's user.
        """
        if limit < 1:
            raise InvalidInput(f"the thread limit must be at least 1, got {limit}")
        check_user(self.identity, user_id)
        metadata = {USER_ID_KEY: user_id} if user_id is not None else None
        await self.ensure_langgraph()
        with translate_errors(url=self.url):
            found = await self.sdk.threads.search(
                metadata=metadata, limit=limit, sort_by="updated_at", sort_order="desc"
            )
        return await counted(self.sdk, self.url, found)

    async def thread(self, thread_id: str) -> ThreadInfo:
        """Return one thread.

        Raises:
            ThreadNotFound: No thread has this id.
        """
        thread_id = parse_thread_id(thread_id)
        await self.ensure_langgraph()
        with translate_errors(url=self.url, thread_id=thread_id):
            found = await self.sdk.threads.get(thread_id)
        return (await counted(self.sdk, self.url, [found]))[0]

    def known_thread_id(self, key: ConversationKey) -> str | None:
        """Return the thread id of `key` known before any request, or None.

        Without a token it is the conversation's deterministic id. With one, the
        conversation's thread is found by searching the user's own threads (see
        `create_thread`), so its id is known only once found.
        """
        return None if self.identity is not None else key.thread_id

    async def create_thread(
        self, key: ConversationKey | None = None, *, graph_id: str | None = None
    ) -> ThreadInfo:
        """Create a thread, or return the existing one for `key`.

        Args:
            key: The user conversation the thread belongs to; creating it again
                resumes it. None makes a thread with a server-chosen id.
            graph_id: The graph the thread is for (stored in its metadata).
        """
        if key is not None and self.identity is not None:
            return await self._own_conversation(key, graph_id)
        thread_id = key.thread_id if key else None
        with translate_errors(url=self.url, thread_id=thread_id):
            thread = await self.sdk.threads.create(
                thread_id=thread_id,
                metadata=key.metadata if key else None,
                if_exists="do_nothing" if key else None,
                graph_id=graph_id,
            )
        return ThreadInfo.from_thread(thread)

    async def _own_conversation(self, key: ConversationKey, graph_id: str | None) -> ThreadInfo:
        """Return the signed-in user's thread of `key`, created with a server-chosen id.

        A deterministic id would let any user who can compute it create that thread
        first and lock its owner out of the conversation for good. With auth on the
        server lists a user only their own threads, so a search by the conversation's
        metadata is trustworthy instead. Should two first messages race, the oldest
        thread is the conversation from then on.
        """
        with translate_errors(url=self.url):
            found = await self.sdk.threads.search(
                metadata=key.metadata, limit=1, sort_by="created_at", sort_order="asc"
            )
            if found:
                return ThreadInfo.from_thread(found[0])
            thread = await self.sdk.threads.create(metadata=key.metadata, graph_id=graph_id)
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
        return await whole_history(self.sdk, self.url, thread_id)

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
    ) -> RemoteChatSession:
        """Open a chat session.

        Args:
            assistant: Graph name or assistant id.
            thread_id: Resume this thread. Excludes `user_id`/`conversation_id`.
            user_id: Owner of the conversation; with `conversation_id` (default
                "default") it picks a deterministic thread, created on first send.
                With a token that names a user, it must be that user, and a
                `conversation_id` alone is that user's.
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
            InvalidInput: Both a thread id and a user were given, or a user other
                than the token's.
        """
        # Arguments and a malformed id fail before any request.
        check_user(self.identity, user_id)
        if self.identity is not None and conversation_id is not None and thread_id is None:
            user_id = self.identity.user_id
        session_key(thread_id, user_id, conversation_id, graph_id=assistant)
        if thread_id is not None:
            thread_id = parse_thread_id(thread_id)
        info = await self.assistant(assistant)
        key = session_key(thread_id, user_id, conversation_id, graph_id=info.graph_id)
        await self.context_schema(info.assistant_id)
        session = RemoteChatSession(
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


def _is_assistant(value: object) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("assistant_id"), str)
        and isinstance(value.get("graph_id"), str)
    )
