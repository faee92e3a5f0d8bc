"""Renderers: turn typed stream events into terminal, plain-text or JSON-lines output.

Renderers consume only `client.events` events, so they work the same for every stream
mode. `TranscriptRenderer` holds the decisions (what a line says, when a node label
shows, when the summary changed); its two subclasses only draw:

- `RichRenderer` for a terminal: tokens typed out as they arrive, wrapped at word
  boundaries, the tool-call line redrawn in place as its arguments fill in, errors as
  one red line;
- `PlainRenderer` when stdout is not a terminal: no control codes, tokens appended as
  they come, every change of a tool call's arguments as a new line (the tutorial's
  format).

stdout is the transcript: piped, it is exactly what an uncut run prints. Diagnostics
(errors, "(connection dropped; resumed ...)") go to stderr; on a terminal the two share
the screen, so a resume notice shows between the halves of a reply.

Withdrawn messages (`ReplyRetracted`: the server restarted the run, or a lost event
made the client send a message again whole) are erased by `RichRenderer` when they
are the last output and still on screen. Everywhere else, plain output included,
what was printed stays: the open line is ended, one notice goes to stderr
(`RETRACTION_NOTICES`), and the reply goes on from a new `AI:` line, so piped stdout
holds the withdrawn partial text, then the whole reply. `JsonRenderer` writes the
event like any other (`{"kind": "reply_retracted", "message_ids": [...]}`); consumers
that need the reply alone drop the withdrawn ids, as `client.values.Reply` does.

`JsonRenderer` writes each event as one JSON object per line. `make_renderer` picks one.
"""

from __future__ import annotations

import json
import re
import sys
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TextIO

from langchain_core.messages import BaseMessage
from rich.cells import cell_len
from rich.console import Console, Group
from rich.control import Control
from rich.live import Live
from rich.segment import ControlType
from rich.text import Text

from client.errors import one_line
from client.events import (
    CustomEvent,
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
    to_json,
)
from client.messages import is_assistant_role

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


class Renderer(Protocol):
    """What the CLI and the demo draw through."""

    def render(self, event: StreamEvent) -> None:
        """Draw one event."""

    def note(self, text: str) -> None:
        """Print an informational line."""

    def heading(self, text: str) -> None:
        """Print a section heading."""

    def error(self, message: str) -> None:
        """Print one error line on stderr."""

    def close(self) -> None:
        """Finish any open line or live region (idempotent)."""


