"""Thread identity: UUID thread ids, and one deterministic thread per user conversation.

The tutorial keys threads as `f"{user_id}:{conversation_id}"`, which a LangGraph server
rejects (thread ids are UUIDs) and which is ambiguous when an id contains a colon. Here
(graph, user, conversation) maps to a `uuid5` in a fixed project namespace, and the
three are stored as thread metadata so a user's threads can be listed with
`threads.search(metadata={"user_id": ...})`. The graph is part of the identity so that
one user's `chatbot` and `agent` conversations never share a thread (and state).
Creating the thread with `if_exists="do_nothing"` makes "open this user's conversation"
idempotent: the same user, conversation and graph always resume the same thread.

Threads made before the graph was part of the identity (ids from `uuid5` of
`[user_id, conversation_id]`) are not continued by `--user` any more; they keep their
`user_id` metadata, so `threads --user U` still lists them, and `--thread ID`
continues them.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from langgraph_sdk.schema import Thread

from client.errors import InvalidInput, ThreadNotFound
from client.messages import state_messages

PROJECT_NAMESPACE = uuid.UUID("3f0f6a5e-2b8e-5c1d-9a47-6c1b2d8e4f10")
"""Namespace of every conversation thread id. Changing it orphans existing threads."""

USER_ID_KEY = "user_id"
CONVERSATION_ID_KEY = "conversation_id"
DEFAULT_CONVERSATION = "default"


GRAPH_ID_KEY = "graph_id"


def conversation_thread_id(user_id: str, conversation_id: str, graph_id: str | None) -> str:
    """Return the thread id of a user's conversation with one graph (the same on every call).

    The graph is part of the identity: one user's conversation with `chatbot` and with
    `agent` are two threads, so one graph's state never lands in the other's.

    The parts are JSON-encoded before hashing so that ("a:b", "c") and ("a", "b:c")
    get different ids. `graph_id=None` gives the ids made before the graph was part of
    the identity (`uuid5` of `[user_id, conversation_id]`); those threads keep their
    `user_id` metadata, so a user's listing still shows them, and `--thread ID` still
    continues them.
    """
    parts = [user_id, conversation_id] if graph_id is None else [graph_id, user_id, conversation_id]
    return str(uuid.uuid5(PROJECT_NAMESPACE, json.dumps(parts)))


def new_conversation_id() -> str:
    """Return a fresh, random conversation id."""
    return uuid.uuid4().hex


def parse_thread_id(value: str) -> str:
    """Return `value` as a canonical thread id.

    Raises:
        ThreadNotFound: `value` is not a UUID, so no thread can have it.
    """
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        raise ThreadNotFound(value, "thread ids are UUIDs") from None


@dataclass(frozen=True, slots=True)
class ConversationKey:
    """Who a thread belongs to: a user, one of their conversations, and the graph."""

    user_id: str
    conversation_id: str = DEFAULT_CONVERSATION
    graph_id: str = field(kw_only=True)

    @property
    def thread_id(self) -> str:
        """Return the conversation's deterministic thread id."""
        return conversation_thread_id(self.user_id, self.conversation_id, self.graph_id)

    @property
    def metadata(self) -> dict[str, str]:
        """Return the thread metadata that makes the thread searchable per user."""
        return {
            USER_ID_KEY: self.user_id,
            CONVERSATION_ID_KEY: self.conversation_id,
            GRAPH_ID_KEY: self.graph_id,
        }

    def with_conversation(self, conversation_id: str) -> ConversationKey:
        """Return the key of another conversation of the same user and graph."""
        return replace(self, conversation_id=conversation_id)


def session_key(
    thread_id: str | None, user_id: str | None, conversation_id: str | None, *, graph_id: str
) -> ConversationKey | None:
    """Return the user conversation a new session continues, or None for a bare thread.

    Raises:
        InvalidInput: Both a thread id and a user or conversation were given, or a
            conversation id without a user id.
    """
    if thread_id is not None and (user_id is not None or conversation_id is not None):
        raise InvalidInput("give either a thread id or a user/conversation, not both")
    if user_id is None:
        if conversation_id is not None:
            raise InvalidInput("a conversation id needs a user id")
        return None
    return ConversationKey(user_id, conversation_id or DEFAULT_CONVERSATION, graph_id=graph_id)


@dataclass(frozen=True, slots=True)
class ThreadInfo:
    """What a thread listing shows about one thread."""

    thread_id: str
    status: str
    updated_at: str | None
    user_id: str | None = None
    conversation_id: str | None = None
    graph_id: str | None = None
    message_count: int = 0

    @classmethod
    def from_thread(cls, thread: Thread) -> ThreadInfo:
        """Build the summary from the SDK's thread dict."""
        metadata: dict[str, Any] = thread.get("metadata") or {}
        return cls(
            thread_id=str(thread["thread_id"]),
            status=str(thread.get("status", "")),
            updated_at=_optional_str(thread.get("updated_at")),
            user_id=_optional_str(metadata.get(USER_ID_KEY)),
            conversation_id=_optional_str(metadata.get(CONVERSATION_ID_KEY)),
            graph_id=_optional_str(metadata.get(GRAPH_ID_KEY)),
            message_count=len(state_messages(thread.get("values"))),
        )


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)
