"""A session's multitask strategy, applied by the client before it creates a run.

Aegra accepts `multitask_strategy` and ignores it, so `RemoteChatSession` applies the
strategy itself (`make_way`) on both engines, with the same outcome as a server that
keeps it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
from langgraph_sdk import errors as sdk_errors
from langgraph_sdk.schema import CancelAction, MultitaskStrategy

from client.errors import InvalidInput, ThreadBusy, translate_errors
from client.remote.resume import RUNNING_STATUSES
from client.threads import ThreadInfo

if TYPE_CHECKING:
    from client.remote.client import ChatClient


async def make_way(
    client: ChatClient,
    thread_id: str,
    created: ThreadInfo | None,
    strategy: MultitaskStrategy,
) -> None:
    """Apply the multitask `strategy` to a run already active on the thread.

    Aegra accepts `multitask_strategy` and ignores it: a second run on a busy
    thread runs at once, and its turn ends up only in a forked history branch. So
    the session applies the strategy itself before it creates its run: `reject`
    raises `ThreadBusy`, `enqueue` waits for the active runs to end, `interrupt`
    and `rollback` cancel them with that action and wait. On a server that keeps
    the strategy (`langgraph dev`), the outcome is the same. The thread's status
    (known already for a thread just made or found) is the cheap first look; it
    lags behind the run's (a run that just ended may leave it `busy` for a few
    milliseconds), so only a `busy` thread's pending or running runs count. Two
    clients that look at the same moment can still both start a run on Aegra;
    `langgraph dev` settles that itself.

    Args:
        client: The session's client.
        thread_id: The thread a run is about to be created on.
        created: The thread, when the session has just created it (its status is known).
        strategy: The session's multitask strategy.

    Raises:
        ThreadBusy: The strategy is `reject` and a run is active.
        InvalidInput: The server cannot cancel the active run with the strategy's
            action (Aegra has no `rollback`); nothing was changed.
    """
    sdk = client.sdk
    with translate_errors(url=client.url, thread_id=thread_id):
        if created is None:
            busy = (await sdk.threads.get(thread_id)).get("status") == "busy"
        else:
            busy = created.status == "busy"
        if not busy:
            return
        active = [
            run["run_id"]
            for status in RUNNING_STATUSES
            for run in await sdk.runs.list(thread_id, status=status)
        ]
        if active and strategy == "reject":
            raise ThreadBusy(thread_id)
        for run_id in active:
            if strategy == "enqueue":
                await sdk.runs.join(thread_id, run_id)
            else:
                action: CancelAction = "rollback" if strategy == "rollback" else "interrupt"
                try:
                    await sdk.runs.cancel(thread_id, run_id, wait=True, action=action)
                except sdk_errors.NotFoundError:
                    pass  # it just ended
                except httpx.HTTPStatusError as error:
                    if error.response.status_code != 422:
                        raise
                    # Aegra 0.11 cancels with `cancel` or `interrupt` only.
                    raise InvalidInput(
                        f"this server cannot {action} the active run of thread "
                        f"{thread_id}; use another multitask strategy"
                    ) from error