def render_all(renderer: Renderer, events: Iterable[StreamEvent]) -> None:
    """Draw every event, then close the renderer."""
    for event in events:
        renderer.render(event)
    renderer.close()


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
class _ToolCall:
    call_id: str | None
    name: str | None
    args: dict[str, Any]

    @property
    def line(self) -> str:
        return format_tool_call(self.call_id, self.name, self.args)


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
        self._tool_calls: dict[str, dict[int, _ToolCall]] = {}
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
    def _draw_tool_calls(self, changed: _ToolCall, calls: list[_ToolCall]) -> None:
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
                if is_assistant_role(role) and node and self._main_node is None:
                    self._main_node = node
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
            case RunEnded(status=status):
                self._settle()
                if status in ("cancelled", "interrupted"):
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
        call = _ToolCall(
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

    def _draw_tool_calls(self, changed: _ToolCall, calls: list[_ToolCall]) -> None:
        self._line(changed.line)

    def _end_tool_calls(self) -> None:
        pass

    def _error_line(self, text: str) -> None:
        self.out.flush()
        self.err.write(text + "\n")
        self.err.flush()

    def _notice(self, text: str) -> None:
        self._error_line(text)


def _split_cells(word: str, cells: int) -> tuple[str, str]:
    """Split a word after at most `cells` terminal cells (at least one character)."""
    used = 0
    for position, char in enumerate(word):
        used += cell_len(char)
        if used > cells:
            return word[: max(position, 1)], word[max(position, 1) :]
    return word, ""


_TEXT_PIECES = re.compile(r"\n|[^\S\n]+|\S+")
"""A line break, a run of other whitespace, or a word."""


class RichRenderer(TranscriptRenderer):
    """Live terminal output: typewriter tokens and tool-call lines updated in place."""

    def __init__(
        self,
        console: Console | None = None,
        err_console: Console | None = None,
        *,
        show_input: bool = False,
        show_run: bool = False,
    ) -> None:
        """Draw on `console` (stdout by default) and errors on `err_console` (stderr)."""
        super().__init__(show_input=show_input, show_run=show_run)
        self.console = console or Console(highlight=False)
        self.err_console = err_console or Console(stderr=True, highlight=False)
        self._live: Live | None = None
        # Word wrapping of streamed text: the column of the open line, the whitespace
        # not printed yet (dropped if a line break comes first), and the last word,
        # held back until it ends, since the next token may continue it.
        self._column = 0
        self._space = ""
        self._word = ""
        # For erasing withdrawn messages: the terminal rows printed so far, the rows a
        # live tool-call block takes, and where each stretch of output by one owner
        # (a message id, or None for anything else) began: (row, column, owner).
        self._rows = 0
        self._live_rows = 0
        self._marks: list[tuple[int, int, str | None]] = []

    def _mark(self) -> None:
        if not self._marks or self._marks[-1][2] != self._drawing:
            self._marks.append((self._rows, self._column, self._drawing))

    def _print(self, text: str, style: str = "") -> None:
        self._mark()
        # soft_wrap: rich adds no newlines of its own; the renderer places them.
        self.console.print(
            Text(text, style=style), end="", soft_wrap=True, markup=False, highlight=False
        )
        self._rows += text.count("\n")

    def _height(self, text: str) -> int:
        """Return the terminal rows a whole line of `text` takes."""
        return max(1, -(-cell_len(text) // max(self.console.width, 1)))

    def _retract(self, message_ids: frozenset[str], notice: str) -> None:
        """Erase the withdrawn messages when they are the last output and on screen.

        Otherwise (output of other messages after them, scrolled away, not a
        terminal) say so on stderr, as plain output does.
        """
        start = next((m for m in self._marks if m[2] in message_ids), None)
        if self._live is not None and self._tool_message in message_ids:
            self._live.update(Group(), refresh=True)  # the live block erases itself
            self._live.stop()
            self._live, self._live_rows, self._tool_message = None, 0, None
        later = self._marks[self._marks.index(start) :] if start else []
        if (
            start is None
            or start[1] != 0
            or any(owner not in message_ids for _, _, owner in later)
            or not self.console.is_terminal
            or self._rows - start[0] >= self.console.height
        ):
            super()._retract(message_ids, notice)
            return
        self._settle()
        self._forget(message_ids)
        erase = [Control(ControlType.CARRIAGE_RETURN), Control((ControlType.ERASE_IN_LINE, 2))]
        for _ in range(self._rows - start[0]):
            erase += [Control((ControlType.CURSOR_UP, 1)), Control((ControlType.ERASE_IN_LINE, 2))]
        self.console.control(*erase)
        self._rows, self._column, self._space, self._word = start[0], 0, "", ""
        del self._marks[self._marks.index(start) :]

    def _write(self, text: str, style: str = "") -> None:
        self._flush_word()
        self._print(text, style)
        self._column += cell_len(text)

    def _write_text(self, text: str) -> None:
        pieces = _TEXT_PIECES.findall(self._word + text)
        self._word = pieces.pop() if pieces and not pieces[-1].isspace() else ""
        for piece in pieces:
            if piece == "\n":
                self._break_line()
            elif piece.isspace():
                self._space += piece
            else:
                self._place_word(piece)

    def _place_word(self, word: str) -> None:
        """Print a word after the pending space, on the next line if it does not fit.

        Like `textwrap`: a word longer than a line is folded, from where the line is.
        """
        width = max(self.console.width, 1)
        size = cell_len(word)
        # A word longer than a line would be folded on any line: start it here.
        if self._column and self._column + cell_len(self._space) + size > width >= size:
            self._break_line()
        if self._column:
            word = self._space + word
        self._space = ""
        # A word longer than a line is folded wherever the line ends.
        while self._column + cell_len(word) > width:
            head, word = _split_cells(word, max(width - self._column, 1))
            self._print(head + "\n")
            self._column = 0
        self._print(word)
        self._column += cell_len(word)

    def _flush_word(self) -> None:
        if self._word:
            word, self._word = self._word, ""
            self._place_word(word)
        self._space = ""

    def _break_line(self) -> None:
        self._print("\n")
        self._column, self._space = 0, ""

    def _newline(self) -> None:
        self._flush_word()
        self._break_line()

    def _line(self, text: str, style: str = "") -> None:
        self._mark()
        self.console.print(Text(text, style=style), soft_wrap=True, markup=False)
        self._column, self._space = 0, ""
        self._rows += self._height(text)

    def _notice(self, text: str) -> None:
        # stdout and stderr share the terminal: end the open line first, and go on
        # with the reply on the line after the notice.
        if self._column:
            self._break_line()
        self._line_on_stderr(text, STYLE_DIM)

    def _draw_tool_calls(self, changed: _ToolCall, calls: list[_ToolCall]) -> None:
        self._mark()
        self._live_rows = sum(self._height(call.line) for call in calls)
        block = Group(*(Text(call.line, style=STYLE_TOOL_CALL) for call in calls))
        if self._live is None:
            # Redrawn on each change only: no refresh thread, no flicker between tokens.
            self._live = Live(block, console=self.console, auto_refresh=False, transient=False)
            self._live.start()
        self._live.update(block, refresh=True)

    def _end_tool_calls(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
            self._rows, self._live_rows = self._rows + self._live_rows, 0

    def _error_line(self, text: str) -> None:
        self._line_on_stderr(text, STYLE_ERROR)

    def _line_on_stderr(self, text: str, style: str) -> None:
        self._drawing = None  # on the same screen: it is output no message owns
        self._mark()
        self.err_console.print(Text(text, style=style), soft_wrap=True, markup=False)
        self._rows += self._height(text)


class JsonRenderer:
    """One JSON object per event per line (`client.events.to_json`)."""

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None) -> None:
        """Write events to `out` (stdout by default) and error lines to `err` (stderr)."""
        self.out = out or sys.stdout
        self.err = err or sys.stderr

    def _emit(self, payload: dict[str, Any]) -> None:
        self.out.write(json.dumps(payload, ensure_ascii=False, default=str) + "\n")
        self.out.flush()

    def render(self, event: StreamEvent) -> None:
        """Write the event as a JSON line."""
        self._emit(to_json(event))

    def note(self, text: str) -> None:
        """Write `{"kind": "note", "text": ...}`."""
        self._emit({"kind": "note", "text": text})

    def heading(self, text: str) -> None:
        """Write `{"kind": "heading", "text": ...}`."""
        self._emit({"kind": "heading", "text": text})

    def error(self, message: str) -> None:
        """Write one error line on stderr."""
        self.err.write(f"Error: {one_line(message)}\n")
        self.err.flush()

    def close(self) -> None:
        """Do nothing: every line is complete."""


def make_renderer(
    *,
    json_lines: bool = False,
    out: TextIO | None = None,
    err: TextIO | None = None,
    show_input: bool = False,
    show_run: bool = False,
) -> Renderer:
    """Return the JSON renderer, else the rich one on a terminal, else the plain one."""
    out = out or sys.stdout
    err = err or sys.stderr
    if json_lines:
        return JsonRenderer(out, err)
    if out.isatty():
        return RichRenderer(
            Console(file=out, highlight=False),
            Console(file=err, highlight=False),
            show_input=show_input,
            show_run=show_run,
        )
    return PlainRenderer(out, err, show_input=show_input, show_run=show_run)
