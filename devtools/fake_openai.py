"""Scripted OpenAI-compatible chat completions server for offline tests.

The server speaks enough of the OpenAI wire protocol to drive the real
``langchain_openai.ChatOpenAI`` (and a ``langgraph dev`` subprocess that uses
it through ``OPENAI_BASE_URL``): ``POST /v1/chat/completions`` in streaming
(server-sent events) and non-streaming form, and ``GET /v1/models``.

Tests script replies in FIFO order with :meth:`FakeOpenAI.script`; requests
that find the script empty are answered by a fallback responder, by default
the project's deterministic offline model (:func:`offline_responder`).
Wire-level faults (rate limits, server errors, cut connections, stalls,
malformed chunks) are attached to a single :class:`Reply` or injected for the
next N requests with :meth:`FakeOpenAI.fail_next`.

Token accounting is deterministic so benchmarks can compare prompt sizes:

* ``prompt_tokens`` is the number of whitespace-separated words in every
  message's text content plus every assistant tool call's ``arguments``
  string (tool definitions, roles and names are not counted).
* ``completion_tokens`` is the number of streamed delta chunks that carry
  generated output: one per text chunk, one per tool call header (the delta
  carrying its name) and one per ``arguments`` fragment. Non-streaming
  responses report the same number as the equivalent stream.

Run by hand with ``python -m devtools.fake_openai --port N``; it serves
on ``127.0.0.1`` with the fallback responder and logs one line per request.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import signal
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Self, cast

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, convert_to_messages

from devtools import require_dev_extra

with require_dev_extra("devtools.fake_openai"):
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route
    from starlette.types import Receive, Scope, Send

from agent.offline import split_arguments, split_text
from devtools.ports import LOOPBACK, bind_loopback, bound_port

__all__ = [
    "BadRequest",
    "ChatRequest",
    "CutConnection",
    "FakeOpenAI",
    "Fault",
    "MalformedChunk",
    "RateLimit",
    "Rejection",
    "Reply",
    "Responder",
    "ServerError",
    "Stall",
    "ToolCallReply",
    "model_responder",
    "offline_responder",
    "reply_from_message",
    "sequence_error",
    "server_env",
    "split_arguments",
    "split_text",
]

logger = logging.getLogger(__name__)

FinishReason = Literal["stop", "tool_calls", "length", "content_filter"]

ORPHAN_TOOL_MESSAGE = (
    "Invalid parameter: messages with role 'tool' must be a response to a "
    "preceeding message with 'tool_calls'."
)
UNANSWERED_TOOL_CALLS = (
    "An assistant message with 'tool_calls' must be followed by tool messages "
    "responding to each 'tool_call_id'. The following tool_call_ids did not "
    "have response messages: {ids}"
)
UNKNOWN_TOOL_CALL_ID = (
    "Invalid parameter: 'tool_call_id' of '{id}' not found in 'tool_calls' of previous message."
)
EMPTY_MESSAGES = (
    "Invalid 'messages': empty array. Expected an array with minimum length 1, "
    "but got an empty array instead."
)
_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
_MALFORMED_EVENT = b"data: {not json\n\n"
_DONE_EVENT = b"data: [DONE]\n\n"


def _count_words(text: str) -> int:
    return len(text.split())


def _content_text(content: object) -> str:
    """Return the text of an OpenAI message ``content`` (string or parts list)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


def _new_id(prefix: str) -> str:
    # Random rather than counted, like the real API: a counter would repeat ids
    # after a fake-server restart while a persisted thread still holds the old ones.
    return f"{prefix}{uuid.uuid4().hex[:24]}"


# --------------------------------------------------------------------------
# Script model
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class ToolCallReply:
    """A tool call the fake model emits.

    Attributes:
        name: Function name.
        arguments: Raw JSON arguments string, sent verbatim (invalid JSON is
            allowed, to exercise ``invalid_tool_calls``).
        id: Tool call id; a fresh ``call_…`` id when omitted.
        fragments: Explicit streaming fragments of ``arguments``; by default
            :func:`split_arguments` decides.
    """

    name: str
    arguments: str = "{}"
    id: str | None = None
    fragments: Sequence[str] | None = None

    def __post_init__(self) -> None:
        """Reject fragments that do not reassemble into the arguments."""
        if self.fragments is not None and "".join(self.fragments) != self.arguments:
            raise ValueError("ToolCallReply.fragments must join to arguments")

    def argument_fragments(self) -> list[str]:
        """Return the fragments the arguments are streamed in."""
        if self.fragments is not None:
            return list(self.fragments)
        return split_arguments(self.arguments)


