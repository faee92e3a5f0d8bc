"""`ThreadRunSource` over a scripted SDK transport: resuming by `seq`, errors as one line.

The transport is a stand-in for the SDK's `ProtocolSseTransport` with the same
interface; the real transports are exercised against real servers in
`tests/integration/test_v3_contract.py` and `test_reliability_v3.py`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, ClassVar

import httpx
import pytest
import websockets.datastructures
import websockets.http11
from langgraph_sdk.stream.transport import EventStreamHandle
from websockets.exceptions import InvalidStatus

from client.errors import ConnectionLost, InvalidInput, NotFound, ProtocolUnsupported, RunFailed
from client.inputs import check_streaming
from client.remote import thread_stream
from client.remote.client import ChatClient
from client.remote.thread_stream import CHANNELS, ThreadRunSource

URL = "http://127.0.0.1:9"
THREAD = "6f1c1d52-0000-4000-8000-000000000001"
Event = dict[str, Any]


def lifecycle(run_id: str, what: str, seq: int) -> Event:
    return {
        "type": "event",
        "seq": seq,
        "event_id": f"synth:{run_id}:lc||{what}",
        "method": "lifecycle",
        "params": {"namespace": [], "data": {"event": what}},
    }


def text(seq: int, delta: str) -> Event:
    data = {
        "event": "content-block-delta",
        "index": 0,
        "delta": {"type": "text-delta", "text": delta},
    }
    return {
        "type": "event",
        "seq": seq,
        "event_id": f"{seq}-0",
        "method": "messages",
        "params": {"namespace": [], "data": data},
    }


START = {
    "type": "event",
    "seq": 4,
    "event_id": "4-0",
    "method": "messages",
    "params": {"namespace": [], "data": {"event": "message-start", "role": "ai", "id": "m1"}},
}


class ScriptedTransport:
    """Answer commands and open event streams from a script, recording what was asked."""

    answers: ClassVar[list[Any]] = []
    refusal: ClassVar[BaseException | None] = None
    """Fail every subscription's handshake with this."""
    hang: ClassVar[bool] = False
    """Keep each stream open after its scripted events, until it is closed."""
    streams: ClassVar[list[tuple[list[Event], BaseException | None]]] = []
    opened: ClassVar[list[dict[str, Any]]] = []

    def __init__(self, **kwargs: Any) -> None:
        self.headers = kwargs.get("headers")

    async def send_command(self, command: dict[str, Any]) -> Any:
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return {"id": command["id"], **answer}

    def open_event_stream(self, params: dict[str, Any]) -> EventStreamHandle:
        self.opened.append(params)
        events, failure = self.streams.pop(0) if self.streams else ([], None)
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()
        if self.refusal is None:
            ready.set_result(None)
        else:
            ready.set_exception(self.refusal)
        done: asyncio.Future[BaseException | None] = loop.create_future()
        closed = asyncio.Event()

        async def iterate() -> AsyncIterator[Any]:
            for item in events:
                yield item
            if self.hang:
                await closed.wait()
            done.set_result(failure)

        async def close() -> None:
            closed.set()

        return EventStreamHandle(events=iterate(), ready=ready, done=done, close=close)

    async def close(self) -> None:
        return None


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[ScriptedTransport]]:
    ScriptedTransport.answers, ScriptedTransport.streams, ScriptedTransport.opened = [], [], []
    ScriptedTransport.refusal, ScriptedTransport.hang = None, False
    monkeypatch.setattr(thread_stream, "ProtocolWebSocketTransport", ScriptedTransport)
    monkeypatch.setattr(thread_stream, "ProtocolSseTransport", ScriptedTransport)
    yield ScriptedTransport


async def collect(source: ThreadRunSource) -> list[tuple[str, Any, str | None]]:
    return [(p.event, p.data, p.id) async for p in source.parts()]


