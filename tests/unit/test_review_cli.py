"""Tool-call review in `lgchat`: `send` exits 6, `resume` answers, `chat` asks at the prompt.

The CLI runs in-process (`client.cli.app.main`) with `--local` and a temporary data
directory, so a `send` and the `resume` after it share their SQLite threads as two
processes would; the chat's stdin is a pipe (a `StringIO` in-process, and once a real
subprocess). `review_calls` makes the offline model call two tools at once
(`PARALLEL`) or one after the other (`CHAIN`); "2 + 3" is one call of `add`.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, ToolMessage

from client.approval import Approve, Edit, Reject
from client.cli import app as cli
from client.cli.exit_codes import EXIT_NEEDS_DECISION, EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE
from client.cli.graphs import project_graphs
from client.cli.parser import build_parser
from client.cli.review import (
    ask_decisions,
    call_text,
    continue_commands,
    flag_decisions,
    interrupt_lines,
)
from client.cli.transcript import PlainRenderer
from client.errors import InvalidInput
from client.events import (
    ActionRequest,
    Interrupted,
    MessageFinished,
    MessageStarted,
    StreamEvent,
    TextDelta,
)
from client.local.runtime import DATA_DIR_ENV, DB_NAME, LocalRuntime
from client.threads import conversation_thread_id
from client.values import ThreadSnapshot
from tests.unit.test_approval_graph import (  # the fixture, for this module too
    CHAIN,
    PARALLEL,
    scripted_plans,  # noqa: F401
)

LGCHAT = Path(sys.executable).with_name("lgchat")
REVIEW = '{"approve_tools": true}'
THREAD = conversation_thread_id("ada", "default", "agent")
NOT_A_NUMBER = (
    "decision 1 (add): a: Input should be a valid number, unable to parse string as a number"
)
ADD = ActionRequest("add", {"a": 2, "b": 3})
DESCRIPTION = 'Tool execution requires approval\n\nTool: add\nArgs: {"a": 2, "b": 3}'
MULTIPLY = ActionRequest("multiply", {"a": 4, "b": 5})


def lgchat(capsys: pytest.CaptureFixture[str], data_dir: Path, *args: str) -> tuple[int, str, str]:
    """Run `lgchat --local --data-dir DATA_DIR ARGS` in-process; return code, stdout, stderr."""
    code = cli.main(["--local", "--data-dir", str(data_dir), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def send(capsys: pytest.CaptureFixture[str], data_dir: Path, text: str = "2 + 3") -> str:
    """Send `text` with tool review on; return its stdout, checking it stopped for review."""
    code, out, err = lgchat(capsys, data_dir, "send", "--user", "ada", "--context", REVIEW, text)
    assert code == EXIT_NEEDS_DECISION, err
    return out


def snapshot(data_dir: Path, thread_id: str = THREAD) -> ThreadSnapshot:
    """Return a local thread's state, read as another process would."""

    async def read() -> ThreadSnapshot:
        async with LocalRuntime(data_dir, graphs=project_graphs()) as runtime:
            session = await runtime.session("agent", thread_id=thread_id)
            state = await session.state()
            assert state is not None
            return state

    return asyncio.run(read())


def first_call_id(data_dir: Path) -> str:
    """Return the id of the thread's (first) tool call, which the offline model derives."""
    call = snapshot(data_dir).messages[1]
    assert isinstance(call, AIMessage) and len(call.tool_calls) == 1
    return str(call.tool_calls[0]["id"])


def call_lines(call_id: str, name: str, *args: str) -> list[str]:
    return [f"Tool Call ID: {call_id}, Function: {name}, Arguments: {a}" for a in args]


def continuation(edits: str, thread_id: str = THREAD) -> list[str]:
    prefix = f"lgchat --local resume {thread_id}"
    return [
        "lgchat: the run waits for your review; continue with one of:",
        f"  {prefix} --approve",
        f'  {prefix} --reject "reason"',
        f"  {prefix} {edits}",
    ]


def lines(*items: str | Sequence[str]) -> str:
    flat = [line for item in items for line in ([item] if isinstance(item, str) else item)]
    return "".join(f"{line}\n" for line in flat)


GROWING_ADD = ("{}", "{'a': 2}", "{'a': 2, 'b': 3}")


# --- lgchat send ---------------------------------------------------------------------