@dataclass(frozen=True)
class RateLimit:
    """HTTP 429 with ``Retry-After`` and OpenAI's rate-limit error body.

    Attributes:
        retry_after: Seconds sent in ``Retry-After`` (and ``retry-after-ms``).
            The openai client honours values in (0, 120]; otherwise it falls
            back to exponential backoff starting at ~0.5 s.
        message: Error message.
    """

    retry_after: float = 0.01
    message: str = "Rate limit reached for requests. Please try again later."


@dataclass(frozen=True)
class ServerError:
    """An HTTP 5xx with OpenAI's ``server_error`` body.

    Attributes:
        status: HTTP status, 500 unless overridden.
        message: Error message.
    """

    status: int = 500
    message: str = "The server had an error while processing your request. Sorry about that!"


@dataclass(frozen=True)
class BadRequest:
    """HTTP 400 with OpenAI's ``invalid_request_error`` body.

    Attributes:
        message: Error message.
        param: The ``param`` field of the error body.
        code: The ``code`` field of the error body.
    """

    message: str
    param: str | None = None
    code: str | None = None


@dataclass(frozen=True)
class CutConnection:
    """Close the TCP connection mid-response, before the terminating chunk.

    Streaming: the cut happens before SSE event number ``after_chunks``
    (0-based, the initial role chunk is event 0); it is clamped so that
    ``data: [DONE]`` is never sent. Non-streaming: half of the JSON body is
    sent, then the connection is closed.

    Attributes:
        after_chunks: Number of SSE events delivered before the cut.
    """

    after_chunks: int = 1


@dataclass(frozen=True)
class Stall:
    """Sleep before sending more data, so a client read timeout trips.

    Streaming: the status line and ``after_chunks`` events are sent first,
    then the server sleeps ``seconds`` and finishes the stream normally.
    Non-streaming: the server sleeps before sending anything (which the openai
    client treats as a retryable timeout). The sleep ends early when the
    server stops.

    Attributes:
        seconds: Length of the stall.
        after_chunks: Number of SSE events delivered before the stall.
    """

    seconds: float
    after_chunks: int = 0


@dataclass(frozen=True)
class MalformedChunk:
    """Send ``data: {not json`` as SSE event number ``after_chunks``.

    The rest of the stream follows normally. Non-streaming requests get a
    200 response whose body is not JSON.

    Attributes:
        after_chunks: Number of valid SSE events delivered first.
    """

    after_chunks: int = 1


Fault = RateLimit | ServerError | BadRequest | CutConnection | Stall | MalformedChunk
_StreamFault = CutConnection | Stall | MalformedChunk


@dataclass(frozen=True)
class Reply:
    """One scripted model response.

    Attributes:
        text: Assistant text content.
        chunks: Explicit stream chunks of ``text``; :func:`split_text` by default.
        tool_calls: Tool calls, streamed after the text in order (several
            entries make parallel tool calls).
        delay: Seconds to sleep before each generated chunk (non-streaming
            responses sleep the same total before answering).
        finish_reason: Override; otherwise ``"tool_calls"`` when there are tool
            calls, else ``"stop"``.
        fault: Fault to inject when this reply is served. Mid-stream faults
            deliver the reply's chunks up to the fault. The reply is consumed
            either way; script the follow-up reply separately.
    """

    text: str = ""
    chunks: Sequence[str] | None = None
    tool_calls: Sequence[ToolCallReply] = ()
    delay: float = 0.0
    finish_reason: FinishReason | None = None
    fault: Fault | None = None

    def __post_init__(self) -> None:
        """Reject chunks that do not reassemble into the text."""
        if self.chunks is not None and "".join(self.chunks) != self.text:
            raise ValueError("Reply.chunks must join to text")

    def text_chunks(self) -> list[str]:
        """Return the chunks the text is streamed in."""
        return list(self.chunks) if self.chunks is not None else split_text(self.text)

    def resolved_finish_reason(self) -> FinishReason:
        """Return the finish reason the response reports."""
        if self.finish_reason is not None:
            return self.finish_reason
        return "tool_calls" if self.tool_calls else "stop"


