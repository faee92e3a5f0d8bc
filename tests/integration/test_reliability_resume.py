"""Dropped connections mid-stream: the session rejoins and renders the run exactly once.

Client → `FaultProxy` → `langgraph dev` → `ChatOpenAI` → scripted OpenAI server. The
proxy cuts the run's event stream at seeded random byte offsets, once or several times,
in `messages` and `messages-tuple` modes; the rendered text and tool-call arguments must
equal those of the same run uncut. Then the proxy plays a server gone for good: the
session gives up with `StreamLost` naming the run, and `join` picks the run up again.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from client.errors import StreamLost
from client.events import MessageFinished, RunEnded, RunStarted, StreamEvent, StreamResumed
from client.remote.client import ChatClient
from client.values import Reply
from devtools.fake_openai import FakeOpenAI, ToolCallReply
from devtools.fake_openai import Reply as Scripted
from tests.integration._helpers import FAST_REJOIN, LONG_TEXT, TOKEN_DELAY
from tests.support.proxy import FaultProxy

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
async def client(proxy: FaultProxy) -> AsyncIterator[ChatClient]:
    async with ChatClient(proxy.url, resume=FAST_REJOIN) as chat_client:
        yield chat_client


def script_tool_then_long_answer(fake: FakeOpenAI) -> None:
    call = ToolCallReply("multiply", '{"a": 2, "b": 3}')
    fake.script(
        Scripted(tool_calls=[call], delay=TOKEN_DELAY), Scripted(LONG_TEXT, delay=TOKEN_DELAY)
    )


def finished(reply: Reply) -> list[tuple[str, object, object]]:
    """Each finished message as (type, content, tool calls without their ids)."""
    return [
        (
            m.type,
            m.content,
            [(c["name"], c["args"]) for c in m.tool_calls] if isinstance(m, AIMessage) else None,
        )
        for m in reply.messages
    ]


async def run_agent(client: ChatClient, fake: FakeOpenAI, mode: str) -> tuple[Reply, str]:
    script_tool_then_long_answer(fake)
    session = await client.session("agent")
    reply = await session.reply("Multiply 2 and 3, then talk for a while", stream_mode=mode)
    assert session.thread_id is not None
    return reply, session.thread_id


@pytest.mark.parametrize("mode", ["messages-tuple", "messages"])
async def test_cut_once_and_several_times_renders_the_uncut_run(
    client: ChatClient, proxy: FaultProxy, proxied_fake: FakeOpenAI, mode: str
) -> None:
    uncut, _ = await run_agent(client, proxied_fake, mode)
    assert uncut.status == "success" and uncut.text == LONG_TEXT
    assert uncut.tool_call_args[-1] == {"a": 2, "b": 3}

    for cuts in (1, 3):
        rng = random.Random(f"{mode}-{cuts}")  # seeded: a failure replays exactly
        offsets = [rng.randint(1_500, 40_000) for _ in range(cuts)]
        before = proxy.cuts
        proxy.cut_streams(*offsets)
        reply, thread_id = await run_agent(client, proxied_fake, mode)

        assert proxy.cuts - before == cuts, offsets
        resumed = [e for e in reply.events if isinstance(e, StreamResumed)]
        assert [e.attempt for e in resumed] == [1] * cuts, offsets
        assert reply.status == "success", (offsets, reply.error)
        assert sum(isinstance(e, RunStarted) for e in reply.events) == 1
        assert sum(isinstance(e, RunEnded) for e in reply.events) == 1
        # No gap and no duplicate: the same text, the same messages, once each.
        assert reply.text == uncut.text, offsets
        assert finished(reply) == finished(uncut), offsets
        ids = [e.message_id for e in reply.events if isinstance(e, MessageFinished)]
        assert len(ids) == len(set(ids))
        if mode == "messages-tuple":
            # Replayed from the server's store: every intermediate state, in order.
            assert reply.tool_call_args == uncut.tool_call_args, offsets
        else:
            # Legacy partials are not stored for replay (see client.resume): after a
            # cut the next snapshot carries everything, so states may be skipped.
            assert reply.tool_call_args[-1] == uncut.tool_call_args[-1]
            assert all(args in uncut.tool_call_args for args in reply.tool_call_args)

        state = await client.thread_state(thread_id)
        assert [type(m) for m in state.messages] == [
            HumanMessage,
            AIMessage,
            ToolMessage,
            AIMessage,
        ]
        assert state.messages[-1].content == LONG_TEXT
    assert proxied_fake.rejections == []


async def test_server_gone_for_good_names_the_run_and_join_picks_it_up(
    client: ChatClient, proxy: FaultProxy, proxied_fake: FakeOpenAI
) -> None:
    proxied_fake.script(Scripted(LONG_TEXT, delay=TOKEN_DELAY * 2))
    session = await client.session("chatbot")
    seen: list[StreamEvent] = []
    with pytest.raises(StreamLost) as caught:
        async for event in session.send("talk for a while", stream_mode="messages-tuple"):
            seen.append(event)
            if len(seen) == 20:
                proxy.go_away()
    lost = caught.value
    assert session.thread_id is not None
    assert (lost.thread_id, lost.run_id) == (session.thread_id, seen[0].run_id)  # type: ignore[union-attr]
    assert f"`lgchat join {session.thread_id} {lost.run_id}`" in str(lost)
    assert "\n" not in str(lost)
    assert not session.is_streaming

    proxy.clear()  # the server is back
    again = await client.session("chatbot", thread_id=session.thread_id)
    joined = Reply(tuple([e async for e in again.join(lost.run_id)]))
    assert joined.status == "success"
    assert joined.text == LONG_TEXT  # from the first token: the run kept going meanwhile
    state = await client.thread_state(session.thread_id)
    assert [m.content for m in state.messages] == ["talk for a while", LONG_TEXT]
