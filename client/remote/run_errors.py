"""Names a failed run's cause: the exception class leads when the server hid the message.

Two servers hide messages differently. `langgraph-api` replaces some exceptions'
messages (a model API's error, for one) with a generic sentence, and the class name
is then all that tells a rate limit from a dropped model connection. Aegra redacts
every run error in the stream to `<Class>: execution failed`, but keeps the real
message on the run (`runs.get(...)["error_message"]`), so `RunStreams` asks for it
once, and only for a failed run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from client.decode import run_error
from client.errors import ChatClientError, translate_errors
from client.events import RunError

if TYPE_CHECKING:
    from client.remote.client import ChatClient

_GENERIC_ERRORS = frozenset({"", "Error", "Exception", "ValueError", "RuntimeError", "TypeError"})
"""Exception classes whose name adds nothing to the message (a graph's own checks)."""

_MASKED_ERROR = "An internal error occurred"
"""The message langgraph-api sends instead of an exception's own when it hides it."""

_REDACTED_ERROR = "execution failed"
"""The message Aegra streams instead of any run error's own."""

_SEE_LOG = "the server hid the details; they are in its log"


def named_error(error: RunError) -> RunError:
    """Return the run error with its cause named: a specific exception's class leads."""
    if error.error in _GENERIC_ERRORS or error.message.startswith(error.error):
        return error
    detail = error.message
    if detail == _MASKED_ERROR:
        detail = _SEE_LOG
    return RunError(f"{error.error}: {detail}", error.error)


def is_redacted(error: RunError) -> bool:
    """Return True when the stream carried Aegra's stand-in instead of the message."""
    return error.message in (_REDACTED_ERROR, f"{error.error}: {_REDACTED_ERROR}")


def with_detail(error: RunError, detail: object) -> RunError:
    """Return a redacted run error with the run's own message, or where to find it.

    Args:
        error: The error as streamed (see `is_redacted`).
        detail: The run's `error_message` from the server; None or empty when it
            could not be had.
    """
    if isinstance(detail, str) and detail.strip():
        return named_error(run_error({"error": error.error, "message": detail}))
    return RunError(f"{error.error}: {_REDACTED_ERROR} ({_SEE_LOG})", error.error)


async def fetch_detail(
    client: ChatClient, thread_id: str, run_id: str, error: RunError
) -> RunError:
    """Return a redacted run error with the run's own message, asked of the server.

    Falls back to saying where the detail is when the run cannot be read.
    """
    try:
        with translate_errors(url=client.url, thread_id=thread_id):
            found = await client.sdk.runs.get(thread_id, run_id)
    except ChatClientError:
        return with_detail(error, None)
    return with_detail(error, found.get("error_message"))
