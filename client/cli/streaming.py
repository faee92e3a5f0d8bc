"""The one loop that streams a run through a renderer, for `lgchat` and both demos.

Ctrl-C while it runs cancels the run on the server (twice: stop waiting for the
server); a reader of stdout that went away cancels it too.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Self

from client.cli.render import Renderer
from client.events import CustomEvent, RunEnded, RunStatus, StreamEvent
from client.inputs import parse_stream_modes
from client.session import ChatSession


class _CtrlCCancels:
    """While active, Ctrl-C cancels the session's run on the server.

    A second Ctrl-C stops waiting for the server to confirm: `forced` turns True and
    the task streaming the reply is cancelled.
    """

    def __init__(self, session: ChatSession) -> None:
        self.session = session
        self.presses = 0
        self._loop = asyncio.get_running_loop()
        self._streaming = asyncio.current_task()
        self._cancels: set[asyncio.Task[bool]] = set()
        self._installed = False
        self._previous: Any = None

    @property
    def forced(self) -> bool:
        """Return True once Ctrl-C was pressed twice."""
        return self.presses >= 2

    def _on_signal(self, signum: int, frame: object) -> None:
        # Runs between two bytecodes of the main thread, maybe inside the event loop:
        # hand the press to the loop, never act (or raise) here.
        self._loop.call_soon_threadsafe(self._on_sigint)

    def _on_sigint(self) -> None:
        if not self._installed:
            return  # pressed just before __exit__: the reply is over
        self.presses += 1
        if self.presses == 1:
            task = self._loop.create_task(self.session.cancel())
            self._cancels.add(task)  # held so it is not garbage-collected mid-request
            task.add_done_callback(self._cancels.discard)
        elif self._streaming is not None:
            self._streaming.cancel()

    def __enter__(self) -> Self:
        # signal.signal, not loop.add_signal_handler: its remove_signal_handler puts back
        # default_int_handler, not the handler in force before (asyncio.Runner's, or the
        # REPL's), and a KeyboardInterrupt raised inside the event loop breaks the loop.
        # Not in the main thread, Ctrl-C stays as it is.
        with contextlib.suppress(ValueError):
            self._previous = signal.signal(signal.SIGINT, self._on_signal)
            self._installed = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._installed:
            self._installed = False
            previous = self._previous
            signal.signal(
                signal.SIGINT, signal.default_int_handler if previous is None else previous
            )


async def stream_reply(
    session: ChatSession,
    text: str,
    renderer: Renderer,
    *,
    stream_mode: str | Sequence[str] | None = None,
    context: Mapping[str, Any] | None = None,
    events: AsyncIterator[StreamEvent] | None = None,
) -> RunStatus:
    """Stream one reply through `renderer`, with Ctrl-C cancelling the run.

    Args:
        session: The session the run belongs to.
        text: The message to send.
        renderer: Draws the events.
        stream_mode: Stream modes for the run.
        context: Run context.
        events: A stream of the session's to render instead of sending `text`
            (`ChatSession.join`).

    Returns:
        How the run ended.
    """
    status: RunStatus = "success"
    reader_gone = False
    custom_events = 0
    with _CtrlCCancels(session) as ctrl_c:
        if events is None:
            events = session.send(text, stream_mode=stream_mode, context=context)
        try:
            async for event in events:
                try:
                    renderer.render(event)
                    # Flushed per event: a reader that left is noticed at once, while
                    # the run can still be cancelled, not when a buffer fills.
                    sys.stdout.flush()
                except BrokenPipeError:
                    reader_gone = True
                    # Nobody reads the reply any more: stop the run on the server
                    # rather than leave it streaming to no one (runs keep going when
                    # their client disconnects, so that a dropped stream can rejoin).
                    await session.cancel()
                    raise
                if isinstance(event, RunEnded):
                    status = event.status
                elif isinstance(event, CustomEvent):
                    custom_events += 1
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if not ctrl_c.forced or current is None:
                raise
            current.uncancel()  # Our own second Ctrl-C: stop waiting, keep going.
            renderer.render(RunEnded(None, "cancelled"))
            status = "cancelled"
        finally:
            # Closed here, not when asyncio shuts its generators down after the
            # command, which would find the stream still in use.
            await _aclose(events)
            if not reader_gone:
                renderer.close()
    modes = parse_stream_modes(stream_mode) if stream_mode else session.stream_mode
    if set(modes) == {"custom"} and not custom_events and status == "success":
        # Otherwise the run prints nothing at all, which looks like a hang or a bug.
        print(
            "lgchat: note: no custom events came: no node of this run wrote to its stream "
            "writer (--mode custom shows only those)",
            file=sys.stderr,
        )
    return status


async def _aclose(events: AsyncIterator[StreamEvent]) -> None:
    aclose = getattr(events, "aclose", None)
    if aclose is not None:
        await aclose()
