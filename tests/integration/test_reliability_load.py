"""Load: 50 concurrent sessions, 3 messages each on its own thread, against one dev server.

Bounded in time (`LOAD_TIMEOUT`) and traffic (short replies from the offline model, on
loopback only). Every reply must be complete and exact, with no error, and no token of
one user's stream may appear in another's.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from client.events import RunStarted, TextDelta
from client.remote.client import ChatClient
from client.threads import conversation_thread_id
from client.values import Reply
from tests.integration._helpers import count_reply

pytestmark = pytest.mark.server

USERS = 50
LOAD_TIMEOUT = 120.0
"""Seconds for all 150 runs; a dev server runs 10 at a time (`--n-jobs-per-worker`)."""


@pytest.fixture(scope="module")
async def client(offline_server_url: str) -> AsyncIterator[ChatClient]:
    async with ChatClient(offline_server_url) as chat_client:
        yield chat_client


def conversation(i: int) -> list[tuple[str, str]]:
    """User i's three messages and the exact replies expected, different for every user."""
    a = i + 2
    return [
        (f"count to {3 + i}", count_reply(3 + i)),
        (f"what is {a} * 3?", f"The result of multiplying {a} and 3 is {a * 3}."),
        (f"count to {60 - i}", count_reply(60 - i)),
    ]


async def test_fifty_sessions_three_messages_each(client: ChatClient) -> None:
    run = uuid.uuid4().hex[:8]  # users of this test only: the server is shared

    async def chat(i: int) -> tuple[str, list[Reply]]:
        user = f"load-{run}-{i}"
        session = await client.session("chatbot", user_id=user)
        replies = []
        for text, _ in conversation(i):
            replies.append(await session.reply(text, stream_mode="messages-tuple"))
        return user, replies

    started = time.monotonic()
    results = await asyncio.wait_for(asyncio.gather(*(chat(i) for i in range(USERS))), LOAD_TIMEOUT)
    elapsed = time.monotonic() - started

    message_ids: dict[str, set[str]] = {}
    for i, (user, replies) in enumerate(results):
        thread_id = conversation_thread_id(user, "default", "chatbot")
        for (_, expected), reply in zip(conversation(i), replies, strict=True):
            assert (reply.status, reply.error) == ("success", None), user
            assert reply.text == expected, user
            started_event = reply.events[0]
            assert isinstance(started_event, RunStarted) and started_event.thread_id == thread_id
        message_ids[user] = {
            e.message_id for r in replies for e in r.events if isinstance(e, TextDelta)
        }
        state = await client.thread_state(thread_id)
        assert [m.content for m in state.messages] == [
            part for pair in conversation(i) for part in pair
        ], user
    seen: set[str] = set()
    for ids in message_ids.values():
        assert len(ids) == 3 and not ids & seen  # no stream carried another's message
        seen |= ids
    print(f"{USERS * 3} runs by {USERS} sessions in {elapsed:.1f} s")
