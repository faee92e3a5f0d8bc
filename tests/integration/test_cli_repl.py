"""The `lgchat` command line against a real `langgraph dev`.

`send` runs through a pipe (plain output); the interactive `chat` is driven for real in a
pseudo-terminal with pexpect.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from client.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_RUN_FAILED
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
    result = lgchat(server_url, "send", "--context", '{"summarize_after": 0}', "hi")
    assert result.returncode == EXIT_RUN_FAILED
    assert result.stderr == "Error: summarize_after must be at least 1, got 0\n"
    assert "Traceback" not in result.stdout


def test_a_users_conversation_resumes_across_processes(server_url: str) -> None:
    chat = ("send", "--assistant", "chatbot", "--user", "ada", "--conversation", "cli")
    assert lgchat(server_url, *chat, "hi! I'm Ada").returncode == EXIT_OK
    second = lgchat(server_url, *chat, "what's my name?")
    assert second.stdout.splitlines()[0] == "AI: Your name is Ada."
    thread_id = conversation_thread_id("ada", "cli")
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
    # values mode shows the finished call; messages mode shows its arguments growing.
    assert call_args == [str(ARGS_PROGRESSION[-1])] + [str(args) for args in ARGS_PROGRESSION]
    assert lines.count(f"AI: {MULTIPLY_ANSWER}") == 2
    assert "Human: Multiply 2 and 3" in lines
    summary = "The user's name is Lance. Recent requests: "
    assert any(line.startswith(f"[summarize_conversation] Summary: {summary}") for line in lines)
    assert any(line.startswith("Thread state: 2 messages kept; summary:") for line in lines)
    assert lines[-4:] == [
        "You: what's my name?",
        "AI: Your name is Lance.",
        "Finish Reason: stop",
        "History: 10 messages in all, including the summarized ones.",
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


@pytest.mark.parametrize("key", ["ctrl-c", "ctrl-d"])
def test_chat_exits_cleanly_at_the_prompt(server_url: str, key: str) -> None:
    child = spawn_chat(server_url)
    try:
        if key == "ctrl-c":
            child.sendintr()
        else:
            child.sendeof()
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    assert "Traceback" not in (child.before or "")
