"""`RichRenderer`: live terminal output, tokens typed out and tool calls redrawn in place.

Words wrap at word boundaries (a word shows once the next one starts); a withdrawn
reply still on screen is erased.
"""

from __future__ import annotations

import re

from rich.cells import cell_len
from rich.console import Console, Group
from rich.control import Control
from rich.live import Live
from rich.segment import ControlType
from rich.text import Text

from client.cli.lines import (
    STYLE_DIM,
    STYLE_ERROR,
    STYLE_TOOL_CALL,
    ToolCallLine,
)
from client.cli.transcript import TranscriptRenderer


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

    def _draw_tool_calls(self, changed: ToolCallLine, calls: list[ToolCallLine]) -> None:
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
