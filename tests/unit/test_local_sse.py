"""The SSE example endpoint, read with an SSE client."""

from __future__ import annotations

import httpx
from httpx_sse import aconnect_sse

from examples.sse_app import DONE, create_app, sse_event


def test_sse_event_splits_lines() -> None:
    assert sse_event(" there") == "data:  there\n\n"
    assert sse_event("a\nb", "error") == "event: error\ndata: a\ndata: b\n\n"


async def read(client: httpx.AsyncClient, body: dict[str, str]) -> list[tuple[str, str]]:
    async with aconnect_sse(client, "POST", "/chat/stream", json=body) as source:
        assert source.response.headers["content-type"].startswith("text/event-stream")
        return [(event.event, event.data) async for event in source.aiter_sse()]


async def test_tokens_then_done_and_memory_per_user() -> None:
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        events = await read(client, {"message": "hi! I'm Lance", "user_id": "lance"})
        assert events[-1] == ("message", DONE)
        tokens = [data for _, data in events[:-1]]
        assert tokens[:3] == ["Hi", " Lance!", " How"]
        assert "".join(tokens) == "Hi Lance! How can I assist you today?"
        again = await read(client, {"message": "what's my name?", "user_id": "lance"})
        assert "".join(data for _, data in again[:-1]) == "Your name is Lance."
        other = await read(client, {"message": "what's my name?", "user_id": "bob"})
        assert "".join(data for _, data in other[:-1]).startswith("I don't know your name")
        bad = await client.post("/chat/stream", json={"message": " "})
        assert bad.status_code == 422
