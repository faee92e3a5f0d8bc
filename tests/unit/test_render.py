"""Renderers fed event lists: exact plain text, the rich screen, and JSON lines."""

from __future__ import annotations

import io
import itertools
import json
import re
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from rich.console import Console

from client.cli.render import (
    RETRACTION_NOTICES,
    JsonRenderer,
    PlainRenderer,
    RichRenderer,
    format_tool_call,
    make_renderer,
    render_all,
    transcript_lines,
)
from client.decode import StreamDecoder
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
)

TRANSCRIPTS = Path(__file__).resolve().parents[1] / "fixtures" / "transcripts"
CALL_ID = "call_41487d8fc62260a60f6d3f91"
ANSWER = "The result of multiplying 2 and 3 is 6."
ARGS_PROGRESSION: list[dict[str, int]] = [{}, {"a": 2}, {"a": 2, "b": 3}]

TOOL_LINES = [
    f"Tool Call ID: {CALL_ID}, Function: multiply, Arguments: {{}}",
    f"Tool Call ID: {CALL_ID}, Function: multiply, Arguments: {{'a': 2}}",
    f"Tool Call ID: {CALL_ID}, Function: multiply, Arguments: {{'a': 2, 'b': 3}}",
]
MULTIPLY_TRANSCRIPT = [
    *TOOL_LINES,
    "Finish Reason: tool_calls",
    "Tool Result (multiply): 6",
    f"AI: {ANSWER}",
    "Finish Reason: stop",
]


def multiply_run() -> list[StreamEvent]:
    """Return the events of "Multiply 2 and 3" to `agent`, as a decoder yields them."""
    tool_call = {"id": CALL_ID, "name": "multiply", "args": {"a": 2, "b": 3}}
    tokens = ["The", " result", " of", " multiplying", " 2", " and", " 3", " is", " 6."]
    return [
        RunStarted("run-1", "thread-1", 1),
        MessageStarted("ai-1", "ai", "assistant"),
        ToolCallProgress("ai-1", 0, CALL_ID, "multiply", {}, "assistant"),
        ToolCallProgress("ai-1", 0, None, None, {"a": 2}, "assistant"),
        ToolCallProgress("ai-1", 0, None, None, {"a": 2, "b": 3}, "assistant"),
        MessageFinished(
            "ai-1", AIMessage(content="", tool_calls=[tool_call]), "tool_calls", None, "assistant"
        ),
        MessageStarted("tool-1", "tool", "tools"),
        TextDelta("tool-1", "6", "tools"),
        MessageFinished(
            "tool-1", ToolMessage(content="6", tool_call_id=CALL_ID, name="multiply"), None
        ),
        MessageStarted("ai-2", "ai", "assistant"),
        *(TextDelta("ai-2", token, "assistant") for token in tokens),
        MessageFinished("ai-2", AIMessage(content=ANSWER), "stop", None, "assistant"),
        RunEnded("run-1", "success"),
    ]


def plain(events: list[StreamEvent], **options: bool) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    render_all(PlainRenderer(out, err, **options), events)
    return out.getvalue(), err.getvalue()


_CSI = re.compile(r"\x1b\[(\??)([\d;]*)([A-Za-z])")


def screen(raw: str) -> list[str]:
    """Return the lines a terminal shows after `raw`: CR, LF, erase line, cursor up."""
    lines, row, col = [""], 0, 0
    position = 0
    while position < len(raw):
        if match := _CSI.match(raw, position):
            private, number, command = match.groups()
            count = int(number) if number.isdigit() else 1
            if not private and command == "A":
                row, col = max(row - count, 0), 0
            elif not private and command == "K":
                lines[row] = lines[row][:col] if number in ("", "0") else ""
            position = match.end()
            continue
        char = raw[position]
        if char == "\r":
            col = 0
        elif char == "\n":
            row, col = row + 1, 0
            if row == len(lines):
                lines.append("")
        else:
            line = lines[row].ljust(col)
            lines[row] = line[:col] + char + line[col + 1 :]
            col += 1
        position += 1
    return lines[:-1] if lines[-1] == "" else lines


def rich_output(events: list[StreamEvent]) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, color_system=None)
    err_console = Console(file=err, force_terminal=True, width=120, color_system=None)
    render_all(RichRenderer(console, err_console), events)
    return out.getvalue(), err.getvalue()