def test_send_stops_at_the_review_and_says_how_to_continue(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = lgchat(capsys, tmp_path, "send", "--user", "ada", "--context", REVIEW, "2 + 3")
    assert code == EXIT_NEEDS_DECISION == 6
    call_id = first_call_id(tmp_path)
    assert out == lines(
        call_lines(call_id, "add", *GROWING_ADD),
        "Finish Reason: tool_calls",
        'Waiting for approval: add {"a": 2, "b": 3}',
        f"Thread: {THREAD}",
    )
    assert err == lines(continuation("""--edit '{"a": 2, "b": 3}'"""))
    (interrupt,) = snapshot(tmp_path).interrupts
    assert (interrupt.requests, interrupt.error) == ((replace(ADD, description=DESCRIPTION),), None)


def test_send_without_review_runs_the_tools_and_exits_0(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = lgchat(capsys, tmp_path, "send", "--user", "ada", "2 + 3")
    assert (code, err) == (EXIT_OK, "")
    assert out.endswith(
        lines(
            "Tool Result (add): 5",
            "AI: The result of adding 2 and 3 is 5.",
            "Finish Reason: stop",
            f"Thread: {THREAD}",
        )
    )


def test_send_json_reports_the_interrupt_as_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = lgchat(
        capsys, tmp_path, "--json", "send", "--user", "ada", "--context", REVIEW, "2 + 3"
    )
    assert code == EXIT_NEEDS_DECISION
    assert err == lines(continuation("""--edit '{"a": 2, "b": 3}'"""))
    events = [json.loads(line) for line in out.splitlines()]
    interrupt = snapshot(tmp_path).interrupts[0]
    assert [e for e in events if e["kind"] == "interrupted"] == [
        {
            "interrupt_id": interrupt.interrupt_id,
            "value": {
                "action_requests": [
                    {"name": "add", "args": {"a": 2, "b": 3}, "description": DESCRIPTION}
                ],
                "review_configs": [
                    {"action_name": "add", "allowed_decisions": ["approve", "edit", "reject"]}
                ],
            },
            "requests": [
                {
                    "name": "add",
                    "args": {"a": 2, "b": 3},
                    "description": DESCRIPTION,
                    "allowed_decisions": ["approve", "edit", "reject"],
                }
            ],
            "error": None,
            "namespace": [],
            "kind": "interrupted",
        }
    ]
    assert events[-2]["kind"] == "interrupted"
    assert events[-1] == {
        "run_id": events[0]["run_id"],
        "status": "interrupted",
        "kind": "run_ended",
    }


def test_every_stream_mode_reports_the_review(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # `custom` mode streams no message at all; the review is still said, and resumed.
    code, out, err = lgchat(
        capsys, tmp_path, "send", "--user", "ada", "--mode", "custom", "--context", REVIEW, "2 + 3"
    )
    assert code == EXIT_NEEDS_DECISION
    assert out == lines('Waiting for approval: add {"a": 2, "b": 3}', f"Thread: {THREAD}")
    assert err == lines(continuation("""--edit '{"a": 2, "b": 3}'"""))
    code, out, err = lgchat(capsys, tmp_path, "resume", THREAD, "--mode", "values", "--approve")
    assert (code, err) == (EXIT_OK, "")
    assert out == lines(
        "Tool Result (add): 5",
        "AI: The result of adding 2 and 3 is 5.",
        "Finish Reason: stop",
        f"Thread: {THREAD}",
    )


# --- lgchat resume -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (
            ["--approve"],
            [
                "Tool Result (add): 5",
                "AI: The result of adding 2 and 3 is 5.",
                "Finish Reason: stop",
            ],
        ),
        (
            ["--reject", "no"],
            [
                "Tool Result (add): no",
                "AI: I couldn't finish adding 2 and 3: no.",
                "Finish Reason: stop",
            ],
        ),
        (
            ["--edit", '{"a": 2, "b": 4}'],
            [
                "{call_add_2_4}",
                "Finish Reason: tool_calls",
                "Tool Result (add): 6",
                # Not `[assistant] AI: ...`: the edited call re-sent by `review_tools`
                # has no text, so it does not make that node the main one.
                "AI: The result of adding 2 and 4 is 6.",
                "Finish Reason: stop",
            ],
        ),
    ],
    ids=["approve", "reject", "edit"],
)
def test_resume_answers_the_review_and_streams_the_rest_of_the_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, flags: list[str], expected: list[str]
) -> None:
    send(capsys, tmp_path)
    call_id = first_call_id(tmp_path)
    code, out, err = lgchat(capsys, tmp_path, "resume", THREAD, *flags)
    assert (code, err) == (EXIT_OK, "")
    edited = call_lines(call_id, "add", "{'a': 2, 'b': 4}")[0]
    assert out == lines(
        [line.replace("{call_add_2_4}", edited) for line in expected], f"Thread: {THREAD}"
    )
    state = snapshot(tmp_path)
    assert state.interrupts == ()
    # The thread is done with the review: nothing is left to resume.
    code, out, err = lgchat(capsys, tmp_path, "resume", THREAD, "--approve")
    assert (code, out) == (EXIT_USAGE, "")
    assert err == (
        f"lgchat: error: thread {THREAD} is not waiting for a decision; nothing to resume\n"
    )


