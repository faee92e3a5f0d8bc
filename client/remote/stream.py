"""The stream/rejoin/cancel state machine of a remote session's runs.

`RunStreams` follows one run at a time: it decodes the SDK's stream parts, rejoins a
dropped stream from the `ReplayCursor` (see `client.remote.resume` for why the SDK's
own reconnect is off), asks the server how a run whose stream closed early is doing,
and cancels the run on the server, at any moment, without a token reaching the
consumer after the cancel. Before a successful run's `RunEnded`, it checks the
streamed reply against the thread's final state (`client.remote.reconcile`); a run
error the server redacted gets its message from the run (`client.remote.run_errors`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterator,
    Sequence,
)
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from langgraph_sdk import errors as sdk_errors
from langgraph_sdk.schema import RunCreateMetadata, StreamMode, StreamPart

from client.decode import StreamDecoder
from client.errors import (
    BrokenStream,
    ChatClientError,
    ConnectionLost,
    NotFound,
    ServerError,
    ServerUnreachable,
    StreamLost,
    ThreadBusy,
    translate_errors,
)
from client.events import (
    CustomEvent,
    Interrupted,
    MessageFinished,
    MessageStarted,
    NodeUpdate,
    RunEnded,
    RunError,
    RunStatus,
    StateValues,
    StreamEvent,
    StreamResumed,
    TextDelta,
)
from client.messages import state_messages
from client.remote.reconcile import StreamLedger, corrections
from client.remote.resume import RUNNING_STATUSES, ReplayCursor
from client.remote.run_errors import fetch_detail, is_redacted, named_error
from client.values import pending_interrupts

if TYPE_CHECKING:
    from client.remote.client import ChatClient

_RUN_STATUSES: dict[str, RunStatus] = {
    "success": "success",
    "error": "error",
    "timeout": "error",
    # Stopped on the server: cancelled by another client, or by a message sent with
    # the `interrupt` multitask strategy.
    "interrupted": "cancelled",
}
"""A finished run's server status as the status its stream ends with."""

Rejoin = Callable[[ReplayCursor], AsyncIterator[StreamPart]]
"""Reopen a dropped run stream after the parts the cursor has (see `RunStreams.follow`)."""

_STOP_POLLS = (0.02, 0.05, 0.1, 0.2, 0.4, 0.8)
"""Waits between checks that a cancelled run has stopped: 1.6 s at most in all."""


def replayable_modes(modes: Sequence[StreamMode]) -> tuple[StreamMode, ...]:
    """Return the stream modes to request so a rejoined stream misses no message.

    `langgraph dev` does not store legacy `messages` events for replay (see
    `client.remote.resume`): after a rejoin, a message that finished while disconnected would
    be known only from its last partial. `updates` events are stored and carry each
    finished message whole, so they are added when no whole-state mode was asked for.
    """
    if "messages" in modes and not {"updates", "values"} & set(modes):
        return (*modes, "updates")
    return tuple(modes)


def asked_for(event: StreamEvent, modes: Sequence[StreamMode], input_id: str) -> bool:
    """Tell whether a run's event is one the caller's stream modes asked for.

    A run may be streamed with more than was asked: `updates` added by
    `replayable_modes`, or, over the thread-centric protocol (v3), which has no stream
    modes, always `values`, `updates` and `custom`. `values` also report the run's
    input message, which is shown only in `values` mode.
    """
    if isinstance(event, StateValues):
        return "values" in modes
    if isinstance(event, NodeUpdate):
        return "updates" in modes
    if isinstance(event, CustomEvent):
        return "custom" in modes
    if isinstance(event, MessageStarted | TextDelta | MessageFinished):
        return event.message_id != input_id or "values" in modes
    return True