# -- plain -------------------------------------------------------------------------


def test_plain_prints_the_tutorial_transcript_exactly() -> None:
    out, err = plain(multiply_run())
    assert out == "\n".join(MULTIPLY_TRANSCRIPT) + "\n"
    assert err == ""
    assert "\x1b" not in out


def test_plain_appends_tokens_as_they_come() -> None:
    out = io.StringIO()
    renderer = PlainRenderer(out, io.StringIO())
    seen: list[str] = []
    for event in multiply_run():
        renderer.render(event)
        seen.append(out.getvalue())
    answer_states = [
        s.rsplit("AI: ", 1)[1] for s in seen if "AI: " in s and "Finish Reason: stop" not in s
    ]
    assert answer_states[0] == "The"
    assert answer_states[-1] == ANSWER
    assert all(b.startswith(a) for a, b in itertools.pairwise(answer_states))


def test_plain_shows_input_and_run_id_when_asked() -> None:
    events: list[StreamEvent] = [
        RunStarted("run-1", "thread-1"),
        MessageStarted("h-1", "human"),
        TextDelta("h-1", "hi! I'm Lance"),
        MessageFinished("h-1", HumanMessage(content="hi! I'm Lance")),
        RunEnded("run-1"),
    ]
    assert plain(events)[0] == ""
    out, _ = plain(events, show_input=True, show_run=True)
    assert out == "Run ID: run-1\nHuman: hi! I'm Lance\n"


def test_plain_labels_output_of_nodes_other_than_the_main_one() -> None:
    events: list[StreamEvent] = [
        MessageStarted("ai-1", "ai", "conversation"),
        TextDelta("ai-1", "Hi Lance!", "conversation"),
        MessageFinished("ai-1", AIMessage(content="Hi Lance!"), "stop", None, "conversation"),
        NodeUpdate("conversation", {"messages": [{"type": "ai", "content": "Hi Lance!"}]}),
        NodeUpdate(
            "summarize_conversation",
            {"summary": "The user's name is Lance.", "messages": [{"type": "remove", "id": "x"}]},
        ),
        MessageStarted("ai-2", "ai", "summarize_conversation"),
        TextDelta("ai-2", "streamed summary", "summarize_conversation"),
        MessageFinished("ai-2", AIMessage(content="streamed summary"), "stop"),
        RunEnded("run-1"),
    ]
    assert plain(events)[0] == (
        "AI: Hi Lance!\n"
        "Finish Reason: stop\n"
        "[summarize_conversation] Summary: The user's name is Lance.\n"
        "[summarize_conversation] AI: streamed summary\n"
        "Finish Reason: stop\n"
    )


def test_plain_shows_a_summary_that_changed_in_values_mode_once() -> None:
    events: list[StreamEvent] = [
        StateValues({"messages": [], "summary": "old"}),
        StateValues({"messages": [], "summary": "old"}),
        StateValues({"messages": [], "summary": "new"}),
        NodeUpdate("summarize_conversation", {"summary": "new"}),
    ]
    assert plain(events)[0] == "[summary] Summary: new\n"


def test_plain_run_endings_errors_and_extras() -> None:
    events: list[StreamEvent] = [
        MessageStarted("ai-1", "ai", "conversation"),
        TextDelta("ai-1", "1 2", "conversation"),
        StreamResumed("run-1", "42-0", 1),
        TextDelta("ai-1", " 3", "conversation"),
        CustomEvent({"progress": 1}),
        RunError("model failed:\nrate limited"),
        RunEnded("run-1", "cancelled"),
    ]
    out, err = plain(events)
    # stdout is the transcript: the resume is a diagnostic, on stderr, and the reply
    # goes on as if the connection had never dropped.
    assert out == "AI: 1 2 3\nCustom (progress): 1\n(cancelled)\n"
    assert err == (
        "(connection dropped; resumed after event 42-0)\nError: model failed: rate limited\n"
    )


