"""`client.remote.resume`: the replay cursor, the backoff policy and the event-stream guard."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
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


def test_aegra_ids_past_the_ninth_event_are_new() -> None:
    # As strings, "r_event_10" < "r_event_9": comparing ids dropped every later event.
    cursor = ReplayCursor()
    received = [part(f"r_event_{n}", f"t{n}") for n in range(1, 13)]
    assert all(cursor.accept(p) for p in received)
    assert cursor.last_id == "r_event_12"
    assert cursor.rejoin_from() == "r_event_11"


def test_aegra_redis_ids_by_two_rejoin_without_gap_or_repeat() -> None:
    server = [part(f"r_event_{n}", f"t{n}") for n in range(1, 30, 2)]
    cursor = ReplayCursor()
    got = [p for p in server[:6] if cursor.accept(p)]
    start = [p.id for p in server].index(cursor.rejoin_from()) + 1
    got += [p for p in server[start:] if cursor.accept(p)]
    assert got == server


def _server(scheme: str, tokens: list[str], groups: list[int]) -> list[StreamPart]:
    """A run's stored events: Aegra's numbered ids, or `langgraph dev`'s shared ms ids."""
    if scheme.startswith("aegra"):
        step = 2 if scheme == "aegra-redis" else 1
        return [part(f"run_event_{1 + step * n}", t) for n, t in enumerate(tokens)]
    out, ms = [], 1_700_000_000_000
    for token, group in zip(tokens, groups, strict=True):
        ms += group  # 0: the same millisecond as the event before
        out.append(part(f"{ms}-0", token))
    return out


def _replay_after(server: list[StreamPart], last_event_id: str) -> list[StreamPart]:
    """What a rejoin from `last_event_id` returns: the events stored after it."""
    if last_event_id == REPLAY_ALL:
        return list(server)
    if last_event_id.endswith("-0"):  # `langgraph dev`: ids strictly greater
        after = int(last_event_id.split("-")[0])
        return [p for p in server if int(str(p.id).split("-")[0]) > after]
    ids = [p.id for p in server]
    return server[ids.index(last_event_id) + 1 :]


@settings(max_examples=300, deadline=None)
@given(
    scheme=st.sampled_from(["aegra", "aegra-redis", "dev"]),
    data=st.data(),
)
def test_any_cuts_and_overlaps_yield_every_event_once(scheme: str, data: st.DataObject) -> None:
    size = data.draw(st.integers(1, 25), label="size")
    tokens = data.draw(st.lists(st.sampled_from("ab"), min_size=size, max_size=size))
    groups = data.draw(st.lists(st.integers(0, 1), min_size=size, max_size=size))
    server = _server(scheme, tokens, groups)
    # Two identical parts under one id are one part to any client: not a valid run.
    keys = [(p.id, p.data["content"]) for p in server]
    assume(len(set(keys)) == len(keys))
    cursor = ReplayCursor()
    got: list[StreamPart] = []
    stream = list(server)  # the first connection: the whole run, live
    for _ in range(data.draw(st.integers(0, 4), label="cuts")):
        received = data.draw(st.integers(0, len(stream)), label="received")
        got += [p for p in stream[:received] if cursor.accept(p)]
        replay = _replay_after(server, cursor.rejoin_from())
        # A join subscribes before it replays: the tail published meanwhile comes twice.
        overlap = data.draw(st.integers(0, len(replay)), label="overlap")
        stream = replay + replay[len(replay) - overlap :]
    got += [p for p in stream if cursor.accept(p)]
    assert got == server
