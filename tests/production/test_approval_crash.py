"""A tool call waiting for review survives a crash of the production engine.

The `agent` graph with `approve_tools` on stops before its tools (`interrupt()` in
`review_tools`), and the run ends `interrupted`. On Aegra the pending review is a
checkpoint in Postgres, not something a server process holds: after a SIGKILL of the
whole server (its process group, uvicorn included) and a start on the same database, a
fresh client, knowing only the thread id, finds the same request in the thread's state
and resumes it with an edit; the run finishes with the edited call's result, and goes on
as the interrupted run began (with `approve_tools`, read back from the server). Both
streaming protocols are checked: run-centric (`runs`) and thread-centric (`v3`, over
SSE: Aegra refuses its WebSocket).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, cast

import pytest
from langchain_core.messages import AIMessage, ToolMessage

from client.approval import Approve, Edit
from client.inputs import StreamProtocol
from client.remote.client import ChatClient
from client.values import Reply
from devtools.aegra import AegraServer
from tests.support.servers import OFFLINE_ENV, aegra_servers

pytestmark = [pytest.mark.server, pytest.mark.engines("aegra")]

PROTOCOLS = pytest.mark.parametrize("protocol", ["runs", "v3"])

REVIEW = {"approve_tools": True}
"""The run context that makes the `agent` graph ask before running a tool."""

ANSWER = "The result of adding 2 and 4 is 6."
"""The offline model's answer once `add(2, 3)` was edited to `add(2, 4)`."""


@pytest.fixture(scope="module")
def server() -> Iterator[AegraServer]:
    """One Aegra instance (with Redis, as in production) on a fresh database."""
    with aegra_servers(OFFLINE_ENV) as (aegra,):
        yield aegra


@pytest.fixture(autouse=True)
def restarted(server: AegraServer) -> Iterator[None]:
    """Start the server again after a test that failed while it was down."""
    yield
    if not server.running:
        server.start()


async def _review_then_crash(server: AegraServer, protocol: StreamProtocol) -> tuple[str, Reply]:
    """Run "2 + 3" until it stops for review, then SIGKILL the server and start it again.

    Returns:
        The thread's id and the interrupted run's reply.
    """
    async with ChatClient(server.url, protocol=protocol) as before_crash:
        session = await before_crash.session("agent")
        asked = await session.reply("2 + 3", context=REVIEW)
        thread_id = session.thread_id
    assert thread_id is not None
    assert asked.status == "interrupted"
    assert asked.interrupt is not None
    assert [(r.name, r.args) for r in asked.interrupt.requests] == [("add", {"a": 2, "b": 3})]
    assert asked.interrupt.requests[0].allowed_decisions == ("approve", "edit", "reject")
    # Nothing ran before the review: the model's call has no result.
    assert not any(isinstance(m, ToolMessage) for m in asked.messages)
    crashed = server.pid
    server.restart(crash=True)  # SIGKILL to the process group, then a start on the same DB
    assert server.pid != crashed
    return thread_id, asked


@PROTOCOLS
async def test_a_pending_review_survives_a_sigkill_and_resumes_with_an_edit(
    server: AegraServer, protocol: StreamProtocol
) -> None:
    thread_id, asked = await _review_then_crash(server, protocol)
    assert asked.interrupt is not None
    async with ChatClient(server.url, protocol=protocol) as after_crash:
        thread = await after_crash.sdk.threads.get(thread_id)
        assert thread["status"] == "interrupted"
        session = await after_crash.session("agent", thread_id=thread_id)
        pending = await session.state()
        assert pending is not None
        (interrupt,) = pending.interrupts
        assert interrupt.interrupt_id == asked.interrupt.interrupt_id
        assert interrupt.requests == asked.interrupt.requests
        assert [(m.type, m.text) for m in pending.messages] == [("human", "2 + 3"), ("ai", "")]
        (call,) = cast(AIMessage, pending.messages[-1]).tool_calls
        assert (call["name"], call["args"]) == ("add", {"a": 2, "b": 3})

        resumed = Reply(tuple([e async for e in session.resume([Edit({"a": 2, "b": 4})])]))
        done = await session.state()
        runs = await after_crash.sdk.runs.list(thread_id)
        thread = await after_crash.sdk.threads.get(thread_id)

    assert (resumed.status, resumed.error, resumed.text) == ("success", None, ANSWER)
    (result,) = [m for m in resumed.messages if isinstance(m, ToolMessage)]
    assert (result.content, result.name, result.tool_call_id) == ("6", "add", call["id"])
    # The thread shows the call as it ran (edited), its result and the answer, and
    # waits for nothing any more.
    assert done is not None and done.interrupts == ()
    assert [(m.type, m.text) for m in done.messages] == [
        ("human", "2 + 3"),
        ("ai", ""),
        ("tool", "6"),
        ("ai", ANSWER),
    ]
    (ran,) = cast(AIMessage, done.messages[1]).tool_calls
    assert (ran["name"], ran["args"], ran["id"]) == ("add", {"a": 2, "b": 4}, call["id"])
    assert thread["status"] == "idle"
    assert [(r["run_id"], r["status"]) for r in runs] == [
        (resumed.run_id, "success"),
        (asked.run_id, "interrupted"),
    ]


@PROTOCOLS
async def test_a_resume_after_the_crash_keeps_the_interrupted_runs_context(
    server: AegraServer, protocol: StreamProtocol
) -> None:
    # The fresh client never saw the context: it reads it back from the server, so the
    # resumed run would review the model's next tool calls too.
    thread_id, _ = await _review_then_crash(server, protocol)
    async with ChatClient(server.url, protocol=protocol) as after_crash:
        session = await after_crash.session("agent", thread_id=thread_id)
        resumed = Reply(tuple([e async for e in session.resume([Approve()])]))
        assert resumed.run_id is not None
        run = await after_crash.sdk.runs.get(thread_id, resumed.run_id)
    assert (resumed.status, resumed.text) == ("success", "The result of adding 2 and 3 is 5.")
    # Aegra keeps a run's context as `context` (no `kwargs`, unlike `langgraph dev`).
    assert cast(Mapping[str, Any], run).get("context") == REVIEW