async def started(client: ChatClient) -> ThreadRunSource:
    source = ThreadRunSource(client, THREAD, "sse")
    assert await source.start("agent", {"messages": []}, {}) == "r1"
    return source


def texts(parts: Sequence[tuple[str, Any, str | None]]) -> list[str]:
    return [
        data[0]["content"] for event, data, _ in parts if event == "messages" and data[0]["content"]
    ]


async def test_a_dropped_stream_resumes_after_the_last_seq_without_duplicates(
    scripted: type[ScriptedTransport],
) -> None:
    scripted.answers = [{"type": "success", "result": {"run_id": "r1"}}]
    first = [
        lifecycle("r0", "running", 1),  # an earlier run of the thread, replayed
        lifecycle("r0", "completed", 2),
        lifecycle("r1", "running", 3),
        START,
        text(5, "a"),
        text(6, "b"),
    ]
    # The server may send an event again after a reconnect; it is dropped by its seq.
    second = [
        {"type": "success", "id": 1},
        text(6, "b"),
        text(7, "c"),
        lifecycle("r1", "completed", 8),
    ]
    scripted.streams = [(first, None), (second, None)]
    async with ChatClient(URL, token="t0k3n") as client:
        source = await started(client)
        before = await collect(source)
        assert texts(before) == ["a", "b"] and source.last_seq == 6
        after = await collect(source)
    assert texts(after) == ["c"]
    assert after[-1] == ("end", {"status": "success"}, "8")
    assert scripted.opened == [{"channels": CHANNELS}, {"channels": CHANNELS, "since": 6}]


async def test_a_later_run_starts_after_the_seq_its_session_had_read(
    scripted: type[ScriptedTransport],
) -> None:
    scripted.answers = [{"type": "success", "result": {"run_id": "r1"}}]
    run = [lifecycle("r1", "running", 3), START, text(5, "a"), lifecycle("r1", "completed", 6)]
    scripted.streams = [(run, None)]
    async with ChatClient(URL) as client:
        source = ThreadRunSource(client, THREAD, "sse", since=2)
        assert await source.start("agent", {}, {}) == "r1"
        parts = await collect(source)
    assert texts(parts) == ["a"] and parts[-1][0] == "end"
    assert scripted.opened == [{"channels": CHANNELS, "since": 2}]


async def test_a_stream_that_begins_after_the_runs_start_is_read_again_from_the_first_event(
    scripted: type[ScriptedTransport],
) -> None:
    """The server numbered the history lower this time: `since` skipped the run's start."""
    scripted.answers = [{"type": "success", "result": {"run_id": "r1"}}]
    after_since = [text(5, "b"), lifecycle("r1", "completed", 6)]
    whole = [lifecycle("r1", "running", 1), {**START, "seq": 2}, text(3, "a"), text(4, "b")]
    whole.append(lifecycle("r1", "completed", 5))
    scripted.streams = [(after_since, None), (whole, None)]
    async with ChatClient(URL) as client:
        source = ThreadRunSource(client, THREAD, "sse", since=4)
        assert await source.start("agent", {}, {}) == "r1"
        parts = await collect(source)
    assert texts(parts) == ["a", "b"]
    assert [event for event, _, _ in parts] == [
        "metadata",
        "messages",
        "messages",
        "messages",
        "end",
    ]
    assert scripted.opened == [{"channels": CHANNELS, "since": 4}, {"channels": CHANNELS}]


async def test_a_refused_subscription_starts_no_run(scripted: type[ScriptedTransport]) -> None:
    """Aegra refuses every v3 WebSocket: the run must not be started over HTTP anyway."""
    response = websockets.http11.Response(403, "Forbidden", websockets.datastructures.Headers())
    scripted.refusal = InvalidStatus(response)
    scripted.answers = [{"type": "success", "result": {"run_id": "r1"}}]
    async with ChatClient(URL) as client:
        source = ThreadRunSource(client, THREAD, "websocket")
        with pytest.raises(ProtocolUnsupported, match="over websocket; use sse"):
            await source.start("agent", {}, {})
    assert scripted.answers == [{"type": "success", "result": {"run_id": "r1"}}]  # not sent