def test_a_refused_edit_exits_2_and_the_review_stays_pending(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    send(capsys, tmp_path)
    code, out, err = lgchat(capsys, tmp_path, "resume", THREAD, "--edit", '{"a": "x"}')
    assert code == EXIT_USAGE
    assert out == lines('Waiting for approval: add {"a": 2, "b": 3}', f"Thread: {THREAD}")
    assert err == lines(
        f"lgchat: error: {NOT_A_NUMBER}", continuation("""--edit '{"a": 2, "b": 3}'""")
    )
    state = snapshot(tmp_path)
    assert [(i.requests[0].args, i.error) for i in state.interrupts] == [
        ({"a": 2, "b": 3}, NOT_A_NUMBER)
    ]
    assert len(state.messages) == 2  # nothing ran
    code, out, err = lgchat(capsys, tmp_path, "resume", THREAD, "--approve")
    assert (code, err) == (EXIT_OK, "")
    assert "AI: The result of adding 2 and 3 is 5.\n" in out


def test_resume_json_reports_the_refusal_in_the_interrupted_event(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    send(capsys, tmp_path)
    code, out, err = lgchat(capsys, tmp_path, "--json", "resume", THREAD, "--edit", '{"b": 4}')
    assert code == EXIT_USAGE
    error = "decision 1 (add): a: Field required"
    assert err.splitlines()[0] == f"lgchat: error: {error}"
    events = [json.loads(line) for line in out.splitlines()]
    assert [e["kind"] for e in events] == ["run_started", "interrupted", "run_ended"]
    interrupted = events[1]
    assert (interrupted["error"], interrupted["value"]["error"]) == (error, error)
    assert [(r["name"], r["args"]) for r in interrupted["requests"]] == [("add", {"a": 2, "b": 3})]
    assert interrupted["interrupt_id"] == snapshot(tmp_path).interrupts[0].interrupt_id


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ([], "say what to do: --approve, --reject [REASON] or --edit JSON"),
        (
            ["--approve", "--approve"],
            "1 tool call(s) wait for review; give one decision each, in order (2 given)",
        ),
    ],
)
def test_resume_without_one_decision_per_call_exits_2_and_sends_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, flags: list[str], message: str
) -> None:
    send(capsys, tmp_path)
    before = snapshot(tmp_path)
    code, out, err = lgchat(capsys, tmp_path, "resume", THREAD, *flags)
    assert (code, out, err) == (EXIT_USAGE, "", f"lgchat: error: {message}\n")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("not json", "not JSON: Expecting value: line 1 column 1 (char 0)"),
        ("[2, 4]", "must be a JSON object, got '[2, 4]'"),
    ],
)
def test_resume_edit_that_is_no_json_object_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, value: str, problem: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--local", "--data-dir", str(tmp_path), "resume", THREAD, "--edit", value])
    assert exited.value.code == EXIT_USAGE
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("usage: lgchat resume ")
    last = captured.err.splitlines()[-1]
    assert last == f"lgchat resume: error: argument --edit: {problem}"


def test_resume_of_a_thread_that_waits_for_nothing_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, _ = lgchat(capsys, tmp_path, "send", "--user", "ada", "2 + 3")
    assert code == EXIT_OK
    code, out, err = lgchat(capsys, tmp_path, "resume", THREAD, "--approve")
    assert (code, out) == (EXIT_USAGE, "")
    assert err == (
        f"lgchat: error: thread {THREAD} is not waiting for a decision; nothing to resume\n"
    )
    unknown = conversation_thread_id("nobody", "default", "agent")
    code, out, err = lgchat(capsys, tmp_path, "resume", unknown, "--approve")
    assert (code, out) == (EXIT_NOT_FOUND, "")
    assert err == (
        f"lgchat: error: no thread '{unknown}' on this server (not in {tmp_path / DB_NAME})\n"
    )


# --- parallel calls: one flag per call, in order ---------------------------------------


