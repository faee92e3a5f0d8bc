"""The benchmarks' model: the scripted OpenAI server, in its own process, with a clock.

Runs `devtools.fake_openai.FakeOpenAI` with a responder that reads a benchmark
prompt from the last user message, ``bench n=<tokens> rate=<tokens/s> id=<nonce>``, and
answers with ``n`` tokens ``<nonce>.<i> `` emitted ``1/rate`` seconds apart (rate 0: no
pacing). Any other prompt gets the offline model's answer (the fake's default fallback).

An ASGI wrapper timestamps every response body the server writes with
``time.monotonic()`` (``CLOCK_MONOTONIC``, the same clock in every process of the
machine) and records, per nonce, when each token left the server. The benchmark process
reads those times back, so a token's delay is measured against the moment the model
emitted it, not against an assumed schedule:

- ``GET /bench/emissions``: ``{nonce: {index: monotonic seconds}}``.
- ``GET /bench/requests``: one record per chat completion request (arrival time,
  deterministic ``prompt_tokens``, stream flag, kind ``turn``/``summary``, tags).
- ``POST /bench/reset``: forget both.

It runs in its own process so the benchmark process's CPU time is the client's alone.
Start it with ``python -m bench.model_server``; it prints ``PORT <n>`` when ready.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import threading
import time
from typing import Any, cast

from starlette.applications import Starlette
from starlette.types import Message, Receive, Scope, Send

from devtools.fake_openai import ChatRequest, FakeOpenAI, Reply, offline_responder

__all__ = ["TOKEN_PATTERN", "Recorder", "bench_prompt", "main", "token_text"]

PROMPT_PATTERN = re.compile(r"bench n=(\d+) rate=([0-9.]+) id=(q[0-9a-f]{8})")
TOKEN_PATTERN = re.compile(r"(q[0-9a-f]{8})\.(\d+) ")
_TOKEN_BYTES = re.compile(rb"(q[0-9a-f]{8})\.(\d+) ")
_TAG = re.compile(r"\[(\w+)\]")
_SUMMARY_MARKERS = ("Create a summary of the conversation", "Extend the summary by taking")


def bench_prompt(tokens: int, rate: float, nonce: str) -> str:
    """Return the user message that asks the model for a paced reply.

    Args:
        tokens: Reply length in tokens.
        rate: Tokens per second (0: as fast as possible).
        nonce: ``q`` and 8 hex digits, unique per run.
    """
    return f"bench n={tokens} rate={rate:g} id={nonce}"


def token_text(nonce: str, index: int) -> str:
    """Return the text of token ``index`` of the reply for ``nonce``."""
    return f"{nonce}.{index} "


def _text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


class Recorder:
    """Thread-safe log of requests and token emission times."""

    def __init__(self) -> None:
        """Start empty."""
        self._lock = threading.Lock()
        self.emissions: dict[str, dict[int, float]] = {}
        self.requests: list[dict[str, Any]] = []

    def reset(self) -> None:
        """Forget everything recorded."""
        with self._lock:
            self.emissions.clear()
            self.requests.clear()

    def responder(self, request: ChatRequest) -> Reply:
        """Answer a benchmark prompt with a paced reply, anything else offline."""
        arrived = time.monotonic()
        texts = [_text(message.get("content")) for message in request.messages]
        last_user = next(
            (
                _text(message.get("content"))
                for message in reversed(request.messages)
                if message.get("role") == "user"
            ),
            "",
        )
        last = texts[-1] if texts else ""
        kind = "summary" if any(marker in last for marker in _SUMMARY_MARKERS) else "turn"
        match = PROMPT_PATTERN.search(last_user)
        tags = sorted({tag for text in texts for tag in _TAG.findall(text)})
        with self._lock:
            self.requests.append(
                {
                    "t": arrived,
                    "prompt_tokens": request.prompt_tokens,
                    "messages": len(request.messages),
                    "stream": request.stream,
                    "kind": kind,
                    "tags": tags,
                    "nonce": match.group(3) if match and kind == "turn" else None,
                }
            )
        if match is None or kind != "turn":
            return offline_responder(request)
        count, rate, nonce = int(match.group(1)), float(match.group(2)), match.group(3)
        chunks = [token_text(nonce, index) for index in range(count)]
        return Reply(text="".join(chunks), chunks=chunks, delay=1.0 / rate if rate > 0 else 0.0)

    def record_body(self, body: bytes) -> None:
        """Note the emission time of every token in a response body written now."""
        if not body:
            return
        now = time.monotonic()
        found = _TOKEN_BYTES.findall(body)
        if not found:
            return
        with self._lock:
            for nonce, index in found:
                self.emissions.setdefault(nonce.decode(), {}).setdefault(int(index), now)

    def snapshot(self, what: str) -> Any:
        """Return a JSON-able copy of ``emissions`` or ``requests``."""
        with self._lock:
            if what == "emissions":
                return {nonce: dict(times) for nonce, times in self.emissions.items()}
            return list(self.requests)


class ClockedApp:
    """ASGI wrapper: timestamps response bodies and serves ``/bench/*``."""

    def __init__(self, inner: Starlette, recorder: Recorder) -> None:
        """Wrap ``inner``, recording into ``recorder``."""
        self.inner = inner
        self.recorder = recorder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve ``/bench/*`` here; pass anything else on with a timed ``send``."""
        path = str(scope.get("path", ""))
        if scope["type"] == "http" and path.startswith("/bench/"):
            await self._bench(path, send)
            return

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.body":
                self.recorder.record_body(message.get("body", b""))
            await send(message)

        await self.inner(scope, receive, timed_send)

    async def _bench(self, path: str, send: Send) -> None:
        if path == "/bench/reset":
            self.recorder.reset()
            payload: Any = {"ok": True}
        elif path == "/bench/emissions":
            payload = self.recorder.snapshot("emissions")
        elif path == "/bench/requests":
            payload = self.recorder.snapshot("requests")
        else:
            payload = {"error": "unknown"}
        body = json.dumps(payload).encode()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def main(argv: list[str] | None = None) -> None:
    """Serve until SIGINT/SIGTERM; print ``PORT <n>`` once ready."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    recorder = Recorder()
    fake = FakeOpenAI(recorder.responder, port=args.port)
    fake.app = cast(Starlette, ClockedApp(fake.app, recorder))
    with fake:
        print(f"PORT {fake.port}", flush=True)
        stop.wait()
    sys.exit(0)


if __name__ == "__main__":
    main()
