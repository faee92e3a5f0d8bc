"""What only a real engine can show: two Aegra instances on one Postgres, with Redis.

Both instances share one fresh database and one Redis queue (see `tests.support.servers`)
and short leases, so a crashed instance's run is taken over in seconds instead of Aegra's
default 30-45. A `FaultProxy` plays the load balancer: the client talks to it, and the
test points it at the surviving instance when it kills one, as a health-checking
balancer would.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from client.events import ReplyRetracted, RunStarted, StreamEvent, StreamResumed, TextDelta
from client.remote.client import ChatClient
from client.values import Reply
from devtools.aegra import AegraServer
from tests.integration._helpers import count_reply
from tests.support.proxy import FaultProxy
from tests.support.servers import OFFLINE_ENV, aegra_servers

pytestmark = [pytest.mark.server, pytest.mark.engines("aegra")]

LGCHAT = Path(sys.executable).with_name("lgchat")

FAST_TAKEOVER = {
    "LEASE_DURATION_SECONDS": "5",
    "HEARTBEAT_INTERVAL_SECONDS": "2",
    "REAPER_INTERVAL_SECONDS": "1",
}
"""A dead instance's run is taken over after 5-6 s (Aegra's defaults: 30 s + 15 s)."""

PACE = "0.004"
"""Seconds per offline token: "count to 600" streams for about 2.5 s."""


@dataclass
class Cluster:
    """Two instances sharing one database and one Redis queue."""

    a: AegraServer
    b: AegraServer

    def executing(self, run_id: str) -> AegraServer:
        """Return the instance whose worker picked the run up (from the logs)."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for server in (self.a, self.b):
                if any(
                    "Worker picked up run" in line and run_id in line
                    for line in server.log_text(current_run_only=True).splitlines()
                ):
                    return server
            time.sleep(0.05)
        raise AssertionError(f"no instance logged that it picked up run {run_id}")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    env = {**OFFLINE_ENV, "OFFLINE_MODEL_DELAY": PACE, **FAST_TAKEOVER}
    with aegra_servers(env, count=2) as (a, b):
        yield Cluster(a, b)


@pytest.fixture(autouse=True)
def both_running(cluster: Cluster) -> Iterator[None]:
    """Start again, after the test, an instance the test killed."""
    yield
    for server in (cluster.a, cluster.b):
        if not server.running:
            server.start()


@pytest.fixture
def balancer(cluster: Cluster) -> Iterator[FaultProxy]:
    """A proxy in front of instance A (tests repoint it)."""
    with FaultProxy(cluster.a.port) as proxy:
        yield proxy


@pytest.fixture
async def client_b(cluster: Cluster) -> AsyncIterator[ChatClient]:
    async with ChatClient(cluster.b.url) as client:
        yield client


async def _first_tokens(events: AsyncIterator[StreamEvent], n: int) -> list[StreamEvent]:
    """Read events up to the `n`th text delta."""
    seen: list[StreamEvent] = []
    async for event in events:
        seen.append(event)
        if sum(isinstance(e, TextDelta) for e in seen) >= n:
            break
    return seen


async def test_a_run_created_on_one_instance_is_joined_from_the_other(
    cluster: Cluster, client_b: ChatClient
) -> None:
    async with ChatClient(cluster.a.url) as client_a:
        on_a = await client_a.session("chatbot")
        stream = on_a.send("count to 300")
        started = await _first_tokens(stream, 1)
        run_id = next(e.run_id for e in started if isinstance(e, RunStarted))
        assert on_a.thread_id is not None
        on_b = await client_b.session("chatbot", thread_id=on_a.thread_id)
        joined = Reply(tuple([event async for event in on_b.join(run_id)]))
        rest = Reply(tuple(started + [event async for event in stream]))
    assert (joined.status, joined.text) == ("success", count_reply(300))
    assert (rest.status, rest.text) == ("success", count_reply(300))


async def test_a_stream_read_partly_on_one_instance_resumes_on_the_other(
    cluster: Cluster, balancer: FaultProxy
) -> None:
    # Cut the stream after its first events, and send the rejoin to instance B.
    balancer.cut_streams(3000)
    async with ChatClient(balancer.url) as client:
        session = await client.session("chatbot")
        events: list[StreamEvent] = []
        async for event in session.send("count to 600"):
            events.append(event)
            if balancer.cuts and balancer.upstream_port != cluster.b.port:
                balancer.upstream_port = cluster.b.port
    reply = Reply(tuple(events))
    assert balancer.cuts == 1
    assert any(isinstance(e, StreamResumed) for e in events)
    assert (reply.status, reply.text) == ("success", count_reply(600))