@dataclass(frozen=True)
class ChatRequest:
    """A request the fake server received.

    Attributes:
        body: Parsed JSON body (empty when the body was not a JSON object).
        headers: Request headers with lower-case names.
    """

    body: Mapping[str, Any]
    headers: Mapping[str, str]

    @property
    def messages(self) -> list[dict[str, Any]]:
        """OpenAI-format messages of the request."""
        messages = self.body.get("messages")
        return list(messages) if isinstance(messages, list) else []

    @property
    def tools(self) -> list[dict[str, Any]]:
        """OpenAI-format tool definitions (empty when none were sent)."""
        tools = self.body.get("tools")
        return list(tools) if isinstance(tools, list) else []

    @property
    def model(self) -> str:
        """Requested model name."""
        return str(self.body.get("model", ""))

    @property
    def stream(self) -> bool:
        """Whether a server-sent event stream was requested."""
        return bool(self.body.get("stream", False))

    @property
    def include_usage(self) -> bool:
        """Whether the stream must end with a usage chunk."""
        options = self.body.get("stream_options")
        return isinstance(options, dict) and bool(options.get("include_usage"))

    @property
    def prompt_tokens(self) -> int:
        """Deterministic prompt size; see the module docstring for the rule."""
        total = 0
        for message in self.messages:
            total += _count_words(_content_text(message.get("content")))
            for call in message.get("tool_calls") or []:
                total += _count_words(str(call.get("function", {}).get("arguments", "")))
        return total


@dataclass(frozen=True)
class Rejection:
    """A request the fake server refused as invalid (HTTP 400).

    Attributes:
        request: The offending request.
        message: The OpenAI-style error message returned.
    """

    request: ChatRequest
    message: str


Responder = Callable[[ChatRequest], Reply]


# --------------------------------------------------------------------------
# Fallback responders
# --------------------------------------------------------------------------


def reply_from_message(message: BaseMessage) -> Reply:
    """Turn a chat model's output message into a :class:`Reply`.

    Tool call ids are not copied: like the real API, the fake server issues
    fresh ids.

    Args:
        message: Output of a LangChain chat model.

    Returns:
        A reply with the message's text and tool calls.
    """
    tool_calls = message.tool_calls if isinstance(message, AIMessage) else []
    return Reply(
        text=message.text,
        tool_calls=[ToolCallReply(call["name"], json.dumps(call["args"])) for call in tool_calls],
    )


def model_responder(factory: Callable[[], BaseChatModel]) -> Responder:
    """Build a responder that answers with a LangChain chat model.

    The request's OpenAI-format messages are converted with
    ``convert_to_messages`` and its tools are bound with ``bind_tools``.

    Args:
        factory: Creates the chat model; called once per request.

    Returns:
        The responder.
    """

    def respond(request: ChatRequest) -> Reply:
        model = factory()
        runnable = model.bind_tools(request.tools) if request.tools else model
        return reply_from_message(runnable.invoke(convert_to_messages(request.messages)))

    return respond


def _offline_model() -> BaseChatModel:
    # Imported lazily so this module works without (or before) agent/offline.py.
    module = importlib.import_module("agent.offline")
    # The model's own per-chunk pacing would slow every reply; Reply.delay paces instead.
    return cast(BaseChatModel, module.OfflineChatModel(delay=0.0))


offline_responder: Responder = model_responder(_offline_model)
"""Default fallback: answers like the project's ``agent.offline.OfflineChatModel``."""


def server_env(base_url: str, *, model: str = "openai:gpt-4o") -> dict[str, str]:
    """Return the environment that points a served project's graphs at a fake OpenAI.

    Args:
        base_url: :attr:`FakeOpenAI.base_url`.
        model: The ``MODEL`` spec the graphs load.

    Returns:
        ``OPENAI_BASE_URL``, a dummy ``OPENAI_API_KEY``, ``MODEL``, and an unpaced
        offline model (for graphs asked for it explicitly).
    """
    return {
        "OPENAI_BASE_URL": base_url,
        "OPENAI_API_KEY": "test",
        "MODEL": model,
        "OFFLINE_MODEL_DELAY": "0",
    }


# --------------------------------------------------------------------------
# Wire format
# --------------------------------------------------------------------------


