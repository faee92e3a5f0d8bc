"""Rejoining a run's stream after the connection dropped, without a gap or a duplicate.

A run created with `stream_resumable=True` keeps its stream events on the server, each
with an id, and `runs.join_stream(thread_id, run_id, last_event_id=...)` replays the ones
after an id and then follows the run live. Two things about `langgraph dev` (the in-memory
runtime of langgraph-api 0.16) make the obvious "rejoin after the last id" lose events,
and `ReplayCursor` works around both:

- Event ids are `<milliseconds>-0`: every event published in the same millisecond gets
  the same id, and replay returns only ids strictly greater than the one given. Resuming
  from the last id therefore drops the events that shared its millisecond. The cursor
  resumes from the id *before* the last one and drops what it already had.
- Ids have no usable order: Aegra's are `<run_id>_event_<n>` (n counts by 1, or by 2
  with its Redis broker), which sort wrongly as strings from the tenth event on. The
  cursor only ever compares ids for equality.
- The SDK's own reconnect (it follows the stream's `Location` header) resumes from the
  last id, so it has that gap, and it never says that it reconnected. `ChatClient` turns
  it off (`guard_event_streams`) so the session's rejoin, which reports
  `StreamResumed`, is the only one.
- A connection closed cleanly in the middle of an event makes the SDK yield that event
  as if it were whole; `guard_event_streams` turns such an ending into an error.

Legacy `messages` events (`messages/partial`, ...) are not stored for replay at all by
`langgraph dev` (it stores only events whose name is a requested stream mode, and
`messages/partial` is not `messages`). A rejoined legacy stream follows the run live,
and the next partial carries the whole message so far, so the text still comes out
whole; only a message that started and finished entirely while disconnected is missed.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
from langgraph_sdk.schema import RunStatus as ServerRunStatus
from langgraph_sdk.schema import StreamPart

REPLAY_ALL = "0"
"""A `last_event_id` below every real id: replay the run's stored events from the start."""

RUNNING_STATUSES: tuple[ServerRunStatus, ...] = ("running", "pending")
"""Run statuses that mean the run has not finished yet."""


@dataclass(frozen=True, slots=True)
class ResumePolicy:
    """How often, and how patiently, a session rejoins a dropped stream.

    Attributes:
        attempts: Rejoin attempts in a row without receiving anything before the
            session gives up (`StreamLost`); 0 disables rejoining. Any event received
            starts the count again.
        backoff: Seconds before the first attempt; doubled for each further attempt.
        max_backoff: The longest wait between two attempts.
    """

    attempts: int = 5
    backoff: float = 0.25
    max_backoff: float = 4.0

    def delay(self, attempt: int) -> float:
        """Return the seconds to wait before rejoin attempt `attempt` (1-based)."""
        return float(min(self.max_backoff, self.backoff * 2 ** max(attempt - 1, 0)))


class ReplayCursor:
    """Which of a run's stream parts a client has, by the server's event ids.

    Feed every received part to `accept`, which says whether it is new; before
    rejoining, `rejoin_from` gives the `last_event_id` to send.

    Parts arrive again in two cases: the rejoin replays the parts that share the last
    id (see the module docstring), and a join's replay overlaps its live phase (the
    server subscribes before it replays, so what is published during the replay comes
    once from each). Ids are never ordered: Aegra's `<run_id>_event_<n>` sort wrongly
    as strings from the tenth event on, and a server may number as it likes. A part is
    a repeat when a part with the same id, event and data was accepted before. Two
    different parts of one millisecond (`langgraph dev`) with identical event and data
    would be taken for one: identical tokens, produced in the same millisecond.
    """

    def __init__(self) -> None:
        """Start before the first event."""
        self.last_id: str | None = None
        self._before_last: str | None = None
        # The parts accepted under each id. Their keys (see `_key`) are made only when
        # another part with that id comes: most ids come once. The parts are the ones
        # the decoder is given anyway, so keeping them costs references, not copies.
        self._accepted: dict[str, list[StreamPart]] = {}

    def accept(self, part: StreamPart) -> bool:
        """Record a received part; return False when it repeats one already accepted.

        Args:
            part: The SDK's stream part; one without an id (a run that is not
                resumable) is always new.
        """
        event_id = part.id
        if event_id is None:
            return True
        same_id = self._accepted.get(event_id)
        if same_id is None:
            self._accepted[event_id] = [part]
        else:
            for seen in same_id:
                # Equal keys need equal data (JSON data: dumps equal only if == holds),
                # so the cheap comparison goes first.
                if seen.event == part.event and seen.data == part.data and _key(seen) == _key(part):
                    return False
            same_id.append(part)
        if event_id != self.last_id:
            self._before_last, self.last_id = self.last_id, event_id
        return True

    def rejoin_from(self) -> str:
        """Return the `last_event_id` to rejoin with.

        The id received before the last one: the replay then repeats the parts that
        carry the last id, because some of them may never have been received.
        """
        return self._before_last or REPLAY_ALL


def _key(part: StreamPart) -> str:
    """Return what two parts with the same id must share to be the same part."""
    return part.event + "\n" + json.dumps(part.data, sort_keys=True, default=str)


class _WholeEventsOnly(httpx.AsyncByteStream):
    """An event stream body that fails, rather than ends, when it stops mid-event."""

    def __init__(self, inner: httpx.AsyncByteStream) -> None:
        self._inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        tail = b""
        async for chunk in self._inner:
            tail = (tail + chunk)[-4:]
            yield chunk
        if tail and not tail.endswith((b"\n\n", b"\r\r", b"\r\n\r\n")):
            raise httpx.RemoteProtocolError("the event stream ended in the middle of an event")

    async def aclose(self) -> None:
        await self._inner.aclose()


async def guard_event_streams(response: httpx.Response) -> None:
    """Make run-stream responses safe to rejoin; an httpx response hook.

    - `Location` is removed, so the SDK never reconnects on its own: it would resume
      from the last event id (see the module docstring for the gap that leaves), with
      a fixed policy, without telling the caller. Without the header the SDK raises on
      a dropped connection and returns on an early end, and the session rejoins.
    - A body that ends without the blank line closing its last event raises
      `httpx.RemoteProtocolError`. Otherwise the SDK's SSE decoder flushes the cut
      event as if whole: with truncated JSON, or, cut before its `id:` line, under the
      previous event's id, so the rejoin would count it as received.
    """
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        response.headers.pop("location", None)
        if isinstance(response.stream, httpx.AsyncByteStream):
            response.stream = _WholeEventsOnly(response.stream)