async def test_a_crashed_instances_run_is_finished_by_the_other_and_shown_once(
    cluster: Cluster, balancer: FaultProxy
) -> None:
    async with ChatClient(balancer.url) as client:
        session = await client.session("chatbot")
        stream = session.send("count to 600")
        events = await _first_tokens(stream, 20)
        run_id = next(e.run_id for e in events if isinstance(e, RunStarted))
        victim = cluster.executing(run_id)
        survivor = cluster.b if victim is cluster.a else cluster.a
        victim.kill()
        balancer.upstream_port = survivor.port
        killed = time.monotonic()
        events += [event async for event in stream]
        recovered = time.monotonic() - killed
        assert session.thread_id is not None
        state = await client.thread_state(session.thread_id)
    reply = Reply(tuple(events))
    assert (reply.status, reply.text) == ("success", count_reply(600))
    # The run really ran twice: a second attempt, and the first one's text withdrawn.
    assert sum(isinstance(e, RunStarted) for e in events) == 2
    retracted = [e for e in events if isinstance(e, ReplyRetracted)]
    assert [e.reason for e in retracted] == ["run_restarted"]
    # The retried attempt is the answer; the partial first one never reached the thread.
    assert [m.content for m in state.messages] == ["count to 600", count_reply(600)]
    assert recovered < 30, f"the takeover took {recovered:.1f}s"


async def test_a_hundred_sessions_across_two_instances_without_an_error(
    cluster: Cluster,
) -> None:
    async with ChatClient(cluster.a.url) as on_a, ChatClient(cluster.b.url) as on_b:

        async def chat(index: int) -> tuple[str, str | None, str]:
            client = on_a if index % 2 else on_b
            session = await client.session("chatbot", user_id=f"load-{index}")
            reply = await session.reply(f"count to {10 + index % 7}")
            return reply.status or "?", reply.error, reply.text

        results = await asyncio.gather(*(chat(i) for i in range(100)))
    assert [r for r in results if r[0] != "success"] == []
    assert [text for _, _, text in results] == [count_reply(10 + i % 7) for i in range(100)]


@pytest.mark.parametrize("json_output", [True, False], ids=["json", "plain"])
def test_lgchat_shows_a_crashed_runs_reply_once(
    cluster: Cluster, balancer: FaultProxy, json_output: bool
) -> None:
    args = ["--json"] if json_output else []
    seen = {server.log_path: len(server.log_text()) for server in (cluster.a, cluster.b)}
    proc = subprocess.Popen(
        [str(LGCHAT), "--url", balancer.url, *args, "send", "--assistant", "chatbot",
         "count to 600"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    try:
        # The run's id: from the first JSON line, or from the log of the instance that
        # picked the run up once the plain reply has begun.
        if json_output:
            lines = [proc.stdout.readline() for _ in range(20)]  # well into the reply
            first, run_id = "".join(lines), json.loads(lines[0])["run_id"]
        else:
            first, run_id = proc.stdout.read(12), _picked_up_run(cluster, seen)
        victim = cluster.executing(run_id)
        survivor = cluster.b if victim is cluster.a else cluster.a
        victim.kill()
        balancer.upstream_port = survivor.port
        # Read on from the same buffered pipes (communicate would skip what they hold).
        watchdog = threading.Timer(90, proc.kill)
        watchdog.start()
        rest, err = proc.stdout.read(), proc.stderr.read()
        proc.wait()
        watchdog.cancel()
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    out = (first + rest).splitlines()
    if json_output:
        events = [json.loads(line) for line in out]
        kinds = [e["kind"] for e in events]
        assert kinds.count("reply_retracted") == 1 and kinds[-1] == "run_ended"
        after = kinds.index("reply_retracted")
        text = "".join(e["text"] for e in events[after:] if e["kind"] == "text_delta")
        assert (text, events[-1]["status"]) == (count_reply(600), "success")
    else:
        # Piped stdout is append-only: the withdrawn attempt stays on its own line, the
        # whole reply follows, and stderr says which line was withdrawn.
        ai_lines = [line for line in out if line.startswith("AI: ")]
        assert len(ai_lines) == 2 and ai_lines[1] == f"AI: {count_reply(600)}"
        assert ai_lines[1].startswith(ai_lines[0]) and ai_lines[0] != ai_lines[1]
        # The client's connection was cut too if it was served by the killed instance.
        *resumed, withdrawn = err.splitlines()
        assert withdrawn == "(the server restarted the run; the partial reply above is withdrawn)"
        assert all(line.startswith("(connection dropped; resumed after event ") for line in resumed)
        assert len(resumed) <= 1


def _picked_up_run(cluster: Cluster, seen: dict[Path, int]) -> str:
    """Return the id of the run an instance picked up after the logs' ``seen`` lengths."""
    deadline = time.monotonic() + 10
    pattern = re.compile(r"Worker picked up run.*?run_id=([0-9a-f-]{36})")
    while time.monotonic() < deadline:
        for server in (cluster.a, cluster.b):
            found = pattern.findall(server.log_text()[seen[server.log_path] :])
            if found:
                return str(found[0])
        time.sleep(0.05)
    raise AssertionError("no instance picked up a run")
