"""Crash recovery on Aegra x 2 with Redis: SIGKILL the instance running a reply, rejoin on B.

Both instances share one database and one Redis job queue, so a run created on A runs
on whichever instance's worker pops it. A session on A sends the benchmark prompt; while
the run is claimed by a worker of B (``runs.claimed_by`` names the worker's process) it
is cancelled and sent again on a new thread, until A runs it. After ``kill_after``
tokens, A's process group gets SIGKILL (`AegraServer.kill`). At once a `ChatClient` on B
joins the run (`RemoteChatSession.join`, from its first event) and the clock runs until
the joined stream ends and the run reads ``success``. Aegra retries a crashed run from
its start, so the recovered reply takes its own length again; the model server's request
log tells when the retry reached the model.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg

from bench.common import new_nonce
from bench.model_server import TOKEN_PATTERN, bench_prompt
from bench.servers import ModelServer
from bench.suite import new_session
from client.events import ReplyRetracted, RunEnded, RunError, RunStarted, StreamEvent, TextDelta
from client.remote.client import ChatClient
from devtools.aegra import AegraServer
from devtools.postgres import Database

_WORKER = re.compile(r"-(\d+)-worker-\d+$")
"""`claimed_by` is ``<hostname>-<pid>-worker-<n>``; the pid is the instance's uvicorn."""
_ATTEMPTS = 8


@dataclass
class _Seen:
    """What one stream delivered, with `time.monotonic()` arrival times."""

    nonce: str
    run_id: str | None = None
    thread_id: str | None = None
    tokens: list[tuple[int, float]] = field(default_factory=list)
    retracted: float | None = None
    ended: tuple[float, str] | None = None
    error: str | None = None


async def _follow(events: AsyncIterator[StreamEvent], seen: _Seen) -> None:
    """Record ``events`` into ``seen`` until the stream ends; exceptions end up in it."""
    try:
        async for event in events:
            now = time.monotonic()
            if isinstance(event, RunStarted):
                seen.run_id, seen.thread_id = event.run_id, event.thread_id
            elif isinstance(event, TextDelta):
                for match in TOKEN_PATTERN.finditer(event.text):
                    if match.group(1) == seen.nonce:
                        seen.tokens.append((int(match.group(2)), now))
            elif isinstance(event, ReplyRetracted):
                seen.retracted = seen.retracted or now
            elif isinstance(event, RunEnded):
                seen.ended = (now, event.status)
            elif isinstance(event, RunError):
                seen.error = event.message
    except Exception as exc:
        seen.error = f"{type(exc).__name__}: {exc}"


def _claimed_pgid(database: Database, run_id: str) -> int | None:
    """Return the process group of the worker that claimed ``run_id``, if any yet."""
    with psycopg.connect(database.url, autocommit=True, connect_timeout=5) as conn:
        row = conn.execute("SELECT claimed_by FROM runs WHERE run_id = %s", (run_id,)).fetchone()
    match = _WORKER.search(row[0]) if row and row[0] else None
    if match is None:
        return None
    with contextlib.suppress(ProcessLookupError):
        return os.getpgid(int(match.group(1)))
    return None


async def _until(check: Any, limit_s: float, what: str) -> Any:
    """Poll ``check()`` every 20 ms until it returns something truthy."""
    deadline = time.monotonic() + limit_s
    while not (value := check()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} after {limit_s:.0f} s")
        await asyncio.sleep(0.02)
    return value


async def _run_on_a(
    chat: ChatClient, a: AegraServer, database: Database, tokens: int, rate: float
) -> tuple[_Seen, asyncio.Task[None], int]:
    """Start the reply on A until A's own worker runs it; return it, its task, attempts."""
    for attempt in range(1, _ATTEMPTS + 1):
        session = await new_session(chat)
        seen = _Seen(nonce=new_nonce())
        task = asyncio.create_task(
            _follow(session.send(bench_prompt(tokens, rate, seen.nonce)), seen)
        )
        await _until(lambda seen=seen: seen.run_id or seen.error, 30, "run id")
        run_id = seen.run_id or ""
        pgid = await _until(
            lambda run_id=run_id: _claimed_pgid(database, run_id), 30, "claimed run"
        )
        if pgid == a.pid:
            return seen, task, attempt
        await chat.sdk.runs.cancel(seen.thread_id or "", run_id)
        await asyncio.wait_for(task, 30)
    raise RuntimeError(f"instance A ran none of {_ATTEMPTS} runs")


async def recovery(
    a: AegraServer,
    b: AegraServer,
    database: Database,
    model: ModelServer,
    *,
    tokens: int,
    rate: float,
    kill_after: int,
    lease: Mapping[str, str],
    limit_s: float = 120.0,
) -> dict[str, Any]:
    """Kill A mid-reply and time the reply's completion through B; see the module doc.

    Args:
        a: The instance the run is created and running on; it is killed.
        b: The instance that rejoins the stream (and, by its worker, takes the run over).
        database: Their shared database (to see which worker claimed the run).
        model: The scripted model server.
        tokens: Tokens in the reply.
        rate: Tokens per second.
        kill_after: Tokens seen on A before the SIGKILL.
        lease: The lease settings the instances run with, for the record.
        limit_s: Seconds to wait for the recovered run's end.

    Returns:
        Seconds from the SIGKILL to: the retry's model request (``takeover_s``), the
        retry's first token through B (``first_token_s``), the joined stream's final
        event (``final_event_s``) and the run reading ``success`` (``success_s``).
    """
    model.reset()
    async with ChatClient(a.url) as chat_a, ChatClient(b.url) as chat_b:
        seen_a, task_a, attempts = await _run_on_a(chat_a, a, database, tokens, rate)
        await _until(lambda: len(seen_a.tokens) >= kill_after or seen_a.ended, 60, "tokens")
        if seen_a.ended:
            raise RuntimeError("the reply ended before the kill; make it longer")
        t_kill = time.monotonic()
        await asyncio.to_thread(a.kill)
        task_a.cancel()
        thread_id, run_id = seen_a.thread_id or "", seen_a.run_id or ""
        seen_b = _Seen(nonce=seen_a.nonce)
        session = await chat_b.session("chatbot", thread_id=thread_id)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_follow(session.join(run_id), seen_b), limit_s)
        run = await chat_b.sdk.runs.get(thread_id, run_id)
        t_status = time.monotonic()
    requests = [r["t"] for r in model.requests() if r["nonce"] == seen_a.nonce]
    retry_t = requests[1] if len(requests) > 1 else None
    retried = sorted({i for i, t in seen_b.tokens if retry_t is not None and t > retry_t})
    first = min((t for _, t in seen_b.tokens if retry_t is not None and t > retry_t), default=None)

    def since(t: float | None) -> float:
        return t - t_kill if t is not None else float("nan")

    return {
        "lease": dict(lease),
        "tokens": tokens,
        "rate": rate,
        "reply_s": tokens / rate,
        "killed_after_tokens": len({i for i, _ in seen_a.tokens}),
        "attempts": attempts,
        "model_requests": len(requests),
        "takeover_s": since(retry_t),
        "first_token_s": since(first),
        "final_event_s": since(seen_b.ended[0] if seen_b.ended else None),
        "success_s": since(t_status) if run["status"] == "success" else float("nan"),
        "stream_status": seen_b.ended[1] if seen_b.ended else None,
        "run_status": run["status"],
        "retracted": seen_b.retracted is not None,
        "complete": retried == list(range(tokens)),
        "error": seen_b.error,
    }
