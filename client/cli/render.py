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
import sys
from collections.abc import Iterable
from typing import Any, Protocol, TextIO

from rich.console import Console

from client.cli.lines import (
    RETRACTION_NOTICES,
    custom_lines,
    format_tool_call,
    transcript_lines,
)
from client.cli.live import RichRenderer
from client.cli.transcript import PlainRenderer, TranscriptRenderer
from client.errors import one_line
from client.events import (
    StreamEvent,
    to_json,
)

__all__ = [
    "RETRACTION_NOTICES",
    "JsonRenderer",
    "PlainRenderer",
    "Renderer",
    "RichRenderer",
    "TranscriptRenderer",
    "custom_lines",
    "format_tool_call",
    "make_renderer",
    "render_all",
    "transcript_lines",
]


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