def test_plain_transcript_of_a_resumed_run_is_the_uncut_one() -> None:
    uncut = multiply_run()
    answer = uncut.index(MessageStarted("ai-2", "ai", "assistant"))
    # Cut inside the tool call, between the tool result and the answer, and mid-answer.
    cut = [*uncut]
    for position in (answer + 4, answer, 3):
        cut.insert(position, StreamResumed("run-1", f"{position}-0", 1))

    out, err = plain(cut)

    assert out == plain(uncut)[0] == "\n".join(MULTIPLY_TRANSCRIPT) + "\n"
    assert err.splitlines() == [
        "(connection dropped; resumed after event 3-0)",
        f"(connection dropped; resumed after event {answer}-0)",
        f"(connection dropped; resumed after event {answer + 4}-0)",
    ]


def test_custom_events_render_as_one_readable_line_per_key() -> None:
    events: list[StreamEvent] = [
        CustomEvent({"summarization": {"status": "started", "trigger": "messages", "messages": 8}}),
        CustomEvent({"summarization": {"status": "done", "removed": 6, "kept": 2}}),
        CustomEvent({"progress": 0.5, "stage": "search"}),
        CustomEvent("plain text\nover two lines"),
        CustomEvent([1, 2]),
    ]
    out, err = plain(events)
    assert out.splitlines() == [
        "Custom (summarization): status=started, trigger=messages, messages=8",
        "Custom (summarization): status=done, removed=6, kept=2",
        "Custom (progress): 0.5",
        "Custom (stage): search",
        "Custom: plain text over two lines",
        "Custom: [1, 2]",
    ]
    assert err == ""
    raw, _ = rich_output(events)
    assert screen(raw) == out.splitlines()


def test_plain_prints_tool_calls_of_a_whole_message() -> None:
    tool_call = {"id": CALL_ID, "name": "multiply", "args": {"a": 2, "b": 3}}
    events: list[StreamEvent] = [
        MessageStarted("ai-1", "ai", "assistant"),
        MessageFinished("ai-1", AIMessage(content="", tool_calls=[tool_call]), "tool_calls"),
    ]
    assert plain(events)[0] == f"{TOOL_LINES[-1]}\nFinish Reason: tool_calls\n"


@pytest.mark.parametrize(
    ("transcript", "expected"),
    [
        ("agent_messages", MULTIPLY_TRANSCRIPT),
        ("agent_messages_tuple", MULTIPLY_TRANSCRIPT),
        ("agent_values", ["Human: Multiply 2 and 3", *MULTIPLY_TRANSCRIPT[2:]]),
        ("agent_updates", MULTIPLY_TRANSCRIPT[2:]),
    ],
)
def test_recorded_streams_render_the_same_in_every_mode(
    transcript: str, expected: list[str]
) -> None:
    decoder = StreamDecoder(thread_id="thread-1")
    events: list[StreamEvent] = []
    for line in (TRANSCRIPTS / f"{transcript}.jsonl").read_text().splitlines():
        part = json.loads(line)
        events += decoder.feed((part["event"], part["data"], part["id"]))
    events += decoder.finish()
    out, err = plain(events, show_input=True)
    assert out.splitlines() == expected
    assert err == ""


# -- rich --------------------------------------------------------------------------


def test_rich_redraws_the_tool_call_line_in_place() -> None:
    raw, err = rich_output(multiply_run())
    assert screen(raw) == [TOOL_LINES[-1], *MULTIPLY_TRANSCRIPT[3:]]
    # Each argument state was drawn, each over the previous one.
    for line in TOOL_LINES:
        assert line in raw
    assert raw.count("\r\x1b[2K") >= len(TOOL_LINES) - 1
    assert err == ""


def test_rich_types_tokens_without_newlines() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, color_system=None)
    renderer = RichRenderer(console, console)
    events = multiply_run()
    answer_start = events.index(MessageStarted("ai-2", "ai", "assistant"))
    for event in events[: answer_start + 3]:
        renderer.render(event)
    # A word shows once the next token starts another: " result" may still go on.
    assert screen(out.getvalue())[-2:] == ["Tool Result (multiply): 6", "AI: The"]
    renderer.render(events[answer_start + 3])
    assert screen(out.getvalue())[-2:] == ["Tool Result (multiply): 6", "AI: The result"]
    assert not out.getvalue().endswith("\n")


