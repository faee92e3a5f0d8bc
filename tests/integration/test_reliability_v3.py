"""Reliability on v3: a cut or abandoned thread stream still renders the run exactly once.

Client → `FaultProxy` → server → `ChatOpenAI` → scripted OpenAI server, over the
thread-centric protocol (`protocol="v3"`), its events carried by SSE or a WebSocket.

- The proxy cuts the thread's event stream once, then three times, at seeded random
  byte offsets of a 300-token reply. The session resumes after the last `seq` it got,
  and the reply, drawn by the renderer piped `lgchat` uses, is exactly the uncut run's
  transcript: no gap, no duplicate; the resume notices go to stderr.
- A client killed (SIGKILL) mid-reply leaves its run going; `lgchat --protocol v3 join`
  from a new process (straight to the server, no proxy) renders that run once, from its
  first token.

Aegra 0.11 serves v3 over SSE only, so the WebSocket cases run on `langgraph dev` alone.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import random
import sys
from typing import Any

import pytest

from client.cli.render import PlainRenderer
from client.events import RunEnded, RunStarted, StreamEvent, StreamResumed
from client.inputs import Transport
from client.remote.client import ChatClient
from client.values import Reply
from devtools.fake_openai import FakeOpenAI
from devtools.fake_openai import Reply as Scripted
from devtools.process import ServerProcess
from tests.integration._helpers import FAST_REJOIN, LONG_TEXT, TOKEN_DELAY
from tests.support.proxy import FaultProxy

pytestmark = pytest.mark.server

TRANSCRIPT = f"AI: {LONG_TEXT}\nFinish Reason: stop\n"
"""What piped `lgchat` prints for the reply (without the `Thread:` note of `send`)."""
MESSAGE = "talk for a while"

CUT_RANGES: dict[Transport, tuple[int, int]] = {"sse": (1_500, 22_000), "websocket": (600, 6_500)}
"""Where a cut lands, in bytes from the stream's status line. The reply's whole stream is
about 85 KB of SSE (95 KB on Aegra) and 8 KB of compressed WebSocket frames, so every
planned cut lands before the run ends."""


def cut_offsets(transport: Transport, cuts: int) -> list[int]:
    """Return `cuts` seeded random offsets (a failure replays exactly) for `transport`.

    A resumed SSE stream starts after the last `seq` received, so its cut lands further
    into the reply wherever it falls. `langgraph dev` replays a thread's whole history on
    every WebSocket (it ignores `since` there; the client skips what it has), so the
    WebSocket's offsets go up, or each cut would fall back into the replay.
    """
    rng = random.Random(f"v3-{transport}-{cuts}")
    offsets = [rng.randint(*CUT_RANGES[transport]) for _ in range(cuts)]
    return sorted(offsets) if transport == "websocket" else offsets


TRANSPORTS = [
    pytest.param("sse"),
    # Aegra 0.11 answers every v3 WebSocket handshake with 403: it has no v3 WebSocket.
    pytest.param("websocket", marks=pytest.mark.engines("dev")),
]


async def render_reply(url: str, transport: Transport, fake: FakeOpenAI) -> tuple[str, str, Reply]:
    """Send `MESSAGE` over v3 and draw the reply as piped `lgchat send` does.

    Returns:
        The drawn stdout and stderr, and the events.
    """
    fake.script(Scripted(LONG_TEXT, delay=TOKEN_DELAY))
    out, err = io.StringIO(), io.StringIO()
    renderer = PlainRenderer(out, err)
    events: list[StreamEvent] = []
    async with ChatClient(url, protocol="v3", transport=transport, resume=FAST_REJOIN) as client:
        session = await client.session("chatbot")
        async for event in session.send(MESSAGE):
            renderer.render(event)
            events.append(event)
    renderer.close()
    return out.getvalue(), err.getvalue(), Reply(tuple(events))


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_cut_once_and_three_times_renders_the_uncut_reply(
    proxy: FaultProxy, proxied_fake: FakeOpenAI, transport: Transport
) -> None:
    uncut, notices, _ = await render_reply(proxy.url, transport, proxied_fake)
    assert (uncut, notices) == (TRANSCRIPT, "")

    for cuts in (1, 3):
        offsets = cut_offsets(transport, cuts)
        before = proxy.cuts
        proxy.cut_streams(*offsets)
        stdout, stderr, reply = await render_reply(proxy.url, transport, proxied_fake)

        assert proxy.cuts - before == cuts, offsets
        resumed = [e for e in reply.events if isinstance(e, StreamResumed)]
        # Every cut cost one attempt: a stream cut again before anything new came
        # resumes at its second attempt.
        assert resumed and sum(e.attempt for e in resumed) == cuts, offsets
        assert stderr.splitlines() == [
            f"(connection dropped; resumed after event {e.last_event_id})" for e in resumed
        ]
        # No gap and no duplicate: byte for byte what the uncut run printed.
        assert stdout == uncut, offsets
        assert reply.status == "success", (offsets, reply.error)
        assert sum(isinstance(e, RunStarted) for e in reply.events) == 1
        assert sum(isinstance(e, RunEnded) for e in reply.events) == 1
    assert proxied_fake.rejections == []


# --- a client killed mid-reply, and a new one joining the run -----------------------------

KILLED_AFTER = 30
"""Text deltas the first client prints before it is killed."""
RESTART_TOKEN_DELAY = 0.006
"""Slow enough (1.8 s for the reply) that the run is still going when the client dies."""


def lgchat(url: str, transport: Transport, *args: str) -> list[str]:
    """Return the command line of `lgchat --protocol v3 --transport TRANSPORT ARGS...`."""
    protocol = ("--protocol", "v3", "--transport", transport)
    return [sys.executable, "-m", "client", "--url", url, *protocol, *args]


def lgchat_env() -> dict[str, str]:
    """Return this process's environment without a developer's LangGraph settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("LANGGRAPH_", "LANGSMITH_"))}


