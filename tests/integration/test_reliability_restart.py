"""A graceful restart of `langgraph dev` keeps threads, messages and summaries.

The test restarts its own server (module-scoped), so the shared ones are never touched.
A kill is not tested: the dev server writes `.langgraph_api/` only on a graceful stop,
so a kill loses what changed since it started; production uses the Postgres-backed
server, which commits every checkpoint.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from client.remote.client import ChatClient
from devtools.devserver import DevServer
from tests.support.servers import CONFIG

pytestmark = pytest.mark.server

SHORT_MEMORY = {"summarize_after": 2, "keep_last": 2}
"""Summarize as soon as a second turn ends, so two runs make a summary."""


@pytest.fixture(scope="module")
def restartable_server() -> Iterator[DevServer]:
    env = {"MODEL": "offline", "OPENAI_API_KEY": "", "OFFLINE_MODEL_DELAY": "0"}
    with DevServer(CONFIG, env=env) as server:
        yield server


async def test_graceful_restart_keeps_threads_messages_and_summaries(
    restartable_server: DevServer,
) -> None:
    user = f"lance-{uuid.uuid4().hex[:8]}"
    async with ChatClient(restartable_server.url) as client:
        session = await client.session("chatbot", user_id=user)
        (await session.reply("hi! I'm Lance", context=SHORT_MEMORY)).raise_for_error()
        (await session.reply("count to 3", context=SHORT_MEMORY)).raise_for_error()
        assert session.thread_id is not None
        before = await client.thread_state(session.thread_id)
        history_before = await client.history(session.thread_id)
        assert before.summary  # the introduction now lives only in the summary
        assert [m.content for m in before.messages] == ["count to 3", "1 2 3"]

    restartable_server.restart()

    async with ChatClient(restartable_server.url) as client:
        after = await client.thread_state(session.thread_id)
        assert (after.summary, after.messages) == (before.summary, before.messages)
        assert await client.history(session.thread_id) == history_before
        assert [t.thread_id for t in await client.threads(user)] == [session.thread_id]
        # The same user picks the conversation up, and the name survives in the summary.
        resumed = await client.session("chatbot", user_id=user)
        reply = await resumed.reply("what's my name?", context=SHORT_MEMORY)
        assert (reply.status, reply.text) == ("success", "Your name is Lance.")