def test_rich_wraps_streamed_text_at_word_boundaries() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=20, color_system=None)
    renderer = RichRenderer(console, Console(file=io.StringIO()))
    words = "one two three four five six seven eight nine ten eleven twelve"
    # Tokens as a model sends them, some splitting a word, one longer than the width.
    tokens = ["one", " two", " thr", "ee", " four five", " six", " sev", "en eight", " nine "]
    tokens += ["ten", " eleven", " twelve", " supercalifragilistic", "expialidocious", " end"]
    events: list[StreamEvent] = [MessageStarted("ai-1", "ai", "n")]
    events += [TextDelta("ai-1", token, "n") for token in tokens]
    events.append(RunEnded("run-1"))
    render_all(renderer, events)

    assert "".join(tokens).startswith(words)
    assert screen(out.getvalue()) == [
        "AI: one two three",
        "four five six seven",
        "eight nine ten",
        # Folded where the line ends, as `textwrap` folds a word longer than a line.
        "eleven twelve superc",
        "alifragilisticexpial",
        "idocious end",
    ]


def test_rich_shows_a_resume_inline_and_goes_on_with_the_reply() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=40, color_system=None)
    err = io.StringIO()
    renderer = RichRenderer(console, Console(file=err, force_terminal=True, color_system=None))
    render_all(
        renderer,
        [
            MessageStarted("ai-1", "ai", "n"),
            TextDelta("ai-1", "w0 w1", "n"),
            StreamResumed("run-1", "7-0", 1),
            TextDelta("ai-1", " w2 w3", "n"),
            RunEnded("run-1"),
        ],
    )
    # On a terminal stdout and stderr share the screen: the notice shows between the
    # two halves of the reply, which goes on with no second label.
    assert screen(out.getvalue()) == ["AI: w0", "w1 w2 w3"]
    assert screen(err.getvalue()) == ["(connection dropped; resumed after event 7-0)"]


def test_rich_error_is_one_red_line_on_stderr() -> None:
    err = io.StringIO()
    err_console = Console(file=err, force_terminal=True, width=20, color_system="standard")
    renderer = RichRenderer(Console(file=io.StringIO()), err_console)
    renderer.render(RunError("the model is unreachable: connection refused by the upstream server"))
    text = err.getvalue()
    assert text.count("\n") == 1
    assert "\x1b[1;31m" in text  # bold red
    assert "Error: the model is unreachable: connection refused by the upstream server" in text


def test_rich_labels_the_summarizer() -> None:
    events: list[StreamEvent] = [
        MessageStarted("ai-1", "ai", "conversation"),
        TextDelta("ai-1", "Hi!", "conversation"),
        MessageFinished("ai-1", AIMessage(content="Hi!"), "stop", None, "conversation"),
        NodeUpdate("summarize_conversation", {"summary": "Lance said hi."}),
        RunEnded("run-1"),
    ]
    raw, _ = rich_output(events)
    assert screen(raw) == [
        "AI: Hi!",
        "Finish Reason: stop",
        "[summarize_conversation] Summary: Lance said hi.",
    ]


# -- JSON lines --------------------------------------------------------------------


def test_json_lines_one_object_per_event() -> None:
    out, err = io.StringIO(), io.StringIO()
    renderer = JsonRenderer(out, err)
    render_all(renderer, multiply_run())
    renderer.note("done")
    renderer.error("boom")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["kind"] for line in lines[:6]] == [
        "run_started",
        "message_started",
        "tool_call_progress",
        "tool_call_progress",
        "tool_call_progress",
        "message_finished",
    ]
    assert [line["args"] for line in lines if line["kind"] == "tool_call_progress"] == (
        ARGS_PROGRESSION
    )
    assert lines[-2] == {"run_id": "run-1", "status": "success", "kind": "run_ended"}
    assert lines[-1] == {"kind": "note", "text": "done"}
    assert lines[5]["message"]["tool_calls"][0]["args"] == {"a": 2, "b": 3}
    assert err.getvalue() == "Error: boom\n"


# -- helpers -----------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_make_renderer_picks_by_output() -> None:
    assert isinstance(make_renderer(json_lines=True, out=_Terminal()), JsonRenderer)
    assert isinstance(make_renderer(out=_Terminal()), RichRenderer)
    assert isinstance(make_renderer(out=io.StringIO()), PlainRenderer)


