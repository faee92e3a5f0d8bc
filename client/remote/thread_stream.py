"""Start and follow one run over the thread-centric protocol (v3), SSE or WebSocket.

`ThreadRunSource` speaks through the SDK's v3 transports (`ProtocolSseTransport`,
`ProtocolWebSocketTransport`): `run.start` as a command, then the thread's filtered
event stream, translated by `client.remote.thread_events` into the stream parts that
`client.remote.stream.RunStreams` follows for both protocols.

Why the transports and not `AsyncThreadStream` on top of them (langgraph-sdk 0.4.14,
measured against `langgraph dev` 0.16.7 and Aegra 0.11):

- A thread's event stream replays every earlier run from the start.
  `AsyncThreadStream.subscribe` ends at the first root `completed` it sees, so on a
  thread with history it ends at the first old run's end and never shows the new run
  (three runs on one thread: each subscription saw only the first).
- `AsyncThreadStream.events` opens its stream without the `since` cursor, so it
  cannot resume; and both end silently when a connection closes cleanly mid-run.
- With a known thread id it opens a second, lifecycle-only stream per session, which
  replays the whole history again.

Here a dropped stream, clean or not, is resumed from the last `seq` received (the
server replays only events after it): `parts` is simply called again. A session's next
run starts after the `seq` its previous run ended at, so the thread's history is not
sent again for every turn (measured on `langgraph dev`: the 10th turn of a
conversation received 269 events, 119 KB, without it; a run-centric turn 20 KB).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

import httpx
from langgraph_sdk.schema import StreamPart
from langgraph_sdk.stream.transport import (
    AsyncProtocolTransport,
    EventStreamHandle,
    ProtocolSseTransport,
    ProtocolWebSocketTransport,
)
from websockets.exceptions import InvalidStatus, WebSocketException

from client.errors import (
    ConnectionLost,
    InvalidInput,
    NotFound,
    NothingToResume,
    ProtocolUnsupported,
    RunFailed,
    translate_errors,
)
from client.events import Interrupted
from client.inputs import Transport
from client.remote.thread_events import ThreadEventTranslator, event_seq

if TYPE_CHECKING:
    from client.remote.client import ChatClient

CHANNELS = ["lifecycle", "input", "messages", "values", "updates", "custom"]
"""The channels a run is followed on: everything a chat shows, nothing of debug."""

_COMMAND_ERRORS = {"invalid_argument": InvalidInput, "no_such_run": NotFound}
"""Protocol error codes of a command with a typed error of their own."""


class ThreadRunSource:
    """One run on a thread, over v3: start it, then read its parts, again after a drop.

    Attributes:
        run_id: The run's id, once `start` returned.
        last_seq: The `seq` of the last event received: a resumed stream starts after it.
    """

    def __init__(
        self,
        client: ChatClient,
        thread_id: str,
        transport: Transport,
        *,
        since: int | None = None,
    ) -> None:
        """Prepare a run on `thread_id`; nothing is sent before `start`.

        Args:
            client: The client whose connection pool and token the run uses.
            thread_id: The thread.
            transport: What carries the events.
            since: The last `seq` of the thread's events already read (by an earlier
                run of the same session): the thread's stream replays every earlier
                run, and this skips them on the server.
        """
        self._url = client.url
        self._thread_id = thread_id
        self._transport_kind = transport
        transport_class = (
            ProtocolWebSocketTransport if transport == "websocket" else ProtocolSseTransport
        )
        # The WebSocket handshake sends only the transport's own headers, not the
        # HTTP client's: the token goes here too.
        self._transport: AsyncProtocolTransport = transport_class(
            client=client.sdk.http.client,
            thread_id=thread_id,
            headers=client.connection.headers(client.token),
        )
        self.run_id: str | None = None
        self.last_seq: int | None = since
        self._translator: ThreadEventTranslator | None = None
        # The stream opened before `run.start`, read first by `parts`.
        self._opened_early: EventStreamHandle | None = None
        self._reading: EventStreamHandle | None = None
        self._stopped = False

    async def start(self, assistant_id: str, run_input: Any, config: Mapping[str, Any]) -> str:
        """Subscribe to the thread's events, then send `run.start`; return the run's id.

        The subscription comes first, so a server that refuses it (Aegra's WebSocket)
        has started no run, and the run's first events cannot be missed.

        Raises:
            ProtocolUnsupported: The server has no v3 endpoints, or not this transport.
            InvalidInput: The server refused the input or the assistant.
        """
        params = {"assistant_id": assistant_id, "input": run_input, "config": dict(config)}
        run_id = (await self._subscribed_command("run.start", params)).get("run_id")
        if not run_id:
            handle, self._opened_early = self._opened_early, None
            if handle is not None:
                await handle.close()
            raise ProtocolUnsupported(self._url, "v3")
        self.attach(str(run_id))
        return str(run_id)

    async def respond(
        self, interrupt: Interrupted, response: Any, config: Mapping[str, Any]
    ) -> None:
        """Subscribe to the thread's events, then answer `interrupt` (`input.respond`).

        The server resumes the graph in a new run, which it does not name: `attach`
        it once known (the thread's newest run).

        Raises:
            NothingToResume: The interrupt is no longer pending (already answered).
            ProtocolUnsupported: The server has no v3 endpoints, or not this transport.
        """
        params = {
            "interrupt_id": interrupt.interrupt_id,
            "namespace": list(interrupt.namespace),
            "response": response,
            "config": dict(config),
        }
        await self._subscribed_command("input.respond", params)

    async def _subscribed_command(
        self, method: str, params: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        """Open the event stream, then send a command that starts a run; keep the stream.

        `parts` reads the stream opened here first; a refused command closes it.
        """
        handle = await self._subscribe()
        try:
            result = await self._command(method, params)
        except BaseException:
            await handle.close()
            raise
        self._opened_early = handle
        return result

    async def _command(self, method: str, params: Mapping[str, Any]) -> Mapping[str, Any]:
        """Send one command; return its result, or raise its error, typed."""
        command = {"id": 1, "method": method, "params": params}
        try:
            with translate_errors(url=self._url, thread_id=self._thread_id):
                response = await self._transport.send_command(command)
        except NotFound as error:
            if _route_missing(error):
                raise ProtocolUnsupported(self._url, "v3") from error
            raise
        if not isinstance(response, Mapping):
            raise ProtocolUnsupported(self._url, "v3")
        if response.get("type") == "error":
            code, message = str(response.get("error")), str(response.get("message") or "")
            if code == "no_such_interrupt":
                raise NothingToResume(self._thread_id)
            raise _COMMAND_ERRORS.get(code, RunFailed)(message or code)
        result = response.get("result")
        return result if isinstance(result, Mapping) else {}

    def attach(self, run_id: str) -> None:
        """Follow run `run_id`, already started, from the thread's first event."""
        self.run_id = run_id
        self._translator = ThreadEventTranslator(run_id)

    async def parts(self) -> AsyncIterator[StreamPart]:
        """Yield the run's parts from after `last_seq` until it ends or the stream drops.

        Should the stream, opened after a `since` from an earlier run, begin after this
        run's start (the server numbered the thread's history differently this time),
        it is read again from the thread's first event: nothing was given yet.

        Raises:
            ConnectionLost: The stream broke before the run ended.
            ProtocolUnsupported: The server does not serve v3 on this transport.
        """
        assert self.run_id is not None, "start the run first"
        if self._stopped:
            return
        async for part in self._read():
            yield part
        translator = self._translator
        if translator is not None and translator.missed_start and not self._stopped:
            self.last_seq, self._translator = None, ThreadEventTranslator(self.run_id)
            async for part in self._read():
                yield part

    async def _subscribe(self) -> EventStreamHandle:
        """Open the thread's event stream after `last_seq`; raise its refusal, typed."""
        params: dict[str, Any] = {"channels": CHANNELS}
        if self.last_seq is not None:
            params["since"] = self.last_seq
        handle = self._transport.open_event_stream(params)
        try:
            await self._opened(handle.ready)
        except BaseException:
            await handle.close()
            raise
        return handle

    async def _read(self) -> AsyncIterator[StreamPart]:
        """Yield the run's parts from one subscription that starts after `last_seq`."""
        translator = self._translator
        assert translator is not None
        handle, self._opened_early = self._opened_early, None
        if handle is None:
            handle = await self._subscribe()
        self._reading = handle
        try:
            async for event in handle.events:
                seq = event_seq(event)
                if seq is None:
                    continue  # the WebSocket's acknowledgement of the subscription
                if self.last_seq is not None and seq <= self.last_seq:
                    continue  # already received before the stream dropped
                self.last_seq = seq
                for part in translator.feed(event):
                    yield part
                if translator.ended or translator.missed_start:
                    return
            failure = handle.done.result() if handle.done.done() else None
            if failure is not None and not translator.ended and not self._stopped:
                raise ConnectionLost(self._url, str(failure) or type(failure).__name__)
        finally:
            self._reading = None
            await handle.close()

    async def stop(self) -> None:
        """End `parts` now: the run was cancelled.

        A run cancelled before it started never appears on the thread's stream, and
        the stream outlives its runs, so the run's end would never come.
        """
        self._stopped = True
        for handle in (self._reading, self._opened_early):
            if handle is not None:
                await handle.close()

    async def _opened(self, ready: Any) -> None:
        """Wait until the event stream is open; raise its refusal as a typed error."""
        try:
            with translate_errors(url=self._url, thread_id=self._thread_id):
                await ready
        except InvalidStatus as error:
            if error.response.status_code in (403, 404):
                # Aegra 0.11 answers every v3 WebSocket handshake with 403.
                raise ProtocolUnsupported(self._url, "v3", self._transport_kind) from error
            raise ConnectionLost(self._url, str(error)) from error
        except (WebSocketException, OSError) as error:
            raise ConnectionLost(self._url, str(error) or type(error).__name__) from error
        except NotFound as error:
            if _route_missing(error):
                raise ProtocolUnsupported(self._url, "v3") from error
            raise

    async def aclose(self) -> None:
        """Close the transport's streams."""
        with contextlib.suppress(Exception):
            await self.stop()
            await self._transport.close()


def _route_missing(error: NotFound) -> bool:
    """Tell a server without the route from a thread it does not know (both 404)."""
    cause = error.__cause__
    if not isinstance(cause, httpx.HTTPStatusError):
        return False
    try:
        body = cause.response.json()
    except httpx.ResponseNotRead:
        # A refused event stream's body is never read; by then the thread is known to
        # exist (the session made or found it), so the route is what is missing.
        return True
    except ValueError:
        return True
    return not isinstance(body, dict) or body.get("detail") == "Not Found"
