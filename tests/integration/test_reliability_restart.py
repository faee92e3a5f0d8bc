"""A restart keeps threads, messages and summaries; after a crash, only on Aegra.

The test restarts its own server (module-scoped), so the shared ones are never touched.
`langgraph dev` writes `.langgraph_api/` only on a graceful stop, so a SIGKILL loses
what changed since it started (the test checks that it does, so the README's engine
table stays true); Aegra commits every checkpoint to Postgres.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from client.errors import NotFound
from client.remote.client import ChatClient
from devtools.process import ServerProcess
from tests.support.servers import OFFLINE_ENV, Engine, engine_server

pytestmark = pytest.mark.server

SHORT_MEMORY = {"summarize_after": 2, "keep_last": 2}
"""Summarize as soon as a second turn ends, so two runs make a summary."""


@pytest.fixture(scope="module")
def restartable_server(engine: Engine) -> Iterator[ServerProcess]:
    with engine_server(engine, OFFLINE_ENV) as server:
        yield server


@pytest.mark.parametrize("crash", [False, True], ids=["graceful", "sigkill"])
async def test_a_restart_keeps_threads_messages_and_summaries(
    restartable_server: ServerProcess, engine: Engine, crash: bool
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

    restartable_server.restart(crash=crash)

    async with ChatClient(restartable_server.url) as client:
        if crash and engine == "dev":
            # In memory until a graceful stop: the crash took the thread with it.
            with pytest.raises(NotFound):
                await client.thread_state(session.thread_id)
            assert await client.threads(user) == []
            return
        after = await client.thread_state(session.thread_id)
        assert (after.summary, after.messages) == (before.summary, before.messages)
        assert await client.history(session.thread_id) == history_before
        assert [t.thread_id for t in await client.threads(user)] == [session.thread_id]
        # The same user picks the conversation up, and the name survives in the summary.
        resumed = await client.session("chatbot", user_id=user)
        reply = await resumed.reply("what's my name?", context=SHORT_MEMORY)
        assert (reply.status, reply.text) == ("success", "Your name is Lance.")
