"""A session's runs over the thread-centric protocol (v3): started, followed, joined.

`ThreadRuns` is what `RemoteChatSession` hands a run to when its client speaks v3: a
`ThreadRunSource` starts the run and reads its thread's events, and `RunStreams`
follows the parts to the run's end (rejoining after a drop, cancelling, checking the
reply), exactly as for a run-centric stream. Between runs it keeps the `seq` the last
run ended at, so the next run's subscription starts after it instead of replaying the
thread's history.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from langgraph_sdk.schema import StreamMode

from client.errors import NothingToResume, translate_errors
from client.events import Interrupted, StreamEvent
from client.remote.stream import ActiveRun, RunStreams, asked_for
from client.remote.thread_stream import ThreadRunSource

if TYPE_CHECKING:
    from client.remote.client import ChatClient


class ThreadRuns:
    """One session's v3 runs, one at a time, through its `RunStreams`."""

    def __init__(self, client: ChatClient, runs: RunStreams) -> None:
        """Run over `client`'s connections; follow with the session's `runs`."""
        self.client = client
        self._runs = runs
        # The thread, and the `seq` of its stream that the last run ended at.
        self._thread_seq: tuple[str | None, int | None] = (None, None)

    async def stream(
        self,
        run: ActiveRun,
        assistant_id: str,
        run_input: dict[str, Any],
        input_id: str,
        modes: Sequence[StreamMode],
        context: dict[str, Any] | None,
    ) -> AsyncIterator[StreamEvent]:
        """Start and follow a run.

        The protocol has no stream modes: tokens always stream, and `values`,
        `updates` and `custom` events are passed on when their mode is asked for. It
        has no run context either: the context goes in `configurable`, which the
        graphs read as their context too.
        """
        source = self._next_source(run)
        try:
            run_id = await source.start(assistant_id, run_input, _config(context))
            async for event in self._follow(run, source, run_id, modes, input_id):
                yield event
        finally:
            await source.aclose()

    async def respond(
        self,
        run: ActiveRun,
        interrupt: Interrupted,
        value: Any,
        modes: Sequence[StreamMode],
        context: dict[str, Any] | None,
    ) -> AsyncIterator[StreamEvent]:
        """Answer `interrupt` with `value` (`input.respond`) and follow the resumed run.

        The command starts a run without naming it; it is the thread's newest run.
        """
        source = self._next_source(run)
        try:
            await source.respond(interrupt, value, _config(context))
            with translate_errors(url=self.client.url, thread_id=run.thread_id):
                newest = await self.client.sdk.runs.list(run.thread_id, limit=1)
            if not newest:
                raise NothingToResume(run.thread_id)
            run_id = str(newest[0]["run_id"])
            source.attach(run_id)
            async for event in self._follow(run, source, run_id, modes, ""):
                yield event
        finally:
            await source.aclose()

    async def _follow(
        self,
        run: ActiveRun,
        source: ThreadRunSource,
        run_id: str,
        modes: Sequence[StreamMode],
        input_id: str,
    ) -> AsyncIterator[StreamEvent]:
        """Follow a started run to its end; remember where the thread's stream is."""
        self._runs.run_created(run, {"run_id": run_id, "thread_id": run.thread_id})
        follow = self._runs.follow(
            run,
            source.parts(),
            input_ids=(input_id,) if input_id else (),
            rejoin=lambda _: source.parts(),
        )
        async for event in follow:
            if asked_for(event, modes, input_id):
                yield event
        if source.last_seq is not None:
            self._thread_seq = (run.thread_id, source.last_seq)

    def _next_source(self, run: ActiveRun) -> ThreadRunSource:
        """Return a source for the session's next run, after its last run's events."""
        thread_id, since = self._thread_seq
        return self._source(run, since=since if thread_id == run.thread_id else None)

    async def join(self, run: ActiveRun) -> AsyncIterator[StreamEvent]:
        """Follow a run already started, from its thread's first event."""
        assert run.run_id is not None
        source = self._source(run)
        source.attach(run.run_id)
        try:
            async for event in self._runs.follow(
                run, source.parts(), rejoin=lambda _: source.parts()
            ):
                yield event
        finally:
            await source.aclose()

    def _source(self, run: ActiveRun, *, since: int | None = None) -> ThreadRunSource:
        source = ThreadRunSource(self.client, run.thread_id, self.client.transport, since=since)
        run.on_cancelled = source.stop
        return source


def _config(context: dict[str, Any] | None) -> dict[str, Any]:
    # The protocol has no run context: the graphs read `configurable` as theirs too.
    return {"configurable": context} if context else {}
