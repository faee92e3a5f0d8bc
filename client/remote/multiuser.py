"""Many users chatting at once from one process, over one shared `ChatClient`.

The tutorial's multi-user manager, done so that each user's events stay in their own
stream, one user's failure ends only their stream, and every user's conversation lives
on its own deterministic thread. On a server with auth on, each user acts with their
own token, over the one connection pool (`ChatClient.as_user`).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from client.auth import check_user, token_identity
from client.errors import InvalidInput
from client.events import RunEnded, RunError, StreamEvent
from client.inputs import DEFAULT_STREAM_MODES, validate_message
from client.remote.client import ChatClient
from client.remote.session import RemoteChatSession
from client.threads import DEFAULT_CONVERSATION, ConversationKey
from client.values import Reply


@dataclass(frozen=True, slots=True)
class UserEvent:
    """One event of one user's run, as `MultiUserChat` streams it."""

    user_id: str
    event: StreamEvent


@dataclass
class MultiUserChat:
    """Many users chatting at once through one `ChatClient`.

    Each (user, conversation) gets its own `RemoteChatSession` on its own deterministic
    thread, so users never share state and a user's conversation resumes across
    processes. A failure in one user's run ends only that user's stream (with
    `RunError` and `RunEnded(status="error")`).

    With `tokens` (each user's bearer token, by user id), every user's sessions run
    with their own token over `client`'s connection pool; a user without a token is
    an `InvalidInput` before any of their runs. Without, every session uses `client`
    as it is (its one token, if any, must then be every user's).

    Raises:
        InvalidInput: On construction, a token whose user is another than the user id
            it is given for.
    """

    client: ChatClient
    assistant: str = "agent"
    stream_mode: Sequence[str] = DEFAULT_STREAM_MODES
    tokens: Mapping[str, str] | None = field(default=None, repr=False)
    _clients: dict[str, ChatClient] = field(default_factory=dict, repr=False)
    _sessions: dict[ConversationKey, RemoteChatSession] = field(default_factory=dict, repr=False)
    _active: Counter[str] = field(default_factory=Counter, repr=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    def __post_init__(self) -> None:
        for user_id, token in (self.tokens or {}).items():
            check_user(token_identity(token), user_id)

    def client_for(self, user_id: str) -> ChatClient:
        """Return the client `user_id`'s requests go through: theirs with `tokens`.

        Raises:
            InvalidInput: `tokens` were given, but none for this user.
        """
        if self.tokens is None:
            return self.client
        if user_id not in self._clients:
            token = self.tokens.get(user_id)
            if token is None:
                raise InvalidInput(f"no token for user {user_id}")
            self._clients[user_id] = self.client.as_user(token)
        return self._clients[user_id]

    async def session_for(
        self, user_id: str, conversation_id: str = DEFAULT_CONVERSATION
    ) -> RemoteChatSession:
        """Return the user's session for this conversation (made once, then reused)."""
        key = ConversationKey(user_id, conversation_id, graph_id=self.assistant)
        async with self._lock:
            if key not in self._sessions:
                self._sessions[key] = await self.client_for(user_id).session(
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
            InvalidInput: A message is empty, or a user has no token while `tokens`
                were given (checked before any run starts).
        """
        for user_id, text in messages.items():
            validate_message(text)
            self.client_for(user_id)
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