async def test_stop_ends_a_stream_that_would_not_end(scripted: type[ScriptedTransport]) -> None:
    """A run cancelled before it started never shows on the thread's stream."""
    scripted.answers = [{"type": "success", "result": {"run_id": "r1"}}]
    scripted.hang = True
    async with ChatClient(URL) as client:
        source = await started(client)
        reading = asyncio.ensure_future(collect(source))
        await asyncio.sleep(0.05)
        assert not reading.done()
        await source.stop()
        assert await asyncio.wait_for(reading, 1) == []


async def test_a_broken_stream_is_a_lost_connection(scripted: type[ScriptedTransport]) -> None:
    scripted.answers = [{"type": "success", "result": {"run_id": "r1"}}]
    scripted.streams = [([lifecycle("r1", "running", 1)], httpx.RemoteProtocolError("cut"))]
    async with ChatClient(URL) as client:
        source = await started(client)
        with pytest.raises(ConnectionLost, match=r"lost the connection .*: cut"):
            await collect(source)


def refused(status: int, body: bytes) -> httpx.HTTPStatusError:
    request = httpx.Request("POST", f"{URL}/threads/{THREAD}/commands")
    response = httpx.Response(status, content=body, request=request)
    return httpx.HTTPStatusError("refused", request=request, response=response)


@pytest.mark.parametrize(
    ("answer", "error", "message"),
    [
        (refused(404, b'{"detail":"Not Found"}'), ProtocolUnsupported, "does not speak the v3"),
        (refused(404, b"<html>no</html>"), ProtocolUnsupported, "does not speak the v3"),
        (refused(404, b'{"detail":"Thread not found"}'), NotFound, "no thread"),
        (
            {
                "type": "error",
                "error": "invalid_argument",
                "message": "Input should be a valid dictionary",
            },
            InvalidInput,
            "Input should be a valid dictionary",
        ),
        (
            {"type": "error", "error": "no_such_run", "message": "Assistant 'x' not found"},
            NotFound,
            "Assistant 'x'",
        ),
        (
            {"type": "error", "error": "unknown_error", "message": "422: Invalid\n- more"},
            RunFailed,
            "422: Invalid - more",
        ),
        ({"type": "success", "result": {}}, ProtocolUnsupported, "does not speak"),
    ],
)
async def test_refused_starts_are_typed_one_line_errors(
    scripted: type[ScriptedTransport], answer: Any, error: type[Exception], message: str
) -> None:
    scripted.answers = [answer]
    async with ChatClient(URL) as client:
        source = ThreadRunSource(client, THREAD, "sse")
        with pytest.raises(error, match=message) as raised:
            await source.start("agent", {}, {})
    assert "\n" not in str(raised.value)


async def test_the_websocket_handshake_carries_the_token(scripted: type[ScriptedTransport]) -> None:
    async with ChatClient(URL, token="t0k3n") as client:
        source = ThreadRunSource(client, THREAD, "sse")
    assert isinstance(source._transport, ScriptedTransport)
    assert source._transport.headers is not None
    assert source._transport.headers["Authorization"] == "Bearer t0k3n"


@pytest.mark.parametrize(
    ("protocol", "transport", "message"),
    [
        ("v4", "sse", "unknown streaming protocol 'v4'; choose runs or v3"),
        ("v3", "grpc", "unknown transport 'grpc'; choose sse or websocket"),
        ("runs", "websocket", "the runs protocol streams over SSE only; use --protocol v3"),
    ],
)
def test_protocol_and_transport_are_checked_before_any_request(
    protocol: str, transport: str, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        check_streaming(protocol, transport)
    with pytest.raises(InvalidInput, match=message):
        ChatClient(URL, protocol=protocol, transport=transport)  # type: ignore[arg-type]
