"""`client.remote.resume`: the replay cursor, the backoff policy and the event-stream guard."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from langgraph_sdk.schema import StreamPart

from client.remote.resume import REPLAY_ALL, ReplayCursor, ResumePolicy, guard_event_streams


def part(event_id: str | None, token: str, event: str = "messages") -> StreamPart:
    return StreamPart(event=event, data={"content": token}, id=event_id)


def test_rejoin_replays_the_last_millisecond_and_drops_what_was_seen() -> None:
    cursor = ReplayCursor()
    assert cursor.rejoin_from() == REPLAY_ALL  # nothing seen: replay from the start
    received = [part("1-0", "a"), part("2-0", "b"), part("2-0", "c")]
    assert all(cursor.accept(p) for p in received)
    # "d" shares the millisecond of the last part received: resuming after "2-0"
    # would lose it, so the rejoin starts after "1-0" and drops "b" and "c".
    assert cursor.rejoin_from() == "1-0"
    replay = [part("2-0", "b"), part("2-0", "c"), part("2-0", "d"), part("3-0", "e")]
    assert [p.data["content"] for p in replay if cursor.accept(p)] == ["d", "e"]


def test_a_join_overlapping_its_live_phase_yields_each_part_once() -> None:
    cursor = ReplayCursor()
    replayed = [part("1-0", "a"), part("2-0", "b"), part("3-0", "c")]
    live = [part("2-0", "b"), part("3-0", "c"), part("3-0", "d"), part("4-0", "e")]
    accepted = [p for p in replayed + live if cursor.accept(p)]
    assert [p.data["content"] for p in accepted] == ["a", "b", "c", "d", "e"]


def test_parts_without_ids_are_always_new() -> None:
    cursor = ReplayCursor()
    assert cursor.accept(part(None, "a")) and cursor.accept(part(None, "a"))
    assert cursor.last_id is None


def test_backoff_doubles_up_to_the_cap() -> None:
    policy = ResumePolicy(attempts=5, backoff=0.25, max_backoff=1.0)
    assert [policy.delay(n) for n in range(1, 5)] == [0.25, 0.5, 1.0, 1.0]


async def _body(chunks: list[bytes]) -> bytes:
    response = httpx.Response(
        200,
        headers={"content-type": "text/event-stream", "location": "/threads/t/runs/r/stream"},
        stream=_Chunks(chunks),
    )
    await guard_event_streams(response)
    assert "location" not in response.headers
    return await response.aread()


class _Chunks(httpx.AsyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk


async def test_a_stream_cut_mid_event_raises_instead_of_ending() -> None:
    whole = [b"event: messages\r\ndata: {}\r\n", b"id: 1-0\r\n\r\n"]
    assert await _body(whole) == b"".join(whole)
    with pytest.raises(httpx.RemoteProtocolError):
        await _body([b"event: messages\r\ndata: {}\r\n"])  # no id line, no blank line
