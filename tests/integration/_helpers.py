"""Shared bits of the client's real-server tests: expected replies, the long scripted one."""

from __future__ import annotations

from client.remote.resume import ResumePolicy

LONG_COUNT = 5000
"""The offline model's longest reply: "count to 5000"."""

MULTIPLY = "Multiply 2 and 3"
MULTIPLY_ANSWER = "The result of multiplying 2 and 3 is 6."
ARGS_PROGRESSION = [{}, {"a": 2}, {"a": 2, "b": 3}]


def count_reply(n: int) -> str:
    """Return the offline model's reply to "count to N"."""
    return " ".join(str(i) for i in range(1, n + 1))


LONG_TEXT = " ".join(f"w{i}" for i in range(300))
"""A 300-token scripted reply (one stream chunk per word), for the cut-connection tests."""
TOKEN_DELAY = 0.002
"""Seconds between its tokens: long enough for a cut to land mid-reply."""
FAST_REJOIN = ResumePolicy(attempts=3, backoff=0.05, max_backoff=0.2)
"""Rejoin a cut stream quickly: the tests cut on purpose."""