async def kill_mid_reply(url: str, transport: Transport) -> dict[str, Any]:
    """Run `lgchat --json send`, SIGKILL it after `KILLED_AFTER` tokens; return `run_started`."""
    command = lgchat(url, transport, "--json", "send", "--assistant", "chatbot", MESSAGE)
    sender = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=lgchat_env(),
    )
    assert sender.stdout is not None
    started: dict[str, Any] = {}
    deltas = 0
    try:
        async with asyncio.timeout(30):
            while deltas < KILLED_AFTER:
                line = await sender.stdout.readline()
                assert line, "lgchat ended before it was killed"
                event = json.loads(line)
                if event["kind"] == "run_started":
                    started = event
                deltas += event["kind"] == "text_delta"
    finally:
        sender.kill()
        await sender.wait()
    return started


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_client_killed_mid_reply_then_joining_renders_the_run_once(
    dev_server: ServerProcess, proxied_fake: FakeOpenAI, transport: Transport
) -> None:
    proxied_fake.script(Scripted(LONG_TEXT, delay=RESTART_TOKEN_DELAY))
    started = await kill_mid_reply(dev_server.url, transport)
    thread_id, run_id = started["thread_id"], started["run_id"]
    async with ChatClient(dev_server.url) as client:
        # The run outlived its client: nothing cancelled it.
        assert (await client.sdk.runs.get(thread_id, run_id))["status"] == "running"

        joiner = await asyncio.create_subprocess_exec(
            *lgchat(dev_server.url, transport, "join", thread_id, run_id),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=lgchat_env(),
        )
        async with asyncio.timeout(60):
            stdout, stderr = await joiner.communicate()
        assert (joiner.returncode, stderr.decode()) == (0, "")
        assert stdout.decode() == TRANSCRIPT  # from the first token, each token once

        state = await client.thread_state(thread_id)
        # Once on the thread too (a v3 run stores its reply as content blocks: `.text`).
        assert [(m.type, m.text) for m in state.messages] == [("human", MESSAGE), ("ai", LONG_TEXT)]
    assert proxied_fake.rejections == []