@dataclass(slots=True)
class ActiveRun:
    """Bookkeeping for the run a session is streaming."""

    thread_id: str
    run_id: str | None = None
    cancel_requested: bool = False
    cancelled: bool = False
    cancel_task: asyncio.Task[None] | None = None
    on_cancelled: Callable[[], Awaitable[None]] | None = None
    """Called once the server cancelled the run: ends a stream that would not end by
    itself (the thread-centric protocol's thread stream outlives its runs)."""


class RunStreams:
    """Streams one session's runs, one at a time, to their end."""

    def __init__(self, client: ChatClient) -> None:
        """Stream runs over `client`'s connection pool, rejoining by its `ResumePolicy`."""
        self.client = client
        self.active: ActiveRun | None = None

    def ensure_idle(self, thread_id: str | None) -> None:
        """Raise `ThreadBusy` (naming `thread_id`) while a run is streaming."""
        if self.active is not None:
            raise ThreadBusy(thread_id)

    @contextlib.contextmanager
    def claim(self, run: ActiveRun, thread_id: str | None) -> Iterator[ActiveRun]:
        """Make `run` the active run for the block; cancel its cancel on exit."""
        self.ensure_idle(thread_id)
        self.active = run
        try:
            yield run
        finally:
            self.active = None
            if run.cancel_task is not None and not run.cancel_task.done():
                run.cancel_task.cancel()

    def run_created(self, run: ActiveRun, created: RunCreateMetadata) -> None:
        """Learn the run's id from the SDK's `on_run_created` callback."""
        self._learn_run_id(run, created["run_id"])

    async def follow(
        self,
        run: ActiveRun,
        parts: AsyncIterator[StreamPart],
        *,
        input_ids: Sequence[str] | None = None,
        reconcile: bool = True,
        rejoin: Rejoin | None = None,
        interrupts_streamed: bool = True,
    ) -> AsyncGenerator[StreamEvent, None]:
        """Decode a run's stream to its end, rejoining it whenever it drops early.

        The stream is over at an `end` or `error` event, or when it closes and the
        server says the run is no longer pending or running (`langgraph dev` sends no
        `end`). A network error, or a close while the run still runs, rejoins from the
        `ReplayCursor`, up to `ResumePolicy.attempts` times in a row with backoff.

        Args:
            run: The run being streamed.
            parts: Its stream.
            input_ids: The ids of the messages the run's input added, if known (see
                `StreamDecoder`).
            reconcile: Check a successful run's messages against the thread's final
                state (False when the stream modes carry no messages, `custom` for
                one: there is nothing to compare).
            rejoin: How to reopen the stream after a drop; by default the run's
                stored events from the cursor (`runs.join_stream`). The thread-centric
                protocol resumes from the last `seq` instead.
            interrupts_streamed: Whether the stream reports the graph's interrupts
                (`values` or `updates` mode, or v3). If not, a run that ends is
                followed by a look at the thread, which `langgraph dev` alone
                marks `interrupted` (its run ends `success`).
        """
        thread_id, policy, url = run.thread_id, self.client.resume, self.client.url
        # A chat shows the same messages in every mode: the summarizer's `nostream`
        # model call stays out of `events` mode as the server keeps it out of `messages`.
        decoder = StreamDecoder(thread_id=thread_id, input_ids=input_ids, skip_nostream=True)
        cursor = ReplayCursor()
        ledger = StreamLedger()
        # Held back until the reply has been checked against the thread.
        ended: RunEnded | None = None
        attempt = 0
        status: RunStatus = "success"
        while True:
            lost: str | None = None
            try:
                with translate_errors(url=url, thread_id=thread_id):
                    async with contextlib.aclosing(cast(AsyncGenerator[StreamPart], parts)):
                        async for part in parts:
                            if run.cancelled:
                                # Cancelled while this part was on its way: the
                                # consumer sees nothing the run made after the cancel.
                                break
                            if not cursor.accept(part):
                                continue  # replayed, and already decoded
                            if attempt:
                                assert run.run_id is not None
                                yield StreamResumed(run.run_id, cursor.last_id, attempt)
                                attempt = 0
                            for event in decoder.feed(part):
                                if isinstance(event, RunEnded):
                                    ended = event
                                    continue
                                if isinstance(event, RunError):
                                    event = await self._explained(run, event)
                                ledger.record(event)
                                yield event
                            if run.run_id is None and decoder.run_id is not None:
                                self._learn_run_id(run, decoder.run_id)
                            if run.cancelled:
                                # The server may still hold a backlog of tokens it made
                                # before the cancel; a cancelled reply stops right here.
                                break
                    if run.cancel_task is not None:
                        await run.cancel_task
                    if not decoder.ended and not run.cancelled and run.run_id is not None:
                        lost, status = await self._after_close(run)
            except ValueError as error:
                # The SDK's SSE decoder raises orjson's ValueError on data that is not JSON.
                raise BrokenStream(url, str(error)) from error
            except (ConnectionLost, ServerUnreachable, ServerError) as error:
                # A 5xx or a refused connection here is a server restarting mid-run.
                if run.run_id is None or policy.attempts == 0:
                    raise  # the run was never created (or rejoining is off)
                lost = str(error)
            if lost is None:
                break
            attempt += 1
            if attempt > policy.attempts:
                raise StreamLost(url, thread_id, run.run_id or "?", lost)
            await asyncio.sleep(policy.delay(attempt))
            assert run.run_id is not None
            parts = (rejoin or self._join_stream(run))(cursor)
        if run.cancelled:
            status = "cancelled"
        elif status == "error" and not decoder.ended:
            yield RunError("the run failed on the server", "RunFailed")
        for event in decoder.finish(status):
            if isinstance(event, RunEnded):
                ended = event
            else:
                ledger.record(event)
                yield event
        assert ended is not None  # the decoder has ended, so it said how
        if ended.status == "interrupted" and not decoder.interrupted:
            ended = RunEnded(ended.run_id, await self._why_interrupted(run))
        if not decoder.interrupted and (
            ended.status == "interrupted" or (ended.status == "success" and not interrupts_streamed)
        ):
            pending = await self._pending_interrupts(run)
            for event in pending:
                yield event
            if pending:
                ended = RunEnded(ended.run_id, "interrupted")
        if ended.status == "cancelled" and run.cancel_requested:
            await self._until_stopped(run)
        if ended.status == "success" and reconcile:
            for event in await self._corrections(run, ledger, input_ids):
                yield event
        yield ended

    def _join_stream(self, run: ActiveRun) -> Rejoin:
        """Return the run-centric rejoin: the run's stored events after the cursor's."""
        assert run.run_id is not None
        thread_id, run_id = run.thread_id, run.run_id
        return lambda cursor: self.client.sdk.runs.join_stream(
            thread_id, run_id, last_event_id=cursor.rejoin_from()
        )

    async def _why_interrupted(self, run: ActiveRun) -> RunStatus:
        """Tell a cancel from a graph interrupt, both `end: interrupted` on Aegra.

        A cancel is "cancelled", as `langgraph dev` reports it (its run ends with
        status `interrupted`, which `_after_close` maps). This client's own cancel can
        end the stream before the cancel request returns; another client's leaves the
        thread `busy` or `idle`, while a graph interrupt leaves it `interrupted`.
        """
        if run.cancel_requested:
            return "cancelled"
        try:
            with translate_errors(url=self.client.url, thread_id=run.thread_id):
                thread = await self.client.sdk.threads.get(run.thread_id)
        except ChatClientError:
            return "interrupted"
        return "interrupted" if thread.get("status") == "interrupted" else "cancelled"

    async def _pending_interrupts(self, run: ActiveRun) -> tuple[Interrupted, ...]:
        """Return what the run's thread waits for, read from its state; best effort."""
        try:
            with translate_errors(url=self.client.url, thread_id=run.thread_id):
                state = await self.client.sdk.threads.get_state(run.thread_id)
        except ChatClientError:
            return ()
        return pending_interrupts(state)

    async def _until_stopped(self, run: ActiveRun) -> None:
        """Wait, briefly, until the server has stopped the run this client cancelled.

        Aegra ends a cancelled run's stream before it finalizes the run, so for some
        milliseconds the thread is still `busy`, and the session's next message would
        be refused (`ThreadBusy`). One `runs.get` is usually enough.
        """
        if run.run_id is None:
            return
        for delay in _STOP_POLLS:
            try:
                with translate_errors(url=self.client.url, thread_id=run.thread_id):
                    found = await self.client.sdk.runs.get(run.thread_id, run.run_id)
            except ChatClientError:
                return  # gone, or unreachable: nothing here to wait for
            if found.get("status") not in RUNNING_STATUSES:
                return
            await asyncio.sleep(delay)

    async def _explained(self, run: ActiveRun, error: RunError) -> RunError:
        """Return a run error fit to show: its cause named, Aegra's redaction undone."""
        if not is_redacted(error) or run.run_id is None:
            return named_error(error)
        return await fetch_detail(self.client, run.thread_id, run.run_id, error)

    async def _corrections(
        self, run: ActiveRun, ledger: StreamLedger, input_ids: Sequence[str] | None
    ) -> list[StreamEvent]:
        """Return the events that complete a successful run's reply (see `reconcile`).

        The last root `values` event is the final state when the run streamed in
        `values` mode; otherwise it costs one `threads.get_state`. That is best
        effort: the reply stands as streamed when the request fails.
        """
        values: object = ledger.final_values
        if values is None:
            try:
                with translate_errors(url=self.client.url, thread_id=run.thread_id):
                    values = (await self.client.sdk.threads.get_state(run.thread_id))["values"]
            except ChatClientError:
                return []
        return corrections(ledger, run.run_id, state_messages(values), input_ids)

    async def _after_close(self, run: ActiveRun) -> tuple[str | None, RunStatus]:
        """Ask the server how a run whose stream closed without `end` is doing.

        Returns:
            Why the stream must be rejoined (None when the run is over), and the
            status the run ended with.
        """
        assert run.run_id is not None
        try:
            with translate_errors(url=self.client.url, thread_id=run.thread_id):
                found = await self.client.sdk.runs.get(run.thread_id, run.run_id)
        except NotFound:
            return None, "cancelled"  # deleted: rolled back by another message
        except (ConnectionLost, ServerUnreachable, ServerError) as error:
            return str(error), "success"  # the server is restarting; rejoin to find out
        server_status = str(found.get("status"))
        if server_status in RUNNING_STATUSES:
            return "the stream closed before the run ended", "success"
        return None, _RUN_STATUSES.get(server_status, "success")

    def _learn_run_id(self, run: ActiveRun, run_id: str) -> None:
        run.run_id = run_id
        if run.cancel_requested and run.cancel_task is None:
            run.cancel_task = asyncio.get_running_loop().create_task(self._cancel_on_server(run))

    async def _cancel_on_server(self, run: ActiveRun) -> None:
        assert run.run_id is not None
        with translate_errors(url=self.client.url, thread_id=run.thread_id):
            try:
                await self.client.sdk.runs.cancel(run.thread_id, run.run_id, action="interrupt")
            except sdk_errors.NotFoundError:
                return  # The run finished before the cancel reached it.
        run.cancelled = True
        if run.on_cancelled is not None:
            await run.on_cancelled()

    async def cancel(self) -> bool:
        """Cancel the active run on the server; see `RemoteChatSession.cancel`.

        Returns:
            Whether a run was streaming.
        """
        run = self.active
        if run is None:
            return False
        run.cancel_requested = True
        if run.run_id is not None and run.cancel_task is None:
            run.cancel_task = asyncio.get_running_loop().create_task(self._cancel_on_server(run))
        if run.cancel_task is not None:
            # Shielded: the caller giving up waiting must not abort the request.
            with contextlib.suppress(Exception):
                await asyncio.shield(run.cancel_task)
        return True