def _error_body(message: str, kind: str, param: str | None, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def _fault_response(fault: RateLimit | ServerError | BadRequest) -> JSONResponse:
    if isinstance(fault, RateLimit):
        return JSONResponse(
            _error_body(fault.message, "requests", None, "rate_limit_exceeded"),
            status_code=429,
            headers={
                "retry-after": f"{fault.retry_after:g}",
                "retry-after-ms": f"{fault.retry_after * 1000:g}",
            },
        )
    if isinstance(fault, ServerError):
        return JSONResponse(
            _error_body(fault.message, "server_error", None, None), status_code=fault.status
        )
    return JSONResponse(
        _error_body(fault.message, "invalid_request_error", fault.param, fault.code),
        status_code=400,
    )


@dataclass(frozen=True)
class _Event:
    """One ``chat.completion.chunk`` and whether it carries generated output."""

    payload: dict[str, Any]
    generated: bool


@dataclass(frozen=True)
class _Completion:
    """A reply laid out for the wire, shared by the streaming and plain forms."""

    reply: Reply
    request: ChatRequest
    id: str = field(default_factory=lambda: _new_id("chatcmpl-"))
    created: int = field(default_factory=lambda: int(time.time()))
    tool_call_ids: tuple[str, ...] = ()

    @classmethod
    def build(cls, reply: Reply, request: ChatRequest) -> _Completion:
        ids = tuple(call.id or _new_id("call_") for call in reply.tool_calls)
        return cls(reply=reply, request=request, tool_call_ids=ids)

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.request.model,
            "system_fingerprint": "fp_fake",
            "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            ],
        }
        if self.request.include_usage:
            chunk["usage"] = None
        return chunk

    def _generated_deltas(self) -> Iterator[dict[str, Any]]:
        for text in self.reply.text_chunks():
            yield {"content": text}
        for index, (call, call_id) in enumerate(
            zip(self.reply.tool_calls, self.tool_call_ids, strict=True)
        ):
            header = {"name": call.name, "arguments": ""}
            yield {
                "tool_calls": [
                    {"index": index, "id": call_id, "type": "function", "function": header}
                ]
            }
            for fragment in call.argument_fragments():
                yield {"tool_calls": [{"index": index, "function": {"arguments": fragment}}]}

    def events(self) -> list[_Event]:
        """Return the SSE payloads in order, without the final ``[DONE]``."""
        events = [_Event(self._chunk({"role": "assistant", "content": ""}), generated=False)]
        events += [_Event(self._chunk(delta), generated=True) for delta in self._generated_deltas()]
        events.append(_Event(self._chunk({}, self.reply.resolved_finish_reason()), False))
        if self.request.include_usage:
            usage_chunk = {**self._chunk({}), "choices": [], "usage": self.usage()}
            events.append(_Event(usage_chunk, generated=False))
        return events

    def usage(self) -> dict[str, int]:
        """Return the usage block; see the module docstring for the rule."""
        prompt = self.request.prompt_tokens
        completion = sum(1 for _ in self._generated_deltas())
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }

    def completion(self) -> dict[str, Any]:
        """Return the non-streaming ``chat.completion`` object."""
        message: dict[str, Any] = {
            "role": "assistant",
            # The real API sends null content for tool-call-only messages.
            "content": self.reply.text or (None if self.reply.tool_calls else ""),
            "refusal": None,
        }
        if self.reply.tool_calls:
            message["tool_calls"] = [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
                for call, call_id in zip(self.reply.tool_calls, self.tool_call_ids, strict=True)
            ]
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.request.model,
            "system_fingerprint": "fp_fake",
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": self.reply.resolved_finish_reason(),
                }
            ],
            "usage": self.usage(),
        }


class _DeliberateDisconnect(Exception):
    """Raised inside a response to make uvicorn drop the TCP connection."""


