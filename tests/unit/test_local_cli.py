"""`lgchat --local` in a subprocess, with a temporary data directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pexpect

from client.errors import EXIT_OK, EXIT_USAGE
from client.local import DATA_DIR_ENV, DB_NAME

LGCHAT = Path(sys.executable).with_name("lgchat")


def lgchat(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, DATA_DIR_ENV: str(data_dir), "OFFLINE_MODEL_DELAY": "0"}
    return subprocess.run(
        [str(LGCHAT), *args], capture_output=True, text=True, timeout=60, check=False, env=env
    )


def spawn(data_dir: Path, *args: str, delay: str = "0") -> pexpect.spawn:
    env = {**os.environ, DATA_DIR_ENV: str(data_dir), "OFFLINE_MODEL_DELAY": delay}
    return pexpect.spawn(str(LGCHAT), list(args), env=env, encoding="utf-8", timeout=30)


def test_send_keeps_threads_across_runs(tmp_path: Path) -> None:
    first = lgchat(
        tmp_path, "--local", "send", "--assistant", "chatbot", "--user", "lance", "hi! I'm Lance"
    )
    assert first.returncode == EXIT_OK, first.stderr
    assert first.stdout.startswith("AI: Hi Lance! How can I assist you today?\n")
    second = lgchat(
        tmp_path, "send", "--local", "--assistant", "chatbot", "--user", "lance", "what's my name?"
    )
    assert second.returncode == EXIT_OK, second.stderr
    assert "AI: Your name is Lance." in second.stdout
    assert (tmp_path / DB_NAME).exists()


def test_memory_and_json(tmp_path: Path) -> None:
    result = lgchat(tmp_path, "--local", "--memory", "--json", "send", "Multiply 2 and 3")
    assert result.returncode == EXIT_OK, result.stderr
    kinds = [json.loads(line)["kind"] for line in result.stdout.splitlines()]
    assert kinds[0] == "run_started" and kinds[-1] == "run_ended"
    assert kinds.count("tool_call_progress") == 3
    assert not (tmp_path / DB_NAME).exists()


def test_other_commands_refuse_local(tmp_path: Path) -> None:
    result = lgchat(tmp_path, "--local", "threads")
    assert result.returncode == EXIT_USAGE
    assert "--local works with" in result.stderr


def test_demo_reproduces_the_tutorial_offline(tmp_path: Path) -> None:
    child = spawn(tmp_path, "--local", "--memory", "demo")
    child.expect(r'stream_mode="updates"')
    child.expect("Hi Lance! How can I assist you today")
    child.expect(r'stream_mode="values"')
    child.expect("Human: hi! I'm Lance")
    child.expect(r"You\| said:\| \"Tell\| me\| about\| the\| 49ers\| NFL\| team\"\.\|")
    child.expect("Full message \\(on_chat_model_end\\)")
    child.expect(r"\[conversation\] 1 2 3 4 5")
    child.expect(r"\[summarize_conversation\] The user's name is Lance\.")
    child.expect(r"\[conversation\] Your name is Lance\.")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == EXIT_OK


def test_chat_in_a_terminal(tmp_path: Path) -> None:
    child = spawn(tmp_path, "--local", "chat", "--assistant", "chatbot", "--user", "lance")
    child.expect("Chatting with chatbot on ")
    child.expect("You: ")
    child.sendline("hi! I'm Lance")
    child.expect("Hi Lance! How can I assist you today\\?")
    child.expect("You: ")
    child.sendline("/history")
    child.expect("Human: hi! I'm Lance")
    child.expect("You: ")
    child.sendline("/quit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == EXIT_OK


def test_ctrl_c_cancels_the_local_run_and_keeps_the_chat(tmp_path: Path) -> None:
    child = spawn(tmp_path, "--local", "--memory", "chat", "--assistant", "chatbot", delay="0.01")
    child.expect("You: ")
    child.sendline("count to 3000")
    child.expect(" 3 4 5 6 ")
    child.sendintr()
    child.expect(r"\(cancelled\)")
    child.expect("You: ")
    child.sendline("hi! I'm Lance")
    child.expect("Hi Lance!")
    child.expect("You: ")
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == EXIT_OK