@pytest.mark.usefixtures("scripted_plans")
def test_send_lists_every_parallel_call_and_an_edit_flag_for_each(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = lgchat(
        capsys, tmp_path, "send", "--user", "ada", "--context", REVIEW, PARALLEL
    )
    assert code == EXIT_NEEDS_DECISION
    assert out == lines(
        call_lines("call_add", "add", *GROWING_ADD),
        call_lines("call_multiply", "multiply", "{}", "{'a': 4}", "{'a': 4, 'b': 5}"),
        "Finish Reason: tool_calls",
        'Waiting for approval: add {"a": 2, "b": 3}',
        'Waiting for approval: multiply {"a": 4, "b": 5}',
        f"Thread: {THREAD}",
    )
    assert err == lines(continuation("""--edit '{"a": 2, "b": 3}' --edit '{"a": 4, "b": 5}'"""))


@pytest.mark.usefixtures("scripted_plans")
@pytest.mark.parametrize(
    ("flags", "results"),
    [
        (["--approve"], {"call_add": ("5", "success"), "call_multiply": ("20", "success")}),
        (["--reject", "no"], {"call_add": ("no", "error"), "call_multiply": ("no", "error")}),
        (
            ["--reject", "no", "--edit", '{"a": 1, "b": 1}'],
            {"call_add": ("no", "error"), "call_multiply": ("1", "success")},
        ),
        (
            ["--edit", '{"a": 2, "b": 4}', "--approve"],
            {"call_add": ("6", "success"), "call_multiply": ("20", "success")},
        ),
    ],
    ids=["one-approve-for-all", "one-reject-for-all", "reject-then-edit", "edit-then-approve"],
)
def test_resume_flags_answer_the_parallel_calls_in_order(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    flags: list[str],
    results: dict[str, tuple[str, str]],
) -> None:
    send(capsys, tmp_path, PARALLEL)
    code, out, err = lgchat(capsys, tmp_path, "resume", THREAD, *flags)
    assert (code, err) == (EXIT_OK, "")
    messages = snapshot(tmp_path).messages
    found = {m.tool_call_id: (m.text, m.status) for m in messages if isinstance(m, ToolMessage)}
    assert found == results
    for call_id, (text, _) in results.items():
        name = "add" if call_id == "call_add" else "multiply"
        assert f"Tool Result ({name}): {text}\n" in out


@pytest.mark.usefixtures("scripted_plans")
def test_an_edit_and_a_reject_of_parallel_calls(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    send(capsys, tmp_path, PARALLEL)
    code, out, err = lgchat(
        capsys, tmp_path, "resume", THREAD, "--edit", '{"a": 2, "b": 4}', "--reject", "no"
    )
    assert (code, err) == (EXIT_OK, "")
    answer = "I couldn't finish multiplying 4 and 5: no. The result of adding 2 and 4 is 6."
    assert set(out.splitlines()) == {
        call_lines("call_add", "add", "{'a': 2, 'b': 4}")[0],
        call_lines("call_multiply", "multiply", "{'a': 4, 'b': 5}")[0],
        "Finish Reason: tool_calls",
        "Tool Result (multiply): no",
        "Tool Result (add): 6",
        f"AI: {answer}",
        "Finish Reason: stop",
        f"Thread: {THREAD}",
    }
    calls = snapshot(tmp_path).messages[1]
    assert isinstance(calls, AIMessage)
    assert [(c["name"], c["args"]) for c in calls.tool_calls] == [
        ("add", {"a": 2, "b": 4}),
        ("multiply", {"a": 4, "b": 5}),
    ]


@pytest.mark.usefixtures("scripted_plans")
def test_the_edited_call_is_printed_before_the_results_that_answer_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # The thread holds the edited call, then the rejection, then the tool's result;
    # the transcript should read in that order, not show a result before its call.
    send(capsys, tmp_path, PARALLEL)
    code, out, _ = lgchat(
        capsys, tmp_path, "resume", THREAD, "--edit", '{"a": 2, "b": 4}', "--reject", "no"
    )
    assert code == EXIT_OK
    assert out == lines(
        call_lines("call_add", "add", "{'a': 2, 'b': 4}"),
        call_lines("call_multiply", "multiply", "{'a': 4, 'b': 5}"),
        "Finish Reason: tool_calls",
        "Tool Result (multiply): no",
        "Tool Result (add): 6",
        "AI: I couldn't finish multiplying 4 and 5: no. The result of adding 2 and 4 is 6.",
        "Finish Reason: stop",
        f"Thread: {THREAD}",
    )


@pytest.mark.usefixtures("scripted_plans")
def test_one_edit_for_two_calls_is_refused_before_the_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    send(capsys, tmp_path, PARALLEL)
    code, out, err = lgchat(capsys, tmp_path, "resume", THREAD, "--edit", '{"a": 1, "b": 1}')
    assert (code, out) == (EXIT_USAGE, "")
    assert err == (
        "lgchat: error: 2 tool call(s) wait for review; give one decision each, in order "
        "(1 given)\n"
    )
    assert len(snapshot(tmp_path).interrupts[0].requests) == 2


@pytest.mark.usefixtures("scripted_plans")
def test_resume_keeps_reviewing_the_runs_later_calls(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # `lgchat resume` reuses the interrupted run's context (`approve_tools`), so the
    # call the model makes after the approved one stops for review too.
    send(capsys, tmp_path, CHAIN)
    code, out, err = lgchat(capsys, tmp_path, "resume", THREAD, "--approve")
    assert code == EXIT_NEEDS_DECISION, out
    assert out.splitlines()[-2:] == [
        'Waiting for approval: multiply {"a": 5, "b": 4}',
        f"Thread: {THREAD}",
    ]
    assert err == lines(continuation("""--edit '{"a": 5, "b": 4}'"""))


# --- the pieces: flags, prompts, commands ----------------------------------------------


def test_the_parser_keeps_decision_flags_in_order() -> None:
    args = build_parser().parse_args(
        ["resume", THREAD, "--edit", '{"a": 1}', "--reject", "--approve", "--reject", "why"]
    )
    assert args.decisions == [
        ("edit", {"a": 1}),
        ("reject", None),
        ("approve", []),  # `nargs=0`: an empty list, which `flag_decisions` ignores
        ("reject", "why"),
    ]
    assert flag_decisions(args.decisions, Interrupted("i", {}, (ADD,) * 4)) == [
        Edit({"a": 1}),
        Reject(None),
        Approve(),
        Reject("why"),
    ]
    assert build_parser().parse_args(["resume", THREAD]).decisions == []


@pytest.mark.parametrize(
    ("flags", "requests", "decisions"),
    [
        ([("approve", None)], [ADD], [Approve()]),
        ([("approve", None)], [ADD, MULTIPLY], [Approve(), Approve()]),
        ([("reject", "no")], [ADD, MULTIPLY, ADD], [Reject("no")] * 3),
        ([("reject", None)], [ADD], [Reject(None)]),
        ([("reject", "")], [ADD], [Reject(None)]),
        # One edit cannot answer two calls: it stays one (the count is checked later).
        ([("edit", {"a": 1})], [ADD, MULTIPLY], [Edit({"a": 1})]),
        ([("edit", {"a": 1}), ("reject", "no")], [ADD, MULTIPLY], [Edit({"a": 1}), Reject("no")]),
        ([("reject", None), ("approve", None)], [ADD, MULTIPLY], [Reject(), Approve()]),
    ],
)
def test_flag_decisions(
    flags: list[tuple[str, Any]], requests: list[ActionRequest], decisions: list[Any]
) -> None:
    assert flag_decisions(flags, Interrupted("i", {}, tuple(requests))) == decisions


def test_flag_decisions_needs_a_flag() -> None:
    with pytest.raises(InvalidInput) as raised:
        flag_decisions([], Interrupted("i", {}, (ADD,)))
    assert str(raised.value) == "say what to do: --approve, --reject [REASON] or --edit JSON"


class Prompt:
    """Answers the review prompts from a script and records what was asked."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.asked: list[tuple[str, str]] = []

    def __call__(self, prompt: str, prefill: str) -> str:
        self.asked.append((prompt, prefill))
        return self.answers.pop(0)


QUESTION = ": [a]pprove, [e]dit or [r]eject? "


def test_ask_decisions_asks_for_each_call_in_order() -> None:
    prompt = Prompt("a", " E ", '{"a": 4, "b": 6}', "Reject", "  too big  ")
    event = Interrupted("i", {}, (ADD, MULTIPLY, ActionRequest("divide", {"a": 1, "b": 0})))
    assert ask_decisions(event, prompt) == [Approve(), Edit({"a": 4, "b": 6}), Reject("too big")]
    assert prompt.asked == [
        ('add {"a": 2, "b": 3}' + QUESTION, ""),
        ('multiply {"a": 4, "b": 5}' + QUESTION, ""),
        ("args (JSON): ", '{"a": 4, "b": 5}'),  # prefilled with the call's arguments
        ('divide {"a": 1, "b": 0}' + QUESTION, ""),
        ("reason (optional): ", ""),
    ]
    assert prompt.answers == []


def test_ask_decisions_reject_without_a_reason_and_unicode_args() -> None:
    request = ActionRequest("greet", {"name": "Zoë"})
    prompt = Prompt("r", "   ", "e", '{"name": "Zoé"}')
    event = Interrupted("i", {}, (request, request))
    assert ask_decisions(event, prompt) == [Reject(None), Edit({"name": "Zoé"})]
    assert prompt.asked[0] == ('greet {"name": "Zoë"}' + QUESTION, "")
    assert prompt.asked[3] == ("args (JSON): ", '{"name": "Zoë"}')


ANY = ("approve", "edit", "reject")
NOT_AN_OBJECT = "the edited args must be a JSON object, got '[1, 2]'"
BAD_JSON = (
    "the edited args are not JSON: Expecting property name enclosed in double quotes: "
    "line 1 column 2 (char 1)"
)


def refused(answer: str, allowed: str = "approve, edit, reject") -> str:
    return f"answer one of {allowed}, got {answer!r}; the call still waits"


@pytest.mark.parametrize(
    ("answers", "allowed", "message"),
    [
        (["x"], ANY, refused("x")),
        ([""], ANY, refused("")),
        (["no"], ANY, refused("no")),
        (["e"], ("approve", "reject"), refused("e", "approve, reject")),
        (["e", "{nope"], ANY, BAD_JSON),
        (["e", "[1, 2]"], ANY, NOT_AN_OBJECT),
    ],
)
def test_ask_decisions_refuses_an_answer_it_cannot_take(
    answers: list[str], allowed: tuple[str, ...], message: str
) -> None:
    request = ActionRequest("add", {"a": 2, "b": 3}, None, allowed)
    with pytest.raises(InvalidInput) as raised:
        ask_decisions(Interrupted("i", {}, (request,)), Prompt(*answers))
    assert str(raised.value) == message


def test_continue_commands_quote_each_calls_args_for_the_shell() -> None:
    tricky = ActionRequest("note", {"text": "it's $HOME"})
    event = Interrupted("i", {}, (ADD, tricky))
    assert continue_commands("T1", event, local=False) == [
        "lgchat resume T1 --approve",
        'lgchat resume T1 --reject "reason"',
        """lgchat resume T1 --edit '{"a": 2, "b": 3}' --edit '{"text": "it'"'"'s $HOME"}'""",
    ]
    assert continue_commands("T1", Interrupted("i", {}, (ADD,)), local=True) == [
        "lgchat --local resume T1 --approve",
        'lgchat --local resume T1 --reject "reason"',
        """lgchat --local resume T1 --edit '{"a": 2, "b": 3}'""",
    ]


def test_interrupt_lines_show_each_call_or_the_raw_question() -> None:
    assert call_text(ActionRequest("add", {"a": 2.5, "b": "é"})) == 'add {"a": 2.5, "b": "é"}'
    assert interrupt_lines(Interrupted("i", {}, (ADD, MULTIPLY))) == [
        'Waiting for approval: add {"a": 2, "b": 3}',
        'Waiting for approval: multiply {"a": 4, "b": 5}',
    ]
    assert interrupt_lines(Interrupted("i", {"question": "Zoë?"})) == [
        'Waiting for input: {"question": "Zoë?"}'
    ]


# --- the transcript: which node answers ------------------------------------------------


def render(events: Sequence[StreamEvent]) -> str:
    out, err = io.StringIO(), io.StringIO()
    renderer = PlainRenderer(out, err)
    for event in events:
        renderer.render(event)
    renderer.close()
    assert err.getvalue() == ""
    return out.getvalue()


def test_an_edited_call_resent_by_the_review_node_does_not_label_the_answer() -> None:
    # Regression: the node of the first assistant message was taken for the "main"
    # node, so the call `review_tools` re-sent after an edit made the answer print as
    # `[assistant] AI: ...`. The main node is now the node of the first text.
    call = {"name": "add", "args": {"a": 2, "b": 4}, "id": "c1", "type": "tool_call"}
    edited = AIMessage("", tool_calls=[call], id="m1")
    result = ToolMessage("6", name="add", tool_call_id="c1", id="t1")
    answer = AIMessage("The result of adding 2 and 4 is 6.", id="m2")
    summary = AIMessage("Ada adds.", id="m3")
    events: list[StreamEvent] = [
        MessageStarted("m1", "ai", "review_tools"),
        MessageFinished("m1", edited, "tool_calls", None, "review_tools"),
        MessageStarted("t1", "tool", "tools"),
        MessageFinished("t1", result, None, None, "tools"),
        MessageStarted("m2", "ai", "assistant"),
        TextDelta("m2", "The result of adding 2 and 4 is 6.", "assistant"),
        MessageFinished("m2", answer, "stop", None, "assistant"),
        MessageStarted("m3", "ai", "summarize_conversation"),
        TextDelta("m3", "Ada adds.", "summarize_conversation"),
        MessageFinished("m3", summary, None, None, "summarize_conversation"),
    ]
    assert render(events) == lines(
        "Tool Call ID: c1, Function: add, Arguments: {'a': 2, 'b': 4}",
        "Finish Reason: tool_calls",
        "Tool Result (add): 6",
        "AI: The result of adding 2 and 4 is 6.",
        "Finish Reason: stop",
        "[summarize_conversation] AI: Ada adds.",
    )


# --- lgchat chat: the review at the prompt -------------------------------------------


def chat(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    data_dir: Path,
    typed: Sequence[str],
    *args: str,
) -> tuple[int, str, str]:
    """Run `lgchat --local chat ARGS` in-process with `typed` piped to its stdin."""
    monkeypatch.setattr(sys, "stdin", io.StringIO("".join(f"{line}\n" for line in typed)))
    return lgchat(capsys, data_dir, "chat", *args)


BANNER = [f"Chatting with agent on {THREAD}.", "Type a message, or /help for commands."]
ASK_ADD = 'add {"a": 2, "b": 3}' + QUESTION


def asked_for_review(call_id: str) -> list[str]:
    return [
        "You: 2 + 3",
        *call_lines(call_id, "add", *GROWING_ADD),
        "Finish Reason: tool_calls",
        'Waiting for approval: add {"a": 2, "b": 3}',
    ]


@pytest.mark.parametrize(
    ("typed", "answered"),
    [
        (
            ["a"],
            [f"{ASK_ADD}a", "Tool Result (add): 5", "AI: The result of adding 2 and 3 is 5."],
        ),
        (
            ["e", '{"a": 2, "b": 4}'],
            [
                f"{ASK_ADD}e",
                'args (JSON): {"a": 2, "b": 4}',
                "{call_add_2_4}",
                "Finish Reason: tool_calls",
                "Tool Result (add): 6",
                "AI: The result of adding 2 and 4 is 6.",
            ],
        ),
        (
            ["r", "not now"],
            [
                f"{ASK_ADD}r",
                "reason (optional): not now",
                "Tool Result (add): not now",
                "AI: I couldn't finish adding 2 and 3: not now.",
            ],
        ),
    ],
    ids=["approve", "edit", "reject"],
)
def test_chat_asks_what_to_do_with_the_call(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    typed: list[str],
    answered: list[str],
) -> None:
    code, out, err = chat(
        capsys,
        monkeypatch,
        tmp_path,
        ["2 + 3", *typed, "/quit"],
        "--user",
        "ada",
        "--context",
        REVIEW,
    )
    assert (code, err) == (EXIT_OK, "")
    call_id = first_call_id(tmp_path)
    edited = call_lines(call_id, "add", "{'a': 2, 'b': 4}")[0]
    assert out == lines(
        BANNER,
        asked_for_review(call_id),
        [line.replace("{call_add_2_4}", edited) for line in answered],
        "Finish Reason: stop",
        "You: /quit",
    )
    assert snapshot(tmp_path).interrupts == ()


def test_chat_says_what_was_wrong_and_asks_again(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    typed = ["2 + 3", "x", "e", "{oops", "e", '{"a": "x"}', "a", "/quit"]
    code, out, err = chat(
        capsys, monkeypatch, tmp_path, typed, "--user", "ada", "--context", REVIEW
    )
    assert code == EXIT_OK
    assert err == lines(
        f"Error: {refused('x')}",
        f"Error: {BAD_JSON}",
    )
    call_id = first_call_id(tmp_path)
    assert out == lines(
        BANNER,
        asked_for_review(call_id),
        f"{ASK_ADD}x",
        f"{ASK_ADD}e",
        "args (JSON): {oops",
        f"{ASK_ADD}e",
        'args (JSON): {"a": "x"}',
        # The graph refused the edit: the review is asked again, with the reason.
        'Waiting for approval: add {"a": 2, "b": 3}',
        f"Refused: {NOT_A_NUMBER}",
        f"{ASK_ADD}a",
        "Tool Result (add): 5",
        "AI: The result of adding 2 and 3 is 5.",
        "Finish Reason: stop",
        "You: /quit",
    )


def test_chat_review_command_answers_a_thread_left_waiting(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    send(capsys, tmp_path)
    typed = ["/review", "r", "", "/review", "/quit"]
    code, out, err = chat(capsys, monkeypatch, tmp_path, typed, "--thread", THREAD)
    assert (code, err) == (EXIT_OK, "")
    call_id = first_call_id(tmp_path)
    rejected = f"User rejected the tool call for `add` with id {call_id}"
    assert out == lines(
        BANNER,
        "You: /review",
        f"{ASK_ADD}r",
        "reason (optional): ",
        f"Tool Result (add): {rejected}",
        f"AI: I couldn't finish adding 2 and 3: {rejected}.",
        "Finish Reason: stop",
        "You: /review",
        "Nothing waits for review on this thread.",
        "You: /quit",
    )


def test_chat_asks_at_once_on_switching_to_a_thread_that_waits(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    send(capsys, tmp_path)
    typed = ["/new", f"/thread {THREAD}", "a", "/quit"]
    code, out, err = chat(capsys, monkeypatch, tmp_path, typed, "--context", REVIEW)
    assert (code, err) == (EXIT_OK, "")
    assert out.splitlines()[2:] == [
        "You: /new",
        "New conversation; its thread is created with your next message.",
        f"You: /thread {THREAD}",
        f"Continuing thread {THREAD} (2 messages).",
        f"{ASK_ADD}a",
        "Tool Result (add): 5",
        "AI: The result of adding 2 and 3 is 5.",
        "Finish Reason: stop",
        "You: /quit",
    ]


def test_the_end_of_input_at_the_review_prompt_leaves_the_call_waiting(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    typed = ["2 + 3"]  # then the pipe ends, at the review's prompt
    code, out, err = chat(
        capsys, monkeypatch, tmp_path, typed, "--user", "ada", "--context", REVIEW
    )
    assert (code, err) == (EXIT_OK, "")
    assert out.endswith(lines('Waiting for approval: add {"a": 2, "b": 3}', ASK_ADD))
    (interrupt,) = snapshot(tmp_path).interrupts
    assert interrupt.requests[0].args == {"a": 2, "b": 3}
    code, _, _ = lgchat(capsys, tmp_path, "resume", THREAD, "--approve")
    assert code == EXIT_OK


def test_chat_through_a_real_pipe(tmp_path: Path) -> None:
    env = {**os.environ, DATA_DIR_ENV: str(tmp_path), "OFFLINE_MODEL_DELAY": "0"}
    result = subprocess.run(
        [str(LGCHAT), "--local", "chat", "--user", "ada", "--context", REVIEW],
        input="2 + 3\na\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert (result.returncode, result.stderr) == (EXIT_OK, "")
    call_id = first_call_id(tmp_path)
    assert result.stdout == lines(
        BANNER,
        asked_for_review(call_id),
        f"{ASK_ADD}a",
        "Tool Result (add): 5",
        "AI: The result of adding 2 and 3 is 5.",
        "Finish Reason: stop",
        "You: ",  # Ctrl-D (the end of the pipe) at the prompt ends the chat
    )


def test_chat_approve_command_turns_the_review_on_and_off(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    typed = ["/approve on", "2 + 3", "a", "/approve off", "2 + 3", "/approve maybe", "/quit"]
    code, out, err = chat(capsys, monkeypatch, tmp_path, typed, "--user", "ada")
    assert (code, err) == (EXIT_OK, "Error: usage: /approve on|off\n")
    transcript = out.splitlines()
    # The thread is summarized after the second turn: the call id comes from the output.
    call_id = transcript[5].removeprefix("Tool Call ID: ").split(",")[0]
    assert transcript[:3] == [*BANNER, "You: /approve on"]
    assert transcript[3] == "Tool calls wait for your review."
    reviewed = transcript.index(f"{ASK_ADD}a")
    assert transcript[4:reviewed] == asked_for_review(call_id)
    unreviewed = transcript.index("You: /approve off")
    assert transcript[unreviewed + 1] == "Tool calls run without review."
    # With the review off, the second turn runs its tool at once: no question.
    assert sum(line.endswith(QUESTION.strip()) for line in transcript) == 0
    assert transcript.count("Tool Result (add): 5") == 2
    assert transcript[-2:] == ["You: /approve maybe", "You: /quit"]
