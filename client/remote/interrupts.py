"""What an interrupted thread on a server waits for, and the context to resume it with.

A resume answers the review the thread is waiting on; it is read from the thread's
state first, so a thread that waits for nothing (never interrupted, or resumed
already) is refused before anything is sent, on both engines and both protocols
(`langgraph dev` runs a resume of a thread that waits for nothing as an empty run).

Run context is per run, and the resumed run is a new run: the interrupted run's
context is read back from the server, so a run begun with `approve_tools` keeps
asking for reviews after it is resumed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from client.errors import ChatClientError, NothingToResume, translate_errors
from client.events import Interrupted
from client.values import pending_interrupts

if TYPE_CHECKING:
    from client.remote.client import ChatClient


@dataclass(frozen=True, slots=True)
class PendingReview:
    """The interrupt a thread waits on, and the context of the run it stopped."""

    interrupt: Interrupted
    context: Mapping[str, Any] = field(default_factory=dict)


async def pending_review(client: ChatClient, thread_id: str, assistant_id: str) -> PendingReview:
    """Return what thread `thread_id` waits for.

    Raises:
        NothingToResume: The thread waits for no decision.
        ThreadNotFound: There is no such thread.
    """
    with translate_errors(url=client.url, thread_id=thread_id):
        state = await client.sdk.threads.get_state(thread_id)
    interrupts = pending_interrupts(state)
    if not interrupts:
        raise NothingToResume(thread_id)
    return PendingReview(interrupts[0], await _last_context(client, thread_id, assistant_id))


async def _last_context(client: ChatClient, thread_id: str, assistant_id: str) -> dict[str, Any]:
    """Return the context of the thread's newest run; empty when it cannot be read.

    The run-centric API keeps it as `context`; a v3 run's context travels in
    `configurable`, where `langgraph dev` also copies a run-centric run's, so the
    fields of the assistant's context schema are picked from there as well.
    """
    try:
        with translate_errors(url=client.url, thread_id=thread_id):
            runs = await client.sdk.runs.list(thread_id, limit=1)
    except ChatClientError:
        return {}
    if not runs:
        return {}
    # `langgraph dev` keeps a run's arguments under `kwargs`; Aegra at the top level.
    kwargs = runs[0].get("kwargs")
    if not isinstance(kwargs, Mapping):
        kwargs = runs[0]
    schema = client.context_schemas.get(assistant_id) or {}
    fields = schema.get("properties")
    context = kwargs.get("context")
    found = dict(context) if isinstance(context, Mapping) else {}
    if isinstance(fields, Mapping):
        # `langgraph dev` adds keys of its own to a v3 run's context (`thread_id`,
        # `__event_streaming_v2`); sent back as a run-centric resume's context, they
        # fail the run (KeyError: 'thread_id'). The schema's fields are the run's.
        found = {k: v for k, v in found.items() if k in fields}
    config = kwargs.get("config")
    configurable = config.get("configurable") if isinstance(config, Mapping) else None
    if isinstance(fields, Mapping) and isinstance(configurable, Mapping):
        found.update({k: v for k, v in configurable.items() if k in fields and k not in found})
    return found
