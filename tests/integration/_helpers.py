"""Shared bits of the client's real-server tests: the offline model's expected replies."""

from __future__ import annotations

LONG_COUNT = 5000
"""The offline model's longest reply: "count to 5000"."""

MULTIPLY = "Multiply 2 and 3"
MULTIPLY_ANSWER = "The result of multiplying 2 and 3 is 6."
ARGS_PROGRESSION = [{}, {"a": 2}, {"a": 2, "b": 3}]


def count_reply(n: int) -> str:
    """Return the offline model's reply to "count to N"."""
    return " ".join(str(i) for i in range(1, n + 1))
