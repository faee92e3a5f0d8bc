"""Thread reads that take more than one request: listing counts and a whole history.

A listing's message counts need each thread's state on Aegra; a thread's whole history
is paged through its checkpoints. Both are `ChatClient`'s, kept here so the client
module stays about the connection and sessions.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from typing import cast

from langchain_core.messages import BaseMessage
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.schema import Checkpoint, Thread, ThreadState

from client.errors import ChatClientError, translate_errors
from client.messages import message_from_dict, state_messages, unique_messages
from client.threads import ThreadInfo

HISTORY_PAGE = 100
"""Checkpoints asked for per history request."""

STATE_REQUESTS = 8
"""Thread states a listing reads at once (see `counted`)."""


async def counted(sdk: LangGraphClient, url: str, threads: Sequence[Thread]) -> list[ThreadInfo]:
    """Return the threads' summaries, counting messages from state where needed.

    `langgraph dev` puts each thread's `values` in the thread object; Aegra does not,
    so those threads' counts come from their state: one request per such thread, at
    most `STATE_REQUESTS` at once. A state that cannot be read leaves the count at 0;
    a listing is no reason to fail.
    """
    infos = [ThreadInfo.from_thread(thread) for thread in threads]
    lacking = [i for i, thread in enumerate(threads) if not isinstance(thread.get("values"), dict)]
    if not lacking:
        return infos
    limit = asyncio.Semaphore(STATE_REQUESTS)

    async def count(index: int) -> None:
        thread_id = infos[index].thread_id
        async with limit:
            try:
                with translate_errors(url=url, thread_id=thread_id):
                    state = await sdk.threads.get_state(thread_id)
            except ChatClientError:
                return
        count = len(state_messages(state["values"]))
        infos[index] = dataclasses.replace(infos[index], message_count=count)

    await asyncio.gather(*(count(index) for index in lacking))
    return infos


async def whole_history(sdk: LangGraphClient, url: str, thread_id: str) -> list[BaseMessage]:
    """Return every message a thread ever held, oldest first, from all its checkpoints.

    Raises:
        ThreadNotFound: No thread has this id (`thread_id` must be canonical).
    """
    states: list[ThreadState] = []
    before: Checkpoint | None = None
    with translate_errors(url=url, thread_id=thread_id):
        await sdk.threads.get(thread_id)  # a missing thread has an empty history
        while True:
            page = await sdk.threads.get_history(thread_id, limit=HISTORY_PAGE, before=before)
            states.extend(page)
            if len(page) < HISTORY_PAGE:
                break
            before = _history_cursor(page[-1]["checkpoint"])
    # The server lists the newest checkpoint first.
    return unique_messages(_state_messages(state) for state in reversed(states))


def _history_cursor(checkpoint: Checkpoint) -> Checkpoint:
    # `langgraph dev` reads `before["configurable"]` (a bare checkpoint gives a 500)
    # while the API schema documents a bare checkpoint; this dict satisfies both.
    return cast(Checkpoint, {**checkpoint, "configurable": dict(checkpoint)})


def _state_messages(state: ThreadState) -> list[BaseMessage]:
    return [message_from_dict(data) for data in state_messages(state["values"])]
