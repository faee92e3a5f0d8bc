"""The transcript's lines: what a tool call, a custom event or a stored message says.

Every renderer, live or plain, and `lgchat history` write the same lines; the styles
and the withdrawal notices are shared here too.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import BaseMessage

SUMMARY_KEY = "summary"

STYLE_AI = "bold cyan"
STYLE_HUMAN = "bold green"
STYLE_TOOL_CALL = "yellow"
STYLE_TOOL_RESULT = "green"
STYLE_LABEL = "bold magenta"
STYLE_DIM = "dim"
STYLE_WARNING = "yellow"
STYLE_ERROR = "bold red"

RETRACTION_NOTICES = {
    "run_restarted": "(the server restarted the run; the partial reply above is withdrawn)",
    "corrected": "(a stream event was lost; the message is shown again in full)",
}
"""The stderr line for each `ReplyRetracted.reason`, where the text cannot be erased."""


def format_tool_call(call_id: str | None, name: str | None, args: dict[str, Any]) -> str:
    """Return the tutorial's tool-call line: `Tool Call ID: …, Function: …, Arguments: {…}`."""
    return f"Tool Call ID: {call_id}, Function: {name}, Arguments: {args}"


def _plain_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return " ".join(text.split())  # one line, whatever the value holds


def custom_lines(data: Any) -> list[str]:
    """Return the lines that show a custom stream event's data.

    A dict gives one line per key, `Custom (key): value`, with a dict value shown as
    `k=v` pairs (the summarizer's `{"summarization": {"status": ..., ...}}`); anything
    else is one line, `Custom: value`.
    """
    if not isinstance(data, dict) or not data:
        return [f"Custom: {_plain_value(data)}"]
    lines = []
    for key, value in data.items():
        if isinstance(value, dict) and value:
            shown = ", ".join(f"{k}={_plain_value(v)}" for k, v in value.items())
        else:
            shown = _plain_value(value)
        lines.append(f"Custom ({key}): {shown}")
    return lines


def transcript_lines(messages: Sequence[BaseMessage], summary: str = "") -> list[str]:
    """Return a stored conversation as lines in the same format as live output."""
    lines: list[str] = []
    for message in messages:
        text = message.text
        if message.type == "human":
            lines.append(f"Human: {text}")
        elif message.type == "ai":
            if text:
                lines.append(f"AI: {text}")
            for call in getattr(message, "tool_calls", None) or []:
                lines.append(format_tool_call(call.get("id"), call.get("name"), call["args"]))
        elif message.type == "tool":
            lines.append(f"Tool Result ({getattr(message, 'name', None) or 'tool'}): {text}")
    if summary:
        lines.append(f"Summary: {summary}")
    return lines


@dataclass
class ToolCallLine:
    """One tool call as the transcript shows it, its arguments as parsed so far."""

    call_id: str | None
    name: str | None
    args: dict[str, Any]

    @property
    def line(self) -> str:
        """Return the call's transcript line."""
        return format_tool_call(self.call_id, self.name, self.args)
