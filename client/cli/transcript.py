"""`TranscriptRenderer`, the decisions every text renderer shares, and `PlainRenderer`.

What a line says, when a node label shows, when the summary changed, what a retraction
does to what was printed: decided once here. Subclasses only draw: `PlainRenderer`
appends plain text for pipes and files; `client.cli.live.RichRenderer` draws live on a
terminal.
"""

from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from typing import Any, TextIO

from langchain_core.messages import BaseMessage

from client.cli.lines import (
    RETRACTION_NOTICES,
    STYLE_AI,
    STYLE_DIM,
    STYLE_HUMAN,
    STYLE_LABEL,
    STYLE_TOOL_RESULT,
    STYLE_WARNING,
    SUMMARY_KEY,
    ToolCallLine,
    custom_lines,
)
from client.cli.review import interrupt_lines
from client.errors import one_line
from client.events import (
    CustomEvent,
    Interrupted,
    MessageFinished,
    MessageStarted,
    NodeUpdate,
    ReplyRetracted,
    RunEnded,
    RunError,
    RunStarted,
    StateValues,
    StreamEvent,
    StreamResumed,
    TextDelta,
    ToolCallProgress,
)
from client.messages import is_assistant_role


class TranscriptRenderer(ABC):
    """Event bookkeeping shared by the rich and plain renderers.

    The "main" node is the first node whose assistant message appears; output from any
    other node (the summarizer, for one) is labelled `[node]`. Tool results are not
    labelled: their own prefix says what they are.
    """

    def __init__(self, *, show_input: bool = False, show_run: bool = False) -> None:
        """Set what to show besides the assistant's output.

        Args:
            show_input: Print human messages that come back in the stream (values mode).
            show_run: Print a line with the run id when the run starts.
        """
        self.show_input = show_input
        self.show_run = show_run
        self._roles: dict[str, str] = {}
        self._nodes: dict[str, str | None] = {}
        self._main_node: str | None = None
        self._text_message: str | None = None
        self._texted: set[str] = set()
        self._tool_calls: dict[str, dict[int, ToolCallLine]] = {}
        self._tool_message: str | None = None
        self._summary: str | None = None
        self._seen_values = False
        self._drawing: str | None = None
        """The message whose output is being drawn; None for any other output."""

    # -- drawing primitives ------------------------------------------------

    @abstractmethod
    def _write(self, text: str, style: str = "") -> None:
        """Append text to the current line."""

    @abstractmethod
    def _newline(self) -> None:
        """End the current line."""

    @abstractmethod
    def _line(self, text: str, style: str = "") -> None:
        """Print a whole line (the current one is already ended)."""

    @abstractmethod
    def _draw_tool_calls(self, changed: ToolCallLine, calls: list[ToolCallLine]) -> None:
        """Show that `changed` (one of the message's `calls`) got new arguments."""

    @abstractmethod
    def _end_tool_calls(self) -> None:
        """Leave the tool-call block as it is; later output goes below it."""

    @abstractmethod
    def _error_line(self, text: str) -> None:
        """Print one error line on stderr."""

    @abstractmethod
    def _notice(self, text: str) -> None:
        """Print a diagnostic line on stderr, leaving the transcript's open line open."""

    def _write_text(self, text: str) -> None:
        """Append a message's text to the open text line."""
        self._write(text)

    # -- public API --------------------------------------------------------

    def note(self, text: str) -> None:
        """Print an informational line."""
        self._settle()
        self._line(text)

    def heading(self, text: str) -> None:
        """Print a section heading."""
        self._settle()
        self._line(f"=== {text} ===", "bold")

    def error(self, message: str) -> None:
        """Print one error line on stderr."""
        self._settle()
        self._error_line(f"Error: {one_line(message)}")

    def close(self) -> None:
        """Finish any open line or tool-call block."""
        self._settle()

    def render(self, event: StreamEvent) -> None:
        """Draw one event."""
        self._drawing = getattr(event, "message_id", None)
        match event:
            case RunStarted(run_id=run_id) if self.show_run:
                self._settle()
                self._line(f"Run ID: {run_id}", STYLE_DIM)
            case MessageStarted(message_id=message_id, role=role, node=node):
                self._roles[message_id] = role
                self._nodes[message_id] = node
            case TextDelta(message_id=message_id, text=text) if text:
                self._on_text(message_id, text)
            case ToolCallProgress():
                self._on_tool_call(event)
            case MessageFinished():
                self._on_message_finished(event)
            case NodeUpdate(node=node, update=update):
                self._on_node_update(node, update)
            case StateValues(values=values):
                self._on_values(values)
            case CustomEvent(data=data):
                self._settle()
                for line in custom_lines(data):
                    self._line(line, STYLE_DIM)
            case RunError(message=message):
                self.error(message)
            case Interrupted():
                self._settle()
                for line in interrupt_lines(event):
                    self._line(line, STYLE_WARNING)
            case RunEnded(status=status):
                self._settle()
                if status == "cancelled":
                    self._line(f"({status})", STYLE_WARNING)
            case StreamResumed(last_event_id=last_event_id):
                # Not `_settle`: the reply goes on after a resume as if never cut.
                self._notice(f"(connection dropped; resumed after event {last_event_id})")
            case ReplyRetracted(message_ids=message_ids, reason=reason):
                self._drawing = None
                self._retract(frozenset(message_ids), RETRACTION_NOTICES[reason])

    def _retract(self, message_ids: frozenset[str], notice: str) -> None:
        """Withdraw messages already drawn: end their lines, say so on stderr.

        A message sent again after this is drawn anew, from its start.
        """
        self._settle()
        self._forget(message_ids)
        self._notice(notice)

    def _forget(self, message_ids: frozenset[str]) -> None:
        self._texted -= message_ids
        for message_id in message_ids:
            self._tool_calls.pop(message_id, None)

    # -- event handlers ----------------------------------------------------

    def _role(self, message_id: str, message: BaseMessage | None = None) -> str:
        return self._roles.get(message_id) or (message.type if message else "")

    def _label(self, node: str | None) -> str:
        main = self._main_node
        return f"[{node}] " if node and main and node != main else ""

    def _on_text(self, message_id: str, text: str) -> None:
        if not is_assistant_role(self._role(message_id)):
            return  # Tool results and echoed input are printed whole when they finish.
        if self._text_message != message_id:
            self._settle()
            # The node of the first text is the one that answers; others get a label.
            # (A message without text may come from another node: a review that
            # edited the model's tool call re-sends it.)
            self._main_node = self._main_node or self._nodes.get(message_id)
            if label := self._label(self._nodes.get(message_id)):
                self._write(label, STYLE_LABEL)
            self._write("AI: ", STYLE_AI)
            self._text_message = message_id
        self._texted.add(message_id)
        self._write_text(text)

    def _on_tool_call(self, event: ToolCallProgress) -> None:
        if self._text_message is not None:
            self._newline()
            self._text_message = None
        if self._tool_message not in (None, event.message_id):
            self._end_tool_calls()
        self._tool_message = event.message_id
        calls = self._tool_calls.setdefault(event.message_id, {})
        known = calls.get(event.index)
        call = ToolCallLine(
            event.call_id or (known.call_id if known else None),
            event.name or (known.name if known else None),
            dict(event.args),
        )
        calls[event.index] = call
        self._draw_tool_calls(call, [calls[i] for i in sorted(calls)])

    def _on_message_finished(self, event: MessageFinished) -> None:
        message, message_id = event.message, event.message_id
        role = self._role(message_id, message)
        if is_assistant_role(role):
            text = message.text
            if message_id not in self._texted and text:
                self._on_text(message_id, text)  # Arrived whole, with no delta.
            self._show_final_tool_calls(message_id, message)
            self._settle()
            if event.finish_reason:
                self._line(f"Finish Reason: {event.finish_reason}", STYLE_DIM)
        elif role == "tool":
            self._settle()
            name = getattr(message, "name", None) or "tool"
            self._line(f"Tool Result ({name}): {message.text}", STYLE_TOOL_RESULT)
        elif role in ("human", "user") and self.show_input:
            self._settle()
            self._line(f"Human: {message.text}", STYLE_HUMAN)

    def _show_final_tool_calls(self, message_id: str, message: BaseMessage) -> None:
        """Draw tool calls whose final arguments were never shown (whole messages)."""
        shown = self._tool_calls.get(message_id, {})
        for index, call in enumerate(getattr(message, "tool_calls", None) or []):
            known = shown.get(index)
            if known is None or known.args != call["args"]:
                progress = ToolCallProgress(
                    message_id, index, call.get("id"), call.get("name"), dict(call["args"])
                )
                self._on_tool_call(progress)

    def _on_node_update(self, node: str, update: Any) -> None:
        if node == self._main_node or not isinstance(update, dict):
            return
        for key, value in update.items():
            if key == "messages" or key.startswith("__"):
                continue  # Messages are drawn from message events.
            if key == SUMMARY_KEY:
                self._show_summary(node, str(value))
            else:
                self._settle()
                self._line(f"[{node}] {key}: {value}", STYLE_LABEL)

    def _on_values(self, values: dict[str, Any]) -> None:
        summary = str(values.get(SUMMARY_KEY) or "")
        if not self._seen_values:
            # The first state is the thread before this run: its summary is not news.
            self._seen_values = True
            self._summary = self._summary or summary
            return
        self._show_summary(None, summary)

    def _show_summary(self, node: str | None, summary: str) -> None:
        if not summary or summary == self._summary:
            return
        self._summary = summary
        self._settle()
        self._write(f"[{node or SUMMARY_KEY}] ", STYLE_LABEL)
        self._write(f"Summary: {summary}")
        self._newline()

    def _settle(self) -> None:
        """End the open text line and the tool-call block, so a new line can start."""
        if self._text_message is not None:
            self._newline()
            self._text_message = None
        if self._tool_message is not None:
            self._end_tool_calls()
            self._tool_message = None


class PlainRenderer(TranscriptRenderer):
    """Plain text with no control codes, for pipes and files."""

    def __init__(
        self,
        out: TextIO | None = None,
        err: TextIO | None = None,
        *,
        show_input: bool = False,
        show_run: bool = False,
    ) -> None:
        """Write to `out` (stdout by default) and errors to `err` (stderr)."""
        super().__init__(show_input=show_input, show_run=show_run)
        self.out = out or sys.stdout
        self.err = err or sys.stderr

    def _write(self, text: str, style: str = "") -> None:
        self.out.write(text)
        self.out.flush()  # Typewriter output through a pipe, too.

    def _newline(self) -> None:
        self._write("\n")

    def _line(self, text: str, style: str = "") -> None:
        self._write(text + "\n")

    def _draw_tool_calls(self, changed: ToolCallLine, calls: list[ToolCallLine]) -> None:
        self._line(changed.line)

    def _end_tool_calls(self) -> None:
        pass

    def _error_line(self, text: str) -> None:
        self.out.flush()
        self.err.write(text + "\n")
        self.err.flush()

    def _notice(self, text: str) -> None:
        self._error_line(text)
