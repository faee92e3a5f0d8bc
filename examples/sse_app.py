"""Example: the tutorial's SSE chat endpoint, on the in-process token helpers.

The tutorial builds it with FastAPI; FastAPI is not a dependency of this project, so
this is plain Starlette (which FastAPI is built on; the endpoint is the same under
FastAPI's `StreamingResponse`). It is mounted nowhere: serve it yourself with

    uvicorn --factory examples.sse_app:create_app

Dependencies: Starlette and uvicorn, which only the `dev` extra installs
(`pip install -e '.[dev]'`, as `make install` does); the shipped packages never
import this module.

`POST /chat/stream` with JSON `{"message": "...", "user_id": "...",
"conversation_id": "..."}` answers `text/event-stream`: one `data: <token>` event per
token of the conversation node, then `data: [DONE]`. A token with a line break is sent
as several `data:` lines, which SSE clients join back with newlines. A failed run sends
`event: error` with a one-line message instead of `[DONE]`, after the tokens it made.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.pregel import Pregel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from client.local.runtime import thread_config
from client.local.tokens import StreamFailed, stream_tokens
from client.threads import DEFAULT_CONVERSATION

DONE = "[DONE]"


def sse_event(data: str, event: str | None = None) -> str:
    """Return one server-sent event; each line of `data` gets its own `data:` field."""
    head = f"event: {event}\n" if event else ""
    return head + "".join(f"data: {line}\n" for line in data.split("\n")) + "\n"


async def token_events(
    graph: Pregel[Any, Any, Any, Any], message: str, user_id: str, conversation_id: str, node: str
) -> AsyncIterator[str]:
    """Yield the SSE events of one reply: its tokens, then `[DONE]` (or an error)."""
    tokens = stream_tokens(
        graph,
        {"messages": [{"role": "user", "content": message}]},
        thread_config(user_id, conversation_id),
        node=node,
    )
    try:
        async for token in tokens:
            yield sse_event(token.text)
    except StreamFailed as failure:
        yield sse_event(failure.message, "error")
        return
    yield sse_event(DONE)


def create_app(
    graph: Pregel[Any, Any, Any, Any] | None = None, *, node: str = "conversation"
) -> Starlette:
    """Return the example app.

    Args:
        graph: A compiled graph with a checkpointer; by default the `chatbot` graph
            with an in-memory one.
        node: The node whose tokens are streamed.
    """
    if graph is None:
        from agent.chatbot import builder

        graph = builder.compile(checkpointer=InMemorySaver())
    chat_graph = graph

    async def chat_stream(request: Request) -> Response:
        body = await request.json()
        message, user_id = body.get("message"), body.get("user_id")
        if not isinstance(message, str) or not message.strip() or not isinstance(user_id, str):
            return JSONResponse({"error": "give a non-empty message and a user_id"}, 422)
        conversation = str(body.get("conversation_id") or DEFAULT_CONVERSATION)
        events = token_events(chat_graph, message, user_id, conversation, node)
        return StreamingResponse(events, media_type="text/event-stream")

    return Starlette(routes=[Route("/chat/stream", chat_stream, methods=["POST"])])
