"""The `lgchat` command line against a real `langgraph dev`.

`send` runs through a pipe (plain output); the interactive `chat` is driven for real in a
pseudo-terminal with pexpect.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pexpect
import pytest
from langgraph_sdk import get_sync_client

from client.cli.exit_codes import EXIT_INTERRUPTED, EXIT_OK, EXIT_RUN_FAILED, EXIT_USAGE
from client.cli.repl import _ReplSigint
from client.cli.streaming import _CtrlCCancels
from client.errors import InvalidInput
from client.remote.client import ChatClient
from client.threads import conversation_thread_id
from tests.integration._helpers import (
    ARGS_PROGRESSION,
    LONG_COUNT,
    MULTIPLY,
    MULTIPLY_ANSWER,
)

pytestmark = pytest.mark.server

LGCHAT = Path(sys.executable).with_name("lgchat")
PROMPT = "You: "
HUMAN_PAUSE = 0.2
"""Seconds between a key and a Ctrl-C in the REPL tests (see the Ctrl-C test)."""
CALL_LINE = re.compile(r"Tool Call ID: call_[0-9a-f]{24}, Function: multiply, Arguments: (\{.*\})$")


@pytest.fixture(scope="module")
def server_url(offline_server_url: str) -> str:
    return offline_server_url


def lgchat(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LGCHAT), "--url", url, *args], capture_output=True, text=True, timeout=60, check=False
    )


# -- lgchat send, plain output -----------------------------------------------------------


def test_send_prints_plain_text_as_the_tutorial_does(server_url: str) -> None:
    result = lgchat(server_url, "send", MULTIPLY)
    assert result.returncode == EXIT_OK, result.stderr
    assert result.stderr == ""
    assert "\x1b" not in result.stdout
    lines = result.stdout.splitlines()
    call_args = [match.group(1) for line in lines if (match := CALL_LINE.match(line))]
    assert call_args == [str(args) for args in ARGS_PROGRESSION]
    assert lines[len(call_args) :] == [
        "Finish Reason: tool_calls",
        "Tool Result (multiply): 6",
        f"AI: {MULTIPLY_ANSWER}",
        "Finish Reason: stop",
        lines[-1],
    ]
    assert re.fullmatch(r"Thread: [0-9a-f-]{36}", lines[-1])


def test_send_json_lines(server_url: str) -> None:
    result = lgchat(server_url, "--json", "send", "--mode", "messages-tuple", MULTIPLY)
    assert result.returncode == EXIT_OK, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[0]["kind"] == "run_started"
    assert [e["args"] for e in events if e["kind"] == "tool_call_progress"] == ARGS_PROGRESSION
    text = "".join(e["text"] for e in events if e["kind"] == "text_delta" and e["node"])
    assert text == MULTIPLY_ANSWER
    assert events[-1] == {"run_id": events[0]["run_id"], "status": "success", "kind": "run_ended"}


def test_send_reports_a_failed_run_and_exits_1(server_url: str) -> None:
    # Each field fits the published schema; only the graph knows how they relate.
    context = '{"summarize_after": 3, "keep_last": 4}'
    result = lgchat(server_url, "send", "--context", context, "hi")
    assert result.returncode == EXIT_RUN_FAILED
    assert result.stderr == "Error: keep_last must be at most summarize_after (3), got 4\n"
    assert "Traceback" not in result.stdout


def test_threads_lists_each_threads_message_count(server_url: str) -> None:
    # Aegra's thread objects carry no `values`: the counts come from the threads' state.
    user = f"counts-{uuid.uuid4().hex[:8]}"
    for conversation, turns in (("short", 1), ("long", 2)):
        for text in ["hi! I'm Ada", "count to 3"][:turns]:
            sent = lgchat(server_url, "send", "--assistant", "chatbot", "--user", user,
                          "--conversation", conversation, text)  # fmt: skip
            assert sent.returncode == EXIT_OK, sent.stderr
    listed = lgchat(server_url, "threads", "--user", user)
    assert listed.returncode == EXIT_OK, listed.stderr
    counts = sorted(line.split()[3] + " msgs" for line in listed.stdout.splitlines())
    assert counts == ["2 msgs", "4 msgs"]


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ('{"summarize_after": "x"}', "context field summarize_after must be an integer, not 'x'"),
        ('{"summarize_after": 0}', "context field summarize_after must be at least 1, not 0"),
        ('{"summarise_after": 3}', "unknown context field 'summarise_after'; known: "),
    ],
)
def test_bad_context_is_refused_before_a_thread_is_made(
    server_url: str, context: str, message: str
) -> None:
    user = f"context-{abs(hash(context))}"
    sdk = get_sync_client(url=server_url, api_key=None)
    assert sdk.threads.search(metadata={"user_id": user}) == []
    result = lgchat(server_url, "send", "--user", user, "--context", context, "hi")
    assert (result.returncode, result.stdout) == (EXIT_USAGE, "")
    assert result.stderr.startswith(f"lgchat: error: {message}")
    assert result.stderr.count("\n") == 1
    if "known" in message:
        schema = sdk.assistants.get_schemas(
            sdk.assistants.search(graph_id="agent")[0]["assistant_id"]
        )
        context_schema = schema["context_schema"]
        assert context_schema is not None
        known = ", ".join(sorted(context_schema["properties"]))
        assert result.stderr == f"lgchat: error: {message}{known}\n"
    assert sdk.threads.search(metadata={"user_id": user}) == []


async def test_the_library_refuses_bad_context_before_a_thread_is_made(server_url: str) -> None:
    async with ChatClient(server_url) as client:
        session = await client.session("chatbot", user_id="context-lib")
        with pytest.raises(
            InvalidInput, match=r"^context field keep_last must be at least 0, not -1$"
        ):
            session.send("hi", context={"keep_last": -1})
        assert not session.is_streaming
        assert await client.threads("context-lib") == []


def test_a_users_conversation_resumes_across_processes(server_url: str) -> None:
    chat = ("send", "--assistant", "chatbot", "--user", "ada", "--conversation", "cli")
    assert lgchat(server_url, *chat, "hi! I'm Ada").returncode == EXIT_OK
    second = lgchat(server_url, *chat, "what's my name?")
    assert second.stdout.splitlines()[0] == "AI: Your name is Ada."
    thread_id = conversation_thread_id("ada", "cli", "chatbot")
    assert second.stdout.splitlines()[-1] == f"Thread: {thread_id}"

    listed = lgchat(server_url, "threads", "--user", "ada")
    assert listed.stdout.startswith(thread_id)
    assert listed.stdout.rstrip().endswith("ada/cli")
    history = lgchat(server_url, "history", thread_id)
    assert history.stdout.splitlines() == [
        "Human: hi! I'm Ada",
        "AI: Hi Ada! How can I assist you today?",
        "Human: what's my name?",
        "AI: Your name is Ada.",
    ]


def test_demo_walks_through_the_tutorial(server_url: str) -> None:
    result = lgchat(server_url, "demo")
    assert result.returncode == EXIT_OK, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    call_args = [match.group(1) for line in lines if (match := CALL_LINE.match(line))]
    # values mode shows the finished call; messages mode shows its arguments growing;
    # the review section streams its second call, then the edited call that ran.
    reviewed = ["{}", "{'a': 4}", "{'a': 4, 'b': 5}", "{'a': 4, 'b': 6}"]
    assert call_args == [str(ARGS_PROGRESSION[-1])] + [str(a) for a in ARGS_PROGRESSION] + reviewed
    assert lines.count(f"AI: {MULTIPLY_ANSWER}") == 2
    review = lines.index("=== agent with approve_tools: approve one tool call, edit the other ===")
    assert lines[review + 1] == "You: 2 + 3 and 4 * 5"
    resumed = lines.index('session.resume([Approve(), Edit({"a": 4, "b": 6})]):')
    assert lines[resumed - 2 : resumed] == [
        'Waiting for approval: add {"a": 2, "b": 3}',
        'Waiting for approval: multiply {"a": 4, "b": 5}',
    ]
    assert lines[resumed + 4 : resumed + 8] == [
        "Tool Result (add): 5",
        "Tool Result (multiply): 24",
        "AI: The result of adding 2 and 3 is 5. The result of multiplying 4 and 6 is 24.",
        "Finish Reason: stop",
    ]
    assert "Human: Multiply 2 and 3" in lines
    summary = "The user's name is Lance. Recent requests: "
    assert any(line.startswith(f"[summarize_conversation] Summary: {summary}") for line in lines)
    assert any(line.startswith("Thread state: 2 messages kept; summary:") for line in lines)
    assert lines[-6:] == [
        "You: what's my name?",
        "AI: Your name is Lance.",
        "Finish Reason: stop",
        "History: 10 messages in all, including the summarized ones.",
        # With auth off and no secret to mint tokens, the two-user section only says so.
        "=== Two users side by side, each with their own token ===",
        "Auth is off on this server: every user sees every thread. `make demo` turns it on "
        "with a one-off AUTH_JWT_SECRET; or start the server with AUTH_JWT_SECRET set and run "
        "the demo with the same one.",
    ]


def test_ctrl_c_during_send_cancels_the_run_and_exits_130(server_url: str) -> None:
    child = pexpect.spawn(
        str(LGCHAT),
        ["--url", server_url, "send", "--assistant", "chatbot", f"count to {LONG_COUNT}"],
        encoding="utf-8",
        dimensions=(50, 200),
        timeout=30,
    )
    try:
        child.expect_exact("1 2 3 4 5")
        child.sendintr()
        child.expect_exact("(cancelled)")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == EXIT_INTERRUPTED
    assert "Traceback" not in (child.before or "")


# -- lgchat chat, in a pseudo-terminal ---------------------------------------------------


def spawn_chat(url: str, *args: str) -> pexpect.spawn:
    child = pexpect.spawn(
        str(LGCHAT),
        ["--url", url, "chat", *args],
        encoding="utf-8",
        dimensions=(50, 200),
        timeout=30,
    )
    child.expect_exact("Type a message, or /help for commands.")
    child.expect_exact(PROMPT)
    return child


def test_chat_repl_streams_cancels_and_keeps_going(server_url: str) -> None:
    child = spawn_chat(server_url, "--assistant", "chatbot")
    try:
        child.sendline("count to 5")
        child.expect_exact("1 2 3 4 5")
        child.expect_exact("Finish Reason: stop")
        child.expect_exact(PROMPT)

        # Ctrl-C while the reply streams cancels the run and keeps the REPL alive.
        child.sendline(f"count to {LONG_COUNT}")
        child.expect_exact("1 2 3 4 5 6")
        child.sendintr()
        child.expect_exact("(cancelled)")
        child.expect_exact(PROMPT)
        assert str(LONG_COUNT) not in child.before

        child.sendline("hi! I'm Lance")
        child.expect_exact("Hi Lance! How can I assist you today?")
        child.expect_exact(PROMPT)

        child.sendline("/history")
        for line in (
            "Human: count to 5",
            "AI: 1 2 3 4 5",
            f"Human: count to {LONG_COUNT}",
            "Human: hi! I'm Lance",
            "AI: Hi Lance! How can I assist you today?",
        ):
            child.expect_exact(line)
        child.expect_exact(PROMPT)

        child.sendline("/mode values")
        child.expect_exact("Stream modes: values")
        child.sendline("/bogus")
        child.expect_exact("Error: unknown command /bogus; /help lists the commands")
        child.expect_exact(PROMPT)

        child.sendline("/quit")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    assert "Traceback" not in (child.before or "")


def test_chat_exits_with_ctrl_d_at_the_prompt(server_url: str) -> None:
    child = spawn_chat(server_url)
    try:
        child.sendeof()
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    assert "Traceback" not in (child.before or "")


def test_ctrl_c_at_the_prompt_clears_the_line_like_a_shell(server_url: str) -> None:
    # Ctrl-C never leaves the REPL: at the prompt it drops what was typed (as in
    # Python's REPL and in bash), even right after a Ctrl-C that cancelled a reply.
    child = spawn_chat(server_url, "--assistant", "chatbot")
    try:
        child.send("half a line")
        # CPython's readline looks at signals only when its wait for a key is
        # interrupted, so a Ctrl-C within microseconds of a key or of the prompt
        # waits for the next key; no person is that fast, a test is.
        time.sleep(HUMAN_PAUSE)
        child.sendintr()
        child.expect_exact(PROMPT)
        time.sleep(HUMAN_PAUSE)
        child.sendintr()
        child.expect_exact(PROMPT)

        child.sendline(f"count to {LONG_COUNT}")
        child.expect_exact("1 2 3 4 5 6")
        child.sendintr()
        child.expect_exact("(cancelled)")
        child.sendintr()  # the second Ctrl-C, right after the cancel
        child.expect_exact(PROMPT)
        time.sleep(HUMAN_PAUSE)
        child.sendintr()
        child.expect_exact(PROMPT)

        child.sendline("count to 3")
        child.expect_exact("1 2 3")
        child.expect_exact("Finish Reason: stop")
        child.expect_exact(PROMPT)
        assert child.isalive()
        child.sendeof()
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    assert "Traceback" not in (child.before or "")


def test_ctrl_c_just_after_a_reply_leaves_the_event_loop_working() -> None:
    # The race behind a REPL that ended on a Ctrl-C pressed right after "(cancelled)",
    # made deterministic: the press lands after the reply's own handler is gone, as the
    # event loop finishes the command. Python's default handler (which the reply's
    # handler used to put back) raised KeyboardInterrupt there, in the loop's own code,
    # which left a stale stop behind: the next command failed with "Event loop stopped
    # before Future completed", and that ended the REPL.
    async def reply_then_ctrl_c() -> bool:
        with _CtrlCCancels(None):  # type: ignore[arg-type]  # no press: no session used
            pass
        asyncio.get_running_loop().call_soon(signal.raise_signal, signal.SIGINT)
        return True

    async def next_command() -> bool:
        await asyncio.sleep(0)
        return True

    sigint = _ReplSigint()
    previous = signal.getsignal(signal.SIGINT)
    try:
        with asyncio.Runner() as runner:
            sigint.install()
            with contextlib.suppress(asyncio.CancelledError, KeyboardInterrupt):
                runner.run(sigint.command(reply_then_ctrl_c()))
            assert sigint.presses == 1
            assert runner.run(sigint.command(next_command()))
    finally:
        signal.signal(signal.SIGINT, previous)


def test_an_end_of_file_right_after_ctrl_c_is_not_ctrl_d(monkeypatch: pytest.MonkeyPatch) -> None:
    sigint = _ReplSigint()

    def ended_by_ctrl_c(prompt: str) -> str:
        sigint.presses += 1  # readline gave up on the line as if at end of file
        raise EOFError

    def ctrl_d(prompt: str) -> str:
        raise EOFError

    monkeypatch.setattr("builtins.input", ended_by_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        sigint.read_line()
    monkeypatch.setattr("builtins.input", ctrl_d)
    with pytest.raises(EOFError):
        sigint.read_line()


def test_custom_mode_says_when_no_custom_event_came(server_url: str) -> None:
    result = lgchat(server_url, "send", "--mode", "custom", MULTIPLY)
    assert result.returncode == EXIT_OK
    assert re.fullmatch(r"Thread: [0-9a-f-]{36}\n", result.stdout), result.stdout
    assert result.stderr == (
        "lgchat: note: no custom events came: no node of this run wrote to its stream "
        "writer (--mode custom shows only those)\n"
    )
