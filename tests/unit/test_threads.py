"""Thread identity: deterministic uuid5 per user conversation, metadata, id parsing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from client.errors import ThreadNotFound
from client.threads import (
    PROJECT_NAMESPACE,
    ConversationKey,
    ThreadInfo,
    conversation_thread_id,
    new_conversation_id,
    parse_thread_id,
)


def test_a_conversation_always_maps_to_the_same_uuid5() -> None:
    first = conversation_thread_id("alice", "chat-001", "agent")
    assert first == conversation_thread_id("alice", "chat-001", "agent")
    parsed = uuid.UUID(first)
    assert parsed.version == 5
    assert parsed == uuid.uuid5(PROJECT_NAMESPACE, '["agent", "alice", "chat-001"]')


def test_the_namespace_is_pinned() -> None:
    # Changing it would orphan every existing user's threads.
    assert conversation_thread_id("alice", "chat-001", "agent") == (
        "6d922ca9-23a9-56e3-a30a-062a3ada4a3b"
    )
    # Ids from before the graph was part of the identity can still be computed.
    assert conversation_thread_id("alice", "chat-001", None) == (
        "c5ed5f21-7cbd-5abc-9f74-4fcf02b7d33d"
    )


def test_one_users_conversations_with_two_graphs_are_two_threads() -> None:
    chatbot = ConversationKey("lance", graph_id="chatbot")
    agent = ConversationKey("lance", graph_id="agent")
    assert chatbot.thread_id != agent.thread_id
    assert agent.metadata == {"user_id": "lance", "conversation_id": "default", "graph_id": "agent"}
    moved = agent.with_conversation("c2")
    assert (moved.graph_id, moved.conversation_id) == ("agent", "c2")


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (("alice", "chat-001"), ("bob", "chat-001")),
        (("alice", "chat-001"), ("alice", "chat-002")),
        # A colon-joined key ("user:conversation", as in the tutorial) collides here.
        (("a:b", "c"), ("a", "b:c")),
    ],
)
def test_different_conversations_get_different_threads(
    one: tuple[str, str], other: tuple[str, str]
) -> None:
    assert conversation_thread_id(*one, "agent") != conversation_thread_id(*other, "agent")


def test_conversation_key_carries_searchable_metadata() -> None:
    key = ConversationKey("alice", "chat-001", graph_id="chatbot")
    assert key.thread_id == conversation_thread_id("alice", "chat-001", "chatbot")
    assert key.metadata == {
        "user_id": "alice",
        "conversation_id": "chat-001",
        "graph_id": "chatbot",
    }
    assert ConversationKey("alice", graph_id="chatbot").conversation_id == "default"


def test_new_conversation_ids_are_unique() -> None:
    assert len({new_conversation_id() for _ in range(100)}) == 100


def test_parse_thread_id_canonicalizes_uuids() -> None:
    raw = "  6F1C1D52-0000-4000-8000-000000000001 "
    assert parse_thread_id(raw) == "6f1c1d52-0000-4000-8000-000000000001"


def test_parse_thread_id_rejects_non_uuids_as_not_found() -> None:
    with pytest.raises(ThreadNotFound) as caught:
        parse_thread_id("alice:chat-001")
    assert str(caught.value) == "no thread 'alice:chat-001' on this server (thread ids are UUIDs)"


def test_thread_info_reads_owner_and_size() -> None:
    thread: Any = {
        "thread_id": "t-1",
        "status": "idle",
        "updated_at": "2026-11-24T04:29:20.464546+00:00",
        "metadata": {"user_id": "alice", "conversation_id": "c", "graph_id": "agent"},
        "values": {"messages": [{"type": "human"}, {"type": "ai"}]},
    }
    info = ThreadInfo.from_thread(thread)
    assert info == ThreadInfo("t-1", "idle", thread["updated_at"], "alice", "c", "agent", 2)
    bare = ThreadInfo.from_thread({"thread_id": "t-2", "metadata": None, "values": None})  # type: ignore[typeddict-item]
    assert (bare.user_id, bare.message_count, bare.updated_at) == (None, 0, None)