def test_transcript_lines_match_live_output() -> None:
    tool_call = {"id": CALL_ID, "name": "multiply", "args": {"a": 2, "b": 3}}
    messages = [
        HumanMessage(content="Multiply 2 and 3"),
        AIMessage(content="", tool_calls=[tool_call]),
        ToolMessage(content="6", tool_call_id=CALL_ID, name="multiply"),
        AIMessage(content=ANSWER),
    ]
    assert transcript_lines(messages, "Lance multiplied.") == [
        "Human: Multiply 2 and 3",
        TOOL_LINES[-1],
        "Tool Result (multiply): 6",
        f"AI: {ANSWER}",
        "Summary: Lance multiplied.",
    ]
    assert format_tool_call("c", "add", {}) == "Tool Call ID: c, Function: add, Arguments: {}"


def test_rich_folds_a_word_of_wide_characters_by_cells() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=10, color_system=None)
    renderer = RichRenderer(console, Console(file=io.StringIO()))
    render_all(
        renderer,
        [MessageStarted("ai-1", "ai", "n"), TextDelta("ai-1", "日本語のテキストです", "n")],
    )
    # Each of these characters takes two cells: three fit after "AI: ", five a line.
    assert screen(out.getvalue()) == ["AI: 日本語", "のテキスト", "です"]


# -- withdrawn messages (`ReplyRetracted`) -----------------------------------------


def restarted_run() -> list[StreamEvent]:
    """A run whose first attempt died mid-reply; the retry answers in full."""
    return [
        RunStarted("run-1", attempt=1),
        MessageStarted("m1", "ai", "assistant"),
        TextDelta("m1", "1 2", "assistant"),
        TextDelta("m1", " 3", "assistant"),
        RunStarted("run-1", attempt=1),
        ReplyRetracted("run-1", ("m1",)),
        MessageStarted("m2", "ai", "assistant"),
        TextDelta("m2", "1 2 3 4", "assistant"),
        MessageFinished("m2", AIMessage(content="1 2 3 4", id="m2"), "stop", None, "assistant"),
        RunEnded("run-1"),
    ]


def test_plain_ends_a_withdrawn_partial_line_and_says_so_on_stderr() -> None:
    out, err = plain(restarted_run())
    assert out == "AI: 1 2 3\nAI: 1 2 3 4\nFinish Reason: stop\n"
    assert err == RETRACTION_NOTICES["run_restarted"] + "\n"


def test_rich_erases_a_withdrawn_partial_reply() -> None:
    out, err = rich_output(restarted_run())
    assert screen(out) == ["AI: 1 2 3 4", "Finish Reason: stop"]
    assert err == ""


def test_rich_erases_a_withdrawn_tool_call_block_and_wrapped_lines() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=12, color_system=None)
    renderer = RichRenderer(console, Console(file=io.StringIO()))
    events: list[StreamEvent] = [
        MessageStarted("m1", "ai", "assistant"),
        TextDelta("m1", "one two three four five", "assistant"),
        ToolCallProgress("m1", 0, "c1", "multiply", {"a": 2}),
        ReplyRetracted("run-1", ("m1",)),
        MessageStarted("m2", "ai", "assistant"),
        TextDelta("m2", "six", "assistant"),
        RunEnded("run-1"),
    ]
    render_all(renderer, events)
    shown = screen(out.getvalue())
    assert shown[0] == "AI: six" and not "".join(shown[1:])  # rows below left blank


def test_rich_keeps_what_later_messages_drew_and_says_so_instead() -> None:
    tool = ToolMessage(content="6", id="t1", tool_call_id="c1", name="multiply")
    events: list[StreamEvent] = [
        MessageStarted("m1", "ai", "assistant"),
        TextDelta("m1", "partial", "assistant"),
        MessageStarted("t1", "tool"),
        MessageFinished("t1", tool),
        ReplyRetracted("run-1", ("m1",), "corrected"),
        RunEnded("run-1"),
    ]
    out, err = rich_output(events)
    assert screen(out) == ["AI: partial", "Tool Result (multiply): 6"]
    assert screen(err) == [RETRACTION_NOTICES["corrected"]]


def test_json_keeps_the_retraction_as_an_event() -> None:
    out = io.StringIO()
    render_all(JsonRenderer(out), [ReplyRetracted("run-1", ("m1",))])
    assert json.loads(out.getvalue()) == {
        "run_id": "run-1",
        "message_ids": ["m1"],
        "reason": "run_restarted",
        "kind": "reply_retracted",
    }
