"""Markdown tables for the reports: one cell format for every number."""

from __future__ import annotations

import math
from typing import Any


def cell(value: Any, digits: int = 1) -> str:
    """Format one cell: thousands separators, ``digits`` decimals, ``-`` for NaN."""
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:,.{digits}f}"
    return str(value)


def table(header: list[str], rows: list[list[Any]], digits: int = 1) -> str:
    """Return a markdown table of ``rows`` under ``header``."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(value, digits) for value in row) + " |" for row in rows]
    return "\n".join(lines)
