"""Names a failed run's cause: the exception class leads when the server hid the message."""

from __future__ import annotations

from client.events import RunError

_GENERIC_ERRORS = frozenset({"", "Error", "Exception", "ValueError", "RuntimeError", "TypeError"})
"""Exception classes whose name adds nothing to the message (a graph's own checks)."""

_MASKED_ERROR = "An internal error occurred"
"""The message langgraph-api sends instead of an exception's own when it hides it."""


def named_error(error: RunError) -> RunError:
    """Return the run error with its cause named: a specific exception's class leads.

    The server hides some exceptions' messages (a model API's error, for one) behind a
    generic sentence; the class name (`OpenAIAPIError`, `OpenAIConnectionError`) is then
    all that tells a rate limit from a dropped model connection.
    """
    if error.error in _GENERIC_ERRORS or error.message.startswith(error.error):
        return error
    detail = error.message
    if detail == _MASKED_ERROR:
        detail = "the server hid the details; they are in its log"
    return RunError(f"{error.error}: {detail}", error.error)