class _QuietDeliberateDisconnect(logging.Filter):
    """Hide uvicorn's error log for connections the fake cuts on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, _DeliberateDisconnect)


_QUIET_FILTER = _QuietDeliberateDisconnect()


def _install_quiet_filter() -> None:
    uvicorn_logger = logging.getLogger("uvicorn.error")
    if _QUIET_FILTER not in uvicorn_logger.filters:
        uvicorn_logger.addFilter(_QUIET_FILTER)


def _sse(payload: Mapping[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


async def _send_body(send: Send, body: bytes, *, more: bool) -> None:
    await send({"type": "http.response.body", "body": body, "more_body": more})


# --------------------------------------------------------------------------
# Server
# --------------------------------------------------------------------------


@dataclass
class _PendingFault:
    fault: Fault
    remaining: int | None


class FakeOpenAI:
    """A scripted OpenAI chat completions server running in a background thread.

    Use it as a context manager (or call :meth:`start`/:meth:`stop`) and point
    the client at :attr:`base_url`. The server thread has its own event loop,
    so the object works from sync and async tests alike; all public methods
    are thread-safe.

    Example:
        >>> with FakeOpenAI() as fake:  # doctest: +SKIP
        ...     fake.fail_next(RateLimit(), times=1)
        ...     fake.script(Reply("Hello there"))
        ...     ChatOpenAI(base_url=fake.base_url, api_key="x").invoke("hi")
    """

    def __init__(self, responder: Responder = offline_responder, *, port: int = 0) -> None:
        """Configure the server; nothing runs until :meth:`start`.

        Args:
            responder: Answers requests when the script is empty; also settable
                later through the ``responder`` attribute (``reset()`` restores it).
            port: Port to bind on 127.0.0.1; ``0`` picks a free one.
        """
        self._default_responder = responder
        self._requested_port = port
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._replies: deque[Reply] = deque()
        self._faults: deque[_PendingFault] = deque()
        self._requests: list[ChatRequest] = []
        self._rejections: list[Rejection] = []
        self.responder: Responder = responder
        self._port: int | None = None
        self._thread: threading.Thread | None = None
        self._server: uvicorn.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat_completions, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
            ]
        )

    # -- scripting ---------------------------------------------------------

    def script(self, *replies: Reply | str) -> None:
        """Queue replies for the next requests, in order.

        Args:
            *replies: Replies; a plain string is shorthand for ``Reply(text)``.
        """
        with self._lock:
            self._replies.extend(Reply(r) if isinstance(r, str) else r for r in replies)

    def fail_next(self, fault: Fault, *, times: int | None = 1) -> None:
        """Fail the next ``times`` valid requests with ``fault``.

        Injected faults queue up behind each other and do not consume scripted
        replies; a mid-stream fault streams the reply that would otherwise
        have been served, up to the fault. Invalid requests are rejected with
        HTTP 400 before faults are considered and do not use them up.

        Args:
            fault: The fault to inject.
            times: How many requests it applies to; ``None`` means until
                :meth:`reset`.
        """
        if times is not None and times < 1:
            raise ValueError("times must be positive or None")
        with self._lock:
            self._faults.append(_PendingFault(fault, times))

    def reset(self) -> None:
        """Forget the script, injected faults, recorded traffic and custom responder."""
        with self._lock:
            self._replies.clear()
            self._faults.clear()
            self._requests.clear()
            self._rejections.clear()
            self.responder = self._default_responder

    @property
    def pending_replies(self) -> int:
        """Number of scripted replies not yet served."""
        with self._lock:
            return len(self._replies)

    @property
    def requests(self) -> list[ChatRequest]:
        """Snapshot of every chat request received, rejected ones included."""
        with self._lock:
            return list(self._requests)

    @property
    def rejections(self) -> list[Rejection]:
        """Snapshot of the requests refused by validation."""
        with self._lock:
            return list(self._rejections)

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[ChatRequest]:
        """Block until at least ``count`` requests have arrived.

        Args:
            count: Number of requests to wait for.
            timeout: Seconds to wait.

        Returns:
            Snapshot of the recorded requests.

        Raises:
            TimeoutError: If fewer requests arrived in time.
        """
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self._requests) >= count, timeout):
                raise TimeoutError(f"{len(self._requests)} of {count} requests after {timeout}s")
            return list(self._requests)

    # -- lifecycle ---------------------------------------------------------

    @property
    def port(self) -> int:
        """Bound port; only valid while running."""
        if self._port is None:
            raise RuntimeError("FakeOpenAI is not running")
        return self._port

    @property
    def base_url(self) -> str:
        """OpenAI base URL, e.g. ``http://127.0.0.1:PORT/v1``."""
        return f"http://{LOOPBACK}:{self.port}/v1"

    def start(self, timeout: float = 10.0) -> Self:
        """Start serving in a background thread and wait until it accepts connections.

        Args:
            timeout: Seconds to wait for the server to come up.

        Returns:
            ``self``, for chaining.
        """
        if self._thread is not None:
            raise RuntimeError("FakeOpenAI is already running")
        _install_quiet_filter()
        sock = bind_loopback(self._requested_port)
        config = uvicorn.Config(
            self.app,
            log_config=None,
            access_log=False,
            lifespan="off",
            http="h11",
            loop="asyncio",
            # Backstop so a stop never waits long on an in-flight response.
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._port = bound_port(sock)
        self._thread = threading.Thread(
            target=asyncio.run,
            args=(self._serve(self._server, sock),),
            name=f"fake-openai-{self._port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("fake OpenAI server failed to start")
            time.sleep(0.01)
        return self

    async def _serve(self, server: uvicorn.Server, sock: socket.socket) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        with sock:
            await server.serve(sockets=[sock])

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the server and join its thread; idempotent.

        Args:
            timeout: Seconds to wait for the thread.
        """
        thread, server, loop, stopping = self._thread, self._server, self._loop, self._stopping
        if thread is None or server is None:
            return
        server.should_exit = True
        if loop is not None and stopping is not None and not loop.is_closed():
            # Wakes stalled and delayed responses so shutdown need not wait them out.
            loop.call_soon_threadsafe(stopping.set)
        thread.join(timeout)
        if thread.is_alive():
            raise RuntimeError("fake OpenAI server did not stop in time")
        self._thread = self._server = self._loop = self._stopping = None
        self._port = None

    def __enter__(self) -> Self:
        """Start the server."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop the server."""
        self.stop()

    # -- request handling --------------------------------------------------

    async def _models(self, request: Request) -> JSONResponse:
        models = ["gpt-4o", "gpt-4o-mini"]
        return JSONResponse(
            {
                "object": "list",
                "data": [
                    {"id": name, "object": "model", "created": 0, "owned_by": "fake-openai"}
                    for name in models
                ],
            }
        )

    async def _chat_completions(self, request: Request) -> JSONResponse | _CompletionResponse:
        try:
            body = await request.json()
        except ValueError:
            body = None
        chat = ChatRequest(
            body=body if isinstance(body, dict) else {},
            headers={key.lower(): value for key, value in request.headers.items()},
        )
        with self._arrived:
            self._requests.append(chat)
            self._arrived.notify_all()
        problem = (
            "We could not parse the JSON body of your request."
            if not isinstance(body, dict)
            else _validate(chat)
        )
        if problem is not None:
            with self._lock:
                self._rejections.append(Rejection(chat, problem))
            _log(chat, "400 " + problem)
            return _fault_response(BadRequest(problem, param="messages"))
        reply, fault = self._take_reply()
        if isinstance(fault, RateLimit | ServerError | BadRequest):
            _log(chat, f"fault {fault}")
            return _fault_response(fault)
        if reply is None:
            try:
                reply = await asyncio.to_thread(self.responder, chat)
            except Exception as exc:  # Surfaces to the client as a 500 it can read.
                logger.exception("fake OpenAI responder failed")
                message = f"fake OpenAI responder failed: {exc!r}"
                return _fault_response(ServerError(message=message))
            # A responder's reply carries its fault like a scripted one (an injected
            # mid-stream fault still wins).
            fault = fault if fault is not None else reply.fault
            if isinstance(fault, RateLimit | ServerError | BadRequest):
                _log(chat, f"fault {fault}")
                return _fault_response(fault)
        _log(chat, _describe(reply, fault))
        assert self._stopping is not None  # Set before the server accepts requests.
        return _CompletionResponse(_Completion.build(reply, chat), fault, self._stopping)

    def _take_reply(self) -> tuple[Reply | None, Fault | None]:
        """Pick the scripted reply and fault for a valid request.

        Returns:
            The reply (``None`` means ask the responder) and the fault to apply.
        """
        with self._lock:
            if self._faults:
                pending = self._faults[0]
                if pending.remaining is not None:
                    pending.remaining -= 1
                    if pending.remaining == 0:
                        self._faults.popleft()
                return (self._replies[0] if self._replies else None), pending.fault
            reply = self._replies.popleft() if self._replies else None
            return reply, reply.fault if reply is not None else None


def _validate(request: ChatRequest) -> str | None:
    """Check a request the way the OpenAI API does.

    Args:
        request: The request to check.

    Returns:
        OpenAI's error message for the first problem found, or ``None``.
    """
    if not request.model:
        return "you must provide a model parameter"
    if "messages" not in request.body:
        return "Missing required parameter: 'messages'."
    messages = request.messages
    if not messages:
        return EMPTY_MESSAGES
    return sequence_error(messages)


def sequence_error(messages: Sequence[Mapping[str, Any]]) -> str | None:
    """Check OpenAI's rules for roles and tool-call pairing in a message list.

    A `tool` message must answer a `tool_calls` id of the assistant message it
    follows, and every such id must be answered before the next other message.

    Args:
        messages: OpenAI-format messages (`langchain_core.messages.
            convert_to_openai_messages` turns LangChain messages into these).

    Returns:
        OpenAI's error message for the first problem found, or ``None``.
    """
    answerable: set[str] | None = None  # ids the current run of tool messages may answer
    unanswered: list[str] = []
    for message in messages:
        role = message.get("role") if isinstance(message, Mapping) else None
        if role not in _ROLES:
            return f"Invalid value: '{role}'. Supported values are: " + ", ".join(
                f"'{name}'" for name in sorted(_ROLES)
            )
        if role == "tool":
            if answerable is None:
                return ORPHAN_TOOL_MESSAGE
            call_id = message.get("tool_call_id")
            if call_id not in answerable:
                return UNKNOWN_TOOL_CALL_ID.format(id=call_id)
            if call_id in unanswered:
                unanswered.remove(call_id)
            continue
        if unanswered:
            return UNANSWERED_TOOL_CALLS.format(ids=", ".join(unanswered))
        calls = message.get("tool_calls") if role == "assistant" else None
        unanswered = [str(call.get("id")) for call in calls or []]
        answerable = set(unanswered) if unanswered else None
    if unanswered:
        return UNANSWERED_TOOL_CALLS.format(ids=", ".join(unanswered))
    return None


def _describe(reply: Reply, fault: Fault | None) -> str:
    calls = ",".join(call.name for call in reply.tool_calls)
    described = f"200 text={len(reply.text)}ch tool_calls=[{calls}]"
    return f"{described} fault={fault}" if fault is not None else described


def _log(request: ChatRequest, outcome: str) -> None:
    logger.info(
        "POST /v1/chat/completions model=%s stream=%s messages=%d tools=%d prompt_tokens=%d -> %s",
        request.model,
        request.stream,
        len(request.messages),
        len(request.tools),
        request.prompt_tokens,
        outcome,
    )


class _CompletionResponse:
    """ASGI response for one chat completion, with wire-level fault injection."""

    def __init__(
        self, completion: _Completion, fault: _StreamFault | None, stopping: asyncio.Event
    ) -> None:
        self._completion = completion
        self._fault = fault
        self._stopping = stopping

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Write the response."""
        if self._completion.request.stream:
            await self._stream(self._completion, send)
        else:
            await self._plain(self._completion, send)

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but give up the response if the server is stopping."""
        if seconds <= 0:
            return
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            return
        raise _DeliberateDisconnect

    async def _stream(self, completion: _Completion, send: Send) -> None:
        events = completion.events()
        fault = self._fault
        # Clamp so a late fault still lands before [DONE], which it must suppress.
        fault_at = min(fault.after_chunks, len(events)) if fault is not None else -1
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream; charset=utf-8"),
                    (b"cache-control", b"no-cache"),
                ],
            }
        )
        for index, event in enumerate([*events, None]):
            if index == fault_at:
                if isinstance(fault, CutConnection):
                    raise _DeliberateDisconnect
                if isinstance(fault, MalformedChunk):
                    await _send_body(send, _MALFORMED_EVENT, more=True)
                if isinstance(fault, Stall):
                    await self._sleep(fault.seconds)
            if event is None:
                await _send_body(send, _DONE_EVENT, more=False)
            else:
                if event.generated:
                    await self._sleep(completion.reply.delay)
                await _send_body(send, _sse(event.payload), more=True)

    async def _plain(self, completion: _Completion, send: Send) -> None:
        fault = self._fault
        if isinstance(fault, Stall):
            await self._sleep(fault.seconds)
        await self._sleep(completion.reply.delay * completion.usage()["completion_tokens"])
        body = json.dumps(completion.completion()).encode()
        if isinstance(fault, MalformedChunk):
            body = b"{not json"
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        if isinstance(fault, CutConnection):
            await _send_body(send, body[: len(body) // 2], more=True)
            raise _DeliberateDisconnect
        await _send_body(send, body, more=False)


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the fake API on 127.0.0.1 until interrupted.

    Args:
        argv: Command-line arguments; ``sys.argv`` when ``None``.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: pick one)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with FakeOpenAI(port=args.port) as fake:
        logger.info("fake OpenAI serving at %s (Ctrl-C to stop)", fake.base_url)
        stop.wait()


if __name__ == "__main__":
    main()
